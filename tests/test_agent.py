"""The agent loop end to end in a real (local) sandbox with scripted models, graded for real."""

import json

import pytest

from srl_swe.actions import render_call
from srl_swe.agent import AgentLimits, grade_patch, run_agent
from srl_swe.models import ReplayModel
from srl_swe.models.oracle import OracleModel
from srl_swe.sandbox.local import LocalSandbox
from srl_swe.trajectory import read_trajectories, write_trajectories


def open_sandbox(pristine, task):
    with pytest.warns(UserWarning):
        return LocalSandbox(pristine, task.base_commit)


def test_the_oracle_resolves_and_every_step_is_saved(calc_task, tmp_path):
    pristine, task = calc_task
    saved = []
    with open_sandbox(pristine, task) as sandbox:
        assert sandbox.base_commit == task.base_commit
        model = OracleModel(task, sandbox.workdir)
        trajectory = run_agent(task, sandbox, model, on_step=lambda t: saved.append(len(t.steps)))
    assert trajectory.outcome.exit_status == "submitted"
    assert saved == list(range(1, len(trajectory.steps) + 1))
    assert [s.action.tool for s in trajectory.steps] == ["bash", "str_replace_editor", "str_replace_editor", "bash",
                                                         "submit"]
    assert "raise ZeroDivisionError" in trajectory.outcome.patch
    assert "1 passed" in trajectory.steps[3].observation
    verdict = grade_patch(task, trajectory.outcome.patch, lambda: open_sandbox(pristine, task))
    assert verdict.resolved, verdict.reason
    write_trajectories(tmp_path / "t.jsonl", [trajectory])
    assert list(read_trajectories(tmp_path / "t.jsonl"))[0].steps == trajectory.steps


def test_an_agent_that_submits_nothing_is_not_resolved(calc_task):
    pristine, task = calc_task
    with open_sandbox(pristine, task) as sandbox:
        trajectory = run_agent(task, sandbox, ReplayModel([f"<think>done</think>{render_call('submit', {})}"]))
    assert trajectory.outcome.patch == "" and len(trajectory.steps) == 1
    verdict = grade_patch(task, trajectory.outcome.patch, lambda: open_sandbox(pristine, task))
    assert not verdict.resolved and verdict.fail_to_pass.failure == task.fail_to_pass


def test_an_agent_that_edits_the_tests_is_not_credited(calc_task):
    pristine, task = calc_task
    fake = "printf 'def test_divide_by_zero_raises():\\n    pass\\n' >> tests/test_calc.py"
    cheat = render_call("bash", {"command": fake})
    with open_sandbox(pristine, task) as sandbox:
        trajectory = run_agent(task, sandbox, ReplayModel([f"<think>x</think>{cheat}",
                                                           f"<think>y</think>{render_call('submit', {})}"]))
    assert "tests/test_calc.py" in trajectory.outcome.patch
    verdict = grade_patch(task, trajectory.outcome.patch, lambda: open_sandbox(pristine, task))
    assert not verdict.resolved


def test_three_broken_replies_in_a_row_end_the_episode(calc_task):
    pristine, task = calc_task
    model = ReplayModel(["no format at all"])
    with open_sandbox(pristine, task) as sandbox:
        trajectory = run_agent(task, sandbox, model, AgentLimits(max_steps=10))
    assert trajectory.outcome.exit_status == "format_errors" and model.calls == 3 and trajectory.steps == []


def test_step_limit_and_bad_calls_become_observations(calc_task):
    pristine, task = calc_task
    bad = render_call("str_replace_editor", {"command": "view", "path": "/etc/passwd"})
    with open_sandbox(pristine, task) as sandbox:
        trajectory = run_agent(task, sandbox, ReplayModel([f"<think>peek</think>{bad}"]), AgentLimits(max_steps=2))
    assert trajectory.outcome.exit_status == "step_limit"
    assert all("outside the repository" in step.observation for step in trajectory.steps)
    assert json.loads(trajectory.model_dump_json())["task"]["instance_id"] == "acme__calc-1"


def test_the_oracle_handles_files_without_a_final_newline():
    from srl_swe.models.oracle import oracle_script

    patch = ("diff --git a/x.py b/x.py\n--- a/x.py\n+++ b/x.py\n@@ -1,2 +1,2 @@\n x = 1\n-y = 2\n"
             "\\ No newline at end of file\n+y = 3\n\\ No newline at end of file\n")
    steps = oracle_script({"instance_id": "x", "patch": patch}, "/testbed")
    edits = [a for _, a in steps if a.arguments.get("command") == "str_replace"]
    assert [(e.arguments["old_str"], e.arguments["new_str"]) for e in edits] == [("x = 1\ny = 2", "x = 1\ny = 3")]


def test_the_oracles_edits_carry_only_the_context_that_makes_them_unique(calc_task):
    pristine, task = calc_task
    with open_sandbox(pristine, task) as sandbox:
        trajectory = run_agent(task, sandbox, OracleModel(task, sandbox.workdir))
        edits = [s.action.arguments for s in trajectory.steps if s.action.arguments.get("command") == "str_replace"]
        for edit in edits:  # shorter than the hunk, and each one applied: the run is resolved
            assert edit["old_str"].count("\n") < 7 and edit["old_str"] != edit["new_str"]
    assert trajectory.outcome.exit_status == "submitted" and "raise ZeroDivisionError" in trajectory.outcome.patch
    assert grade_patch(task, trajectory.outcome.patch, lambda: open_sandbox(pristine, task)).resolved


def test_minimal_edit_grows_the_context_until_the_old_text_is_unique():
    from srl_swe.models.oracle import minimal_edit

    text = "def a():\n    return 1\n\ndef b():\n    return 1\n"
    old, new = "def b():\n    return 1\n", "def b():\n    return 2\n"
    assert minimal_edit(old, new, text) == (old, new)  # "    return 1\n" alone occurs twice
    assert minimal_edit("x = 0\ny = 1\nz = 2\n", "x = 0\ny = 5\nz = 2\n", "x = 0\ny = 1\nz = 2\n") == (
        "y = 1\n", "y = 5\n")
    # a pure insertion keeps a line of context on each side; nothing unique → the hunk as it was
    assert minimal_edit("a\nb\n", "a\nnew\nb\n", "a\nb\n") == ("a\nb\n", "a\nnew\nb\n")
    assert minimal_edit("a\n", "a\nb\n", "a\na\n") == ("a\n", "a\nb\n")


def test_the_oracle_reads_a_file_only_from_a_whole_untruncated_view():
    from srl_swe.models.oracle import viewed_file

    view = "OBSERVATION:\nHere is /testbed/x.py (lines 1-3 of 3):\n     1\tx = 1\n     2\ty = 2\n     3\t"
    assert viewed_file(view) == ("/testbed/x.py", "x = 1\ny = 2\n")
    assert viewed_file(view.replace("lines 1-3", "lines 2-3")) is None
    assert viewed_file(view.replace("     2\ty = 2", "[… 40 characters truncated …]")) is None
