"""The quickstart's warm start measured: how many SFT steps, at which learning rate and schedule, the tiny model
needs before it writes the format on the held-out steps — the trade-off between the quickstart's format target
(≤ 20% held-out format errors after the warm start) and its time target (≤ 300 s for the whole first run).

For every configuration (steps × schedule × learning rate) and seed: a fresh tiny model (that seed), SFT on a
quickstart folder's training step examples exactly as the quickstart trains (``srl_swe.quickstart``'s
configuration with the steps, schedule and learning rate replaced), then the held-out steps scored greedily
(``srl_swe.eval.steps``). The baseline is the quickstart's warm start before it decayed its rate (400 steps
at a constant 3e-3), measured in the same run; each configuration's SFT seconds are also given as a ratio to
it. JSON on the last line.

    srl-swe quickstart -o runs/qs          # once: the trajectories and step data
    python bench/warmstart.py --run runs/qs --configs 400:cosine:3e-3 600:cosine:3e-3 --seeds 0 1
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path

BASELINE = "400:constant:3e-3"


def warm_start(run: Path, work: Path, seed: int, spec: str) -> dict:
    """SFT of a fresh tiny model (``seed``) under ``spec`` (steps:schedule:learning rate), scored on the held-out
    steps: the configuration's format-error rate, step reward and SFT seconds."""
    from srl_swe.eval.steps import score_steps
    from srl_swe.quickstart import QuickstartOptions, _config, held_out_examples
    from srl_swe.train.run import train
    from srl_swe.train.tiny_model import init_tiny_model

    steps, schedule, rate = spec.split(":")
    options = QuickstartOptions(out=run, seed=seed, sft_steps=int(steps))
    model = work / f"model-{seed}"
    if not (model / "config.json").exists():
        init_tiny_model(model, run / "steps", hidden_size=options.hidden_size, layers=options.layers, seed=seed)
    config = _config(options, "sft", str(model), work / f"{spec.replace(':', '-')}-{seed}", None)
    config.sft.lr_scheduler_type, config.sft.learning_rate = schedule, float(rate)
    stage = train(config)[0]
    scores = score_steps(str(stage.final_model), held_out_examples(options), options.max_new_tokens)
    return {"format_error_rate": round(scores.format_error_rate, 4), "reward": round(scores.reward, 4),
            "sft_seconds": round(stage.train_seconds, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run", type=Path, required=True, help="a quickstart folder (its steps/ are used)")
    parser.add_argument("--configs", nargs="+", default=["400:cosine:3e-3"],
                        help=f"steps:schedule:learning_rate (the baseline {BASELINE} is always measured)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    args = parser.parse_args()
    specs = [BASELINE] + [spec for spec in args.configs if spec != BASELINE]
    results: dict[str, list[dict]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for spec in specs:
            for seed in args.seeds:
                results.setdefault(spec, []).append(warm_start(args.run, Path(tmp), seed, spec))
                print(f"{spec} seed {seed}: {results[spec][-1]}", file=sys.stderr)
    configs = {spec: summary(rows) for spec, rows in results.items()}
    for entry in configs.values():
        entry["seconds_vs_baseline"] = round(entry["mean_sft_seconds"] / configs[BASELINE]["mean_sft_seconds"], 2)
    print(json.dumps({"seeds": args.seeds, "baseline": BASELINE, "target_format_error_rate": 0.2,
                      "configs": configs}))


def summary(rows: list[dict]) -> dict:
    """One configuration's seeds: format-error rates and rewards per seed, mean format errors and SFT seconds."""
    return {"format_error_rate": [r["format_error_rate"] for r in rows],
            "mean_format_error_rate": round(statistics.mean(r["format_error_rate"] for r in rows), 4),
            "reward": [r["reward"] for r in rows],
            "mean_sft_seconds": round(statistics.mean(r["sft_seconds"] for r in rows), 1)}


if __name__ == "__main__":
    main()
