"""Rollouts on a Ray cluster: ``--executor ray`` of ``collect --tasks`` and ``eval`` (SWE).

One Ray task per instance runs ``srl_swe.rollout.rollout_one`` — sandbox, agent or expert, grading — on a
node of the cluster, and returns the graded trajectory with its log files; the driver (the process that
called ``rollout_all``) writes both as they arrive, so no shared filesystem is assumed and the output file
is appended by one process only (resumable, one line per instance). At most ``workers`` tasks are in
flight, as in the local pool.

- Resources: each task declares ``cpus_per_task`` CPUs, ``memory_per_task_gb`` of memory and, in Docker, one
  unit of the custom resource ``docker``: only nodes started with it (``ray start --resources
  '{"docker": 8}'``) — nodes with a Docker engine and the task images — run rollouts.
- Failures: a worker process or node that dies is Ray's to retry (``max_retries``); past that, or for an
  exception inside the rollout (not retried, as in the local pool), the instance is reported as an error
  with the reason.
- Containers: a killed worker cannot remove its container; ``sweep`` runs ``prune_orphans`` on every Docker
  node (containers whose owning process is gone) at the start, at the end and after Ctrl-C, when in-flight
  tasks are cancelled (their workers killed) first.
- Cluster: ``address`` or ``RAY_ADDRESS`` (``auto``: the cluster running on this machine); with neither, a
  local cluster is started with this machine's CPUs (and a ``docker`` resource of as many when an engine
  answers), and stopped with the process.
- Model calls: the model factory travels to the workers (pickled). ``openai:`` (a served policy, e.g. vLLM)
  is what a cluster should use; ``hf:`` ships the loaded weights to every task.

The SWE-bench harness (``eval`` of harness benchmarks) grades on the driver after the rollouts: the cluster
writes the patches, the driver's Docker engine runs ``swebench.harness``.
"""

from __future__ import annotations

import os
import tempfile
import traceback
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from srl_swe.agent import AgentLimits
from srl_swe.rollout import Finished, ModelFactory, SandboxFactory, Solver, rollout_one
from srl_swe.tasks.rows import TaskRef
from srl_swe.trajectory import Trajectory

EXECUTORS = ("local", "ray")
INSTALL = "pip install 'srl-swe[ray]'"
CANCEL_WAIT_S = 30.0
SWEEP_TIMEOUT_S = 300.0


class MissingExtra(RuntimeError):
    """An optional dependency is not installed; the message says how to install it."""


@dataclass(frozen=True)
class RayOptions:
    address: str | None = None
    """A cluster address (``auto``, ``ray://host:10001``, ``host:6379``); None: RAY_ADDRESS, else a local
    cluster."""
    docker: bool = True
    """The rollouts run in Docker sandboxes: they need the ``docker`` resource, and containers are swept."""
    cpus_per_task: float = 1.0
    memory_per_task_gb: float = 2.0
    """The Docker sandbox's default memory limit (``DockerLimits.memory``)."""
    max_retries: int = 2
    """How often Ray reruns an instance whose worker process or node died."""


def import_ray():
    """The ``ray`` module, or MissingExtra naming the install command."""
    try:
        import ray
    except ImportError:
        raise MissingExtra(f"--executor ray needs Ray, an optional extra: {INSTALL}") from None
    return ray


def connect(options: RayOptions):
    """Join the cluster (see the module docstring; an already initialised Ray is used as it is); returns the
    ``ray`` module. ValueError when Docker rollouts are asked of a cluster without a ``docker`` node."""
    ray = import_ray()
    if not ray.is_initialized():
        address = options.address or os.environ.get("RAY_ADDRESS")
        if address:
            ray.init(address=address, log_to_driver=False)
        else:
            ray.init(resources=_local_resources(options), include_dashboard=False, log_to_driver=False)
    if options.docker and ray.cluster_resources().get("docker", 0) < 1:
        raise ValueError("no node of the Ray cluster declares the `docker` resource: start the nodes that have a "
                         "Docker engine and the task images with `ray start … --resources '{\"docker\": N}'`")
    return ray


