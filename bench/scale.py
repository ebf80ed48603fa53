"""Scale-out: rollouts through Ray against the local pool on this machine, and a projection of the large layout.

1. Measured: the oracle expert collects every bundled task (every repository, Docker sandboxes, graded by our
   grader), through ``rollout_all`` with the local thread pool and with ``--executor ray`` (a local Ray cluster
   started once, before the clock starts: its start-up is reported apart), the same ``--workers``, alternating
   local/Ray for ``--rounds`` rounds. Reported: instances per minute of each, and Ray's overhead
   (1 − Ray's rate / the pool's; target ≤ 10%). A ``-w 1`` local run first gives the per-instance times.
2. Projected (a simulation, not a measurement): N nodes × W workers take instances in order, each to the slot that
   frees first; an instance's time is drawn (seeded) from the measured per-instance times, scaled so their
   mean is ``--minutes-per-instance`` (default 5: an agent on a real repository, an assumption — the bundled
   tasks take seconds), plus Ray's measured per-instance overhead. Projected wall time of collecting 5,000
   trajectories and of evaluating SWE-bench Verified (500 instances).

Needs a Docker engine and the [ray] extra. JSON on the last line.
"""

from __future__ import annotations

import argparse
import heapq
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from srl_swe.resources import sandboxes_dir  # noqa: E402 - after the sys.path line above

SANDBOXES = sandboxes_dir()
LAYOUTS = [(1, 8), (4, 8), (16, 8), (32, 16)]
WORKLOADS = {"collect 5,000 trajectories": 5000, "evaluate SWE-bench Verified (500)": 500}


def collect_all(out: Path, workers: int, ray=None) -> tuple[float, list[float], int]:
    """(seconds, finish times since the start, resolved) of the oracle on every bundled task into ``out``."""
    from srl_swe.rollout import model_factory, rollout_all, sandbox_factory
    from srl_swe.tasks.rows import bundled_tasks

    finished: list[float] = []
    started = time.perf_counter()
    report = rollout_all(bundled_tasks(SANDBOXES), out, sandbox_factory("docker", run_id=f"bench-scale-{out.stem}"),
                         model_factory("oracle"), workers=workers, ray=ray,
                         on_done=lambda iid, status: finished.append(time.perf_counter() - started))
    if report.errors:
        raise RuntimeError(f"errors in {out}: {report.errors}")
    return time.perf_counter() - started, finished, len(report.resolved)


def measure(workers: int, rounds: int) -> dict:
    import docker

    from srl_swe.cluster import RayOptions, connect
    from srl_swe.sandbox.images import build_images

    client = docker.from_env(timeout=600)
    build_images(SANDBOXES, client)
    ray_options = RayOptions()
    started = time.perf_counter()
    connect(ray_options)
    startup = time.perf_counter() - started
    runs: dict[str, list[tuple[float, int]]] = {"local": [], "ray": []}
    with tempfile.TemporaryDirectory() as tmp:
        sequential = collect_all(Path(tmp) / "w1.jsonl", 1)[1]
        per_instance = [b - a for a, b in zip([0.0, *sequential[:-1]], sequential, strict=True)]
        for round_ in range(rounds):
            for executor in ("local", "ray"):
                seconds, finished, resolved = collect_all(Path(tmp) / f"{executor}{round_}.jsonl", workers,
                                                          ray_options if executor == "ray" else None)
                runs[executor].append((seconds, len(finished), resolved))
    rate = {name: 60 * sum(n for _, n, _ in rows) / sum(s for s, _, _ in rows) for name, rows in runs.items()}
    instances = sum(n for _, n, _ in runs["ray"])
    extra_seconds = max(0.0, (sum(s for s, _, _ in runs["ray"]) - sum(s for s, _, _ in runs["local"])) * workers
                        / instances)
    return {"workers": workers, "rounds": rounds, "instances_per_run": runs["local"][0][1],
            "resolved": {name: [r for _, _, r in rows] for name, rows in runs.items()},
            "local_instances_per_minute": round(rate["local"], 1), "ray_instances_per_minute": round(rate["ray"], 1),
            "ray_overhead": round(1 - rate["ray"] / rate["local"], 3), "target_overhead": 0.10,
            "ray_cluster_startup_s": round(startup, 1), "ray_extra_seconds_per_instance": round(extra_seconds, 2),
            "per_instance_s": {"mean": round(statistics.mean(per_instance), 2),
                               "median": round(statistics.median(per_instance), 2),
                               "max": round(max(per_instance), 2)},
            "_per_instance": per_instance}


def wall_time(durations: list[float], slots: int) -> float:
    """List scheduling: each instance in order to the slot that frees first; the last finish."""
    free = [0.0] * slots
    for seconds in durations:
        heapq.heappush(free, heapq.heappop(free) + seconds)
    return max(free)


def project(per_instance: list[float], minutes: float, overhead_s: float, seed: int = 0) -> dict:
    """Projected hours for each workload and layout (see the module docstring)."""
    scale = 60 * minutes / statistics.mean(per_instance)
    draw = random.Random(seed)
    table = {}
    for workload, count in WORKLOADS.items():
        durations = [draw.choice(per_instance) * scale + overhead_s for _ in range(count)]
        table[workload] = {f"{nodes} nodes x {workers} workers": round(wall_time(durations, nodes * workers) / 3600, 2)
                           for nodes, workers in LAYOUTS}
    return {"projection": "simulated, not measured", "minutes_per_instance": minutes, "hours": table}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-w", "--workers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--minutes-per-instance", type=float, default=5.0)
    args = parser.parse_args()
    result = measure(args.workers, args.rounds)
    per_instance = result.pop("_per_instance")
    result |= project(per_instance, args.minutes_per_instance, result["ray_extra_seconds_per_instance"])
    result["meets_overhead_target"] = result["ray_overhead"] <= result["target_overhead"]
    print(json.dumps(result))


if __name__ == "__main__":
    main()
