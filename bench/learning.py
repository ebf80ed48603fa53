"""Does a real pretrained model learn from the bundled tasks? SFT vs SRL vs SFT→SRL, measured.

On a real chat model (SmolLM2-135M-Instruct: ``srl-swe init-model smollm2-135m -o DIR``, or any folder or
Hugging Face id) and the 18 bundled tasks:

1. collect: the oracle expert solves every bundled task in the sandbox (Docker; images built or cached) →
   ``OUT/trajectories.jsonl``; steps → ``OUT/steps`` (observations cut short, prompts fitted to the prompt
   budget in the model's own tokenizer);
2. base: ``OUT/base``, the model with a chat template that TRL's assistant-only SFT loss accepts (the same
   text, with ``{% generation %}`` markers; SmolLM2's ChatML has none, and TRL cannot patch it);
3. train, LoRA (``--lora-r 0``: the full model): SFT from the base (``OUT/sft``), SRL from the base
   (``OUT/srl``), SRL from the SFT model (``OUT/sft_srl``); every adapter is merged into a plain model
   folder (``OUT/<stage>/merged``), what the scoring, the agents and SFT→SRL start from;
4. held-out steps: each of the 4 rows (base, SFT, SRL, SFT→SRL) writes the next action of the held-out
   steps (greedy), scored with SRL's step reward (``srl_swe.eval.steps``): mean reward, format-error rate,
   exact match, similarity per expert tool;
5. agents: each row as an agent on the held-out tasks in the sandbox (``--agent-steps`` steps), graded.

The held-out tasks (``srl_swe.train.data.held_out_tasks``, ``--held-out`` of them) are seen by no training
stage. Printed: progress lines on stderr (phase, seconds), then one JSON object on the last line of stdout:
per row the held-out step reward, format-error rate, exact match, per-tool similarity, resolved/total and
training seconds, and its gains (or ratio, for format errors) over the base model scored in the same run.

CPU configuration (the default without a GPU; under an hour on 2 cores, the README has the run). Measured on
those cores, fp32: 32 completions × 64 tokens from a 700-token prompt take 64 s, one forward+backward over 8
sequences of 758 tokens 55 s; so everything is small: LoRA r=8 (a few MB of trainable weights; the optimizer
state of the full 135M model is not needed), observations cut to 200 characters and GRPO prompts to 512 tokens,
a completion budget of 288 tokens (checked: 95% of the held-out expert completions must fit), SFT 24 steps × 4
step examples (``--sft-data steps``: the step's context as SRL and the agent see it, completion = the expert's
thought + action, as the quickstart trains; 6 steps × 2 whole trajectories of ≤ 1024 tokens, the paper's SFT
view, left the model at 100% held-out format errors), SRL 8 steps × 2 prompts × 4 rollouts (one sampling round:
no dynamic re-sampling, every rollout costs seconds), agents of 2 steps, no validation during training
(``logging.validation: false``: the rows are scored here). A result this size says whether the pipeline moves a
real model at all and in which direction, not by how much SRL beats SFT at scale. ``--gpu`` (default: when CUDA is
there) trains in bf16 with larger sizes (see ``PROFILES``); every size is a flag.

Every phase reuses what a previous run left in ``OUT`` (finished stages, scores, agent results); the
training settings are pinned in ``OUT/settings.json`` and a run with other settings is refused (use a new
``--out``). Needs Docker (or ``--sandbox local``) and peft for LoRA.

    .venv/bin/srl-swe init-model smollm2-135m -o /work/models/smollm2
    .venv/bin/python bench/learning.py --model /work/models/smollm2 --out runs/learning
    # smoke test (about 10 minutes):
    .venv/bin/python bench/learning.py --model /work/models/smollm2 --sft-steps 1 --srl-steps 1 \\
        --agent-steps 1 --max-held-out-steps 3 --held-out 1 --max-new-tokens 32 --min-coverage 0
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROWS = (("base", None), ("SFT", "sft"), ("SRL", "srl"), ("SFT→SRL", "sft_srl"))
"""(row label, the stage folder in OUT; None: the base model)."""

PROFILES = {
    "cpu": dict(held_out=4, max_observation_chars=200, max_prompt_tokens=512, max_new_tokens=288, lora_r=8,
                sft_data="steps", sft_steps=24, sft_batch=4, sft_max_length=1024, sft_learning_rate=5e-4, srl_steps=8,
                srl_prompts=2, generations=4, srl_learning_rate=2e-4, temperature=0.7, sampling_rounds=1, agent_steps=2,
                score_batch=8),
    "gpu": dict(held_out=4, max_observation_chars=1000, max_prompt_tokens=2048, max_new_tokens=384, lora_r=16,
                sft_data="steps", sft_steps=100, sft_batch=8, sft_max_length=4096, sft_learning_rate=2e-4,
                srl_steps=60, srl_prompts=8, generations=8, srl_learning_rate=1e-4, temperature=0.8, sampling_rounds=4,
                agent_steps=8, score_batch=32),
}
"""Default sizes per device; each is also a flag (``--sft-steps`` …)."""

TRAINING_KEYS = ("model", "gpu", "seed", "held_out", "max_observation_chars", "max_prompt_tokens", "max_new_tokens",
                 "lora_r", "sft_data", "sft_steps", "sft_batch", "sft_max_length", "sft_learning_rate", "srl_steps",
                 "srl_prompts", "generations", "srl_learning_rate", "temperature", "sampling_rounds")
"""The settings a finished stage depends on (pinned in OUT/settings.json)."""

# SmolLM2-Instruct's ChatML template and the same text with generation markers around each assistant reply
# (content + <|im_end|>, what TRL's own ChatML training templates mark).
SMOLLM2_TEMPLATE = (
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\n"
    "You are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n' }}{% endif %}"
    "{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}")
SMOLLM2_TRAINING_TEMPLATE = (
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\n"
    "You are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n' }}{% endif %}"
    "{% if message['role'] == 'assistant' %}{{ '<|im_start|>assistant\n' }}{% generation %}"
    "{{ message['content'] + '<|im_end|>' }}{% endgeneration %}{{ '\n' }}"
    "{% else %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endif %}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}")

STARTED = time.perf_counter()


def say(text: str) -> None:
    print(f"[learning {time.perf_counter() - STARTED:7.1f}s] {text}", file=sys.stderr, flush=True)


class Phase:
    """``with Phase("name"):`` says when a phase starts and how long it took."""

    def __init__(self, name: str):
        self.name = name

    def __enter__(self):
        self.started = time.perf_counter()
        say(f"{self.name} ...")
        return self

    def __exit__(self, *exc):
        if exc[0] is None:
            say(f"{self.name}: done in {time.perf_counter() - self.started:.1f} s")


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", required=True, help="a model folder or Hugging Face id (SmolLM2-135M-Instruct)")
    parser.add_argument("--out", type=Path, default=None, help="working folder (default: a new temporary one)")
    parser.add_argument("--gpu", action=argparse.BooleanOptionalAction, default=None,
                        help="bf16 and the GPU sizes (default: when CUDA is available)")
    parser.add_argument("--sandbox", choices=("docker", "local"), default=None,
                        help="default: docker when an engine answers, else local")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=2, help="parallel oracle rollouts")
    parser.add_argument("--max-held-out-steps", type=int, default=None,
                        help="score only the first N held-out steps (smoke tests)")
    parser.add_argument("--min-coverage", type=float, default=0.95,
                        help="share of the held-out expert completions that must fit in --max-new-tokens "
                             "(0: no check, smoke tests with a short budget)")
    for name, value in PROFILES["cpu"].items():
        parser.add_argument("--" + name.replace("_", "-"), type=type(value), default=None,
                            help=f"default {value} (cpu), {PROFILES['gpu'][name]} (gpu)")
    args = parser.parse_args(argv)
    if args.gpu is None:
        import torch

        args.gpu = torch.cuda.is_available()
    for name, value in PROFILES["gpu" if args.gpu else "cpu"].items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    if args.out is None:
        args.out = Path(tempfile.mkdtemp(prefix="srl-learning-"))
    return args


def pin_settings(args: argparse.Namespace) -> None:
    """Write OUT/settings.json, or refuse when a previous run there trained with other settings."""
    settings = {key: getattr(args, key) for key in TRAINING_KEYS}
    path = args.out / "settings.json"
    if path.exists():
        before = json.loads(path.read_text())
        changed = sorted(key for key in settings if before.get(key) != settings[key])
        if changed:
            raise SystemExit(f"{args.out} holds a run with other training settings ({', '.join(changed)}): "
                             f"use a new --out")
    path.write_text(json.dumps(settings, indent=2))


# --- data ------------------------------------------------------------------------------------------------

def collect(args: argparse.Namespace, kind: str) -> None:
    from srl_swe.quickstart import SANDBOXES
    from srl_swe.rollout import model_factory, rollout_all, sandbox_factory
    from srl_swe.tasks.rows import bundled_tasks

    if kind == "docker":
        from srl_swe.sandbox.images import build_images

        build_images(SANDBOXES)  # cached images: seconds
    report = rollout_all(bundled_tasks(SANDBOXES), args.out / "trajectories.jsonl",
                         sandbox_factory(kind, run_id="learning"), model_factory("oracle"), workers=args.workers)
    if report.errors:
        raise SystemExit("the oracle failed on " + "; ".join(f"{k}: {v}" for k, v in sorted(report.errors.items())))


def build_steps(args: argparse.Namespace, base: Path) -> Path:
    """Step data with observations cut and every prompt fitted to the budget in the model's tokens."""
    from srl_swe.steps import StepOptions, build_step_dataset

    folder = args.out / "steps"
    if not (folder / "manifest.json").exists():
        build_step_dataset([args.out / "trajectories.jsonl"], folder,
                           StepOptions(max_observation_chars=args.max_observation_chars, tokenizer=str(base),
                                       max_prompt_tokens=args.max_prompt_tokens))
    return folder


