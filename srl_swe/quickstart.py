"""``srl-swe quickstart``: the whole pipeline on one CPU machine, on the bundled tasks, in minutes — and the
question users ask of it: is SRL better than simply more SFT?

1. sandboxes: the bundled images are built (Docker), or the local sandbox is used when no engine answers;
2. collect: the oracle expert solves every bundled task in parallel, graded → ``OUT/trajectories.jsonl``;
3. steps: the step-wise dataset → ``OUT/steps`` (observations cut to 300 characters to stay fast); with
   ``srl_history`` or ``srl_variants``, also the one SRL and the more-SFT row train on → ``OUT/steps-srl``: the
   same steps with ``srl_history`` previous steps a prompt, or renamed variants of every trajectory
   (``srl_swe.variants``);
4. model: the offline tiny model, its tokenizer trained on ``OUT/steps`` → ``OUT/model`` (or ``--model``: a
   folder or Hugging Face id); the completion budget is checked against the held-out expert completions;
5. warm start: SFT on the training step examples, so the model writes the format → ``OUT/sft``;
6. SRL from the warm start, with dynamic sampling → ``OUT/srl``, and beside it (another process, one CPU thread
   each) more SFT from the warm start on the same data until it has trained as long as SRL did (SRL's
   ``train_runtime``), at SRL's constant learning rate → ``OUT/sft_more``;
7. held-out steps: the three models write the next action of every held-out step greedily (and, with
   ``held_out_samples``, that many times at SRL's temperature), scored with the step reward
   (``srl_swe.eval.steps``) → the table, and ``OUT/samples.md`` (expert beside each model's greedy action);
8. agents: the three models as agents on the held-out bundled tasks in the sandbox, graded.

The held-out tasks (``srl_swe.train.data.held_out_tasks``) are the same for every seed and seen by no
training stage. Every phase reuses what a previous run left in ``OUT``. The result is written to
``OUT/quickstart.md`` and ``OUT/quickstart.json``, SRL's reward curve to ``OUT/rewards.png``.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from srl_swe.resources import sandboxes_dir

SANDBOXES = sandboxes_dir()
MIN_FREE_GB = 2.0
PHASES = ("sandboxes", "collect", "steps", "model", "warm start", "srl + more sft", "held-out steps", "agents")
ROWS = (("warm start (SFT)", "sft"), ("warm start + more SFT", "sft_more"), ("warm start + SRL", "srl"))
"""(row label, the stage folder in OUT) of the table, in order."""
MIN_COVERAGE = 0.95


@dataclass
class QuickstartOptions:
    out: Path = Path("runs/quickstart")
    sandbox: str | None = None
    """docker, local, or None: docker when an engine answers, else local."""
    model: str | None = None
    """The model to start from: a folder or a Hugging Face id; None: the tiny model built on the steps."""
    seed: int = 0
    """Seeds the tiny model's initial weights and every training stage (not the held-out split)."""
    hidden_size: int = 128
    layers: int = 2
    workers: int = 4
    held_out: int = 4
    sft_steps: int = 600
    """Warm-start steps of 4 step examples each, learning rate 3e-3 decayed to 0 on a cosine (a constant rate
    left the final model's held-out format errors at 16–47% depending on the seed; ``bench/warmstart.py``).
    Held-out format errors over 5 seeds: 26% after 400 steps, 24% after 500, 17% after 600; 0.23–0.27 s a step
    on 2 cores."""
    sft_data: str = "steps"
    """What the warm start and the more-SFT row train on (``sft.data``): the step examples — the same context
    the held-out steps, SRL and the agent see, so the format carries over to unseen tasks (the 2-layer model
    trained on whole trajectories, the paper's SFT, stayed at 84–100% held-out format errors) — or
    ``trajectories``."""
    srl_history: int | None = None
    """With N, SRL and the more-SFT row train on the training steps with N previous steps shown (``OUT/steps-srl``)
    instead of the warm start's own examples (2 shown, as in the held-out steps and the agent). The warm start
    reproduces its own examples token for token, so few of SRL's groups carry signal (over 5 seeds and 15 SRL steps
    0–13 of 60; in seed 3 none, and SRL never changed a weight); the same expert steps with a window of 1 are
    prompts it has not memorised — real tasks and actions, a shorter context — and 22–27 of the 60 groups carried
    signal. But over 5 seeds (15 SRL steps) SRL's held-out greedy gain was −0.004 (2 of 5; sampled, 4 a step,
    +0.031, 3 of 5), against +0.039 (3 of 5) on the warm start's own examples, and the more-SFT row fell to 24%
    held-out format errors (``bench/quickstart.py``). Hence None."""
    srl_variants: int = 0
    """With N > 0, SRL and the more-SFT row train on N renamed variants of every training trajectory
    (``srl_swe.variants``) instead of the warm start's own examples, which the warm start reproduces perfectly (at ε
    0.1 seed 3's SRL never updated its weights on them). Measured, 3 variants over 5 seeds: SRL's rollouts on them
    differ (half the groups carry signal), but its held-out greedy gain (15 SRL steps) fell to −0.042 (1 of 5,
    against +0.039, 3 of 5 without), and the more-SFT row's held-out format errors rose from 15% to 48%: both learn
    the invented names, which the held-out tasks do not have. Hence 0."""
    srl_steps: int = 45
    """SRL steps of 4 prompts × 4 rollouts each (1.6–2.0 s each on one core beside the more-SFT row, most of it
    generation: the rollouts of topped-up groups cost no training pass, ``srl_swe.train.grpo``). Over 5 seeds
    (``bench/quickstart.py``) 15 steps gained +0.039 on the held-out steps over the warm start (3 of 5 seeds), 45
    steps +0.059 (5 of 5). Scored every 5 steps of one 60-step run (``bench/srl_settings.py --every 5``): on those
    seeds +0.010 to +0.066 at every count, the +0.05 target met at 45 only (where it was chosen); on 5 fresh seeds
    +0.031 to +0.125, met at every count from 20 to 60; over the 10 seeds 45 steps gained +0.077, 9 of 10 above."""
    srl_epsilon: float = 0.1
    """Dynamic sampling's threshold: a group of rollouts trains only when its rewards' std exceeds this (the paper
    does not give its value). At 1e-4 a group whose actions differ by a character (std 0.01) trained like one
    with a format error, its differences divided by their std: over 5 seeds SRL's held-out gain was −0.36 to
    +0.15; at 0.1, −0.01 to +0.16 (``bench/srl_settings.py``)."""
    agent_steps: int = 4
    max_new_tokens: int = 256
    """The completion budget (thinking + action) of SRL's rollouts, the held-out steps and the agents."""
    max_observation_chars: int = 300
    srl_learning_rate: float = 1e-4
    """SRL's constant learning rate, and the more-SFT row's. At 5e-4 (the earlier choice) or 1e-3, SRL on 8 training
    prompts lowers the reward on those very prompts — Adam's first steps move every weight by about the rate,
    too far for the 2-layer model — while 1e-4 keeps it, or raises it where the warm start leaves room
    (``bench/srl_overfit.py``)."""
    temperature: float = 0.7
    """Sampling temperature of SRL's rollouts (the paper: 1.0, for 7B models). Over 5 seeds SRL at 1.0 lost on the
    held-out steps: −0.085 after 45 steps, 1 of 5 above (``bench/srl_settings.py``). Held-out steps and agents
    decode greedily."""
    samples_shown: int = 8
    held_out_samples: int = 0
    """Completions per held-out step sampled at SRL's temperature for a sampled step reward beside the greedy one
    (as the paper gives avg@k beside greedy): the expected reward of the policy SRL optimises, where one greedy
    path of a 2-layer model turns on single tokens. 0 (the default): greedy only — 4 samples cost 26 s of the
    first run's 300."""


