"""Evaluation throughput on the bundled local benchmark: instances per minute with `-w 1` vs `-w 4`.

Runs `srl_swe.eval.swe.run_swe_eval` (the code behind `srl-swe eval --benchmark local:…`) with the
oracle expert in agent mode on every bundled task (every repository, Docker sandboxes, graded by our
grader in a fresh container), once with 1 worker and once with 4, each into a fresh run folder, and counts
the containers left with the run's label afterwards (target 0). Needs a Docker engine; builds the images
if missing. JSON on the last line.

``--baseline REV`` first runs this same benchmark as it is at git revision REV (its own code and bundled tasks,
from a temporary worktree), then this one, and adds the ratio of instances per minute (this / baseline) for each
worker count: the issue's "unchanged or better" measured on the same machine in the same run.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from srl_swe.resources import sandboxes_dir  # noqa: E402 - after the sys.path line above

ROOT = Path(__file__).resolve().parent.parent
SANDBOXES = sandboxes_dir()


def timed_run(folder: Path, workers: int, out: Path, client) -> dict:
    from srl_swe.eval.swe import SweRun, run_swe_eval

    run_id = f"bench-eval-{folder.name}-w{workers}-{int(time.time())}"
    started = time.perf_counter()
    report = run_swe_eval(SweRun(f"local:{folder}", "oracle", out, workers=workers, run_id=run_id))
    seconds = time.perf_counter() - started
    leaks = len(client.containers.list(all=True, filters={"label": f"srl-swe.run={run_id}"}))
    return {"seconds": seconds, "instances": report["total"], "resolved": report["resolved"], "leaks": leaks}


def measure() -> dict:
    import docker

    from srl_swe.sandbox.images import build_images

    client = docker.from_env(timeout=600)
    build_images(SANDBOXES, client)
    folders = sorted(p.parent for p in SANDBOXES.glob("*/tasks.jsonl"))
    result = {}
    with tempfile.TemporaryDirectory() as tmp:
        for workers in (1, 4):
            runs = [timed_run(folder, workers, Path(tmp) / f"w{workers}-{folder.name}", client) for folder in folders]
            seconds = sum(r["seconds"] for r in runs)
            instances = sum(r["instances"] for r in runs)
            result[f"w{workers}"] = {"instances": instances, "resolved": sum(r["resolved"] for r in runs),
                                     "seconds": round(seconds, 1),
                                     "instances_per_minute": round(60 * instances / seconds, 1),
                                     "containers_left": sum(r["leaks"] for r in runs)}
    result["speedup_w4_vs_w1"] = round(result["w4"]["instances_per_minute"] / result["w1"]["instances_per_minute"], 2)
    result["containers_left"] = result["w1"]["containers_left"] + result["w4"]["containers_left"]
    return result


def baseline(revision: str) -> dict:
    """This benchmark's result at ``revision``, run from a temporary git worktree with that revision's code."""
    with tempfile.TemporaryDirectory() as tmp:
        tree = Path(tmp) / "baseline"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "-q", "--detach", str(tree), revision], check=True)
        try:
            done = subprocess.run([sys.executable, str(tree / "bench" / "eval.py")], capture_output=True, text=True,
                                  check=True)
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)], check=False)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--baseline", metavar="REV", help="git revision to measure first, for ratios")
    args = parser.parse_args()
    before = baseline(args.baseline) if args.baseline else None
    result = measure()
    if before is not None:
        result["baseline"] = {"revision": args.baseline, **before}
        for workers in ("w1", "w4"):
            result[f"ratio_{workers}_vs_baseline"] = round(
                result[workers]["instances_per_minute"] / before[workers]["instances_per_minute"], 2)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
