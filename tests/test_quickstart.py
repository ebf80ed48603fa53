"""`srl-swe quickstart` in a reduced budget, its set-up messages, and the README's commands."""

from __future__ import annotations

import json
import math
import re
import shlex
from pathlib import Path

import pandas as pd
import pytest
import typer

from srl_swe import quickstart
from srl_swe.cli import app
from srl_swe.collect import import_files
from srl_swe.quickstart import QuickstartOptions, SetupError, check_budget, check_disk, choose_sandbox, run_quickstart
from srl_swe.tasks.rows import bundled_tasks
from srl_swe.train.data import held_out_tasks
from srl_swe.trajectory import read_trajectories, write_trajectories

README = Path(__file__).parent.parent / "README.md"


@pytest.mark.docker
def test_quickstart_runs_end_to_end_and_a_second_run_reuses_everything(docker_client, base_image, tmp_path):
    options = QuickstartOptions(out=tmp_path / "qs", sandbox="docker", sft_steps=20, srl_steps=4, agent_steps=2)
    phases: list[str] = []
    result = run_quickstart(options, say=print, phase=phases.append)
    assert phases == list(quickstart.PHASES)
    assert [row["model"] for row in result["rows"]] == [label for label, _ in quickstart.ROWS]
    assert result["budget"]["coverage"] >= 0.95 and result["budget"]["max_new_tokens"] == options.max_new_tokens
    for row in result["rows"]:
        assert -1.0 <= row["held_out_step_reward"] <= 1.0 and 0.0 <= row["format_error_rate"] <= 1.0
        assert row["sampled_step_reward"] is None  # greedy only, unless asked for
        assert 0.0 <= row["exact_match"] <= 1.0 and set(row["by_tool"]) <= {"bash", "str_replace_editor", "submit"}
        assert row["tasks"] == len(result["held_out_tasks"]) == 4 and 0 <= row["resolved"] <= 4
    # the more-SFT row trained as long as SRL did (its wall-clock limit), from the same warm start
    srl, more = (json.loads((tmp_path / "qs" / name / "result.json").read_text()) for name in ("srl", "sft_more"))
    assert more["start_model"] == srl["start_model"] and more["train_seconds"] >= srl["train_seconds"]
    table = (tmp_path / "qs" / "quickstart.md").read_text()
    assert "sampled" not in table
    assert re.search(r"\| warm start \+ SRL \| [+-]\d\.\d{3} \| \d+% \| \d+% \| bash (\d\.\d\d|–).* \| \d/4 \|", table)
    samples = (tmp_path / "qs" / "samples.md").read_text()
    assert samples.count("**expert**") == options.samples_shown and "**warm start + more SFT** — reward" in samples
    assert (tmp_path / "qs" / "rewards.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    collected = (tmp_path / "qs" / "trajectories.jsonl").read_text()
    assert len(collected.splitlines()) == len(bundled_tasks(quickstart.SANDBOXES))  # the oracle solved every one
    assert not any(step.diff for t in read_trajectories(tmp_path / "qs" / "trajectories.jsonl") for step in t.steps)
    for _, folder in quickstart.ROWS:  # one evaluation run per row, over both repositories of the held-out tasks
        assert json.loads((tmp_path / "qs" / "eval" / folder / "report.json").read_text())["total"] == 4
    for label in ("quickstart", *(f"quickstart-{folder}" for _, folder in quickstart.ROWS)):
        assert not docker_client.containers.list(all=True, filters={"label": f"srl-swe.run={label}"})
    assert list(result["phase_seconds"]) == list(quickstart.PHASES)
    assert all(seconds >= 0 for seconds in result["phase_seconds"].values())
    again = run_quickstart(options, say=print, phase=lambda name: None)
    assert again.pop("phase_seconds").keys() == result.pop("phase_seconds").keys()
    assert again == result and (tmp_path / "qs" / "trajectories.jsonl").read_text() == collected
    # asked for samples, the same folder scores again: the greedy figures stay, a sampled column joins them
    sampled = run_quickstart(QuickstartOptions(**{**vars(options), "held_out_samples": 2}), say=print,
                             phase=lambda name: None)
    for before, row in zip(result["rows"], sampled["rows"], strict=True):
        assert row["held_out_step_reward"] == before["held_out_step_reward"]
        assert -1.0 <= row["sampled_step_reward"] <= 1.0 and 0.0 <= row["sampled_format_error_rate"] <= 1.0
    assert sampled["srl_sampled_gain"] is not None
    assert re.search(r"\| warm start \+ SRL \| [+-]\d\.\d{3} \| \d+% \| [+-]\d\.\d{3} / \d+% \| \d+% \| ",
                     (tmp_path / "qs" / "quickstart.md").read_text())
    with pytest.raises(SetupError, match=r"completion budget 16 tokens: \d+% of the \d+ held-out expert completions"):
        check_budget(QuickstartOptions(out=tmp_path / "qs", max_new_tokens=16), str(tmp_path / "qs" / "model"))


def test_without_a_docker_engine_it_says_so_and_falls_back(monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    said: list[str] = []
    assert choose_sandbox(None, said.append) == "local"
    assert "no Docker engine answers" in said[0] and "local sandbox" in said[0]
    with pytest.raises(SetupError, match="--sandbox docker: no Docker engine answers"):
        choose_sandbox("docker", said.append)


def test_warm_start_decays_its_rate_and_more_sft_continues_at_srls_rate(tmp_path):
    options = QuickstartOptions(out=tmp_path, sft_steps=7, srl_learning_rate=2e-4)
    warm = quickstart._config(options, "sft", "model", "sft", None).sft
    assert quickstart._config(options, "srl", "model", "srl", None).data.path == tmp_path / "steps"
    more = quickstart._config(options, "sft", "sft/final", "sft_more", 12.5).sft
    assert (warm.lr_scheduler_type, warm.learning_rate, warm.max_steps, warm.max_wall_seconds) == \
        ("cosine", 3e-3, 7, None)
    assert (more.lr_scheduler_type, more.learning_rate, more.max_wall_seconds) == ("constant", 2e-4, 12.5)
    assert more.max_steps > 1000  # bounded by SRL's time, not by a step count
    beside = quickstart._config(options, "sft", "sft/final", "sft_more", math.inf).sft  # stopped by a callback
    assert (beside.lr_scheduler_type, beside.learning_rate, beside.max_wall_seconds) == ("constant", 2e-4, None)


def srl_steps_from_examples(folder: Path, **settings) -> int:
    """Builds the quickstart's step data in ``folder`` with ``settings`` from the example dumps' SWE runs (marked
    resolved) and checks the contract every SRL data choice keeps: the warm start trains on ``OUT/steps``, SRL and
    the more-SFT row on ``OUT/steps-srl``, with the same tasks held out. Returns how many runs there were."""
    examples = Path(__file__).parent.parent / "trajectories" / "examples"
    swe = [run for run in import_files([examples], resolved_only=False) if run.task.track == "swe"]
    write_trajectories(folder / "trajectories.jsonl", [run.model_copy(update={
        "outcome": run.outcome.model_copy(update={"resolved": True})}) for run in swe])
    options = QuickstartOptions(out=folder, held_out=3, **settings)
    quickstart._steps(options)
    stages = {"warm start": ("sft", "sft", None), "srl": ("srl", "srl", None), "more sft": ("sft", "sft_more", 5.0)}
    data = {name: quickstart._config(options, method, "model", stage, wall).data
            for name, (method, stage, wall) in stages.items()}
    assert data["warm start"].path == folder / "steps"
    assert data["srl"].path == data["more sft"].path == folder / "steps-srl"
    assert held_out_tasks(data["srl"]) == held_out_tasks(data["warm start"])
    return len(swe)


def test_srl_and_the_more_sft_row_train_on_the_same_steps_with_a_shorter_window_and_the_same_tasks_held_out(
        tmp_path):
    srl_steps_from_examples(tmp_path, srl_history=1)
    warm, srl = (pd.read_parquet(tmp_path / name / "steps.parquet") for name in ("steps", "steps-srl"))
    assert list(srl["expert_action"]) == list(warm["expert_action"])  # the same targets, other contexts
    shown = [((len(a) - 2) // 2, (len(b) - 2) // 2) for a, b in zip(warm["prompt"], srl["prompt"], strict=True)]
    assert {(w, s) for w, s in shown if w != s} == {(2, 1)}  # 1 previous step where 2 are shown
    default = quickstart._config(QuickstartOptions(out=tmp_path), "srl", "model", "srl", None)
    assert default.data.path == tmp_path / "steps"  # by default SRL trains on the warm start's own examples


def test_with_variants_srl_and_the_more_sft_row_train_on_them_with_the_same_tasks_held_out(tmp_path):
    count = srl_steps_from_examples(tmp_path, srl_variants=2)
    assert len(list(read_trajectories(tmp_path / "variants.jsonl"))) == 2 * count


def test_no_stage_spends_its_time_validating(tmp_path):
    # the quickstart scores the rows itself; SRL's train_seconds, the more-SFT row's budget, is training only
    options = QuickstartOptions(out=tmp_path)
    for method, folder in (("sft", "sft"), ("srl", "srl")):
        assert quickstart._config(options, method, "model", folder, None).logging.validation is False


def test_low_disk_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setattr(quickstart, "MIN_FREE_GB", 10**9)
    with pytest.raises(SetupError, match=r"GB free under .*needs about"):
        check_disk(tmp_path / "new-folder")


def readme_commands() -> list[list[str]]:
    """Every `srl-swe …` (or `-m srl_swe …`) invocation in the README's code blocks, as tokens after it."""
    blocks = re.findall(r"```bash\n(.*?)```", README.read_text(), re.S)
    commands = []
    for block in blocks:
        for line in block.replace("\\\n", " ").splitlines():
            for part in re.split(r"&&|;|\|", line):
                tokens = shlex.split(part.split("#", 1)[0]) if part.strip() else []
                for index, token in enumerate(tokens):
                    if token == "srl-swe" or (token == "srl_swe" and tokens[index - 1] == "-m"):
                        commands.append(tokens[index + 1:])
                        break
    return commands


def test_every_command_the_readme_shows_exists_with_its_options():
    commands = readme_commands()
    assert {"quickstart", "collect", "steps", "train", "eval", "report", "init-tiny-model", "sandbox"} <= {
        c[0] for c in commands if c}
    group = typer.main.get_command(app)
    for tokens in commands:
        command, rest = group, list(tokens)
        while hasattr(command, "commands") and rest and not rest[0].startswith("-"):  # a group
            name = rest.pop(0)
            assert name in command.commands, f"README: `srl-swe {' '.join(tokens)}`: no command {name}"
            command = command.commands[name]
        options = {opt for param in command.params for opt in (*param.opts, *param.secondary_opts)}
        for token in rest:
            if token.startswith("-") and token != "-":
                assert token.split("=")[0] in options, f"README: `srl-swe {' '.join(tokens)}`: no option {token}"


def test_the_readme_has_the_two_set_up_commands():
    text = README.read_text()
    assert 'pip install -e . && srl-swe quickstart' in text
    assert 'pip install -e ".[dev]" && python -m pytest -q' in text
    assert "python -m pytest -q" in (README.parent / ".ci" / "run").read_text()
