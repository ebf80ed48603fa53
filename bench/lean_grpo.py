"""The quickstart's SRL stage with ``LeanGRPOTrainer`` (no forward or backward pass over rollouts whose advantage
is 0, ``srl_swe.train.grpo``) against TRL 1.16's GRPOTrainer, from a quickstart run's warm start.

Both train the quickstart's SRL configuration (its steps, prompts, rollouts, temperature, seed) on one CPU
thread, as the quickstart runs SRL, TRL's trainer first, then the lean one. Reported: each stage's
``train_seconds``, their ratio (target < 1), and the largest difference between the two final models' weights
(expected: float rounding only, the same rollouts in every step).

    python bench/lean_grpo.py --run runs/quickstart [--steps 15]

JSON on the last line.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from srl_swe.quickstart import QuickstartOptions, _config  # noqa: E402


def train_srl(run: Path, out: Path, steps: int, lean: bool):
    """The quickstart's SRL stage from the run's warm start into ``out``: (train seconds, final model folder)."""
    from srl_swe.train.grpo import LeanGRPOTrainer
    from srl_swe.train.run import train

    options = QuickstartOptions(out=run, srl_steps=steps)
    skips = LeanGRPOTrainer._skips_flat_rows
    if not lean:  # TRL's own passes: the lean trainer never skips
        LeanGRPOTrainer._skips_flat_rows = lambda self: False
    try:
        result = train(_config(options, "srl", str(run / "sft" / "final"), out, None))[0]
    finally:
        LeanGRPOTrainer._skips_flat_rows = skips
    return result.train_seconds, result.final_model


def max_weight_difference(first: Path, second: Path) -> float:
    from transformers import AutoModelForCausalLM

    a, b = (AutoModelForCausalLM.from_pretrained(path) for path in (first, second))
    return max((x - y).abs().max().item() for x, y in zip(a.parameters(), b.parameters(), strict=True))


def main() -> None:
    import torch

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run", type=Path, default=Path("runs/quickstart"))
    parser.add_argument("--steps", type=int, default=QuickstartOptions.srl_steps)
    args = parser.parse_args()
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory(prefix="lean-grpo-") as folder:
        trl_seconds, trl_model = train_srl(args.run.resolve(), Path(folder) / "trl", args.steps, lean=False)
        lean_seconds, lean_model = train_srl(args.run.resolve(), Path(folder) / "lean", args.steps, lean=True)
        difference = max_weight_difference(trl_model, lean_model)
    print()  # end the progress panel's last line
    print(json.dumps({"steps": args.steps, "seconds": {"trl": round(trl_seconds, 1), "lean": round(lean_seconds, 1)},
                      "ratio": round(lean_seconds / trl_seconds, 3), "max_weight_difference": difference}))


if __name__ == "__main__":
    main()