def data_settings(args: argparse.Namespace):
    from srl_swe.train.config import DataSettings

    return DataSettings(path=args.out / "steps", validation_trajectories=args.held_out)


def held_out_examples(args: argparse.Namespace) -> list[dict]:
    from srl_swe.train.data import step_datasets

    validation = step_datasets(data_settings(args))[1]
    rows = sorted(validation or [], key=lambda row: (row["trajectory_id"], row["step"]))
    return rows[:args.max_held_out_steps] if args.max_held_out_steps else rows


def prompt_lengths(base: Path, examples: list[dict]) -> dict:
    """Held-out prompt lengths in the model's tokens (chat template applied)."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(base))
    lengths = sorted(len(tokenizer.apply_chat_template(row["prompt"], add_generation_prompt=True, tokenize=True,
                                                       return_dict=False)) for row in examples)
    return {"median": lengths[len(lengths) // 2], "max": lengths[-1]} if lengths else {}


def check_budget(args: argparse.Namespace, base: Path) -> dict:
    """How many held-out expert completions fit in ``max_new_tokens`` of the model's tokenizer."""
    from srl_swe.eval.steps import budget_coverage

    try:
        report = budget_coverage(data_settings(args), str(base), args.max_new_tokens)
    except ValueError as exc:
        raise SystemExit(str(exc)) from None
    if report["coverage"] < args.min_coverage:
        raise SystemExit(f"--max-new-tokens {args.max_new_tokens}: only {100 * report['coverage']:.0f}% of the "
                         f"held-out expert completions fit (longest {report['max_tokens']} tokens); raise it")
    return report


