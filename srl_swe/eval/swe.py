"""SWE benchmarks: roll a model out on every task, write SWE-bench predictions, grade, report.

Benchmarks are the task sources of ``srl_swe.tasks.names`` (the same ones ``collect --tasks`` reads):

- ``swe-bench-verified`` (also ``swe-bench-lite``, ``swe-bench``): rows from swebench's own loader, which carry
  each instance's ``image``, ``eval_script``, ``log_parser``, ``eval_type``; the model works in the instance's
  official image (repository at /testbed); the predictions are graded by swebench's harness
  (``srl_swe.grading.harness``) in a subprocess whose working folder is the run folder (its logs land in
  ``OUT/logs/``), under this run's id.
- ``swebench:PATH``: a local dataset in SWE-bench 5's format, graded by the harness the same way; a row without
  the harness's columns stops the run before any rollout, naming them.
- a task repo folder (``tasks/<id>/task.yaml`` …, e.g. written by ``srl-swe sandbox export``): read by swebench's
  reader, graded by the harness.
- ``swe-gym``, ``swe-smith`` (rows without the harness's columns) and ``local:PATH`` (a bundled sandbox folder or
  any SWE-bench-format file whose images exist locally): graded by our grader (``srl_swe.grading``) in a fresh
  sandbox, with each task's own test command (``srl_swe.tasks.testing``).

Modes: ``agent`` (``srl_swe.agent.run_agent``: tool calls until submit) or ``oracle-files`` (one answer of
search/replace edits given the gold patch's files, ``srl_swe.eval.oracle_files``). Decoding is greedy
unless the model spec says otherwise.

The run folder holds ``run.json`` (the run id, reused on resume so swebench's per-run cache applies),
``trajectories.jsonl`` (+ ``.logs/`` per instance), ``predictions.jsonl`` (swebench's format),
``report.json`` and ``report.md`` (written even when every instance errs). Every instance ends as
``resolved``, ``unresolved``, ``empty_patch`` or ``error`` (with its reason; counted as unresolved). The
same command resumes: finished instances are kept, errors are retried.
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from srl_swe.agent import AgentLimits, run_agent
from srl_swe.cluster import RayOptions
from srl_swe.grading.harness import grade_with_harness
from srl_swe.rollout import model_factory, rollout_all, sandbox_factory
from srl_swe.sandbox.base import PatchTooLarge
from srl_swe.tasks.names import DATASETS, SOURCE_FORMS
from srl_swe.tasks.rows import TaskRef, harness_task, is_task_repo, load_tasks, select_tasks
from srl_swe.trajectory import atomic_output, read_trajectories

STATUSES = ("resolved", "unresolved", "empty_patch", "error")
@dataclass
class SweRun:
    benchmark: str
    model: str
    out: Path
    mode: str = "agent"
    workers: int = 1
    sandbox: str = "docker"
    slice_: str | None = None
    pattern: str | None = None
    run_id: str | None = None
    base_url: str | None = None
    api_key: str | None = None
    harness_timeout: int = 1800
    max_new_tokens: int | None = None
    limits: AgentLimits = AgentLimits()
    ray: RayOptions | None = None
    """Roll out on a Ray cluster (``srl_swe.cluster``); None: the local pool. The harness grades on this machine."""


def load_benchmark(run: SweRun) -> tuple[list[TaskRef], tuple[str, str] | None]:
    """The tasks, and the (dataset, split) swebench's harness grades them from (None: our grader). ValueError for
    an unknown benchmark, a missing path, or a row the harness cannot use (naming its missing columns)."""
    name = run.benchmark
    dataset = DATASETS.get(name)
    if dataset is not None and not dataset.harness:  # rows without the SWE-bench 5 columns: our grader
        return load_tasks(Path(name), run.slice_, run.pattern), None
    if dataset is not None or name.startswith("swebench:"):
        from swebench.harness.utils import load_swebench_dataset

        source = (dataset.hub, dataset.split) if dataset else (name.removeprefix("swebench:"), "test")
        rows = [dict(row) for row in load_swebench_dataset(*source)]
        tasks = [TaskRef(harness_task(source[0], number, row)) for number, row in enumerate(rows, 1)]
        return select_tasks(tasks, run.slice_, run.pattern), source
    path = Path(name.removeprefix("local:"))
    if not path.exists():
        raise ValueError(f"--benchmark {name}: {path} does not exist" if name.startswith("local:") else
                         f"unknown benchmark {name!r}: use {', '.join(SOURCE_FORMS)}")
    if is_task_repo(path) and not name.startswith("local:"):
        return select_tasks(load_tasks(path), run.slice_, run.pattern), (str(task_repo_rows(path, run.out)), "test")
    return load_tasks(path, run.slice_, run.pattern), None


def task_repo_rows(path: Path, out: Path) -> Path:
    """A task repo's rows (read by swebench's own reader) as ``out/task_repo.jsonl``, the dataset the harness
    grades them from."""
    from swebench.task.repo import load_task_repo

    out.mkdir(parents=True, exist_ok=True)
    with atomic_output(out / "task_repo.jsonl") as handle:
        for row in load_task_repo(path):
            handle.write(json.dumps(row, default=str) + "\n")
    return (out / "task_repo.jsonl").resolve()


def started_run(run: SweRun) -> dict | None:
    """The run.json this folder was started with (None: a new folder); a ValueError if it belongs to
    another benchmark, model or mode."""
    record = run.out / "run.json"
    if not record.exists():
        return None
    started = json.loads(record.read_text())
    changed = [key for key in ("benchmark", "model", "mode") if started.get(key) != getattr(run, key)]
    if changed:  # its trajectories and the harness's cache belong to another evaluation
        raise ValueError(f"{run.out} holds a run with another {', '.join(changed)} "
                         f"({', '.join(str(started.get(k)) for k in changed)}); choose another -o")
    return started


def run_id_of(run: SweRun) -> str:
    """The run id: given, else the one this folder was started with, else a new unique one (then
    recorded in run.json)."""
    started = started_run(run)
    if started is not None and run.run_id is None:
        return started["run_id"]
    run_id = run.run_id or f"{run.out.name}-{uuid.uuid4().hex[:8]}"
    run.out.mkdir(parents=True, exist_ok=True)
    with atomic_output(run.out / "run.json") as handle:
        json.dump({"run_id": run_id, "benchmark": run.benchmark, "model": run.model, "mode": run.mode}, handle)
    return run_id


def solver_and_models(run: SweRun):
    """(solve, make_model) for the run's mode and model spec."""
    if run.mode == "agent":
        return run_agent, model_factory(run.model, run.base_url, run.api_key, max_new_tokens=run.max_new_tokens)
    if run.mode != "oracle-files":
        raise ValueError(f"unknown mode {run.mode!r}: use agent or oracle-files")
    from srl_swe.eval.oracle_files import OracleFilesModel, solve

    if run.model == "oracle":
        return solve, lambda ref, sandbox: OracleFilesModel(ref.task)
    return solve, model_factory(run.model, run.base_url, run.api_key, max_new_tokens=run.max_new_tokens)