class SetupError(RuntimeError):
    """A machine that cannot run the quickstart; the message says what to do."""


def docker_problem() -> str | None:
    """Why the Docker engine cannot be used (None when it answers)."""
    try:
        import docker

        docker.from_env(timeout=10).ping()
    except Exception as exc:  # noqa: BLE001 - any failure means: use the local sandbox
        text = str(exc)
        if "Permission denied" in text:
            return ("no permission on the Docker socket (add your user to the `docker` group, then log in "
                    "again)")
        return "no Docker engine answers (start it with `sudo systemctl start docker`, or install Docker)"
    return None


def choose_sandbox(requested: str | None, say: Callable[[str], None]) -> str:
    if requested == "local":
        return "local"
    problem = docker_problem()
    if problem is None:
        return "docker"
    if requested == "docker":
        raise SetupError(f"--sandbox docker: {problem}")
    say(f"{problem}: falling back to the local sandbox (a copy of each repository, no isolation)")
    return "local"


def check_disk(out: Path) -> None:
    folder = out if out.exists() else next(p for p in out.resolve().parents if p.exists())
    free = shutil.disk_usage(folder).free / 2**30
    if free < MIN_FREE_GB:
        raise SetupError(f"only {free:.1f} GB free under {folder}; the quickstart needs about {MIN_FREE_GB:.0f} GB "
                         f"(model checkpoints, images): free some space or choose another -o")


