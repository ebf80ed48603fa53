"""OpenHands beyond the exact steps (tests/fixtures/expected_openhands.json): prose goes to the thought,
arguments stay as issued, the controller's errors and limits never become actions, and the resolver's
output and saved trajectories are read as one trajectory each."""

import json
from pathlib import Path

import pytest

from srl_swe.collect import import_files
from srl_swe.formats import FORMATS, detect_format
from srl_swe.formats.common import BadRecord
from srl_swe.formats.sources import read_records

EXAMPLES = Path(__file__).parent.parent / "trajectories" / "examples"


def only(path: Path, line: int | None = None):
    items = list(read_records(path))
    source, record = items[line - 1] if line else items[0]
    return FORMATS[detect_format(record)].convert(record, source), record


def test_think_prose_is_the_thought_and_the_argument_is_the_call_as_issued():
    trajectory, record = only(EXAMPLES / "openhands_tool_calls.jsonl")
    think = next(step for step in trajectory.steps if step.action.tool == "think")
    [event] = [e for e in record["history"] if e.get("action") == "think"]
    assert event["args"]["thought"].startswith(think.thought + "\n"), "OpenHands' args.thought holds prose + argument"
    assert think.thought == "The even case picks ordered[n // 2] only."
    assert think.thought not in think.action.arguments["thought"]
    assert think.action.arguments["thought"].startswith("For an even n")


def test_two_calls_of_one_response_share_its_prose_once_and_arguments_stay_as_issued():
    trajectory, _ = only(EXAMPLES / "openhands_tool_calls.jsonl")
    first, second = trajectory.steps[:2]
    assert first.thought == "I'll look at median() first." and second.thought == ""
    assert first.action.arguments["is_input"] == "false"
    assert json.loads(first.action.raw)["id"] == "toolu_01MedGrep"
    tests = trajectory.steps[4]
    command = "cd /workspace/acme__calc__1.0 && python -m pytest -q tests/test_stats.py"
    assert tests.action.arguments == {"command": command, "is_input": "false", "timeout": "120"}


def test_stuck_agent_ends_in_the_exit_status_and_scaffold_errors_answer_no_call():
    trajectory, _ = only(EXAMPLES / "openhands_errors.jsonl", 1)
    assert trajectory.outcome.exit_status == "AgentStuckInLoopError: Agent got stuck in a loop"
    texts = [step.observation or "" for step in trajectory.steps] + [step.action.raw for step in trajectory.steps]
    assert not any("Missing required argument" in text or "Please continue" in text for text in texts)
    assert all(step.action.tool == "bash" for step in trajectory.steps)


def test_limit_in_the_event_stream_is_the_exit_status_when_the_record_has_no_error():
    _, record = only(EXAMPLES / "openhands_errors.jsonl", 1)
    record = {**record, "error": None}
    trajectory = FORMATS["openhands"].convert(record, "x.jsonl:1")
    assert trajectory.outcome.exit_status == "AgentStuckInLoopError: Agent got stuck in a loop"


def test_an_uncaused_error_never_answers_an_unanswered_call():
    _, record = only(EXAMPLES / "openhands_tool_calls.jsonl")
    history = [e for e in record["history"] if e.get("id") != 13]  # the test run loses its output
    error = {"id": 99, "source": "agent", "observation": "error", "content": "Missing required argument \"command\"",
             "extras": {"error_id": ""}}
    history.insert(history.index(next(e for e in history if e.get("id") == 12)) + 1, error)
    trajectory = FORMATS["openhands"].convert({**record, "history": history}, "x.jsonl:1")
    assert trajectory.steps[4].observation is None


def test_a_call_without_a_canonical_reading_skips_the_record_naming_the_event():
    _, record = list(read_records(EXAMPLES / "openhands_errors.jsonl"))[1]
    with pytest.raises(BadRecord, match=r"event 3 \(browse_interactive\)") as error:
        FORMATS["openhands"].convert(record, "x.jsonl:2")
    assert error.value.kind == "unsupported action"


def test_events_without_metadata_keep_the_older_path():
    _, record = only(EXAMPLES / "openhands_tool_calls.jsonl")
    history = [{k: v for k, v in e.items() if k != "tool_call_metadata"} for e in record["history"]]
    trajectory = FORMATS["openhands"].convert({**record, "history": history}, "x.jsonl:1")
    assert trajectory.steps[0].action.arguments == {"command": history[4]["args"]["command"]}
    assert trajectory.steps[2].action.arguments["thought"] == history[8]["args"]["thought"]


def test_a_saved_trajectory_is_one_record_with_its_limit_exit():
    [(source, record)] = list(read_records(EXAMPLES / "openhands_trajectory.json"))
    assert set(record) == {"events"} and detect_format(record) == "openhands-trajectory"
    assert detect_format({"trajectory": record["events"]}) == "openhands-trajectory"
    trajectory = FORMATS["openhands-trajectory"].convert(record, source)
    assert trajectory.outcome.resolved is None and trajectory.outcome.exit_status.startswith(
        "RuntimeError: Agent reached maximum budget")
    assert "security_risk" not in trajectory.steps[1].action.arguments
    assert trajectory.steps[2].action.arguments["is_input"] == "false"


def test_resolver_output_reads_issue_success_patch_and_history():
    trajectory, record = only(EXAMPLES / "openhands_resolver_output.jsonl")
    assert trajectory.provenance.source_format == "openhands-resolver"
    assert trajectory.task.instance_id == "acme__calc-27" and trajectory.task.repo == "acme/calc"
    assert trajectory.outcome.resolved is True and trajectory.outcome.patch == record["git_patch"]
    assert trajectory.steps[0].observation.startswith("3:from calc import __version__")
    [kept] = list(import_files([EXAMPLES / "openhands_resolver_output.jsonl"]))
    assert kept.task.base_commit == record["base_commit"]
    with pytest.raises(BadRecord, match="owner, repo or number"):
        FORMATS["openhands-resolver"].convert({**record, "issue": {"title": "t"}}, "x.jsonl:1")
