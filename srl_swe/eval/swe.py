"""SWE benchmarks: roll a model out on every task, write SWE-bench predictions, grade, report.

- ``swe-bench-verified`` (also ``swe-bench-lite``, ``swe-bench``): rows from swebench's own loader
  (``SWE-bench/SWE-bench_Verified``, which carries each instance's ``image``, ``eval_script``,
  ``log_parser``, ``eval_type``); the model works in the instance's official image (repository at
  /testbed); the predictions are graded by swebench's ``run_evaluation`` in a subprocess whose working
  folder is the run folder (its logs land in ``OUT/logs/``), under this run's id.
- ``swebench:PATH``: a local dataset in SWE-bench 5's format (.jsonl/.json/.parquet with those columns,
  e.g. written by ``swebench_row``), graded by the harness the same way.
- ``local:PATH``: a bundled sandbox folder (``sandboxes/<repo>``) or any SWE-bench-format JSONL whose
  images exist locally, graded by ``srl_swe.grading`` in a fresh sandbox.

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
import re
import shlex
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from srl_swe.agent import AgentLimits, run_agent
from srl_swe.eval.names import BENCHMARK_FORMS, SWE_BENCHMARKS
from srl_swe.rollout import (
    TaskRef,
    load_tasks,
    model_factory,
    rollout_all,
    sandbox_factory,
    select_tasks,
    task_from_row,
)
from srl_swe.sandbox.base import PatchTooLarge
from srl_swe.trajectory import SweTask, atomic_output, read_trajectories

STATUSES = ("resolved", "unresolved", "empty_patch", "error")
HARNESS_COLUMNS = ("instance_id", "repo", "version", "base_commit", "patch", "test_patch", "FAIL_TO_PASS",
                   "PASS_TO_PASS", "image", "eval_script", "log_parser", "eval_type")
"""The columns of a SWE-bench 5 row that swebench's harness (``make_test_spec``) and ``task_from_row`` read."""


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


def load_benchmark(run: SweRun) -> tuple[list[TaskRef], tuple[str, str] | None]:
    """The tasks, and the (dataset, split) swebench grades them from (None: our grader)."""
    if run.benchmark in SWE_BENCHMARKS or run.benchmark.startswith("swebench:"):
        from swebench.harness.utils import load_swebench_dataset

        dataset = SWE_BENCHMARKS.get(run.benchmark) or (run.benchmark.removeprefix("swebench:"), "test")
        rows = [dict(row) for row in load_swebench_dataset(*dataset)]
        tasks = [TaskRef(harness_task(dataset[0], number, row)) for number, row in enumerate(rows, 1)]
        return select_tasks(tasks, run.slice_, run.pattern), dataset
    if run.benchmark.startswith("local:"):
        path = Path(run.benchmark.removeprefix("local:"))
        if not path.exists():
            raise ValueError(f"--benchmark {run.benchmark}: {path} does not exist")
        return load_tasks(path, run.slice_, run.pattern), None
    raise ValueError(f"unknown benchmark {run.benchmark!r}: use {', '.join(BENCHMARK_FORMS)}")


def harness_task(source: str, number: int, row: dict) -> SweTask:
    """Row ``number`` (from 1) of ``source`` as a task, once it has every column in ``HARNESS_COLUMNS``
    (absent, null or, for the text ones, empty counts as missing); else a one-line ValueError naming the
    source, the row and the missing columns, or the row's first unusable field."""
    iid = row.get("instance_id") or "no instance_id"
    missing = [column for column in HARNESS_COLUMNS
               if row.get(column) is None or (column not in ("FAIL_TO_PASS", "PASS_TO_PASS") and row[column] == "")]
    if missing:
        raise ValueError(f"{source}: row {number} ({iid}) lacks {', '.join(missing)}, which swebench's harness "
                         f"needs; write such rows with srl_swe.eval.swe.swebench_row, or grade them with our grader "
                         f"via --benchmark local:PATH")
    try:
        return task_from_row(row)
    except ValueError as exc:
        raise ValueError(f"{source}: row {number} ({iid}): {exc}") from None


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
                           run.limits, run.workers, on_done=on_done, solve=solve, grade=harness is None)
    wanted, path = {ref.task.instance_id for ref in tasks}, run.out / "trajectories.jsonl"
    trajectories = {t.task.instance_id: t for t in (read_trajectories(path) if path.exists() else ())
                    if t.task.instance_id in wanted}  # no file: every instance errored before finishing
    write_predictions(run.out / "predictions.jsonl", run.model, trajectories)
    if harness is None:
        verdicts = {iid: ("resolved", "") if t.outcome.resolved else ("unresolved", _grade_reason(run.out, iid))
                    for iid, t in trajectories.items()}
    else:
        verdicts = grade_with_harness(run, run_id, harness, sorted(trajectories))
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