Bar = Callable[[str, int], Callable[[int], None]]
"""``bar(description, total)`` starts a progress bar and returns its ``advance(n)``."""


def no_bar(description: str, total: int) -> Callable[[int], None]:
    return lambda n: None


def run_quickstart(options: QuickstartOptions, say: Callable[[str], None] = print,
                   phase: Callable[[str], None] = print, bar: Bar = no_bar) -> dict:
    """Run every phase (``PHASES``, see the module docstring); returns the result table as a dict, with each
    phase's wall seconds in this run (``phase_seconds``)."""
    out = options.out
    check_disk(out)
    out.mkdir(parents=True, exist_ok=True)
    kind = choose_sandbox(options.sandbox, say)
    phase = PhaseClock(phase)
    phase("sandboxes")
    if kind == "docker":
        from srl_swe.sandbox.images import build_images, sandbox_dirs

        advance = bar("building images", len(sandbox_dirs(SANDBOXES)))
        build_images(SANDBOXES, on_image=lambda tag: advance(1))
    phase("collect")
    _collect(options, kind, bar)
    phase("steps")
    _steps(options)
    phase("model")
    start = _start_model(options)
    budget = check_budget(options, start)
    say(budget["message"])
    phase("warm start")
    warm = _train(options, "sft", "sft", start)
    phase("srl + more sft")
    srl = _srl_and_more_sft(options, str(warm.final_model))
    phase("held-out steps")
    scores = _score_rows(options, bar)
    phase("agents")
    resolved = {folder: _resolved(options, kind, folder, bar) for _, folder in ROWS}
    return _finish(options, kind, budget, scores, resolved, srl, phase.stop())


class PhaseClock:
    """``phase(name)`` passed on as each phase starts, and each phase's wall seconds kept."""

    def __init__(self, phase: Callable[[str], None]):
        self.phase, self.seconds = phase, {}
        self._current: tuple[str, float] | None = None

    def __call__(self, name: str) -> None:
        self.stop()
        self._current = (name, time.perf_counter())
        self.phase(name)

    def stop(self) -> dict[str, float]:
        """Ends the current phase; returns the seconds of every phase so far."""
        if self._current is not None:
            name, started = self._current
            self.seconds[name] = round(time.perf_counter() - started, 1)
            self._current = None
        return self.seconds


def _collect(options: QuickstartOptions, kind: str, bar: Bar) -> None:
    """The oracle's trajectories of every bundled task. Its steps record no diffs (``AgentLimits.record_diffs``,
    4 git processes a step, a quarter of the phase): only hindsight relabeling reads them, which the quickstart's
    steps do not use (``srl-swe collect`` records them)."""
    from srl_swe.agent import AgentLimits
    from srl_swe.rollout import model_factory, rollout_all, sandbox_factory
    from srl_swe.tasks.rows import bundled_tasks

    tasks = bundled_tasks(SANDBOXES)
    advance = bar("oracle rollouts", len(tasks))
    report = rollout_all(tasks, options.out / "trajectories.jsonl", sandbox_factory(kind, run_id="quickstart"),
                         model_factory("oracle"), AgentLimits(record_diffs=False), workers=options.workers,
                         on_done=lambda task, status: advance(1))
    if report.errors:
        raise SetupError("the oracle failed on " + "; ".join(f"{k}: {v}" for k, v in sorted(report.errors.items())))


