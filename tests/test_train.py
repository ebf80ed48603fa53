"""`srl-swe train`: real TRL training of the offline tiny model on CPU, every method."""

from __future__ import annotations

import importlib.util
import json
import os
import random
import signal
import statistics
from pathlib import Path

import datasets
import pytest
import yaml
from transformers import TrainerCallback
from typer.testing import CliRunner

from srl_swe.actions import tool_action
from srl_swe.cli import app
from srl_swe.collect import import_files
from srl_swe.rewards import completion_text
from srl_swe.sft_view import assistant_mask
from srl_swe.steps import StepOptions, build_step_dataset
from srl_swe.train.callbacks import CONFIG_FILE
from srl_swe.train.config import ConfigError, load_config, validate
from srl_swe.train.data import DataError, held_out_ids, held_out_tasks, step_datasets
from srl_swe.train.generation import shared_prefill_rollouts
from srl_swe.train.run import _build, train
from srl_swe.train.sampling import DynamicSampling
from srl_swe.train.tiny_model import init_tiny_model
from srl_swe.trajectory import Provenance, Step, SweTask, Trajectory, write_trajectories

NAMES = ["parser", "config", "cache", "router", "loader", "models", "utils", "cli"]


def swe_trajectory(index: int, rng: random.Random, task: str | None = None) -> Trajectory:
    """Four steps whose second and third actions depend on the module named in the issue."""
    name = rng.choice(NAMES)
    plan = [("list the repository", "bash", {"command": "ls /testbed"}),
            (f"read {name}", "bash", {"command": f"cat /testbed/{name}.py"}),
            ("run its tests", "bash", {"command": f"python -m pytest /testbed/tests/test_{name}.py"}),
            ("done", "submit", {})]
    steps = [Step(thought=thought, action=tool_action(tool, args), observation="ok") for thought, tool, args in plan]
    return Trajectory(id=f"swe-{index}", task=SweTask(instance_id=task or f"swe-{index}",
                                                       problem_statement=f"The {name} module fails."),
                      steps=steps, provenance=Provenance(source_format="test"))


def s1k_row(index: int) -> dict:
    """A row in s1K-1.1's schema: the math track enters through the core importer, as real data does."""
    a, b = index % 7 + 1, index % 5 + 2
    attempt = f"1. **Add the numbers** {a} + {b} = {a + b}.\n2. **State the answer** \\boxed{{{a + b}}}"
    return {"question": f"What is {a} + {b}?", "solution": str(a + b), "deepseek_attempt": attempt,
            "deepseek_grade": "Yes", "deepseek_thinking_trajectory": "..."}


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    """Step data for both tracks, a tiny model trained on its text, and that model after a brief SFT."""
    root = tmp_path_factory.mktemp("train")
    rng = random.Random(0)
    write_trajectories(root / "swe.jsonl", [swe_trajectory(i, rng) for i in range(48)])
    (root / "s1k.jsonl").write_text("".join(json.dumps(s1k_row(i)) + "\n" for i in range(12)))
    write_trajectories(root / "math.jsonl", import_files([root / "s1k.jsonl"], resolved_only=True))
    build_step_dataset([root / "swe.jsonl"], root / "swe",
                       StepOptions(max_observation_chars=200, include_unresolved=True))  # synthetic, not graded
    build_step_dataset([root / "math.jsonl"], root / "math", StepOptions())
    init_tiny_model(root / "model", root / "swe")
    sft = config(root, "sft", output_dir=root / "sft",
                 sft=dict(batch_size=8, per_device_batch_size=8, learning_rate=3e-3, max_steps=60,
                          lr_scheduler_type="constant", warmup_ratio=0.0, max_length=1024),
                 logging=dict(eval_steps=100))
    (result,) = train(sft)
    return root, result.final_model


def config(root: Path, method: str, **sections):
    raw = {"method": method, "model": {"path": str(root / "model")}, "use_cpu": True,
           "data": {"path": str(root / "swe"), "validation_trajectories": 8}, "output_dir": str(root / method),
           "logging": {"eval_steps": 2}}
    for key, value in sections.items():
        raw[key] = {**raw[key], **value} if isinstance(raw.get(key), dict) else value
    return validate(json.loads(json.dumps(raw, default=str)))


