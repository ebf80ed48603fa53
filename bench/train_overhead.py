"""Seconds per optimizer step of `srl-swe train` (SRL, dynamic sampling on) vs a plain TRL GRPOTrainer.

Both trainers get the same tiny model, step data, batch, reward and GRPOConfig (the plain one is built
from the very `args` object ours uses, without our rollout_func and callbacks), in the same process.
The model is the randomly initialised tiny model: its completions always run to `max_completion_length`,
so every step generates the same number of tokens and timings compare like with like. Its rewards are
all -1 (format errors), so:

- "no group dropped": our sampler with epsilon set below 0 (every group kept) — the whole machinery
  (prompt lookup, generation through TRL's backend, scoring, regrouping, extra fields) runs, nothing is
  re-sampled. Target: ratio ≤ 1.10.
- "every group dropped": epsilon 1e-4 with `max_sampling_rounds` rounds — the worst case, reported as the
  extra generation cost.

TRL's own `step_time` log is used; the median over steps after the first two. JSON on the last line.

On a GPU: `python bench/train_overhead.py --shape qwen2.5-0.5b --bf16` runs the same comparison on a
randomly initialised model of Qwen2.5-0.5B's shape (24 layers, hidden 896) in bf16 and adds the peak GPU
memory of each trainer.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def build_data(root: Path) -> None:
    from srl_swe.actions import tool_action
    from srl_swe.steps import StepOptions, build_step_dataset
    from srl_swe.train.tiny_model import init_tiny_model
    from srl_swe.trajectory import Provenance, Step, SweTask, Trajectory, write_trajectories

    rng = random.Random(0)
    trajectories = []
    for index in range(64):
        name = rng.choice(["parser", "config", "cache", "router", "loader"])
        commands = ["ls /testbed", f"cat /testbed/{name}.py", f"python -m pytest tests/test_{name}.py -q"]
        steps = [Step(thought="next", action=tool_action("bash", {"command": c}), observation="ok " * 20)
                 for c in commands]
        trajectories.append(Trajectory(id=f"t{index}", task=SweTask(instance_id=f"t{index}",
                                                                    problem_statement=f"The {name} module fails."),
                                       steps=steps, provenance=Provenance(source_format="bench")))
    write_trajectories(root / "t.jsonl", trajectories)
    build_step_dataset([root / "t.jsonl"], root / "steps", StepOptions(include_unresolved=True))  # not graded
    init_tiny_model(root / "model", root / "steps")


QWEN25_05B = dict(hidden_size=896, intermediate_size=4864, num_hidden_layers=24, num_attention_heads=14,
                  num_key_value_heads=2, max_position_embeddings=32768, rope_theta=1e6, tie_word_embeddings=True)


def real_shape_model(folder: Path) -> None:
    """Replace the tiny model in ``folder`` by a random one of Qwen2.5-0.5B's shape (same tokenizer)."""
    import torch
    from transformers import AutoTokenizer, Qwen2Config, Qwen2ForCausalLM

    tokenizer = AutoTokenizer.from_pretrained(folder)
    torch.manual_seed(0)
    config = Qwen2Config(vocab_size=len(tokenizer), eos_token_id=tokenizer.eos_token_id,
                         pad_token_id=tokenizer.pad_token_id, **QWEN25_05B)
    Qwen2ForCausalLM(config).save_pretrained(folder)


def median_step_time(trainer) -> tuple[float, list[dict], float | None]:
    """(median seconds per step after the first two, the step logs, peak GPU GiB or None)."""
    import torch

    if torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()
    trainer.train()
    logs = [entry for entry in trainer.state.log_history if "step_time" in entry]
    peak = torch.cuda.max_memory_allocated() / 2**30 if torch.cuda.is_available() else None
    return statistics.median(entry["step_time"] for entry in logs[2:]), logs, peak


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=12)
    parser.add_argument("--completion-tokens", type=int, default=64)
    parser.add_argument("--shape", choices=["tiny", "qwen2.5-0.5b"], default="tiny")
    parser.add_argument("--bf16", action="store_true", help="bf16 training (needs a GPU)")
    options = parser.parse_args()
    from trl import GRPOTrainer

    from srl_swe.train.config import validate
    from srl_swe.train.run import _build

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        build_data(root)
        if options.shape != "tiny":
            real_shape_model(root / "model")

        def ours(epsilon: float, rounds: int):
            config = validate({
                "method": "srl", "model": {"path": str(root / "model")}, "output_dir": str(root / "o"),
                "bf16": options.bf16, "use_cpu": not options.bf16,
                "data": {"path": str(root / "steps"), "validation_trajectories": 0},
                "srl": {"batch_size": 4, "num_generations": 8, "per_device_batch_size": 16, "max_steps": options.steps,
                        "max_completion_length": options.completion_tokens, "max_sampling_rounds": rounds},
                "logging": {"eval_steps": 10_000}})
            trainer = _build(config, "srl", config.model.path, config.output_dir, [])
            trainer.rollout_func.epsilon = epsilon
            return trainer

        kept_trainer = ours(-1.0, 1)
        plain = GRPOTrainer(model=str(root / "model"), reward_funcs=kept_trainer.reward_funcs, args=kept_trainer.args,
                            train_dataset=kept_trainer.train_dataset)
        plain_time, _, plain_peak = median_step_time(plain)
        kept_time, kept_logs, kept_peak = median_step_time(kept_trainer)
        dropped_time, dropped_logs, _ = median_step_time(ours(1e-4, 2))

    result = {
        "shape": options.shape, "bf16": options.bf16, "steps": options.steps, "batch_prompts": 4, "num_generations": 8,
        "completion_tokens": options.completion_tokens,
        "plain_trl_s_per_step": round(plain_time, 4),
        "srl_no_group_dropped_s_per_step": round(kept_time, 4),
        "ratio_no_group_dropped": round(kept_time / plain_time, 3),
        "kept_fraction_no_drop": statistics.mean(e["dynamic_sampling/kept_fraction"] for e in kept_logs),
        "srl_all_groups_dropped_s_per_step": round(dropped_time, 4),
        "ratio_all_groups_dropped": round(dropped_time / plain_time, 3),
        "generation_ratio_all_dropped": statistics.mean(e["dynamic_sampling/generation_ratio"] for e in dropped_logs),
        "target_ratio": 1.10,
        "plain_trl_peak_gpu_gib": plain_peak and round(plain_peak, 2),
        "srl_peak_gpu_gib": kept_peak and round(kept_peak, 2),
    }
    result["meets_target"] = result["ratio_no_group_dropped"] <= 1.10
    print()  # end the progress panel's last line
    print(json.dumps(result))


if __name__ == "__main__":
    main()