def _steps(options: QuickstartOptions) -> None:
    """``OUT/steps`` from the oracle's trajectories, and SRL's (``_srl_steps``) when they differ: with
    ``srl_history`` previous steps a prompt, from the trajectories or their renamed variants
    (``OUT/variants.jsonl``; ``srl_swe.variants``)."""
    from srl_swe.steps import StepOptions, build_step_dataset

    step_options = StepOptions(max_observation_chars=options.max_observation_chars)
    if not (options.out / "steps" / "manifest.json").exists():
        build_step_dataset([options.out / "trajectories.jsonl"], options.out / "steps", step_options)
    srl = _srl_steps(options)
    if srl == options.out / "steps" or (srl / "manifest.json").exists():
        return
    source = options.out / "trajectories.jsonl"
    if options.srl_variants:
        from srl_swe.variants import write_renamed_variants

        write_renamed_variants(source, options.out / "variants.jsonl", options.srl_variants)
        source = options.out / "variants.jsonl"
    build_step_dataset([source], srl, step_options.model_copy(update={"history": options.srl_history}))


def _srl_steps(options: QuickstartOptions) -> Path:
    """The step data SRL and the more-SFT row train on: ``OUT/steps-srl``, or the warm start's ``OUT/steps``
    when neither ``srl_history`` nor ``srl_variants`` asks for other prompts."""
    other = options.srl_history is not None or options.srl_variants > 0
    return options.out / ("steps-srl" if other else "steps")


def _start_model(options: QuickstartOptions) -> str:
    """``--model`` as given, or the tiny model (seeded), built once in ``OUT/model``."""
    if options.model:
        return options.model
    from srl_swe.train.tiny_model import init_tiny_model

    if not (options.out / "model" / "config.json").exists():
        init_tiny_model(options.out / "model", options.out / "steps", hidden_size=options.hidden_size,
                        layers=options.layers, seed=options.seed)
    return str(options.out / "model")


def _data_settings(options: QuickstartOptions):
    from srl_swe.train.config import DataSettings

    return DataSettings(path=options.out / "steps", validation_trajectories=options.held_out)


def held_out_examples(options: QuickstartOptions) -> list[dict]:
    """The held-out tasks' step examples, in trajectory order."""
    from srl_swe.train.data import step_datasets

    validation = step_datasets(_data_settings(options))[1]
    rows = list(validation) if validation is not None else []
    return sorted(rows, key=lambda row: (row["trajectory_id"], row["step"]))


def check_budget(options: QuickstartOptions, model: str) -> dict:
    """How many of the held-out expert completions (thinking + action, as the expert wrote them) fit in
    ``max_new_tokens`` of the model's tokenizer; SetupError below MIN_COVERAGE (the metric could not move)."""
    from srl_swe.eval.steps import budget_coverage

    try:
        report = budget_coverage(_data_settings(options), model, options.max_new_tokens)
    except ValueError as exc:
        raise SetupError(str(exc)) from None
    fits = report["coverage"]
    report["message"] = (f"completion budget {options.max_new_tokens} tokens: {100 * fits:.0f}% of the "
                         f"{report['completions']} held-out expert completions fit (median {report['median_tokens']}, "
                         f"longest {report['max_tokens']} tokens)")
    if fits < MIN_COVERAGE:
        raise SetupError(report["message"] + f"; at least {100 * MIN_COVERAGE:.0f}% must, or the step reward "
                         "cannot move: raise max_new_tokens")
    return report


