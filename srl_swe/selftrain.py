"""``srl-swe selftrain``: SRL on the expert's steps plus the policy's own runs, relabeled in hindsight, for N rounds.

Round r (1…N), in ``OUT/round-r``, from the current policy (``model.path`` for round 1, then round r−1's model):

1. ``policy.jsonl``: the policy as an agent on the training tasks — the task source's tasks that the expert
   trajectories cover, minus the held-out ones, which are never rolled out — graded, kept whatever the outcome;
2. ``steps/``: the expert's trajectories and this round's runs with ``hindsight`` on — the policy's resolved
   runs give examples of their own task, every run that changed the repository gives relabeled examples
   (``srl_swe.steps.hindsight_examples``), unresolved runs only those;
3. ``srl/``: SRL from the current policy on those steps (the config's ``srl`` settings);
4. a line in ``OUT/rounds.jsonl``: the new policy's held-out figures (greedy, the held-out tasks' expert steps,
   ``srl_swe.eval.steps``) with the round's counts. Line 0 holds the start model's figures.

Only tasks with an expert trajectory are rolled out because the held-out split is a function of the set of
tasks in the data (``srl_swe.train.data.held_out_ids``): a run of a task the expert never solved would move it.
Every phase reuses what a previous run finished in ``OUT``, so an interrupted run continues with the same command.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from srl_swe.agent import AgentLimits
from srl_swe.steps import StepOptions
from srl_swe.train.config import TrainConfig

ROUNDS = "rounds.jsonl"


class SelfTrainError(ValueError):
    """Inputs that cannot make a self-training run; the message names the option."""


@dataclass
class SelfTrainOptions:
    config: TrainConfig
    """An SRL config: ``model.path`` is the first policy; ``data`` settings other than ``path`` apply to every
    round (the held-out split among them); ``output_dir`` is ignored (each round trains in ``OUT/round-r/srl``)."""
    expert: list[Path]
    """Canonical trajectory files of the expert (their resolved runs are the SRL steps of every round)."""
    tasks: list[Path]
    """The task sources the policy is rolled out on (each read by ``srl_swe.tasks.rows.load_tasks``)."""
    out: Path
    rounds: int = 3
    sandbox: str = "docker"
    workers: int = 1
    temperature: float | None = None
    """The policy's sampling temperature in its rollouts (None: ``srl.temperature``)."""
    limits: AgentLimits = field(default_factory=AgentLimits)
    """Agent limits; ``limits.prompt`` also builds the step data, so training prompts match the agent's."""


Say = Callable[[str], None]


def run_selftrain(options: SelfTrainOptions, say: Say = print,
                  on_rollout: Callable[[], None] = lambda: None) -> list[dict]:
    """Every round not yet in ``OUT/rounds.jsonl``; returns all its lines (round 0 first)."""
    if options.config.method != "srl":
        raise SelfTrainError(f"the config's method is {options.config.method!r}; selftrain trains with srl")
    out = options.out
    out.mkdir(parents=True, exist_ok=True)
    expert_steps = _build_steps(options.expert, out / "expert-steps", options.limits.prompt)
    held_out = _held_out_examples(options, expert_steps)
    training = _training_tasks(options, expert_steps)
    done = read_rounds(out)
    if not done:
        done = [_record(out, {"round": 0, "model": options.config.model.path,
                              **_figures(options.config.model.path, held_out, options)})]
    for index in range(len(done), options.rounds + 1):
        model = str(done[-1]["model"])
        done.append(_record(out, _round(options, index, model, training, held_out, say, on_rollout)))
    return done


def read_rounds(out: Path) -> list[dict]:
    path = out / ROUNDS
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.exists() else []


def _round(options: SelfTrainOptions, index: int, model: str, training: set[str], held_out: list[dict], say: Say,
           on_rollout: Callable[[], None]) -> dict:
    folder = options.out / f"round-{index}"
    say(f"round {index}: the policy {model} on the training tasks")
    runs = _rollouts(options, folder, model, training, on_rollout)
    steps = _build_steps([*options.expert, runs.path], folder / "steps", options.limits.prompt, hindsight=True)
    manifest = json.loads((steps / "manifest.json").read_text())
    say(f"round {index}: SRL on {manifest['examples']} examples ({manifest.get('hindsight_examples', 0)} relabeled)")
    trained = _train(options, model, steps, folder / "srl")
    return {"round": index, "model": str(trained.final_model), **_figures(str(trained.final_model), held_out, options),
            "rollouts": runs.total, "resolved": runs.resolved, "changed_repository": runs.changed,
            "examples": manifest["examples"], "hindsight_examples": manifest.get("hindsight_examples", 0),
            "srl_steps": trained.global_step, "srl_seconds": trained.train_seconds}