SMALL_GRPO = dict(batch_size=2, num_generations=4, per_device_batch_size=8, max_steps=2, max_completion_length=24,
                  learning_rate=1e-3)


# --- configuration ---------------------------------------------------------------------------------

def test_unknown_key_and_impossible_batch_fail_naming_the_field(tmp_path):
    path = tmp_path / "c.yaml"
    base = {"method": "srl", "model": {"path": "nowhere"}, "data": {"path": "nowhere"}, "output_dir": "out"}
    path.write_text(yaml.safe_dump({**base, "srl": {"learnig_rate": 1e-6}}))
    with pytest.raises(ConfigError, match=r"srl\.learnig_rate: unknown key"):
        load_config(path)
    path.write_text(yaml.safe_dump(base))
    with pytest.raises(ConfigError, match=r"srl\.per_device_batch_size: 3 × 1 device\(s\) must divide"):
        load_config(path, ["srl.batch_size=4", "srl.num_generations=2", "srl.per_device_batch_size=3"])
    with pytest.raises(ConfigError, match=r"srl\.num_generations: Input should be greater than or equal to 2"):
        load_config(path, ["srl.num_generations=1"])
    with pytest.raises(ConfigError, match=r"vllm\.server_base_url: required"):
        load_config(path, ["vllm.enabled=true", "vllm.mode=server"])
    with pytest.raises(ConfigError, match="expected KEY=VALUE"):
        load_config(path, ["srl.learning_rate"])
    assert load_config(path, ["srl.learning_rate=1e-6", "srl.dynamic_sampling=false"]).srl.dynamic_sampling is False


def test_every_shipped_config_validates():
    configs = sorted((Path(__file__).parent.parent / "configs").glob("*.yaml"))
    names = {path.name for path in configs}
    assert {"math_srl_qwen2.5-7b.yaml", "math_sft_qwen2.5-7b.yaml", "math_rlvr_qwen2.5-7b.yaml",
            "math_srl_then_rlvr_qwen2.5-7b.yaml", "swe_srl_qwen2.5-coder-7b.yaml", "swe_sft_qwen2.5-coder-7b.yaml",
            "tiny_cpu.yaml"} <= names
    for path in configs:
        loaded = load_config(path)
        if loaded.method in ("srl", "srl_then_rlvr") and "7b" in path.name:  # the paper's Table 8
            assert (loaded.srl.learning_rate, loaded.srl.batch_size, loaded.srl.num_generations) == (5e-7, 512, 8)
            assert (loaded.srl.beta, loaded.srl.temperature, loaded.srl.clip_epsilon) == (0.0, 1.0, 0.2)


def test_grpo_settings_reach_trls_config(workspace, tmp_path):
    root, model = workspace
    settings = config(root, "srl", model={"path": str(model)}, output_dir=tmp_path / "srl",
                      srl={**SMALL_GRPO, "scale_rewards": "none", "loss_type": "dr_grpo", "clip_epsilon": 0.3})
    args = _build(settings, "srl", str(model), settings.output_dir, []).args
    assert (args.scale_rewards, args.loss_type, args.epsilon, args.beta) == ("none", "dr_grpo", 0.3, 0.0)
    assert config(root, "srl").srl.scale_rewards == "group"  # the paper's advantage: divided by the group's std
    with pytest.raises(ConfigError, match="scale_rewards"):
        config(root, "srl", srl={"scale_rewards": "std"})


def test_held_out_trajectories_are_stable_and_disjoint():
    ids = {f"t{i}" for i in range(100)}
    held = held_out_ids(ids, 30, seed=0)
    assert len(held) == 30 and held == held_out_ids(set(sorted(ids, reverse=True)), 30, seed=0)
    assert held != held_out_ids(ids, 30, seed=1)


