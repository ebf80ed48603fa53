"""Beyond the paper, measured against plain SRL: the effect-aware reward, offline pivots and hindsight
relabeling, each trained from the same warm start for the same number of SRL steps.

Input: the seed folders ``bench/quickstart.py --seeds N --out RUNS`` wrote (``RUNS/seed-K``: the warm start
``sft/final``, plain SRL ``srl/final``, the step data, the held-out split). Per seed, from its warm start:

- ``plain``: the quickstart's own SRL stage (``action_similarity``), reused;
- ``action_effect``: the same SRL with ``srl.reward: action_effect``;
- ``pivots``: ``srl-swe profile`` of the warm start (K samples per step at SRL's temperature), then the same SRL
  on the informative steps only (``data.pivots``); its generations against online dynamic sampling's;
- ``hindsight``: the oracle's runs collected again (they now record their diffs; once, shared by every seed),
  ``steps --hindsight``, then the same SRL on expert + relabeled steps (the held-out tasks stay held out);
- ``selftrain``: ``srl-swe selftrain`` from the warm start, ``--rounds R`` rounds of the policy's own rollouts on
  the training tasks (Docker, graded) → hindsight steps → SRL for 1 / R of the quickstart's SRL steps each, so
  as many SRL steps as plain (the rollouts are extra compute: see its wall time); each round's held-out figures
  are reported.

Every variant is scored on the same held-out steps (greedy): step reward under both rewards, format errors,
exact-effect rate (``action_effect`` = 1.0), and SRL's wall time. Held-out agents are not run (0/4 for every
row of the quickstart). JSON on the last line.

    python bench/beyond.py --runs RUNS --seeds 0 1 2 [--variants plain selftrain] [--rounds 2]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from srl_swe.quickstart import QuickstartOptions, _config, held_out_examples  # noqa: E402

VARIANTS = ("plain", "action_effect", "pivots", "hindsight", "selftrain")


def hindsight_steps(out: Path) -> Path:
    """The oracle's runs on every bundled task (with their diffs) → step data with hindsight examples."""
    from srl_swe.quickstart import SANDBOXES
    from srl_swe.rollout import model_factory, rollout_all, sandbox_factory
    from srl_swe.steps import StepOptions, build_step_dataset
    from srl_swe.tasks.rows import bundled_tasks

    folder = out / "hindsight-steps"
    if not (folder / "manifest.json").exists():
        rollout_all(bundled_tasks(SANDBOXES), out / "trajectories.jsonl", sandbox_factory("docker", "bench-beyond"),
                    model_factory("oracle"), workers=2)
        build_step_dataset([out / "trajectories.jsonl"], folder,
                           StepOptions(max_observation_chars=300, hindsight=True))
    return folder


def train_variant(seed_dir: Path, out: Path, variant: str, data: Path,
                  options: QuickstartOptions) -> tuple[Path, float]:
    """(final model, SRL seconds) of one variant, trained from the seed's warm start (reused when done)."""
    from srl_swe.train.run import finished_stage, train

    if variant == "plain":
        stage = finished_stage(seed_dir / "srl")
        return stage.final_model, stage.train_seconds
    folder = out / variant
    done = finished_stage(folder)
    if done is None:
        settings = _config(options, "srl", str(seed_dir / "sft" / "final"), folder, None)
        settings.data.path = data
        if variant == "action_effect":
            settings.srl.reward = "action_effect"
        if variant == "pivots":
            from srl_swe.train.config import PivotSettings

            settings.data.pivots = PivotSettings()
        done = train(settings)[0]
    return done.final_model, done.train_seconds


def selftrain_variant(seed_dir: Path, out: Path, options: QuickstartOptions, rounds: int,
                      agent_steps: int) -> tuple[Path, float, list[dict]]:
    """(final model, SRL seconds over the rounds, rounds.jsonl) of ``rounds`` self-training rounds (reused)."""
    from srl_swe.agent import AgentLimits
    from srl_swe.quickstart import SANDBOXES
    from srl_swe.selftrain import SelfTrainOptions, run_selftrain
    from srl_swe.steps import StepOptions

    config = _config(options, "srl", str(seed_dir / "sft" / "final"), "srl", None)
    config.srl.max_steps = options.srl_steps // rounds
    limits = AgentLimits(max_steps=agent_steps, prompt=StepOptions(max_observation_chars=options.max_observation_chars))
    lines = run_selftrain(SelfTrainOptions(config, [seed_dir / "trajectories.jsonl"],
                                           sorted(p.parent for p in SANDBOXES.glob("*/tasks.jsonl")),
                                           out / "selftrain", rounds, "docker", workers=2, limits=limits))
    return Path(lines[-1]["model"]), sum(line.get("srl_seconds") or 0.0 for line in lines), lines


