"""``srl-swe quickstart``: the whole pipeline on one CPU machine, on the bundled tasks, in minutes.

1. sandboxes: the bundled images are built (Docker), or the local sandbox is used when no engine answers;
2. collect: the oracle expert solves every bundled task in parallel, graded → ``OUT/trajectories.jsonl``;
3. steps: the step-wise dataset → ``OUT/steps`` (observations cut to 1,000 characters to stay fast);
4. model: the offline tiny model, its tokenizer trained on those steps → ``OUT/model``;
5. SFT warm start on the training trajectories, so the model writes the format → ``OUT/sft``;
6. SRL from the warm start, with dynamic sampling → ``OUT/srl``, validated on the held-out tasks' steps
   before the first step and after the last;
7. evaluation: the warm-started and the SRL model as agents on the held-out bundled tasks, graded.

The held-out tasks are the validation tasks of step 6 (``srl_swe.train.data.held_out_tasks``), so
neither training stage sees them. Every phase reuses what a previous run left in ``OUT`` (images,
trajectories, steps, model, finished training stages). The result — held-out step reward and
format-error rate after the warm start and after SRL, and resolved held-out tasks — is written to
``OUT/quickstart.md`` and ``OUT/quickstart.json``, the reward curves to ``OUT/rewards.png``.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from srl_swe.resources import sandboxes_dir

SANDBOXES = sandboxes_dir()
MIN_FREE_GB = 2.0


@dataclass
class QuickstartOptions:
    out: Path = Path("runs/quickstart")
    sandbox: str | None = None
    """docker, local, or None: docker when an engine answers, else local."""
    workers: int = 4
    held_out: int = 4
    sft_steps: int = 150
    srl_steps: int = 20
    agent_steps: int = 4
    max_new_tokens: int = 64
    max_observation_chars: int = 300
    srl_learning_rate: float = 3e-4
    temperature: float = 0.7
    """Sampling temperature of SRL's rollouts and of the held-out validation (the paper: 1.0, for 7B models;
    the 2-layer model's samples at 1.0 are nearly all format errors)."""


class SetupError(RuntimeError):
    """A machine that cannot run the quickstart; the message says what to do."""


def docker_problem() -> str | None:
    """Why the Docker engine cannot be used (None when it answers)."""
    try:
        import docker

        docker.from_env(timeout=10).ping()
    except Exception as exc:  # noqa: BLE001 - any failure means: use the local sandbox
        text = str(exc)
        if "Permission denied" in text:
            return ("no permission on the Docker socket (add your user to the `docker` group, then log in "
                    "again)")
        return "no Docker engine answers (start it with `sudo systemctl start docker`, or install Docker)"
    return None


def choose_sandbox(requested: str | None, say: Callable[[str], None]) -> str:
    if requested == "local":
        return "local"
    problem = docker_problem()
    if problem is None:
        return "docker"
    if requested == "docker":
        raise SetupError(f"--sandbox docker: {problem}")
    say(f"{problem}: falling back to the local sandbox (a copy of each repository, no isolation)")
    return "local"


def check_disk(out: Path) -> None:
    folder = out if out.exists() else next(p for p in out.resolve().parents if p.exists())
    free = shutil.disk_usage(folder).free / 2**30
    if free < MIN_FREE_GB:
        raise SetupError(f"only {free:.1f} GB free under {folder}; the quickstart needs about {MIN_FREE_GB:.0f} GB "
                         f"(model checkpoints, images): free some space or choose another -o")


def run_quickstart(options: QuickstartOptions, say: Callable[[str], None] = print,
                   phase: Callable[[str], None] = print) -> dict:
    """Run every phase (see the module docstring); returns the result table as a dict."""
    out = options.out
    check_disk(out)
    out.mkdir(parents=True, exist_ok=True)
    kind = choose_sandbox(options.sandbox, say)
    phase("sandboxes")
    if kind == "docker":
        from srl_swe.sandbox.images import build_images

        build_images(SANDBOXES)
    phase("collect")
    _collect(options, kind)
    phase("steps")
    steps = _steps(options)
    phase("model")
    _tiny_model(options, steps)
    phase("sft")
    sft = _train(options, "sft", str(out / "model"))
    phase("srl")
    srl = _train(options, "srl", str(sft.final_model))
    phase("evaluate")
    return _finish(options, kind, sft, srl)


def _collect(options: QuickstartOptions, kind: str) -> None:
    from srl_swe.rollout import model_factory, rollout_all, sandbox_factory
    from srl_swe.tasks.rows import bundled_tasks

    report = rollout_all(bundled_tasks(SANDBOXES), options.out / "trajectories.jsonl",
                         sandbox_factory(kind, run_id="quickstart"), model_factory("oracle"), workers=options.workers)
    if report.errors:
        raise SetupError("the oracle failed on " + "; ".join(f"{k}: {v}" for k, v in sorted(report.errors.items())))