def test_validation_holds_out_whole_tasks_so_no_prompt_leaks(tmp_path):
    # three expert trajectories per task, with identical issues: their first prompts are identical
    trajectories = [swe_trajectory(i, random.Random(i % 10), task=f"task-{i % 10}") for i in range(30)]
    write_trajectories(tmp_path / "t.jsonl", trajectories)
    build_step_dataset([tmp_path / "t.jsonl"], tmp_path / "steps", StepOptions(include_unresolved=True))
    settings = validate({"method": "srl", "model": {"path": "m"}, "output_dir": "o",
                         "data": {"path": str(tmp_path / "steps"), "validation_trajectories": 3}}).data
    train_rows, held_rows = step_datasets(settings)
    assert len(set(held_rows["instance_id"])) == 3 and len(held_rows) == 3 * 3 * 3  # 3 tasks × 3 trajectories × 3
    assert not set(train_rows["instance_id"]) & set(held_rows["instance_id"])
    prompt = lambda rows: {json.dumps(p) for p in rows["prompt"]}  # noqa: E731
    assert not prompt(train_rows) & prompt(held_rows)
    assert held_out_tasks(settings) == set(held_rows["instance_id"])  # the same tasks for every method


def test_training_order_depends_on_the_seed_not_on_the_order_trajectories_were_collected_in(tmp_path):
    # a parallel collection writes trajectories as they finish: the same ones, in another order
    trajectories = [swe_trajectory(i, random.Random(i)) for i in range(12)]
    rows = {}
    for name, order in (("first", trajectories), ("reversed", trajectories[::-1])):
        write_trajectories(tmp_path / f"{name}.jsonl", order)
        build_step_dataset([tmp_path / f"{name}.jsonl"], tmp_path / name, StepOptions(include_unresolved=True))
        settings = validate({"method": "srl", "model": {"path": "m"}, "output_dir": "o",
                             "data": {"path": str(tmp_path / name), "validation_trajectories": 2}}).data
        train_rows, held_rows = step_datasets(settings)
        rows[name] = ([(r["trajectory_id"], r["expert_action"]) for r in train_rows],
                      sorted(held_rows["trajectory_id"]))
    assert rows["first"] == rows["reversed"]
    actions = [action for _, action in rows["first"][0]]
    assert actions != sorted(actions)  # still shuffled


# --- dynamic sampling ------------------------------------------------------------------------------

def constant_on_listing(completions, expert_action, **kwargs):
    """Constant on the `ls /testbed` prompts (no signal), varying elsewhere."""
    return [0.5 if "ls /testbed" in expert else len(completion_text(completion)) / 100
            for completion, expert in zip(completions, expert_action, strict=True)]


def grpo_with(sampler_enabled: bool, root: Path, model: Path, tmp_path: Path, epsilon: float = 1e-4,
              max_rounds: int = 8):
    """(the logged steps, the trained model) of 3 GRPO steps with ``DynamicSampling`` as the quickstart wires it."""
    from trl import GRPOConfig, GRPOTrainer

    rows = datasets.load_dataset("parquet", data_files=str(root / "swe" / "steps.parquet"), split="train")
    rows = rows.filter(lambda row: row["step"] in (1, 2))  # half `ls /testbed` (constant), half `cat`
    sampler = DynamicSampling(rows, constant_on_listing, epsilon=epsilon, max_rounds=max_rounds,
                              enabled=sampler_enabled)
    args = GRPOConfig(output_dir=str(tmp_path), use_cpu=True, bf16=False, per_device_train_batch_size=16,
                      num_generations=4, max_completion_length=16, max_steps=3, report_to="none",
                      save_strategy="no", logging_steps=1, disable_tqdm=True, seed=1)
    trainer = GRPOTrainer(model=str(model), reward_funcs=[sampler.trainer_reward()], args=args,
                          train_dataset=rows, rollout_func=sampler)
    trainer.train()
    return [entry for entry in trainer.state.log_history if "reward" in entry], trainer.model


def test_dynamic_sampling_drops_constant_groups_and_refills(workspace, tmp_path):
    root, model = workspace
    logs, _ = grpo_with(True, root, model, tmp_path / "ds")
    assert all(entry["frac_reward_zero_std"] == 0 for entry in logs)  # every group trained on carries signal
    assert all(entry["dynamic_sampling/topped_up"] == 0 for entry in logs)
    assert statistics.mean(entry["dynamic_sampling/kept_fraction"] for entry in logs) < 1
    assert statistics.mean(entry["dynamic_sampling/generation_ratio"] for entry in logs) > 1
    ablation, _ = grpo_with(False, root, model, tmp_path / "plain")
    assert statistics.mean(entry["frac_reward_zero_std"] for entry in ablation) > 0