# --- models ----------------------------------------------------------------------------------------------

def prepare_base(args: argparse.Namespace) -> Path:
    """``OUT/base``: the model with a chat template that has generation markers (assistant-only SFT loss)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl.chat_template_utils import get_training_chat_template, has_generation_markers

    base = args.out / "base"
    if (base / "config.json").exists():
        return base
    tokenizer = AutoTokenizer.from_pretrained(args.model)
    template = tokenizer.chat_template
    if not has_generation_markers(template):
        if template.strip() == SMOLLM2_TEMPLATE:
            patched = SMOLLM2_TRAINING_TEMPLATE
        else:
            patched = get_training_chat_template(tokenizer)  # ValueError for a template TRL does not know
        check_same_text(tokenizer, patched)
        tokenizer.chat_template = patched
    staging = args.out / "base.partial"
    shutil.rmtree(staging, ignore_errors=True)
    source = Path(args.model)
    if source.is_dir():  # link the weights, copy the small files; the tokenizer is saved anew
        staging.mkdir(parents=True)
        for file in source.iterdir():
            if file.suffix == ".safetensors" or file.name.endswith(".safetensors.index.json"):
                (staging / file.name).symlink_to(file.resolve())
            elif file.name in ("config.json", "generation_config.json"):
                shutil.copy(file, staging / file.name)
    else:
        AutoModelForCausalLM.from_pretrained(args.model).save_pretrained(staging)
    tokenizer.save_pretrained(staging)
    staging.rename(base)
    return base


def check_same_text(tokenizer, patched: str) -> None:
    """The training template must render a conversation exactly as the model's own template does."""
    messages = [{"role": "system", "content": "s"}, {"role": "user", "content": "u"},
                {"role": "assistant", "content": "<think>\nt\n</think>\na"}, {"role": "user", "content": "v"}]
    for chat in (messages, messages[1:]):
        for prompt in (False, True):
            own = tokenizer.apply_chat_template(chat, tokenize=False, add_generation_prompt=prompt)
            new = tokenizer.apply_chat_template(chat, tokenize=False, add_generation_prompt=prompt,
                                                chat_template=patched)
            if own != new:
                raise SystemExit("the training chat template renders differently from the model's own")