def _local_resources(options: RayOptions) -> dict[str, float]:
    if not options.docker:
        return {}
    from srl_swe.quickstart import docker_problem

    return {} if docker_problem() else {"docker": float(os.cpu_count() or 1)}


def run_on_ray(todo: list[TaskRef], open_sandbox: SandboxFactory, make_model: ModelFactory, limits: AgentLimits,
               solve: Solver, grade: bool, workers: int, options: RayOptions) -> Iterator[Finished]:
    """The tasks' ends as they arrive (see the module docstring). Closing the iterator early (Ctrl-C, a
    failed append) cancels the tasks in flight and sweeps their containers."""
    ray = connect(options)
    if options.docker:
        sweep()
    remote = ray.remote(_remote_rollout).options(
        num_cpus=options.cpus_per_task, memory=int(options.memory_per_task_gb * 2**30),
        resources={"docker": 1} if options.docker else {}, max_retries=options.max_retries, retry_exceptions=False)
    queue, pending = iter(todo), {}
    try:
        _submit(remote, queue, pending, max(1, workers), (open_sandbox, make_model, limits, solve, grade))
        while pending:
            (done,), _ = ray.wait(list(pending), num_returns=1)
            yield _finished(ray, done, pending.pop(done))
            _submit(remote, queue, pending, max(1, workers), (open_sandbox, make_model, limits, solve, grade))
    except BaseException:
        for ref in pending:
            ray.cancel(ref, force=True)
        if pending:  # wait until their workers are gone, so that the sweep sees their containers orphaned
            ray.wait(list(pending), num_returns=len(pending), timeout=CANCEL_WAIT_S)
        raise
    finally:
        if options.docker:
            sweep()


def _submit(remote, queue: Iterator[TaskRef], pending: dict, workers: int, args: tuple) -> None:
    while len(pending) < workers:
        ref = next(queue, None)
        if ref is None:
            return
        pending[remote.remote(ref, *args)] = ref


def _finished(ray, done, ref: TaskRef) -> Finished:
    iid = ref.task.instance_id
    try:
        result = ray.get(done)
    except ray.exceptions.RayError as exc:  # the worker or node died more often than retried, or cancelled
        return Finished(iid, None, f"{type(exc).__name__}: {exc}", str(exc))
    trajectory = Trajectory.model_validate_json(result["trajectory"]) if result["trajectory"] else None
    return Finished(iid, trajectory, result["error"], result["traceback"], result["logs"])


def _remote_rollout(ref: TaskRef, open_sandbox: SandboxFactory, make_model: ModelFactory, limits: AgentLimits,
                    solve: Solver, grade: bool) -> dict:
    """On a worker: ``rollout_one`` with its logs in a temporary folder, returned with the trajectory (JSON)
    or the rollout's error; the driver writes them."""
    with tempfile.TemporaryDirectory(prefix="srl-swe-ray-") as folder:
        try:
            trajectory, error, trace = rollout_one(ref, open_sandbox, make_model, limits, Path(folder), solve,
                                                   grade).model_dump_json(), None, ""
        except Exception as exc:  # noqa: BLE001 - the instance's error, reported like the local pool's
            trajectory, error, trace = None, f"{type(exc).__name__}: {exc}", traceback.format_exc()
        logs = {path.name: path.read_bytes() for path in Path(folder).iterdir() if path.is_file()}
    return {"trajectory": trajectory, "error": error, "traceback": trace, "logs": logs}


def sweep() -> list[str]:
    """Remove orphaned srl-swe containers (``prune_orphans``) on every live node with a ``docker`` resource;
    returns their ids."""
    import ray
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    prune = ray.remote(num_cpus=0)(_prune_here)
    nodes = [node["NodeID"] for node in ray.nodes() if node["Alive"] and node["Resources"].get("docker")]
    refs = [prune.options(scheduling_strategy=NodeAffinitySchedulingStrategy(node, soft=False)).remote()
            for node in nodes]
    return [cid for removed in ray.get(refs, timeout=SWEEP_TIMEOUT_S) for cid in removed]


def _prune_here() -> list[str]:
    from srl_swe.sandbox.docker import prune_orphans

    return prune_orphans()