def _config(options: QuickstartOptions, method: str, model: str, folder: str | Path, wall_seconds: float | None):
    """The quickstart's training config of one stage, written to ``OUT/folder`` (an absolute ``folder``: there, as
    the benchmarks train elsewhere); ``wall_seconds``: the more-SFT row, as long as SRL trained (``math.inf``:
    until a ``WallClockLimit`` callback says, see ``_srl_and_more_sft``)."""
    from srl_swe.train.config import validate

    # One SFT sequence per forward pass: no padding, and without a mask attention takes PyTorch's causal kernel —
    # the same loss; bench/quickstart.py's warm-start phase went from 151–157 s with 4 padded sequences a pass to
    # 110–114 s. SRL's passes hold up to 4 rollouts (TRL shuffles a step's 16 before splitting them).
    grpo = {"learning_rate": options.srl_learning_rate, "temperature": options.temperature, "batch_size": 4,
            "epsilon": options.srl_epsilon,
            "num_generations": 4, "per_device_batch_size": 4,
            "max_steps": options.srl_steps, "max_completion_length": options.max_new_tokens,
            "num_generations_eval": 4, "max_sampling_rounds": 2}
    warm_start = method == "sft" and wall_seconds is None
    steps = options.out / "steps" if warm_start else _srl_steps(options)
    sft = {"learning_rate": 3e-3, "batch_size": 4, "per_device_batch_size": 1, "max_steps": options.sft_steps,
           "lr_scheduler_type": "cosine", "warmup_ratio": 0.0, "max_length": 1536, "data": options.sft_data}
    if wall_seconds is not None:  # as long as SRL trained, however many steps that is, at SRL's rate
        sft |= {"max_steps": 100_000, "lr_scheduler_type": "constant", "learning_rate": options.srl_learning_rate}
        if math.isfinite(wall_seconds):
            sft["max_wall_seconds"] = max(wall_seconds, 1.0)
    return validate({
        "method": method, "model": {"path": model}, "use_cpu": True, "output_dir": str(options.out / folder),
        "seed": options.seed, "data": {"path": str(steps), "validation_trajectories": options.held_out},
        "srl": grpo, "sft": sft, "logging": {"validation": False, "eval_steps": 100_000},  # no checkpoints midway
    }, "quickstart")


def _train(options: QuickstartOptions, method: str, folder: str, model: str, wall_seconds: float | None = None,
           callbacks: list | None = None):
    from srl_swe.train.run import finished_stage, train

    done = finished_stage(options.out / folder)
    if done is not None:
        return done
    config = _config(options, method, model, folder, wall_seconds)
    return train(config, resume=any((options.out / folder).glob("checkpoint-*")), callbacks=callbacks)[0]


def _srl_and_more_sft(options: QuickstartOptions, warm: str):
    """SRL's stage result, with the more-SFT row trained beside it: another process, one CPU thread each, the
    more-SFT row training until it has trained as long as SRL did — the same wall time, on the same machine at
    the same moment. On 2 cores the two took 92–98 s instead of 104–126 s one after the other (measured before
    SRL prefilled each prompt once: a step of SRL took 5.0–5.5 s on one thread beside the more-SFT row, 3.9 s on
    two alone; of SFT 0.37 s and 0.25 s). Its output goes to ``OUT/sft_more/train.log``. A run that finds SRL
    done trains the row alone, for SRL's ``train_runtime``."""
    import multiprocessing

    from srl_swe.train.run import finished_stage

    srl = finished_stage(options.out / "srl")
    if srl is not None:
        _train(options, "sft", "sft_more", warm, wall_seconds=srl.train_seconds)
        return srl
    spawn = multiprocessing.get_context("spawn")  # not fork: the parent's OpenMP threads do not survive a fork
    limit = spawn.Value("d", math.inf)
    (options.out / "sft_more").mkdir(parents=True, exist_ok=True)
    beside = spawn.Process(target=_more_sft_beside, args=(options, warm, limit, os.getpid()), name="more SFT")
    beside.start()
    try:
        with _torch_threads(1):
            srl = _train(options, "srl", "srl", warm)
        limit.value = srl.train_seconds
    finally:
        if srl is None:  # SRL failed: the row must not finish as if it had trained as long
            beside.kill()
        beside.join()
    if beside.exitcode != 0:
        raise SetupError(f"the more-SFT row failed (exit status {beside.exitcode}): "
                         f"see {options.out / 'sft_more' / 'train.log'}")
    return srl


def _more_sft_beside(options: QuickstartOptions, warm: str, limit, parent: int) -> None:
    """The more-SFT row, in a process of its own on one thread, until it has trained ``limit.value`` seconds; it
    exits without saving when the quickstart's process (``parent``) is gone, leaving no row that looks finished."""
    import torch

    from srl_swe.train.callbacks import WallClockLimit

    def seconds() -> float:
        if os.getppid() != parent:
            os._exit(1)
        return limit.value

    log = open(options.out / "sft_more" / "train.log", "a")  # noqa: SIM115 - open for the process's lifetime
    os.dup2(log.fileno(), 1)
    os.dup2(log.fileno(), 2)
    torch.set_num_threads(1)
    _train(options, "sft", "sft_more", warm, wall_seconds=math.inf, callbacks=[WallClockLimit(seconds)])