def stage_config(args: argparse.Namespace, method: str, start: Path, folder: str):
    from srl_swe.train.config import validate

    completions = args.srl_prompts * args.generations
    srl = {"learning_rate": args.srl_learning_rate, "temperature": args.temperature, "batch_size": args.srl_prompts,
           "num_generations": args.generations, "per_device_batch_size": completions, "max_steps": args.srl_steps,
           "max_completion_length": args.max_new_tokens, "num_generations_eval": 2,
           "max_sampling_rounds": args.sampling_rounds}
    sft = {"learning_rate": args.sft_learning_rate, "batch_size": args.sft_batch,
           "per_device_batch_size": args.sft_batch, "max_steps": args.sft_steps, "lr_scheduler_type": "constant",
           "warmup_ratio": 0.0, "max_length": args.sft_max_length, "data": args.sft_data}
    model = {"path": str(start), "dtype": "bfloat16" if args.gpu else "float32"}
    if args.lora_r:
        model["lora"] = {"r": args.lora_r, "alpha": 2 * args.lora_r, "dropout": 0.0}
    return validate({
        "method": method, "model": model, "use_cpu": not args.gpu, "bf16": args.gpu,
        "output_dir": str(args.out / folder), "seed": args.seed,
        "data": {"path": str(args.out / "steps"), "validation_trajectories": args.held_out,
                 "max_prompt_tokens": args.max_prompt_tokens},
        "srl": srl, "sft": sft,
        "logging": {"validation": False, "save_total_limit": 1},
    }, "learning")


def train_stage(args: argparse.Namespace, method: str, start: Path, folder: str):
    """(merged model folder, training seconds) of a stage, reusing a finished one."""
    from srl_swe.train.run import finished_stage, train

    result = finished_stage(args.out / folder)
    if result is None:
        with Phase(f"train {folder} ({method}, from {start.name if start.name != 'merged' else start.parent.name})"):
            result = train(stage_config(args, method, start, folder),
                           resume=any((args.out / folder).glob("checkpoint-*")))[0]
        if result.interrupted:
            raise SystemExit(f"{folder}: training was interrupted")
    return merged(Path(result.final_model)), result.train_seconds


def merged(final: Path) -> Path:
    """``final`` when it is a whole model; a LoRA adapter is merged into its base → ``<stage>/merged``."""
    if not (final / "adapter_config.json").exists():
        return final
    out = final.parent / "merged"
    if (out / "config.json").exists():
        return out
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    base_path = json.loads((final / "adapter_config.json").read_text())["base_model_name_or_path"]
    base = AutoModelForCausalLM.from_pretrained(base_path, dtype="auto")
    model = PeftModel.from_pretrained(base, str(final)).merge_and_unload()
    staging = final.parent / "merged.partial"
    shutil.rmtree(staging, ignore_errors=True)
    model.save_pretrained(staging)
    AutoTokenizer.from_pretrained(str(final)).save_pretrained(staging)
    staging.rename(out)
    return out


# --- measurements ----------------------------------------------------------------------------------------

def cached(path: Path, key: dict, compute):
    """``compute()``, or what a previous run stored in ``path`` under the same ``key``."""
    if path.exists():
        stored = json.loads(path.read_text())
        if stored.get("key") == key:
            return stored["value"]
    value = compute()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"key": key, "value": value}, indent=2))
    return value


