"""Hostile rollouts under load: 8 and 16 at once, 3 runs each, on every bundled task, in Docker.

Each rollout replays a hostile command first (a background fork bomb, a CPU spin, a gigabyte of output,
a clean filter that never ends, a 60 s sleep, a memory bomb — cycled over the tasks), then applies the
gold patch and submits; it is graded in a fresh container by our grader. The harness held when every
rollout ends (none runs past ``HANG_S``), none is an error and no container is left; a rollout is
resolved unless its own hostile command broke its sandbox for the steps after it (a background fork bomb
holds every pid, so ``git apply`` cannot start; a clean filter that never ends stalls ``git apply`` until
its command timeout), which ``resolved_by_hostile_command`` shows. The baseline is the same rollouts
without the hostile command, in the same run, with 8 workers: ``slowdown`` is the hostile run's wall time
over it. Needs a Docker engine. JSON on the last line.

    python bench/hostile_load.py [--runs 3] [--workers 8,16] [--copies 2]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from srl_swe.resources import sandboxes_dir  # noqa: E402 - after the sys.path line above

SANDBOXES = sandboxes_dir()
HANG_S = 300.0
HOSTILE = [
    ":(){ :|:& };:",
    "while :; do :; done",
    "head -c 1000000000 /dev/urandom",
    "git config filter.x.clean 'sleep 100000' && echo '* filter=x' > .gitattributes",
    "sleep 60",
    "python3 -c 'x = bytearray(8 * 1024**3)'",
]


def completions(task, hostile: str | None) -> list[str]:
    from srl_swe.actions import render_call

    def call(tool: str, arguments: dict) -> str:
        return f"<think>step</think>\n{render_call(tool, arguments)}"

    gold = call("bash", {"command": f"cd /testbed && git apply <<'EOF'\n{task.patch}EOF"})
    first = [call("bash", {"command": hostile})] if hostile else []
    return [*first, gold, call("submit", {})]


def tasks_for_load(copies: int):
    """Every bundled task ``copies`` times (instance ids suffixed, so each copy is its own rollout)."""
    from srl_swe.tasks.rows import TaskRef, bundled_tasks

    refs = bundled_tasks(SANDBOXES)
    return [TaskRef(ref.task.model_copy(update={"instance_id": f"{ref.task.instance_id}.{n}"}), ref.repo_dir)
            for n in range(copies) for ref in refs]


def one_run(refs, workers: int, hostile: bool, out: Path, client) -> dict:
    from srl_swe.agent import AgentLimits
    from srl_swe.models import ReplayModel
    from srl_swe.rollout import rollout_all, sandbox_factory

    scripts = {ref.task.instance_id: completions(ref.task, HOSTILE[i % len(HOSTILE)] if hostile else None)
               for i, ref in enumerate(refs)}
    run_id = f"bench-hostile-{out.name}-{int(time.time())}"
    started, finished = time.perf_counter(), {}

    def done(iid: str, status: str) -> None:
        finished[iid] = time.perf_counter() - started

    report = rollout_all(refs, out / "t.jsonl", sandbox_factory("docker", run_id),
                         lambda ref, sandbox: ReplayModel(scripts[ref.task.instance_id]),
                         AgentLimits(command_timeout=10, max_seconds=120), workers, on_done=done)
    seconds = time.perf_counter() - started
    left = len(client.containers.list(all=True, filters={"label": f"srl-swe.run={run_id}"}))
    kinds = {ref.task.instance_id: HOSTILE[i % len(HOSTILE)][:24] if hostile else "none" for i, ref in enumerate(refs)}
    by_kind = {kind: f"{sum(kinds[i] == kind for i in report.resolved)}/{sum(k == kind for k in kinds.values())}"
               for kind in dict.fromkeys(kinds.values())}
    return {"seconds": round(seconds, 1), "rollouts": len(refs), "resolved": len(report.resolved),
            "resolved_by_hostile_command": by_kind,
            "errors": len(report.errors), "error_reasons": sorted(set(report.errors.values()))[:3],
            "hangs": sum(1 for s in finished.values() if s > HANG_S) + len(refs) - len(finished),
            "containers_left": left}


def main() -> None:
    import docker

    from srl_swe.sandbox.images import build_images

    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--workers", default="8,16")
    parser.add_argument("--copies", type=int, default=2)
    args = parser.parse_args()
    client = docker.from_env(timeout=600)
    build_images(SANDBOXES, client)
    refs = tasks_for_load(args.copies)
    result: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        baseline = one_run(refs, 8, False, Path(tmp) / "baseline", client)
        result["baseline_w8"] = baseline
        for workers in (int(w) for w in args.workers.split(",")):
            runs = [one_run(refs, workers, True, Path(tmp) / f"w{workers}-{n}", client) for n in range(args.runs)]
            result[f"w{workers}"] = runs
            print(json.dumps({f"w{workers}": runs}), flush=True)
    hostile = [run for key, runs in result.items() if key != "baseline_w8" for run in runs]
    result["summary"] = {
        "runs": len(hostile), "rollouts": sum(r["rollouts"] for r in hostile),
        "resolved": sum(r["resolved"] for r in hostile), "errors": sum(r["errors"] for r in hostile),
        "hangs": sum(r["hangs"] for r in hostile), "containers_left": sum(r["containers_left"] for r in hostile),
        "slowdown_w8_hostile_vs_plain": round(sum(r["seconds"] for r in result.get("w8", [baseline]))
                                              / len(result.get("w8", [baseline])) / baseline["seconds"], 2),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
