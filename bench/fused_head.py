"""Seconds per training step on a CPU with TRL's fused LM head as TRL ships it (every position projected onto
the vocabulary, then masked) against ``srl_swe.train.fused_head`` (only the labelled positions projected).

Both run in the same process, on a quickstart folder's step data and tiny model, with the quickstart's own SFT and
SRL configurations (``srl_swe.quickstart._config``), for a few steps each from the same starting model: TRL's
default first (the switch is process-wide), then ours. SFT: seconds per optimizer step from ``train_runtime``;
SRL: the same, where generation (unchanged) takes most of a step. The first step's training loss of each is
reported too: the two must agree. JSON on the last line.

    srl-swe quickstart -o runs/qs          # once: the step data and the tiny model
    python bench/fused_head.py --run runs/qs [--sft-steps 40] [--srl-steps 5]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import srl_swe.train.run as run  # noqa: E402
from srl_swe.quickstart import QuickstartOptions, _config  # noqa: E402


def seconds_per_step(options: QuickstartOptions, method: str, model: str, out: Path, steps: int) -> dict:
    config = _config(options, method, model, out, None)
    (config.sft if method == "sft" else config.srl).max_steps = steps
    stage = run.train(config)[0]
    first_loss = next(entry["loss"] for entry in stage.log_history if "loss" in entry)
    return {"s_per_step": round(stage.train_seconds / steps, 4), "first_loss": first_loss}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run", type=Path, required=True, help="a quickstart folder (its steps/ and model/)")
    parser.add_argument("--sft-steps", type=int, default=40)
    parser.add_argument("--srl-steps", type=int, default=5)
    args = parser.parse_args()
    options = QuickstartOptions(out=args.run)
    model = str(args.run / "model")
    warm = str(args.run / "sft" / "final")  # SRL starts where the quickstart's SRL starts
    compact_on_cpu = run.compact_on_cpu
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        run.compact_on_cpu = lambda: False  # TRL as shipped
        results["trl"] = {"sft": seconds_per_step(options, "sft", model, Path(tmp) / "trl-sft", args.sft_steps),
                          "srl": seconds_per_step(options, "srl", warm, Path(tmp) / "trl-srl", args.srl_steps)}
        run.compact_on_cpu = compact_on_cpu
        results["compact"] = {"sft": seconds_per_step(options, "sft", model, Path(tmp) / "c-sft", args.sft_steps),
                              "srl": seconds_per_step(options, "srl", warm, Path(tmp) / "c-srl", args.srl_steps)}
    summary = {"sft_steps": args.sft_steps, "srl_steps": args.srl_steps, **results}
    for method in ("sft", "srl"):
        summary[f"{method}_time_ratio"] = round(results["compact"][method]["s_per_step"]
                                                / results["trl"][method]["s_per_step"], 3)
    print()  # end the progress panel's last line
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