def _steps(options: QuickstartOptions) -> Path:
    from srl_swe.steps import StepOptions, build_step_dataset

    folder = options.out / "steps"
    if not (folder / "manifest.json").exists():
        build_step_dataset([options.out / "trajectories.jsonl"], folder,
                           StepOptions(max_observation_chars=options.max_observation_chars))
    return folder


def _tiny_model(options: QuickstartOptions, steps: Path) -> None:
    from srl_swe.train.tiny_model import init_tiny_model

    if not (options.out / "model" / "config.json").exists():
        init_tiny_model(options.out / "model", steps)


def _config(options: QuickstartOptions, method: str, model: str):
    from srl_swe.train.config import validate

    grpo = {"learning_rate": options.srl_learning_rate, "temperature": options.temperature, "batch_size": 4,
            "num_generations": 8, "per_device_batch_size": 32,
            "max_steps": options.srl_steps, "max_completion_length": options.max_new_tokens,
            "num_generations_eval": 4, "max_sampling_rounds": 2}
    sft = {"learning_rate": 3e-3, "batch_size": 4, "per_device_batch_size": 4, "max_steps": options.sft_steps,
           "lr_scheduler_type": "constant", "warmup_ratio": 0.0, "max_length": 1536}
    return validate({
        "method": method, "model": {"path": model}, "use_cpu": True, "output_dir": str(options.out / method),
        "data": {"path": str(options.out / "steps"), "validation_trajectories": options.held_out},
        "srl": grpo, "sft": sft,
        "logging": {"eval_steps": options.srl_steps if method == "srl" else 10_000, "eval_on_start": True},
    }, "quickstart")


def _train(options: QuickstartOptions, method: str, model: str):
    from srl_swe.train.run import finished_stage, train

    folder = options.out / method
    done = finished_stage(folder)
    if done is not None:
        return done
    return train(_config(options, method, model), resume=any(folder.glob("checkpoint-*")))[0]


def _log_history(stage) -> list[dict]:
    """The stage's logs: from this run, or from the newest checkpoint of a run that finished before."""
    from srl_swe.eval.report import training_log_history

    return stage.log_history or training_log_history(stage.output_dir)


def _held_out_step_rewards(srl) -> tuple[dict, dict]:
    """(after the warm start, after SRL): the validation entries before the first and after the last step."""
    evals = [entry for entry in _log_history(srl) if "eval_reward" in entry]
    return evals[0], evals[-1]


def _resolved(options: QuickstartOptions, kind: str, model: Path, held: set[str], name: str) -> tuple[int, int]:
    from srl_swe.agent import AgentLimits
    from srl_swe.eval.swe import SweRun, run_swe_eval

    pattern = "^(" + "|".join(sorted(held)) + ")$"
    resolved = total = 0
    for folder in sorted(p.parent for p in SANDBOXES.glob("*/tasks.jsonl")):
        report = run_swe_eval(SweRun(f"local:{folder}", f"hf:{model}", options.out / "eval" / name / folder.name,
                                     workers=1, sandbox=kind, pattern=pattern, run_id=f"quickstart-{name}",
                                     max_new_tokens=options.max_new_tokens,
                                     limits=AgentLimits(max_steps=options.agent_steps)))
        resolved, total = resolved + report["resolved"], total + report["total"]
    return resolved, total


def _finish(options: QuickstartOptions, kind: str, sft, srl) -> dict:
    from srl_swe.eval.report import plots
    from srl_swe.train.config import DataSettings
    from srl_swe.train.data import held_out_tasks

    before, after = _held_out_step_rewards(srl)
    held = held_out_tasks(DataSettings(path=options.out / "steps", validation_trajectories=options.held_out))
    rows = []
    for label, model, metrics in (("after SFT warm start", sft.final_model, before),
                                  ("after SRL", srl.final_model, after)):
        resolved, total = _resolved(options, kind, model, held, "sft" if "SFT" in label else "srl")
        rows.append({"model": label, "held_out_step_reward": metrics["eval_reward"],
                     "format_error_rate": metrics["eval_format_error_rate"], "resolved": resolved, "tasks": total})
    result = {"sandbox": kind, "held_out_tasks": sorted(held), "rows": rows,
              "improved": rows[1]["held_out_step_reward"] > rows[0]["held_out_step_reward"]}
    with open(options.out / "quickstart.json", "w", encoding="utf-8") as handle:
        json.dump(result, handle, indent=2)
    (options.out / "quickstart.md").write_text(table_markdown(result))
    plots([{"kind": "train", "name": "srl", "log_history": _log_history(srl)}], options.out)
    return result


def table_markdown(result: dict) -> str:
    lines = ["| model | held-out step reward | format errors | resolved held-out tasks |", "|---|---|---|---|"]
    for row in result["rows"]:
        lines.append(f"| {row['model']} | {row['held_out_step_reward']:+.3f} | {100 * row['format_error_rate']:.0f}% "
                     f"| {row['resolved']}/{row['tasks']} |")
    return "\n".join(lines) + "\n"