def test_rollouts_with_each_prompt_prefilled_once_are_trls_rollouts(workspace, tmp_path):
    import torch

    root, model = workspace
    settings = config(root, "srl", model={"path": str(model)}, output_dir=tmp_path,
                      srl={**SMALL_GRPO, "max_completion_length": 48, "temperature": 1.5})
    trainer = _build(settings, "srl", str(model), tmp_path, [])
    rows = trainer.train_dataset
    prompts = [rows[i]["prompt"] for i in (0, 9, 23)]  # different lengths: left padding differs per prompt
    distinct, _, _ = trainer._tokenize_prompts(prompts)
    assert len({len(ids) for ids in distinct}) == 3
    torch.manual_seed(7)
    shared = shared_prefill_rollouts(trainer, distinct, 4)
    torch.manual_seed(7)
    trl_path, _ = trainer._generate_single_turn([ids for ids in distinct for _ in range(4)], None, {}, 4)
    assert shared == trl_path
    assert len({tuple(ids) for ids in shared}) > 3  # sampled: rollouts of one prompt differ, so draws matched
    assert shared_prefill_rollouts(trainer, [[distinct[0][0]]], 4) is None  # a 1-token prompt: TRL's path


def test_groups_topped_up_below_epsilon_carry_no_advantage(workspace, tmp_path):
    import torch
    from transformers import AutoModelForCausalLM

    root, model = workspace
    # every group's std (rewards of 0.5, or completion lengths / 100) is below 10: all dropped, all topped up
    logs, trained = grpo_with(True, root, model, tmp_path / "flat", epsilon=10, max_rounds=1)
    assert [entry["dynamic_sampling/topped_up"] for entry in logs] == [4.0] * 3
    assert all(entry["frac_reward_zero_std"] == 1 for entry in logs)  # TRL saw flat groups: advantage 0
    assert any(entry["reward"] != 0.5 for entry in logs)  # the logged reward is still the groups' mean
    start = AutoModelForCausalLM.from_pretrained(model)
    for (name, before), after in zip(start.named_parameters(), trained.parameters(), strict=True):
        assert torch.equal(before, after.detach().cpu()), name  # nothing learned from noise


def micro_batch(trainer, advantages: list[float]) -> dict:
    """A training micro-batch as TRL builds one: prompts of different lengths left-padded, the experts' actions
    as completions right-padded, the given advantages."""
    import torch

    rows = [trainer.train_dataset[i] for i in range(len(advantages))]
    prompts, _, _ = trainer._tokenize_prompts([row["prompt"] for row in rows])
    tokenizer = trainer.processing_class
    completions = [tokenizer(row["expert_action"], add_special_tokens=False)["input_ids"][:20] for row in rows]

    def padded(sequences, left: bool):
        width = max(map(len, sequences))
        pads = [[tokenizer.pad_token_id] * (width - len(ids)) for ids in sequences]
        ids = [pad + seq if left else seq + pad for pad, seq in zip(pads, sequences, strict=True)]
        masks = [[0] * len(pad) + [1] * len(seq) if left else [1] * len(seq) + [0] * len(pad)
                 for pad, seq in zip(pads, sequences, strict=True)]
        return torch.tensor(ids), torch.tensor(masks)

    prompt_ids, prompt_mask = padded(prompts, left=True)
    completion_ids, completion_mask = padded(completions, left=False)
    return {"prompt_ids": prompt_ids, "prompt_mask": prompt_mask, "completion_ids": completion_ids,
            "completion_mask": completion_mask, "advantages": torch.tensor(advantages),
            "num_items_in_batch": completion_mask.sum()}