@contextmanager
def _torch_threads(count: int):
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _final_model(options: QuickstartOptions, folder: str) -> Path:
    from srl_swe.train.run import finished_stage

    return finished_stage(options.out / folder).final_model


def _score_rows(options: QuickstartOptions, bar: Bar) -> dict:
    """Each row's held-out step scores, greedy, with the sampled ones under ``sampled`` (reused from
    ``OUT/scores.json`` when it holds as many samples per step as asked for)."""
    from srl_swe.eval.steps import score_steps

    cache = options.out / "scores.json"
    if cache.exists():
        cached = json.loads(cache.read_text())
        if all(entry.get("sampled", {}).get("samples", 0) == options.held_out_samples for entry in cached.values()):
            return cached
    examples = held_out_examples(options)
    scores = {}
    for label, folder in ROWS:
        model = str(_final_model(options, folder))
        advance = bar(f"{label}: held-out steps", len(examples) * (2 if options.held_out_samples else 1))
        result = score_steps(model, examples, options.max_new_tokens, on_batch=advance)
        scores[folder] = {**result.summary(), "samples": result.samples}
        if options.held_out_samples:
            sampled = score_steps(model, examples, options.max_new_tokens, temperature=options.temperature,
                                  samples=options.held_out_samples, seed=options.seed, on_batch=advance)
            scores[folder]["sampled"] = {"reward": sampled.reward, "format_error_rate": sampled.format_error_rate,
                                         "samples": options.held_out_samples}
    _write_json(cache, scores)
    return scores


def _resolved(options: QuickstartOptions, kind: str, folder: str, bar: Bar) -> tuple[int, int]:
    from srl_swe.train.data import held_out_tasks

    held = held_out_tasks(_data_settings(options))
    advance = bar(f"{folder}: agents on held-out tasks", len(held))
    return resolved_held_out(held, _final_model(options, folder), options.out / "eval" / folder, kind,
                             f"quickstart-{folder}", options.max_new_tokens, options.agent_steps, advance)


def resolved_held_out(held: set[str], model: Path, out: Path, kind: str, run_id: str, max_new_tokens: int,
                      agent_steps: int, advance: Callable[[int], None] = lambda n: None,
                      workers: int = 2) -> tuple[int, int]:
    """(resolved, total): ``model`` as an agent (``agent_steps`` steps) on the bundled tasks in ``held``, graded,
    ``workers`` at once (one waits on its sandbox while another generates); runs in ``out`` (a second call
    reuses it). No step records the repository's changes (hindsight goals of training data: 4 git processes
    a step in the container)."""
    from srl_swe.agent import AgentLimits
    from srl_swe.eval.swe import SweRun, run_swe_eval

    pattern = "^(" + "|".join(sorted(held)) + ")$"
    report = run_swe_eval(SweRun(f"local:{SANDBOXES}", f"hf:{model}", out, workers=workers, sandbox=kind,
                                 pattern=pattern, run_id=run_id, max_new_tokens=max_new_tokens,
                                 limits=AgentLimits(max_steps=agent_steps, record_diffs=False)),
                          on_done=lambda task, status: advance(1))
    return report["resolved"], report["total"]


def _finish(options: QuickstartOptions, kind: str, budget: dict, scores: dict, resolved: dict, srl,
            phase_seconds: dict[str, float]) -> dict:
    from srl_swe.eval.report import plots
    from srl_swe.train.data import held_out_tasks

    rows = []
    for label, folder in ROWS:
        score = scores[folder]
        sampled = score.get("sampled", {})  # only with held_out_samples
        rows.append({"model": label, "held_out_step_reward": score["reward"],
                     "format_error_rate": score["format_error_rate"], "exact_match": score["exact_match"],
                     "sampled_step_reward": sampled.get("reward"),
                     "sampled_format_error_rate": sampled.get("format_error_rate"),
                     "by_tool": {tool: entry["similarity"] for tool, entry in score["by_tool"].items()},
                     "resolved": resolved[folder][0], "tasks": resolved[folder][1]})
    result = {"sandbox": kind, "seed": options.seed, "model": options.model or "tiny",
              "held_out_tasks": sorted(held_out_tasks(_data_settings(options))),
              "held_out_steps": scores[ROWS[0][1]]["completions"],
              "budget": {key: value for key, value in budget.items() if key != "message"}, "rows": rows,
              "srl_gain": rows[2]["held_out_step_reward"] - rows[0]["held_out_step_reward"],
              "srl_minus_more_sft": rows[2]["held_out_step_reward"] - rows[1]["held_out_step_reward"],
              "held_out_samples": options.held_out_samples, "temperature": options.temperature,
              "srl_sampled_gain": (rows[2]["sampled_step_reward"] - rows[0]["sampled_step_reward"]
                                   if rows[0]["sampled_step_reward"] is not None else None),
              "phase_seconds": phase_seconds}
    _write_json(options.out / "quickstart.json", result)
    _write_text(options.out / "quickstart.md", table_markdown(result))
    _write_text(options.out / "samples.md", samples_markdown(scores, options.samples_shown))
    plots([{"kind": "train", "name": "srl", "log_history": _log_history(srl)}], options.out)
    return result


