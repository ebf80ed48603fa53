"""Rolling an agent out on many tasks: one sandbox per task, graded, in parallel, resumable.

Tasks come from ``srl_swe.tasks.rows.load_tasks``. ``rollout_all`` runs the tasks not yet in the output file,
appends each finished, graded trajectory to it (one flushed line: a crash or Ctrl-C loses only the rollouts in
flight), and keeps a per-instance log folder with the in-progress trajectory (saved after every step) and any
error. A task whose sandbox fails, or whose rollout raises, is reported as an error with its reason and the
others go on. The rollouts run in a thread pool here, or as Ray tasks on a cluster (``srl_swe.cluster``); either
way this process alone appends to the output.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from srl_swe.agent import AgentLimits, grade_outcome, run_agent
from srl_swe.models import Model
from srl_swe.sandbox.base import Sandbox
from srl_swe.tasks.rows import TaskRef
from srl_swe.trajectory import (
    Trajectory,
    append_trajectory,
    atomic_output,
    read_trajectories,
    write_trajectories,
)

if TYPE_CHECKING:
    from srl_swe.cluster import RayOptions


@dataclass
class RolloutReport:
    done: list[str] = field(default_factory=list)
    resolved: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)
    log_failure: str = ""
    """Why error logs could not be written (the first failure; the run went on without them), if any."""


def finished_ids(out: Path) -> set[str]:
    return {t.task.instance_id for t in read_trajectories(out)} if out.exists() else set()


SandboxFactory = Callable[[TaskRef], Sandbox]
ModelFactory = Callable[[TaskRef, Sandbox], Model]
Solver = Callable[..., Trajectory]
"""``solve(task, sandbox, model, limits, on_step=…) -> Trajectory`` with the patch in its outcome:
``run_agent`` (the default), or a one-shot solver such as ``srl_swe.eval.oracle_files.solve``."""


def rollout_one(ref: TaskRef, open_sandbox: SandboxFactory, make_model: ModelFactory, limits: AgentLimits,
                log_dir: Path, solve: Solver = run_agent, grade: bool = True) -> Trajectory:
    """One task end to end: sandbox, solver (saved after every step), patch, and unless ``grade`` is
    False (an external harness grades) the verdict of a fresh sandbox."""
    def save(trajectory: Trajectory) -> None:
        with atomic_output(log_dir / f"{ref.task.instance_id}.json") as handle:
            handle.write(trajectory.model_dump_json(indent=1))

    with open_sandbox(ref) as sandbox:
        trajectory = solve(ref.task, sandbox, make_model(ref, sandbox), limits, on_step=save)
    if not grade:
        save(trajectory)
        return trajectory
    verdict = grade_outcome(ref.task, trajectory.outcome, lambda: open_sandbox(ref))
    trajectory.outcome = trajectory.outcome.model_copy(update={"resolved": verdict.resolved,
                                                               "grade_reason": verdict.reason})
    save(trajectory)
    with atomic_output(log_dir / f"{ref.task.instance_id}.grade.json") as handle:
        handle.write(verdict.model_dump_json(indent=1))
    return trajectory


@dataclass
class Finished:
    """One task's end, however it ran: its trajectory, or its error (``ExceptionType: message``) with the
    traceback for its error log; ``logs`` are log files (name → content) the driver must still write (a
    rollout that ran elsewhere, on a Ray node)."""
    instance_id: str
    trajectory: Trajectory | None
    error: str | None = None
    traceback: str = ""
    logs: dict[str, bytes] = field(default_factory=dict)


def rollout_all(tasks: list[TaskRef], out: Path, open_sandbox: SandboxFactory, make_model: ModelFactory,
                limits: AgentLimits | None = None, workers: int = 1, redo_existing: bool = False,
                on_done: Callable[[str, str], None] | None = None, solve: Solver = run_agent,
                grade: bool = True, ray: RayOptions | None = None) -> RolloutReport:
    """Run every task not already in ``out`` (all of them with ``redo_existing``, whose old lines are
    dropped first); see module docstring. At most ``workers`` run at once: in a thread pool here, or with
    ``ray`` as Ray tasks on a cluster (``srl_swe.cluster``). On Ctrl-C or SIGTERM, or when a trajectory
    cannot be appended (an OSError naming ``out``), queued tasks are cancelled and the sandboxes in flight
    closed before the exception propagates."""
    report, log_dir, limits = RolloutReport(), out.with_name(out.name + ".logs"), limits or AgentLimits()
    log_dir.mkdir(parents=True, exist_ok=True)
    unique = list({ref.task.instance_id: ref for ref in tasks}.values())
    if redo_existing and out.exists():
        redo = {ref.task.instance_id for ref in unique}
        write_trajectories(out, [t for t in read_trajectories(out) if t.task.instance_id not in redo])
    finished = finished_ids(out)
    todo = [ref for ref in unique if ref.task.instance_id not in finished]
    report.skipped = [ref.task.instance_id for ref in unique if ref.task.instance_id in finished]
    if ray is not None:
        from srl_swe.cluster import run_on_ray

        results = run_on_ray(todo, open_sandbox, make_model, limits, solve, grade, workers, ray)
    else:
        results = _run_in_threads(todo, open_sandbox, make_model, limits, log_dir, solve, grade, workers)
    with closing(results):  # a failed append or Ctrl-C here closes the executor too: it cancels its tasks
        for result in results:
            _record(result, out, log_dir, report, on_done)
    return report


def _run_in_threads(todo: list[TaskRef], open_sandbox: SandboxFactory, make_model: ModelFactory,
                    limits: AgentLimits, log_dir: Path, solve: Solver, grade: bool,
                    workers: int) -> Iterator[Finished]:
    """The local pool: the tasks' ends as they come; when closed early, queued tasks are cancelled and the
    sandboxes in flight closed (their rollouts fail fast instead of running on after we are gone)."""
    opened: list[Sandbox] = []

    def tracked(ref: TaskRef) -> Sandbox:
        opened.append(open_sandbox(ref))
        return opened[-1]

    pool = ThreadPoolExecutor(max(1, workers))
    try:
        futures = {pool.submit(rollout_one, ref, tracked, make_model, limits, log_dir, solve, grade): ref
                   for ref in todo}
        for future in as_completed(futures):
            iid = futures[future].task.instance_id
            try:
                yield Finished(iid, future.result())
            except Exception as exc:  # noqa: BLE001 - one task's failure must not stop the run
                yield Finished(iid, None, f"{type(exc).__name__}: {exc}", traceback.format_exc())
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        for sandbox in opened:
            sandbox.close()
        raise
    pool.shutdown()


def _record(result: Finished, out: Path, log_dir: Path, report: RolloutReport, on_done) -> None:
    """Count one finished task: write its logs, append its trajectory, or note its error and write its error
    log. A failed append (disk full) raises an OSError naming ``out``: the run stops, as later ones would
    fail too; a failed log only sets ``report.log_failure``."""
    iid = result.instance_id
    logs = dict(result.logs)
    if result.error is not None:
        report.errors[iid] = result.error
        logs[f"{iid}.error.txt"] = result.traceback.encode()
    try:
        for name, content in logs.items():
            (log_dir / name).write_bytes(content)
    except OSError as log_exc:  # the reason is in the report already; the log only adds the details
        report.log_failure = report.log_failure or f"could not write logs in {log_dir}: {log_exc}"
    if result.trajectory is None:
        status = "error"
    else:
        try:
            append_trajectory(out, result.trajectory)
        except OSError as exc:
            raise OSError(f"could not append the trajectory of {iid} to {out}: {exc}") from exc
        report.done.append(iid)
        if result.trajectory.outcome.resolved:
            report.resolved.append(iid)
        status = {True: "resolved", False: "unresolved", None: "done"}[result.trajectory.outcome.resolved]
    if on_done is not None:
        on_done(iid, status)


def sandbox_factory(kind: str, run_id: str | None = None) -> SandboxFactory:
    """``docker``: a container from the task's image; ``local``: a copy of the bundled repository."""
    if kind == "docker":
        from srl_swe.sandbox.docker import DockerSandbox

        return lambda ref: DockerSandbox(ref.task.image, base_commit=ref.task.base_commit, run_id=run_id)
    if kind == "local":
        from srl_swe.sandbox.local import LocalSandbox

        def open_local(ref: TaskRef) -> Sandbox:
            if ref.repo_dir is None:
                raise ValueError(f"{ref.task.instance_id}: the local sandbox needs a bundled task folder "
                                 f"(sandboxes/<name>) with the repository; use --sandbox docker")
            return LocalSandbox(ref.repo_dir, ref.task.base_commit)

        return open_local
    raise ValueError(f"unknown sandbox {kind!r}: use docker or local")