def run_swe_eval(run: SweRun, on_done: Callable[[str, str], None] | None = None,
                 on_start: Callable[[int], None] | None = None) -> dict:
    """Generate, grade and report (see the module docstring); returns the report."""
    tasks, harness = load_benchmark(run)
    started_run(run)  # a folder of another run is refused before a model is loaded …
    solve, make_model = solver_and_models(run)
    run_id = run_id_of(run)  # … and run.json written after: a typo'd model must not claim the folder
    if on_start is not None:
        on_start(len(tasks))
    rollouts = rollout_all(tasks, run.out / "trajectories.jsonl", sandbox_factory(run.sandbox, run_id), make_model,
                           run.limits, run.workers, on_done=on_done, solve=solve, grade=harness is None, ray=run.ray)
    wanted, path = {ref.task.instance_id for ref in tasks}, run.out / "trajectories.jsonl"
    trajectories = {t.task.instance_id: t for t in (read_trajectories(path) if path.exists() else ())
                    if t.task.instance_id in wanted}  # no file: every instance errored before finishing
    write_predictions(run.out / "predictions.jsonl", run.model, trajectories)
    if harness is None:
        verdicts = {iid: ("resolved", "") if t.outcome.resolved else ("unresolved", _grade_reason(run.out, iid))
                    for iid, t in trajectories.items()}
    else:
        verdicts = grade_with_harness(run.out, run.model, run_id, harness, sorted(trajectories), run.workers,
                                      run.harness_timeout)
    instances = {ref.task.instance_id: _instance(ref.task.instance_id, trajectories, rollouts.errors, verdicts, run)
                 for ref in tasks}
    report = summarise(run, run_id, instances)
    if rollouts.log_failure:
        report["log_failure"] = rollouts.log_failure
    write_report(run.out, report)
    return report


