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
    build_step_dataset([root / "t.jsonl"], root / "steps", StepOptions())
    init_tiny_model(root / "model", root / "steps")


def median_step_time(trainer) -> tuple[float, list[dict]]:
    trainer.train()
    logs = [entry for entry in trainer.state.log_history if "step_time" in entry]
    return statistics.median(entry["step_time"] for entry in logs[2:]), logs


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=12)
    parser.add_argument("--completion-tokens", type=int, default=64)
    options = parser.parse_args()
    from trl import GRPOTrainer

    from srl_swe.train.config import validate
    from srl_swe.train.run import _build

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        build_data(root)

        def ours(epsilon: float, rounds: int):
            config = validate({
                "method": "srl", "model": {"path": str(root / "model")}, "use_cpu": True, "output_dir": str(root / "o"),
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
        plain_time, _ = median_step_time(plain)
        kept_time, kept_logs = median_step_time(kept_trainer)
        dropped_time, dropped_logs = median_step_time(ours(1e-4, 2))

    result = {
        "steps": options.steps, "batch_prompts": 4, "num_generations": 8,
        "completion_tokens": options.completion_tokens,
        "plain_trl_s_per_step": round(plain_time, 4),
        "srl_no_group_dropped_s_per_step": round(kept_time, 4),
        "ratio_no_group_dropped": round(kept_time / plain_time, 3),
        "kept_fraction_no_drop": statistics.mean(e["dynamic_sampling/kept_fraction"] for e in kept_logs),
        "srl_all_groups_dropped_s_per_step": round(dropped_time, 4),
        "ratio_all_groups_dropped": round(dropped_time / plain_time, 3),
        "generation_ratio_all_dropped": statistics.mean(e["dynamic_sampling/generation_ratio"] for e in dropped_logs),
        "target_ratio": 1.10,
    }
    result["meets_target"] = result["ratio_no_group_dropped"] <= 1.10
    print()  # end the progress panel's last line
    print(json.dumps(result))


if __name__ == "__main__":
    main()