def model_factory(spec: str, base_url: str | None = None, api_key: str | None = None,
                  temperature: float = 0.0, max_new_tokens: int | None = None) -> ModelFactory:
    """``oracle`` (the scripted expert), ``openai:MODEL`` (an OpenAI-compatible endpoint), ``hf:PATH`` (a
    local checkpoint, loaded once and shared) or ``replay:FILE`` (a JSON list of completions);
    ``max_new_tokens`` bounds each completion of the model clients (default: theirs). ValueError naming the
    spec when its model cannot be had (a replay file that is not a list, an ``hf:`` path that is neither a
    folder nor on a reachable Hub)."""
    limit = {} if max_new_tokens is None else {"max_new_tokens": max_new_tokens}
    if spec.startswith("openai:"):
        from srl_swe.models.openai import OpenAIChatModel

        client = OpenAIChatModel(spec.removeprefix("openai:"), base_url, api_key, temperature,
                                 **{"max_tokens": max_new_tokens} if max_new_tokens else {})
        return lambda ref, sandbox: client
    if spec.startswith("hf:"):
        from srl_swe.models.hf import HFModel

        local = HFModel(spec.removeprefix("hf:"), temperature, **limit)
        return lambda ref, sandbox: local
    if spec == "oracle":
        from srl_swe.models.oracle import OracleModel

        return lambda ref, sandbox: OracleModel(ref.task, sandbox.workdir)
    if spec.startswith("replay:"):
        from srl_swe.models import ReplayModel

        recorded = ReplayModel.from_file(spec.removeprefix("replay:"))
        return lambda ref, sandbox: ReplayModel(recorded.completions)
    raise ValueError(f"unknown model {spec!r}: use oracle, openai:MODEL, hf:PATH or replay:FILE")

