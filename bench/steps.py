"""Benchmark: canonical JSONL → step-wise Parquet at the paper's SWE scale.

5,000 synthetic trajectories × 28 steps (→ 135,000 step examples, the paper's ~134k) are written once,
then ``srl-swe steps`` runs in a subprocess; we report its wall seconds and peak RSS. The baseline, run
in the same way, is what a user would write with the datasets library: decode every line, build every
example in memory, ``Dataset.from_list(...).to_parquet(...)``. Targets: ≤ 60 s and ≤ 2 GB on 2 cores.
Last line: one JSON object.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import synthetic  # noqa: E402

MEASURE = """
import resource, subprocess, sys, time
start = time.perf_counter()
code = subprocess.run(sys.argv[1:]).returncode
print(time.perf_counter() - start, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024, code)
"""

BASELINE = """
import json, sys
from datasets import Dataset
from srl_swe.steps import StepOptions, step_examples
from srl_swe.trajectory import Trajectory
rows = []
with open(sys.argv[1]) as handle:
    for line in handle:
        rows.extend(step_examples(Trajectory.model_validate(json.loads(line)), StepOptions()))
Dataset.from_list(rows).to_parquet(sys.argv[2])
"""


def measure(command: list[str]) -> tuple[float, int]:
    out = subprocess.run([sys.executable, "-c", MEASURE, *command], capture_output=True, text=True, check=True)
    seconds, rss, code = out.stdout.split()
    if code != "0":
        raise SystemExit(f"{command} failed with exit code {code}")
    return float(seconds), int(rss)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--trajectories", type=int, default=5000)
    parser.add_argument("--steps", type=int, default=28)
    parser.add_argument("--no-baseline", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "trajectories.jsonl"
        start = time.perf_counter()
        synthetic.write_trajectories(data, args.trajectories, args.steps)
        print(f"generated {data.stat().st_size / 1e6:.0f} MB in {time.perf_counter() - start:.1f} s", file=sys.stderr)
        ours_s, ours_rss = measure([sys.executable, "-m", "srl_swe", "steps", str(data), "-o", f"{tmp}/ours",
                                    "--include-unresolved"])  # synthetic runs are not graded
        examples = json.loads(Path(f"{tmp}/ours/manifest.json").read_text())["examples"]
        result = {"trajectories": args.trajectories, "examples": examples, "input_mb": round(data.stat().st_size / 1e6),
                  "seconds": round(ours_s, 2), "peak_rss_gb": round(ours_rss / 2**30, 3),
                  "target_met": ours_s <= 60 and ours_rss <= 2 * 2**30}
        if not args.no_baseline:
            base_s, base_rss = measure([sys.executable, "-c", BASELINE, str(data), f"{tmp}/baseline.parquet"])
            result.update(baseline_seconds=round(base_s, 2), baseline_peak_rss_gb=round(base_rss / 2**30, 3),
                          speedup=round(base_s / ours_s, 2), memory_ratio=round(base_rss / ours_rss, 2))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