def _instance(iid: str, trajectories: dict, errors: dict[str, str], verdicts: dict[str, tuple[str, str]],
              run: SweRun) -> dict:
    """One instance's status and reason (see the module docstring)."""
    if iid in errors or iid not in trajectories:
        return {"status": "error", "reason": errors.get(iid, "no result")}
    outcome = trajectories[iid].outcome
    if outcome.exit_status == "time_limit":  # the model's result, kept (not retried): as the harness's timeouts
        return {"status": "unresolved", "reason": f"the episode hit its time limit ({run.limits.max_seconds:.0f} s)",
                "exit_status": outcome.exit_status}
    if outcome.exit_status == "patch_too_large":
        return {"status": "unresolved", "reason": str(PatchTooLarge()), "exit_status": outcome.exit_status}
    if not outcome.patch.strip():
        return {"status": "empty_patch", "exit_status": outcome.exit_status}
    status, reason = verdicts.get(iid, ("error", "the harness reported no result"))
    return {"status": status, "exit_status": outcome.exit_status, **({"reason": reason} if reason else {})}


def _grade_reason(out: Path, iid: str) -> str:
    """Why our grader did not resolve an instance (a patch that did not apply, failing tests), if it said."""
    path = out / "trajectories.jsonl.logs" / f"{iid}.grade.json"
    return json.loads(path.read_text()).get("reason", "") if path.exists() else ""


def write_predictions(path: Path, model: str, trajectories: dict) -> None:
    """swebench's predictions format, one JSON object per line."""
    with atomic_output(path) as handle:
        for iid, trajectory in sorted(trajectories.items()):
            handle.write(json.dumps({"instance_id": iid, "model_name_or_path": model,
                                     "model_patch": trajectory.outcome.patch}) + "\n")


def summarise(run: SweRun, run_id: str, instances: dict[str, dict]) -> dict:
    counts = Counter(entry["status"] for entry in instances.values())
    total = len(instances)
    return {"kind": "swe", "benchmark": run.benchmark, "mode": run.mode, "model": run.model, "run_id": run_id,
            "total": total, "resolved": counts["resolved"],
            "resolve_rate": counts["resolved"] / total if total else 0.0,
            "counts": {status: counts[status] for status in STATUSES}, "instances": instances}


def write_report(out: Path, report: dict) -> None:
    """report.json, and report.md with one table row per instance (cells escaped: see ``_cell``)."""
    with atomic_output(out / "report.json") as handle:
        json.dump(report, handle, indent=2)
    lines = [f"# {report['benchmark']} · {report['mode']} · {report['model']} (run {report['run_id']})", "",
             f"Resolved {report['resolved']}/{report['total']} = {100 * report['resolve_rate']:.1f}%", "",
             "| instance | status | detail |", "|---|---|---|"]
    for iid, entry in sorted(report["instances"].items()):
        cells = (iid, entry["status"], entry.get("reason") or entry.get("exit_status", ""))
        lines.append("| " + " | ".join(_cell(cell) for cell in cells) + " |")
    with atomic_output(out / "report.md") as handle:
        handle.write("\n".join(lines) + "\n")


def _cell(text: object) -> str:
    """``text`` as one markdown table cell: line breaks become spaces and ``|`` is escaped, so a row stays
    one row (report.json keeps the text as it was)."""
    return " ".join(str(text).splitlines()).replace("|", "\\|")