def grade_with_harness(run: SweRun, run_id: str, harness: tuple[str, str], ids: list[str]
                       ) -> dict[str, tuple[str, str]]:
    """Run swebench's ``run_evaluation`` on the predictions; {instance_id: (status, reason)}."""
    if not ids:
        return {}
    dataset, split = harness
    command = [sys.executable, "-m", "swebench.harness.run_evaluation", "--dataset_name", dataset, "--split", split,
               "--predictions_path", str((run.out / "predictions.jsonl").resolve()), "--max_workers",
               str(run.workers), "--run_id", run_id, "--timeout", str(run.harness_timeout),
               "--report_dir", str(run.out.resolve()), "--instance_ids", *ids]
    # every instance gets --timeout for its tests; images, containers and reports get as long again
    limit = 2 * run.harness_timeout * -(-len(ids) // max(1, run.workers)) + 600
    with open(run.out / "harness.log", "a", encoding="utf-8") as log:
        try:
            subprocess.run(command, cwd=run.out, stdout=log, stderr=subprocess.STDOUT, check=False, timeout=limit)
        except subprocess.TimeoutExpired:
            return {iid: ("error", f"the harness did not finish within {limit} s (see harness.log)") for iid in ids}
    verdicts = harness_verdicts(run.out / f"{run.model.replace('/', '__')}.{run_id}.json")
    verdicts.update({iid: ("error", "the harness reported no result") for iid in ids if iid not in verdicts})
    for iid, (status, reason) in verdicts.items():
        if status == "error":
            log = run.out / "logs" / "run_evaluation" / run_id / run.model.replace("/", "__") / iid / "run_instance.log"
            said = log_tail(log if log.exists() else run.out / "harness.log")
            verdicts[iid] = (status, f"{reason}: {said}" if said else reason)
    return verdicts


HARNESS_CHATTER = ("traceback (most recent call last)", "attempting to stop", "attempting to remove",
                   "stopped successfully", "removed successfully", "killed successfully", "forcefully killing",
                   "check (logs/")
LOG_PREFIX = re.compile(r"^\d{4}-\d\d-\d\d [\d:,.]+ - [A-Z]+ - ")  # swebench's logger: "2025-… - INFO - "


def log_tail(path: Path, lines: int = 3, limit: int = 300) -> str:
    """The last ``lines`` meaningful lines of a harness log on one line, at most ``limit`` characters (the
    end kept); "" when there is no such file or line. Meaningful: not blank, not a traceback's indented frames,
    not container clean-up; swebench's logger prefix is dropped."""
    try:
        with open(path, "rb") as handle:
            handle.seek(max(0, handle.seek(0, 2) - 65536))
            text = handle.read().decode("utf-8", "replace")
    except OSError:
        return ""
    kept = [LOG_PREFIX.sub("", line).strip() for line in text.splitlines() if line.strip() and not line[0].isspace()
            and not any(word in line.lower() for word in HARNESS_CHATTER)]
    said = " ⏎ ".join(line for line in kept[-lines:] if line)
    return said if len(said) <= limit else "…" + said[-(limit - 1):]


def harness_verdicts(summary_path: Path) -> dict[str, tuple[str, str]]:
    """{instance_id: (status, reason)} from swebench's summary JSON (missing file → {}): its errors (a
    patch that did not apply, tests that did not run or timed out) become ``error``."""
    if not summary_path.exists():
        return {}
    summary = json.loads(summary_path.read_text())
    logs = f"see logs/run_evaluation/{summary_path.stem.rsplit('.', 1)[-1]}/"
    verdicts = {iid: ("error", f"the harness could not apply the patch or run the tests ({logs})")
                for iid in summary.get("error_ids", [])}
    verdicts.update({iid: ("unresolved", "") for iid in summary.get("unresolved_ids", [])})
    verdicts.update({iid: ("resolved", "") for iid in summary.get("resolved_ids", [])})
    return verdicts


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


def swebench_row(task: SweTask, python: str = "python3", workdir: str = "/testbed") -> dict:
    """``task`` as a SWE-bench 5 dataset row (``image``, ``eval_script``, ``log_parser``, ``eval_type``), so
    swebench's harness can grade it in the task's own image — e.g. a bundled task, or a SWE-Gym/SWE-smith
    row whose dataset lacks those columns. The eval script has the harness's usual shape: reset the test
    files, apply the test patch, run pytest -rA between the harness's markers, reset again."""
    from swebench.harness.constants import END_TEST_OUTPUT, START_TEST_OUTPUT
    from unidiff import PatchSet

    test_files = " ".join(shlex.quote(f.path) for f in PatchSet(task.test_patch) if not f.is_added_file)
    tests = " ".join(shlex.quote(t) for t in dict.fromkeys(task.fail_to_pass + task.pass_to_pass))
    reset = f"git checkout {shlex.quote(task.base_commit)} -- {test_files}" if test_files else ":"
    script = "\n".join([
        "#!/bin/bash", "set -uxo pipefail", f"cd {shlex.quote(workdir)}", reset,
        "git apply -v - <<'EOF_SRL_SWE_TEST_PATCH'", task.test_patch.rstrip("\n"), "EOF_SRL_SWE_TEST_PATCH",
        f": '{START_TEST_OUTPUT}'", f"{python} -m pytest -rA -p no:cacheprovider {tests}", f": '{END_TEST_OUTPUT}'",
        reset,
    ])
    return {"instance_id": task.instance_id, "repo": task.repo, "version": "0", "image": task.image,
            "base_commit": task.base_commit, "patch": task.patch, "test_patch": task.test_patch,
            "problem_statement": task.problem_statement, "FAIL_TO_PASS": task.fail_to_pass,
            "PASS_TO_PASS": task.pass_to_pass, "eval_script": script, "log_parser": "parse_log_pytest",
            "eval_type": "pass_and_fail"}
