"""`srl-swe quickstart` measured: wall time and, over several seeds, whether SRL beats the warm start and
as much more SFT.

Seed 0 is the timed run: a first run in a fresh folder (images cached or built — said in the output; the
rest from scratch; its seconds per phase are reported) and a second run in the same folder (everything
reused). Targets: ≤ 300 s and ≤ 15 s on 2 CPU cores with Docker. Every other seed starts from a copy of
seed 0's trajectories and step data (the oracle is deterministic) and trains its own tiny model from scratch.
Reported per row of the table: each seed's held-out step reward (greedy; with ``--held-out-samples N`` also
sampled, N per step at SRL's temperature), the mean and the sample standard deviation, the
format-error and exact-match rates; and SRL's gain over the warm start per seed, how many seeds it is positive
in (target ≥ 4 of 5) and its mean (target ≥ +0.05) — the targets read on the greedy reward, the sampled gain
given beside it. JSON on the last line.

    python bench/quickstart.py --seeds 5 [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def timed(out: Path, seed: int, samples: int) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "srl_swe", "quickstart", "-o", str(out), "--seed", str(seed),
                    "--held-out-samples", str(samples)], check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def images_cached() -> bool:
    """Whether every bundled image exists already (then the first run does not build them)."""
    import docker

    from srl_swe.resources import sandboxes_dir
    from srl_swe.sandbox.images import sandbox_dirs

    try:
        client = docker.from_env()
        names = {tag for image in client.images.list() for tag in image.tags}
    except Exception:  # noqa: BLE001 - no engine: the local sandbox, nothing to build
        return True
    return all(f"srl-swe/{folder.name}:latest" in names for folder in sandbox_dirs(sandboxes_dir()))


def seeded_copy(source: Path, out: Path) -> None:
    """A run folder holding only ``source``'s trajectories and step data."""
    out.mkdir(parents=True)
    shutil.copy2(source / "trajectories.jsonl", out / "trajectories.jsonl")
    shutil.copytree(source / "steps", out / "steps")


def spread(values: list[float]) -> dict:
    return {"mean": round(statistics.mean(values), 4),
            "std": round(statistics.stdev(values), 4) if len(values) > 1 else 0.0,
            "per_seed": [round(v, 4) for v in values]}


def summary(results: list[dict]) -> dict:
    labels = [row["model"] for row in results[0]["rows"]]
    sampled = results[0]["srl_sampled_gain"] is not None
    columns = ["held_out_step_reward", "format_error_rate", "exact_match"]
    columns += ["sampled_step_reward", "sampled_format_error_rate"] if sampled else []
    rows = {}
    for index, label in enumerate(labels):
        runs = [r["rows"][index] for r in results]
        rows[label] = {key: spread([run[key] for run in runs]) for key in columns}
        rows[label]["resolved"] = [f"{run['resolved']}/{run['tasks']}" for run in runs]
    gains = [r["srl_gain"] for r in results]
    over_sft = [r["srl_minus_more_sft"] for r in results]
    report = {"rows": rows, "srl_gain": spread(gains), "srl_above_warm_start": sum(g > 0 for g in gains),
              "srl_minus_more_sft": spread(over_sft), "srl_above_more_sft": sum(g > 0 for g in over_sft)}
    if sampled:
        drawn = [r["srl_sampled_gain"] for r in results]
        over = [r["rows"][2]["sampled_step_reward"] - r["rows"][1]["sampled_step_reward"] for r in results]
        report |= {"srl_sampled_gain": spread(drawn), "srl_sampled_above_warm_start": sum(g > 0 for g in drawn),
                   "srl_sampled_minus_more_sft": spread(over), "srl_sampled_above_more_sft": sum(g > 0 for g in over)}
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--out", type=Path, help="keep the runs here (default: a temporary folder)")
    parser.add_argument("--held-out-samples", type=int, default=0,
                        help="the quickstart's --held-out-samples, in every run (the timed one too: the time "
                             "targets are for the default, 0)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = args.out or Path(tmp)
        cached = images_cached()
        first = root / "seed-0"
        first_s = timed(first, 0, args.held_out_samples)
        first_phases = json.loads((first / "quickstart.json").read_text())["phase_seconds"]
        second_s = timed(first, 0, args.held_out_samples)
        results = [json.loads((first / "quickstart.json").read_text())]
        for seed in range(1, args.seeds):
            out = root / f"seed-{seed}"
            seeded_copy(first, out)
            timed(out, seed, args.held_out_samples)
            results.append(json.loads((out / "quickstart.json").read_text()))
            print(f"seed {seed}: SRL gain {results[-1]['srl_gain']:+.3f}", file=sys.stderr)
    report = {"first_run_s": round(first_s, 1), "second_run_s": round(second_s, 1), "images_cached": cached,
              "target_first_s": 300, "target_second_s": 15, "meets_time_targets": first_s <= 300 and second_s <= 15,
              "first_run_phase_s": first_phases,
              "seeds": args.seeds, "held_out_tasks": results[0]["held_out_tasks"],
              "held_out_steps": results[0]["held_out_steps"], "budget": results[0]["budget"], **summary(results)}
    report["meets_learning_targets"] = (report["srl_above_warm_start"] >= min(4, args.seeds) * args.seeds / 5
                                        and report["srl_gain"]["mean"] >= 0.05)
    print(json.dumps(report))


if __name__ == "__main__":
    main()