def _log_history(stage) -> list[dict]:
    """The stage's logs: from this run, or from the newest checkpoint of a run that finished before."""
    from srl_swe.eval.report import training_log_history

    return stage.log_history or training_log_history(stage.output_dir) or []


def _write_json(path: Path, value) -> None:
    _write_text(path, json.dumps(value, indent=2))


def _write_text(path: Path, text: str) -> None:
    from srl_swe.trajectory import atomic_output

    with atomic_output(path) as handle:
        handle.write(text)


def table_cells(result: dict) -> tuple[list[str], list[list[str]]]:
    """The result table as text: its header and one row per model, per-tool similarity in one column; greedy
    decoding, and a sampled column when the run sampled (``held_out_samples`` per step at ``temperature``)."""
    sampled = result["rows"][0]["sampled_step_reward"] is not None
    header = ["model", "held-out step reward", "format errors", "exact match", "similarity per tool", "resolved"]
    if sampled:
        header.insert(3, f"sampled step reward / format errors ({result['held_out_samples']} × T "
                         f"{result['temperature']})")
    rows = []
    for row in result["rows"]:
        tools = ", ".join(f"{tool} {value:.2f}" if value is not None else f"{tool} –"
                          for tool, value in row["by_tool"].items())
        cells = [row["model"], f"{row['held_out_step_reward']:+.3f}", f"{100 * row['format_error_rate']:.0f}%",
                 f"{100 * row['exact_match']:.0f}%", tools, f"{row['resolved']}/{row['tasks']}"]
        if sampled:
            cells.insert(3, f"{row['sampled_step_reward']:+.3f} / {100 * row['sampled_format_error_rate']:.0f}%")
        rows.append(cells)
    return header, rows


def table_markdown(result: dict) -> str:
    """The result as a markdown table (``table_cells``)."""
    header, rows = table_cells(result)
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def samples_markdown(scores: dict, count: int) -> str:
    """For ``count`` held-out steps spread over the tools, the expert's action beside each model's."""
    entries = scores[ROWS[0][1]]["samples"]
    chosen = _spread([(index, entry["tool"]) for index, entry in enumerate(entries)], count)
    parts = ["# Held-out steps: the expert's action and each model's completion (greedy)", ""]
    for index in chosen:
        entry = entries[index]
        parts += [f"## {entry['instance_id']}, step {entry['step']} (expert tool: {entry['tool']})", "",
                  "**expert**", "", _fenced(entry["expert_action"]), ""]
        for label, folder in ROWS:
            mine = scores[folder]["samples"][index]
            parts += [f"**{label}** — reward {mine['rewards'][0]:+.3f}", "", _fenced(mine["completions"][0]), ""]
    return "\n".join(parts)


def _spread(items: list[tuple[int, str]], count: int) -> list[int]:
    """Up to ``count`` indices, taking the tools in turn so each tool is shown."""
    by_tool: dict[str, list[int]] = {}
    for index, tool in items:
        by_tool.setdefault(tool, []).append(index)
    chosen: list[int] = []
    while len(chosen) < min(count, len(items)):
        for indices in by_tool.values():
            if indices and len(chosen) < count:
                chosen.append(indices.pop(0))
    return sorted(chosen)


def _fenced(text: str) -> str:
    fence = "````" if "```" in text else "```"
    return f"{fence}\n{text}\n{fence}"
