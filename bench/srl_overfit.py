"""Does SRL raise the reward on the very prompts it trains on? The sanity check of any RL stage, and the measure
of which learning rates the quickstart's tiny model can take.

From a quickstart seed folder's warm start (``RUN/sft/final``): SRL exactly as the quickstart configures it
(``bench/srl_settings.py``'s variants, under ``RUN/srl-overfit``), but on only the first ``--prompts`` training
prompts (``data.max_train_examples``: the same prompts for every run) for ``--steps`` steps, once per ``--lr``.
The warm start (the baseline) and every SRL model are then scored on those prompts: greedily, and with
``--samples`` samples per prompt at SRL's temperature (the policy SRL optimises). An SRL stage that works raises
both; one whose steps are too large for the model lowers them. JSON on the last line: per learning rate the
scores, and the gains over the warm start.

    python bench/srl_overfit.py --run runs/bench/seed-1 --lr 1e-4 5e-4 1e-3 --steps 30
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.srl_settings import variant_model  # noqa: E402
from srl_swe.quickstart import QuickstartOptions, _data_settings  # noqa: E402


def overrides(rate: float, prompts: int, steps: int) -> tuple[str, list[str]]:
    """(folder name, ``-c`` overrides) of SRL at ``rate`` on the first ``prompts`` training prompts."""
    return (f"{prompts}-prompts-{steps}-steps-lr{rate:g}",
            [f"srl.learning_rate={rate}", f"srl.max_steps={steps}", f"data.max_train_examples={prompts}"])


def scores(model: Path, rows: list[dict], options: QuickstartOptions, samples: int) -> dict:
    from srl_swe.eval.steps import score_steps

    greedy = score_steps(str(model), rows, options.max_new_tokens)
    sampled = score_steps(str(model), rows, options.max_new_tokens, temperature=options.temperature,
                          samples=samples)
    return {"greedy": round(greedy.reward, 4), "sampled": round(sampled.reward, 4),
            "sampled_format_errors": round(sampled.format_error_rate, 4)}


def main() -> None:
    from srl_swe.train.data import step_datasets

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run", type=Path, required=True, help="a seed folder of bench/quickstart.py")
    parser.add_argument("--seed", type=int, default=None, help="default: K of a seed-K folder, else 0")
    parser.add_argument("--lr", type=float, nargs="+", default=[1e-4, 5e-4])
    parser.add_argument("--prompts", type=int, default=8)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--samples", type=int, default=8, help="samples per prompt at SRL's temperature")
    args = parser.parse_args()
    run = args.run.resolve()  # stages are placed by absolute folder (srl_swe.quickstart._config)
    seed = args.seed if args.seed is not None else int(run.name[5:]) if run.name.startswith("seed-") else 0
    options = QuickstartOptions(out=run, seed=seed)
    models = {f"{rate:g}": variant_model(run, run / "srl-overfit", *overrides(rate, args.prompts, args.steps), options)
              for rate in args.lr}
    data = _data_settings(options).model_copy(update={"max_train_examples": args.prompts})
    rows = list(step_datasets(data)[0])  # the prompts every run trained on
    warm = scores(run / "sft" / "final", rows, options, args.samples)
    runs = {rate: scores(model, rows, options, args.samples) for rate, model in models.items()}
    gains = {rate: {key: round(run[key] - warm[key], 4) for key in ("greedy", "sampled")} for rate, run in runs.items()}
    print()  # end the progress panel's last line
    print(json.dumps({"run": str(args.run), "seed": seed, "prompts": len(rows), "steps": args.steps,
                      "baseline": {"warm start": warm}, "srl_by_learning_rate": runs, "gain_over_warm_start": gains}))


if __name__ == "__main__":
    main()