def score(args: argparse.Namespace, label: str, model: Path, examples: list[dict]) -> dict:
    from srl_swe.eval.steps import score_steps

    def compute():
        with Phase(f"{label}: {len(examples)} held-out steps"):
            result = score_steps(str(model), examples, args.max_new_tokens, batch_size=args.score_batch)
        return {**result.summary(), "samples": result.samples}

    key = {"model": str(model), "max_new_tokens": args.max_new_tokens, "steps": len(examples)}
    return cached(args.out / "scores" / f"{model.parent.name if model.name == 'merged' else model.name}.json",
                  key, compute)


def resolved(args: argparse.Namespace, kind: str, label: str, model: Path) -> list[int]:
    from srl_swe.quickstart import resolved_held_out
    from srl_swe.train.data import held_out_tasks

    name = model.parent.name if model.name == "merged" else model.name

    def compute():
        held = held_out_tasks(data_settings(args))
        with Phase(f"{label}: agents on {len(held)} held-out tasks"):
            return list(resolved_held_out(held, model, args.out / "eval" / name, kind, f"learning-{name}",
                                          args.max_new_tokens, args.agent_steps))

    key = {"model": str(model), "max_new_tokens": args.max_new_tokens, "agent_steps": args.agent_steps,
           "sandbox": kind}
    return cached(args.out / "resolved" / f"{name}.json", key, compute)


def row_of(label: str, scores: dict, resolved_: list[int], seconds: float, base: dict | None) -> dict:
    row = {"model": label, "held_out_step_reward": scores["reward"], "format_error_rate": scores["format_error_rate"],
           "exact_match": scores["exact_match"],
           "by_tool": {tool: entry["similarity"] for tool, entry in scores["by_tool"].items()},
           "resolved": resolved_[0], "tasks": resolved_[1], "train_seconds": round(seconds, 1)}
    if base is not None:
        row["vs_base"] = {
            "step_reward_gain": round(row["held_out_step_reward"] - base["held_out_step_reward"], 4),
            "format_error_ratio": (round(row["format_error_rate"] / base["format_error_rate"], 4)
                                   if base["format_error_rate"] else None),
            "exact_match_gain": round(row["exact_match"] - base["exact_match"], 4),
            "resolved_gain": row["resolved"] - base["resolved"]}
    return row


def main(argv: list[str] | None = None) -> dict:
    args = parse(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    pin_settings(args)
    from srl_swe.quickstart import choose_sandbox

    kind = choose_sandbox(args.sandbox, say)
    say(f"out {args.out}; {'gpu' if args.gpu else 'cpu'} sizes; sandbox {kind}")
    with Phase("collect (oracle on the bundled tasks)"):
        collect(args, kind)
    with Phase("base model (training chat template)"):
        base = prepare_base(args)
    with Phase("steps"):
        build_steps(args, base)
        budget = check_budget(args, base)
        examples = held_out_examples(args)
        prompts = prompt_lengths(base, examples)
    say(f"completion budget: {budget}; held-out prompts in tokens: {prompts}")
    models = {"base": (base, 0.0)}
    models["sft"] = train_stage(args, "sft", base, "sft")
    models["srl"] = train_stage(args, "srl", base, "srl")
    sft_srl, seconds = train_stage(args, "srl", models["sft"][0], "sft_srl")
    models["sft_srl"] = (sft_srl, seconds + models["sft"][1])  # the SFT it started from counts too
    rows, base_row = [], None
    for label, folder in ROWS:
        model, seconds = models[folder or "base"]
        scores = score(args, label, model, examples)
        row = row_of(label, scores, resolved(args, kind, label, model), seconds, base_row)
        base_row = base_row or row
        rows.append(row)
    result = {"model": args.model, "device": "gpu" if args.gpu else "cpu", "sandbox": kind, "out": str(args.out),
              "seed": args.seed, "lora_r": args.lora_r, "held_out_steps": len(examples),
              "held_out_prompt_tokens": prompts, "budget": budget,
              "sizes": {key: getattr(args, key) for key in PROFILES["cpu"]},
              "rows": rows,
              "sft_then_srl_minus_sft": round(rows[3]["held_out_step_reward"] - rows[1]["held_out_step_reward"], 4),
              "srl_minus_sft": round(rows[2]["held_out_step_reward"] - rows[1]["held_out_step_reward"], 4),
              "seconds": round(time.perf_counter() - STARTED, 1)}
    (args.out / "learning.json").write_text(json.dumps(result, indent=2))
    print("\n" + json.dumps(result), flush=True)  # a new line: the training panel leaves the cursor on its own
    return result


if __name__ == "__main__":
    main()
