"""mini-swe-agent's own rules on hand-written fixtures in its real shapes (issue 12, classes 1, 4, 6, 9):
rejected turns are no steps, limit exits are outcomes, a submission is decided as mini decides it, and
no importer loses a mini-style call silently."""

import json
from pathlib import Path

import pytest

from srl_swe.collect import import_files
from srl_swe.formats import FORMATS
from srl_swe.formats.common import BadRecord, is_mini_submission
from srl_swe.formats.sources import read_records

EXAMPLES = Path(__file__).parent.parent / "trajectories" / "examples"


def test_a_rejected_turn_is_no_step_and_its_note_is_no_observation():
    [trajectory] = list(import_files([EXAMPLES / "mini_v1_format_error.traj.json"], resolved_only=False))
    first = trajectory.steps[0]
    assert first.observation.startswith("<returncode>0</returncode>") and "def modulo" in first.observation
    assert not any("EXACTLY ONE action" in (step.observation or "") for step in trajectory.steps)
    assert not any("Then:" in step.thought for step in trajectory.steps), "the rejected turn's prose is gone too"
    assert "timed out" in trajectory.steps[2].observation, "a timed-out command ran: it stays a step"


def test_a_limit_exit_is_the_outcome_never_a_step_nor_a_patch():
    [trajectory] = list(import_files([EXAMPLES / "mini_v1_format_error.traj.json"], resolved_only=False))
    assert trajectory.outcome.exit_status == "LimitsExceeded" and trajectory.outcome.patch == ""
    assert [step.action.tool for step in trajectory.steps] == ["bash"] * 4


def test_an_error_exit_submission_is_not_a_patch(tmp_path):
    record = json.loads((EXAMPLES / "mini_v1_format_error.traj.json").read_text())
    record["info"].update(exit_status="TimeoutError", submission="Command timed out after 60 seconds")
    trajectory = FORMATS["mini-swe-agent"].convert(record, "run.traj.json")
    assert trajectory.outcome.exit_status == "TimeoutError" and trajectory.outcome.patch == ""


def test_a_sentinel_command_that_did_not_end_the_run_stays_bash():
    [trajectory] = list(import_files([EXAMPLES / "mini_v2_prefixed_submit.traj.json"], resolved_only=False))
    early = trajectory.steps[1]
    assert early.action.tool == "bash" and early.observation.startswith("<returncode>1</returncode>")
    assert trajectory.steps[-1].action.tool == "submit" and trajectory.outcome.patch.startswith("diff --git")


@pytest.mark.parametrize("command, submits", [
    ("echo COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT && git add -A && git diff --cached", True),
    ("cd /testbed && echo COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT && cat patch.txt", True),
    ("cd /testbed; echo 'COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT'\ngit diff", True),
    ("echo MINI_SWE_AGENT_FINAL_OUTPUT", True),
    ("echo start && echo COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT", False),
    ("grep -rn COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT docs/", False),
])
def test_the_submission_is_the_commands_first_echo(command, submits):
    assert is_mini_submission(command) is submits


def test_a_bare_message_list_is_one_trajectory():
    [(source, record)] = list(read_records(EXAMPLES / "mini_bare.traj.json"))
    assert source == str(EXAMPLES / "mini_bare.traj.json") and len(record["messages"]) == 8


def test_chat_importers_never_drop_a_call_silently():
    [(source, record)] = [item for item in read_records(EXAMPLES / "mini_chat.jsonl") if item[0].endswith(":1")]
    with pytest.raises(BadRecord, match="fenced shell command"):
        FORMATS["swe-gym"].convert(record, source)  # what auto-detection chose before mini-chat existed
    chat = {"messages": [{"role": "user", "content": "Fix the bug."},
                         {"role": "assistant", "content": "Looking.\n<function=execute_bash>\n<parameter=command>ls"
                          "</parameter>\n</function>"},
                         {"role": "assistant", "content": "", "tool_calls": [
                             {"id": "c1", "function": {"name": "finish", "arguments": "{}"}}]}]}
    with pytest.raises(BadRecord, match="<function="):
        FORMATS["openai-chat"].convert(chat, "chat.jsonl:1")


def test_the_runs_own_action_regex_decides_what_ran():
    record = json.loads((EXAMPLES / "mini_v1_format_error.traj.json").read_text())
    record["info"]["config"]["agent"]["action_regex"] = "<bash_code>(.*?)</bash_code>"
    record["messages"][2]["content"] = "THOUGHT: look.\n\n<bash_code>ls calc</bash_code>"
    trajectory = FORMATS["mini-swe-agent"].convert(record, "run.traj.json")
    assert [step.action.arguments["command"] for step in trajectory.steps] == ["ls calc"]


def test_a_markup_chat_with_a_fenced_example_is_not_a_mini_chat():
    """An OpenHands/SWE-Gym markup chat may show a ```bash example in a closing summary: it stays a markup
    chat (the example never ran), its calls and its submit are all read."""
    import json
    from pathlib import Path

    from srl_swe.formats import FORMATS, detect_format

    path = Path(__file__).parent.parent / "trajectories" / "examples" / "swe_gym_sft.jsonl"
    record = json.loads(path.read_text().splitlines()[0])
    plain = FORMATS["swe-gym"].convert(record, "plain")
    last = record["messages"][-1]
    last["content"] = "To check it yourself, run:\n```bash\npython reproduce.py\n```\n" + last["content"]
    assert detect_format(record) == "swe-gym"
    steps = FORMATS["swe-gym"].convert(record, "with example").steps
    assert [s.action for s in steps] == [s.action for s in plain.steps] and steps[-1].action.tool == "submit"
