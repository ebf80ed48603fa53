"""Hindsight goal relabeling: live collection records the repository's changes after every step, and
`srl-swe steps --hindsight` turns any run that changed the repository into goal-directed examples."""

from __future__ import annotations

import pyarrow.parquet as pq
from test_rollout import task_folder
from typer.testing import CliRunner

from srl_swe.actions import action_text
from srl_swe.cli import app
from srl_swe.trajectory import read_trajectories, write_trajectories


def collect(tmp_path, calc_task):
    folder, out = task_folder(tmp_path, calc_task, count=1), tmp_path / "run.jsonl"
    result = CliRunner().invoke(app, ["collect", "--tasks", str(folder), "--expert", "oracle", "--sandbox", "local",
                                      "-o", str(out)])
    assert result.exit_code == 0, result.output
    (trajectory,) = read_trajectories(out)
    return out, trajectory


def test_live_collection_records_the_changes_after_every_step(tmp_path, calc_task):
    _, trajectory = collect(tmp_path, calc_task)
    diffs = [step.diff for step in trajectory.steps]
    edited = next(i for i, step in enumerate(trajectory.steps) if step.action.arguments.get("command") == "str_replace")
    assert all(diff == "" for diff in diffs[:edited])  # looking changes nothing
    assert "calc.py" in diffs[edited] and "raise ZeroDivisionError" in diffs[edited]
    assert diffs[-1] is None and trajectory.steps[-1].action.tool == "submit"  # the patch is the outcome's
    assert diffs[edited] in trajectory.outcome.patch or trajectory.outcome.patch.startswith(diffs[edited][:40])


def steps_of(tmp_path, source, *extra):
    out = tmp_path / f"steps{len(extra)}"
    result = CliRunner().invoke(app, ["steps", str(source), "-o", str(out), *extra])
    assert result.exit_code == 0, result.output
    return pq.read_table(out / "steps.parquet").to_pylist(), result.output


def test_hindsight_relabels_each_step_towards_a_change_the_run_reached(tmp_path, calc_task):
    source, trajectory = collect(tmp_path, calc_task)
    plain, _ = steps_of(tmp_path, source)
    assert {row["goal"] for row in plain} == {"task"}  # off by default
    rows, output = steps_of(tmp_path, source, "--hindsight")
    relabeled = [row for row in rows if row["goal"] == "hindsight"]
    assert [row for row in rows if row["goal"] == "task"] == plain
    assert relabeled and f"{len(relabeled)} of the examples are hindsight-relabeled" in output
    before = [""] + [step.diff or "" for step in trajectory.steps]
    changes = [j for j, step in enumerate(trajectory.steps, 1) if step.diff and step.diff != before[j - 1]]
    for row in relabeled:
        goal = int(row["trajectory_id"].rsplit("@", 1)[1])
        assert goal in changes and row["step"] <= goal
        assert trajectory.steps[goal - 1].diff.strip()[:60] in row["prompt"][1]["content"]
        assert "divide(1, 0)" not in row["prompt"][1]["content"]  # the goal replaces the issue
        assert row["expert_action"] == action_text(trajectory.steps[row["step"] - 1].action)
        assert row["instance_id"] == trajectory.task.instance_id  # held out with its task
    assert {row["step"] for row in relabeled} == set(range(1, max(changes) + 1))


def test_an_unresolved_run_gives_only_hindsight_examples(tmp_path, calc_task):
    source, trajectory = collect(tmp_path, calc_task)
    failed = trajectory.model_copy(update={"outcome": trajectory.outcome.model_copy(update={"resolved": False})})
    write_trajectories(tmp_path / "failed.jsonl", [failed])
    rows, output = steps_of(tmp_path, tmp_path / "failed.jsonl", "--hindsight")
    assert rows and {row["goal"] for row in rows} == {"hindsight"} and "1 unresolved" in output