def test_rollouts_without_advantage_cost_no_pass_and_change_no_gradient(workspace, tmp_path, monkeypatch):
    import torch
    from trl import GRPOTrainer

    from srl_swe.train.grpo import LeanGRPOTrainer

    root, model = workspace
    trainer = _build(config(root, "srl", model={"path": str(model)}, output_dir=tmp_path, srl=SMALL_GRPO), "srl",
                     str(model), tmp_path, [])
    assert isinstance(trainer, LeanGRPOTrainer)
    trainer.model.train()
    trainer.current_gradient_accumulation_steps = 2
    passes = []
    trainer.model.register_forward_hook(lambda module, args, kwargs, output: passes.append(len(kwargs["input_ids"])),
                                        with_kwargs=True)

    def gradients(compute, inputs) -> tuple[float, list]:
        trainer.model.zero_grad(set_to_none=True)
        loss = compute(trainer, trainer.model, inputs)
        loss.backward()
        return loss.item(), [weight.grad.clone() for weight in trainer.model.parameters()]

    inputs = micro_batch(trainer, [0.0, 1.3, 0.0, -0.8])
    for loss_type in ("grpo", "dr_grpo", "dapo"):
        trainer.loss_type = loss_type
        passes.clear()
        lean_loss, lean = gradients(LeanGRPOTrainer._compute_loss, inputs)
        assert passes == [2], loss_type  # one forward pass, over the two rows with an advantage
        trl_loss, trl = gradients(GRPOTrainer._compute_loss, inputs)
        assert lean_loss == pytest.approx(trl_loss, abs=1e-6), loss_type
        assert any(grad.abs().max() > 1e-4 for grad in trl)
        for mine, theirs in zip(lean, trl, strict=True):
            torch.testing.assert_close(mine, theirs, rtol=1e-4, atol=1e-6)
    passes.clear()
    loss, flat = gradients(LeanGRPOTrainer._compute_loss, micro_batch(trainer, [0.0] * 4))
    assert passes == [] and loss == 0 and all(not grad.any() for grad in flat)  # every weight gets a zero
    monkeypatch.setattr(type(trainer.accelerator), "num_processes", property(lambda self: 2))
    assert not trainer._skips_flat_rows()  # processes gather per-row metrics: each keeps every row
    monkeypatch.undo()
    trainer.beta = 0.1  # a KL term: zero-advantage rows matter, so TRL's pass runs
    assert not trainer._skips_flat_rows()

# --- methods ---------------------------------------------------------------------------------------

def test_srl_trains_validates_and_checkpoints_with_its_config(workspace):
    root, model = workspace
    settings = config(root, "srl", model={"path": str(model)}, output_dir=root / "srl",
                      srl={**SMALL_GRPO, "max_steps": 4, "reward": "tool_call_similarity"})
    (result,) = train(settings)
    assert result.global_step == 4 and not result.interrupted
    logged = {key for entry in result.log_history for key in entry}
    assert {"reward", "reward_std", "format_error_rate", "dynamic_sampling/kept_fraction", "eval_reward",
            "eval_format_error_rate", "rewards/tool_call_similarity/mean"} <= logged
    assert any(key.startswith("similarity/") for key in logged)
    checkpoints = sorted((root / "srl").glob("checkpoint-*"))
    assert [path.name for path in checkpoints] == ["checkpoint-2", "checkpoint-4"]
    for path in checkpoints:
        assert yaml.safe_load((path / CONFIG_FILE).read_text())["srl"]["reward"] == "tool_call_similarity"
    assert result.best_checkpoint in {str(path) for path in checkpoints}
    assert (result.final_model / "model.safetensors").exists()
    assert json.loads((root / "srl" / "result.json").read_text())["global_step"] == 4


def test_sft_trains_only_on_the_expert_turns(workspace):
    root, _ = workspace
    settings = config(root, "sft", output_dir=root / "sft-masks", sft=dict(batch_size=4, per_device_batch_size=4))
    trainer = _build(settings, "sft", settings.model.path, settings.output_dir, [])
    tokenizer = trainer.processing_class
    for row in trainer.train_dataset.select(range(4)):
        trl_mask = [int(label != -100) for label in row["labels"]]
        ids, ours = assistant_mask(row["messages"], tokenizer)
        assert ids == row["input_ids"]
        for token, trained, expert in zip(ids, trl_mask, ours, strict=True):
            # TRL's template also trains the newline after "assistant" and after <|im_end|>; nothing else
            assert trained == expert or (trained and tokenizer.decode([token]).strip() == "")
        trained_text = tokenizer.decode([t for t, m in zip(ids, trl_mask, strict=True) if m])
        for context in ("OBSERVATION", "The ", "expert software"):  # observations, the issue, the system prompt
            assert context not in trained_text
        assert trained_text.count("<think>") == 4  # the four expert turns