def pivot_data(seed_dir: Path, out: Path, options: QuickstartOptions, k: int) -> tuple[Path, dict]:
    """A copy of the seed's steps with the warm start's profile; the profile's summary."""
    from srl_swe.pivots import SUMMARY, profile_steps

    folder = out / "pivot-steps"
    if not (folder / SUMMARY).exists():
        shutil.rmtree(folder, ignore_errors=True)
        shutil.copytree(seed_dir / "steps", folder)
        profile_steps(str(seed_dir / "sft" / "final"), folder, k, options.temperature, options.max_new_tokens)
    return folder, json.loads((folder / SUMMARY).read_text())


def score(model: Path, examples: list[dict], max_new_tokens: int) -> dict:
    from srl_swe.eval.steps import score_steps
    from srl_swe.train.metrics import training_reward

    result = score_steps(str(model), examples, max_new_tokens)
    effect = training_reward("action_effect")
    values = [effect(completions=entry["completions"], expert_action=[entry["expert_action"]])[0]
              for entry in result.samples]
    return {"reward_similarity": round(result.reward, 4), "reward_effect": round(statistics.fmean(values), 4),
            "format_error_rate": round(result.format_error_rate, 4),
            "exact_effect": round(sum(v == 1.0 for v in values) / len(values), 4)}


def measure_seed(runs: Path, seed: int, args: argparse.Namespace) -> dict:
    from srl_swe.pivots import savings

    seed_dir = runs / f"seed-{seed}"
    out = runs / "beyond" / f"seed-{seed}"
    out.mkdir(parents=True, exist_ok=True)
    options = QuickstartOptions(out=seed_dir, seed=seed)
    examples = held_out_examples(options)
    profile = None
    data = {"plain": seed_dir / "steps", "action_effect": seed_dir / "steps"}
    if "pivots" in args.variants:
        data["pivots"], profile = pivot_data(seed_dir, out, options, args.k)
    if "hindsight" in args.variants:
        data["hindsight"] = hindsight_steps(runs / "beyond")
    rows = {"warm start": score(seed_dir / "sft" / "final", examples, options.max_new_tokens)}
    for variant in args.variants:
        started, extra = time.perf_counter(), {}
        if variant == "selftrain":
            model, seconds, extra["rounds"] = selftrain_variant(seed_dir, out, options, args.rounds, args.agent_steps)
        else:
            model, seconds = train_variant(seed_dir, out, variant, data[variant], options)
        rows[variant] = {**score(model, examples, options.max_new_tokens), "srl_seconds": round(seconds, 1),
                         "wall_s": round(time.perf_counter() - started, 1), **extra}
    if profile is not None:
        srl = _config(options, "srl", "unused", out, None).srl  # the quickstart's SRL sizes
        passes = options.srl_steps * srl.batch_size / profile["steps"]  # SRL's prompts over the training steps
        rows["pivots"]["profile"] = {"steps": profile["steps"], "informative": profile["informative"], "k": args.k,
                                     "generations_one_run": savings(profile, srl.num_generations, passes)}
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=Path, required=True, help="bench/quickstart.py's --out folder")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--variants", nargs="+", choices=VARIANTS, default=list(VARIANTS))
    parser.add_argument("-k", type=int, default=4, help="samples per step for the pivot profile")
    parser.add_argument("--rounds", type=int, default=2, help="selftrain: rounds (SRL steps split between them)")
    parser.add_argument("--agent-steps", type=int, default=6, help="selftrain: steps per rollout")
    args = parser.parse_args()
    args.runs = args.runs.resolve()  # stages are placed by absolute folder (srl_swe.quickstart._config)
    if "plain" not in args.variants:
        args.variants.insert(0, "plain")  # every gain is measured against it
    per_seed = {seed: measure_seed(args.runs, seed, args) for seed in args.seeds}
    labels = ["warm start", *args.variants]
    table = {label: {metric: round(statistics.fmean(per_seed[s][label][metric] for s in args.seeds), 4)
                     for metric in ("reward_similarity", "reward_effect", "format_error_rate", "exact_effect")}
             for label in labels}
    gains = {variant: [round(per_seed[s][variant]["reward_similarity"] - per_seed[s]["plain"]["reward_similarity"], 4)
                       for s in args.seeds] for variant in args.variants if variant != "plain"}
    manifest = args.runs / "beyond" / "hindsight-steps" / "manifest.json"
    counts = json.loads(manifest.read_text()) if "hindsight" in args.variants else {}
    print(json.dumps({"seeds": args.seeds, "hindsight_examples": counts.get("hindsight_examples"),
                      "examples": counts.get("examples"), "mean": table, "gain_over_plain_similarity": gains,
                      "per_seed": per_seed}))


if __name__ == "__main__":
    main()