@dataclass
class _Runs:
    path: Path
    total: int
    resolved: int
    changed: int
    """Runs whose recorded diffs show a change of the repository (the ones hindsight can relabel)."""


def _rollouts(options: SelfTrainOptions, folder: Path, model: str, training: set[str],
              on_rollout: Callable[[], None]) -> _Runs:
    from srl_swe.rollout import model_factory, rollout_all, sandbox_factory
    from srl_swe.tasks.rows import load_tasks
    from srl_swe.trajectory import read_trajectories

    refs = [ref for source in options.tasks for ref in load_tasks(source) if ref.task.instance_id in training]
    if not refs:
        raise SelfTrainError(f"--tasks {', '.join(map(str, options.tasks))}: no task has an expert trajectory "
                             f"outside the held-out tasks")
    path = folder / "policy.jsonl"
    temperature = options.config.srl.temperature if options.temperature is None else options.temperature
    report = rollout_all(refs, path, sandbox_factory(options.sandbox, run_id=f"selftrain-{folder.name}"),
                         model_factory(f"hf:{model}", temperature=temperature,
                                       max_new_tokens=options.config.srl.max_completion_length),
                         options.limits, workers=options.workers, on_done=lambda iid, status: on_rollout())
    if report.errors:
        raise SelfTrainError("rollouts failed: " + "; ".join(f"{k}: {v}" for k, v in sorted(report.errors.items())))
    runs = list(read_trajectories(path))
    return _Runs(path, len(runs), sum(bool(t.outcome and t.outcome.resolved) for t in runs),
                 sum(any(step.diff for step in t.steps) for t in runs))


def _training_tasks(options: SelfTrainOptions, expert_steps: Path) -> set[str]:
    """The tasks the expert's step data covers, less the held-out ones: the only ones rolled out."""
    import pyarrow.parquet as pq

    from srl_swe.train.data import held_out_tasks

    covered = pq.read_table(expert_steps / "sft.parquet", columns=["instance_id"]).column("instance_id").to_pylist()
    return {iid for iid in covered if iid} - held_out_tasks(_data(options, expert_steps))


def _data(options: SelfTrainOptions, path: Path):
    return options.config.data.model_copy(update={"path": path, "pivots": None})


def _held_out_examples(options: SelfTrainOptions, expert_steps: Path) -> list[dict]:
    from srl_swe.train.data import step_datasets

    validation = step_datasets(_data(options, expert_steps))[1]
    if validation is None:
        raise SelfTrainError("no held-out task: set data.validation_trajectories ≥ 1 so each round can be measured")
    return sorted(validation, key=lambda row: (row["trajectory_id"], row["step"]))


def _figures(model: str, held_out: list[dict], options: SelfTrainOptions) -> dict:
    from srl_swe.eval.steps import score_steps

    result = score_steps(model, held_out, options.config.srl.max_completion_length)
    return {"held_out_step_reward": round(result.reward, 4), "format_error_rate": round(result.format_error_rate, 4),
            "exact_match": round(result.exact_match, 4), "held_out_steps": len(held_out)}


def _build_steps(inputs: list[Path], folder: Path, prompt: StepOptions, hindsight: bool = False) -> Path:
    from srl_swe.steps import build_step_dataset

    if not (folder / "manifest.json").exists():
        build_step_dataset(inputs, folder, prompt.model_copy(update={"hindsight": hindsight}))
    return folder


def _train(options: SelfTrainOptions, model: str, steps: Path, folder: Path):
    from srl_swe.train.run import finished_stage, train

    done = finished_stage(folder)
    if done is not None:
        return done
    config = options.config.model_copy(deep=True)
    config.model.path, config.data, config.output_dir = model, _data(options, steps), folder
    result = train(config, resume=any(folder.glob("checkpoint-*")))[0]
    if result.interrupted:  # Ctrl-C: its checkpoint is saved; the same command resumes from it
        raise KeyboardInterrupt
    return result


def _record(out: Path, line: dict) -> dict:
    """Append one round's line (atomically: the file is rewritten whole)."""
    from srl_swe.trajectory import atomic_output

    lines = [*read_rounds(out), line]
    with atomic_output(out / ROUNDS) as handle:
        handle.write("".join(json.dumps(entry) + "\n" for entry in lines))
    return line