def test_sft_on_steps_trains_on_the_expert_completion_in_the_agents_context(workspace):
    root, _ = workspace
    settings = config(root, "sft", output_dir=root / "sft-steps",
                      sft=dict(batch_size=4, per_device_batch_size=4, data="steps"))
    trainer = _build(settings, "sft", settings.model.path, settings.output_dir, [])
    tokenizer, histories = trainer.processing_class, 0
    for row in trainer.train_dataset.select(range(8)):
        mask = [label != -100 for label in row["labels"]]
        trained = tokenizer.decode([t for t, m in zip(row["input_ids"], mask, strict=True) if m])
        assert trained.count("<think>") == 1 and "</think>\n<function=" in trained  # thought + one call
        assert "OBSERVATION" not in trained and "expert software" not in trained
        context = tokenizer.decode([t for t, m in zip(row["input_ids"], mask, strict=True) if not m])
        after_system = context.split("<|im_start|>user", 1)[1]
        assert "<think>" not in after_system  # earlier steps, if any, show their actions only
        histories += "<function=" in after_system
    assert histories > 0


def test_a_wall_clock_limit_ends_training_and_the_result_says_how_long(workspace):
    root, _ = workspace
    settings = config(root, "sft", output_dir=root / "sft-timed",
                      sft=dict(batch_size=2, per_device_batch_size=2, max_steps=100_000, max_wall_seconds=2.0,
                               max_length=512), logging={"eval_steps": 100_000})
    (result,) = train(settings)
    assert 1 <= result.global_step < 1000 and not result.interrupted
    assert 2.0 <= result.train_seconds < 60
    assert json.loads((root / "sft-timed" / "result.json").read_text())["train_seconds"] == result.train_seconds


def test_no_validation_trains_without_validation_and_keeps_the_last_model(workspace):
    root, model = workspace
    settings = config(root, "srl", model={"path": str(model)}, output_dir=root / "unvalidated",
                      srl={**SMALL_GRPO, "max_steps": 2}, logging={"eval_steps": 1, "validation": False})
    (result,) = train(settings)
    logged = {key for entry in result.log_history for key in entry}
    assert "reward" in logged and not any(key.startswith("eval_") for key in logged)
    assert result.global_step == 2 and result.best_checkpoint is None


def test_srl_then_rlvr_runs_both_stages_on_math(workspace):
    root, model = workspace
    settings = config(root, "srl_then_rlvr", model={"path": str(model)}, output_dir=root / "pipeline",
                      data={"path": str(root / "math"), "validation_trajectories": 2},
                      srl=SMALL_GRPO, rlvr={**SMALL_GRPO, "max_sampling_rounds": 2})
    srl, rlvr = train(settings)
    assert (srl.method, rlvr.method) == ("srl", "rlvr") and rlvr.global_step == 2
    assert json.loads((root / "pipeline" / "rlvr" / "result.json").read_text())["method"] == "rlvr"
    logged = {key for entry in rlvr.log_history for key in entry}
    assert {"rewards/math_answer/mean", "dynamic_sampling/topped_up", "eval_reward"} <= logged
    assert rlvr.start_model == str(srl.final_model) == str(root / "pipeline" / "srl" / "final")
    assert srl.best_checkpoint is not None  # SRL's final model is its best checkpoint by validation
    assert yaml.safe_load((root / "pipeline" / "rlvr" / CONFIG_FILE).read_text())["method"] == "srl_then_rlvr"
    again = train(settings, resume=True)  # both stages finished: nothing is redone
    assert [(r.method, r.global_step, r.log_history) for r in again] == [("srl", 2, []), ("rlvr", 2, [])]


class InterruptAt(TrainerCallback):
    """Delivers a real SIGINT to this process at the end of a given step."""

    def __init__(self, step: int):
        self.step = step

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step == self.step:
            os.kill(os.getpid(), signal.SIGINT)


