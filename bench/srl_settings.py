"""The quickstart's SRL stage under other settings, from the same warm starts: does any setting make SRL beat
the warm start on the held-out steps, and what does SRL do to the reward on its own training prompts?

Input: the seed folders ``bench/quickstart.py --seeds N --out RUNS`` wrote (``RUNS/seed-K``: the warm start
``sft/final``, the quickstart's SRL ``srl/final``, the step data). Per seed, scored for the warm start, the
quickstart's own SRL (the baseline, reused) and every ``--variant NAME:KEY=VALUE[,KEY=VALUE…]`` (the
quickstart's SRL configuration with those ``-c`` overrides, trained from the same warm start):

- held-out steps, greedy (the quickstart's metric): step reward and format-error rate;
- held-out steps, ``--samples`` samples per step at SRL's temperature: the policy SRL actually optimises;
- the prompts the quickstart's SRL trains on (``OUT/steps-srl``: its training steps with a window of
  ``srl_history`` previous steps, or their renamed variants with ``srl_variants``), greedy: what SRL does to them.

With ``--every K`` each variant also keeps a checkpoint every K steps, scored as ``NAME@STEP``: one run gives SRL's
gain at every step count up to its ``srl.max_steps`` (with the quickstart's constant learning rate the first K steps
of a longer run are a K-step run).

JSON on the last line: per seed and setting, and each setting's gains over the warm start.

    python bench/srl_settings.py --runs RUNS --seeds 1 2 --variant lr1e-4:srl.learning_rate=1e-4 \\
        --variant kl:srl.beta=0.1
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from srl_swe.quickstart import QuickstartOptions, _config, _steps, held_out_examples  # noqa: E402


def variant_models(seed_dir: Path, out: Path, name: str, overrides: list[str], options: QuickstartOptions,
                   every: int | None) -> dict[str, Path]:
    """The final model of SRL with ``overrides`` from the seed's warm start (reused when done), and with ``every``
    its checkpoints, by name."""
    from srl_swe.train.config import apply_overrides, validate
    from srl_swe.train.run import finished_stage, train

    folder = out / name
    done = finished_stage(folder)
    if done is None:
        raw = _config(options, "srl", str(seed_dir / "sft" / "final"), folder, None).model_dump(mode="json")
        if every:
            raw["logging"] |= {"eval_steps": every, "save_total_limit": None}
        raw = apply_overrides(raw, overrides)
        done = train(validate(raw, f"--variant {name}"))[0]
    steps = {int(path.name.removeprefix("checkpoint-")): path for path in folder.glob("checkpoint-*")} if every else {}
    return {f"{name}@{step}": steps[step] for step in sorted(steps)} | {name: done.final_model}


def scores(model: Path, held_out: list[dict], training: list[dict], options: QuickstartOptions, samples: int) -> dict:
    from srl_swe.eval.steps import score_steps

    scored = {"held_out_greedy": score_steps(str(model), held_out, options.max_new_tokens),
              "held_out_sampled": score_steps(str(model), held_out, options.max_new_tokens,
                                              temperature=options.temperature, samples=samples),
              "training_greedy": score_steps(str(model), training, options.max_new_tokens)}
    result = {}
    for name, run in scored.items():
        result |= {name: round(run.reward, 4), f"{name}_format_errors": round(run.format_error_rate, 4)}
    return result


def measure_seed(runs: Path, seed: int, variants: dict[str, list[str]], samples: int, every: int | None) -> dict:
    from srl_swe.train.data import step_datasets

    seed_dir = runs / f"seed-{seed}"
    options = QuickstartOptions(out=seed_dir, seed=seed)
    held_out = held_out_examples(options)
    _steps(options)  # SRL's step data, when the run predates it
    training = list(step_datasets(_config(options, "srl", "unused", seed_dir / "srl", None).data)[0])
    models = {"warm start": seed_dir / "sft" / "final", "quickstart SRL": seed_dir / "srl" / "final"}
    for name, overrides in variants.items():
        models |= variant_models(seed_dir, runs / "srl-settings" / f"seed-{seed}", name, overrides, options, every)
    return {name: scores(model, held_out, training, options, samples) for name, model in models.items()}


def parse_variant(text: str) -> tuple[str, list[str]]:
    name, sep, overrides = text.partition(":")
    if not sep or not name or not overrides:
        raise argparse.ArgumentTypeError(f"--variant {text!r}: expected NAME:KEY=VALUE[,KEY=VALUE…]")
    return name, overrides.split(",")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=Path, required=True, help="bench/quickstart.py's --out folder")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--variant", type=parse_variant, action="append", default=[])
    parser.add_argument("--samples", type=int, default=4, help="samples per held-out step at SRL's temperature")
    parser.add_argument("--every", type=int, help="also score each variant's checkpoint every N steps")
    args = parser.parse_args()
    args.runs = args.runs.resolve()  # stages are placed by absolute folder (srl_swe.quickstart._config)
    variants = dict(args.variant)
    per_seed = {seed: measure_seed(args.runs, seed, variants, args.samples, args.every) for seed in args.seeds}
    gains = {name: {metric: [round(per_seed[s][name][metric] - per_seed[s]["warm start"][metric], 4)
                             for s in args.seeds]
                    for metric in ("held_out_greedy", "held_out_sampled", "training_greedy")}
             for name in per_seed[args.seeds[0]] if name != "warm start"}
    means = {name: round(statistics.fmean(values["held_out_greedy"]), 4) for name, values in gains.items()}
    print()  # end the progress panel's last line
    print(json.dumps({"seeds": args.seeds, "variants": variants, "per_seed": per_seed,
                      "gain_over_warm_start": gains, "mean_held_out_greedy_gain": means}))


if __name__ == "__main__":
    main()