def test_ctrl_c_leaves_a_checkpoint_that_resume_continues(workspace):
    root, model = workspace
    settings = config(root, "srl", model={"path": str(model)}, output_dir=root / "interrupted",
                      srl={**SMALL_GRPO, "max_steps": 4}, logging={"eval_steps": 10})
    (first,) = train(settings, callbacks=[InterruptAt(1)])
    # the signal lands at the end of step 1: that step or the next finishes, is saved, and training stops
    assert first.interrupted and first.global_step in (1, 2)
    assert first.final_model == root / "interrupted" / f"checkpoint-{first.global_step}"
    assert (first.final_model / CONFIG_FILE).exists()
    with pytest.raises(ConfigError, match="holds checkpoints of an earlier run; continue it with --resume"):
        train(settings)  # a fresh run never mixes its checkpoints with an earlier run's
    (resumed,) = train(settings, resume=True)
    assert resumed.global_step == 4 and not resumed.interrupted
    steps = [entry["step"] for entry in resumed.log_history if "loss" in entry]
    assert steps == [1, 2, 3, 4]  # the history continues from the checkpoint: no step lost or repeated


def test_srl_raises_held_out_step_reward_after_a_warm_start(workspace):
    """The learning test: from the SFT warm start, 40 SRL steps raise the held-out step reward."""
    root, model = workspace
    settings = config(root, "srl", model={"path": str(model)}, output_dir=root / "learn",
                      srl=dict(batch_size=4, num_generations=8, per_device_batch_size=32, learning_rate=1e-3,
                               max_steps=40, max_completion_length=40, num_generations_eval=8),
                      logging={"eval_steps": 40, "eval_on_start": True})
    (result,) = train(settings)
    rewards = [entry["eval_reward"] for entry in result.log_history if "eval_reward" in entry]
    assert len(rewards) == 2
    assert rewards[-1] - rewards[0] >= 0.1, rewards


# --- bad input -------------------------------------------------------------------------------------

def run_cli(tmp_path: Path, raw: dict, *extra: str):
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(raw))
    return CliRunner().invoke(app, ["train", "--config", str(path), *extra])


def test_bad_setups_fail_with_a_clear_message(workspace, tmp_path):
    root, model = workspace
    raw = {"method": "srl", "model": {"path": str(tmp_path / "missing-model")}, "use_cpu": True,
           "data": {"path": str(root / "swe")}, "output_dir": str(tmp_path / "out")}
    result = run_cli(tmp_path, raw)
    assert result.exit_code == 2 and "missing-model does not exist" in result.output
    raw["model"]["path"] = str(model)
    empty = tmp_path / "empty"
    build_step_dataset([], empty, StepOptions())
    result = run_cli(tmp_path, {**raw, "data": {"path": str(empty)}})
    assert result.exit_code == 2 and "steps.parquet: no examples" in result.output
    pruned = tmp_path / "pruned"
    pruned.mkdir()
    table = datasets.load_dataset("parquet", data_files=str(root / "swe" / "steps.parquet"), split="train")
    table.remove_columns("expert_action").to_parquet(str(pruned / "steps.parquet"))
    result = run_cli(tmp_path, {**raw, "data": {"path": str(pruned)}})
    assert result.exit_code == 2 and "missing column(s) expert_action" in result.output
    result = run_cli(tmp_path, {**raw, "method": "rlvr"})
    assert result.exit_code == 2 and "no math trajectory with a reference answer" in result.output
    result = run_cli(tmp_path, raw, "--resume")
    assert result.exit_code == 2 and "no checkpoint" in result.output
    result = run_cli(tmp_path, {**raw, "vllm": {"enabled": True}})
    assert result.exit_code == 2 and "vllm.enabled: vLLM generation needs a GPU" in result.output
    if importlib.util.find_spec("vllm") is None:  # the CPU install: vLLM is an optional extra
        result = run_cli(tmp_path, {**raw, "use_cpu": False, "vllm": {"enabled": True}})
        assert result.exit_code == 2 and "vllm.enabled: needs the vllm package" in result.output
    with pytest.raises(DataError, match="not found"):
        step_datasets(validate({**raw, "data": {"path": str(tmp_path / "nope")}}).data)
