"""OpenHands evaluation ``output.jsonl`` lines: ``instance_id``, ``instruction``, ``instance`` (the
SWE-bench row), ``history``, ``test_result.git_patch``, ``metadata``, ``error``, and ``report.resolved``
once OpenHands' evaluation has been merged in (``test_result.report.resolved`` in
``output.swebench_eval.jsonl``). The event reading here is shared with the resolver's ``output.jsonl``
(:mod:`openhands_resolver`) and saved trajectories (:mod:`openhands_trajectory`).

``history`` generations: the flat event stream (since Sept 2024; actions carry ``action`` + ``args``,
observations ``observation`` + ``content`` + ``cause``), the older list of ``[action, observation]``
pairs, and the flat dataclass dump the resolver writes (an action's fields beside ``action``, no ids).

An agent action with ``tool_call_metadata`` (function calling) is read from the call the model issued:
the ``tool_calls`` entry of ``model_response`` whose id is the metadata's ``tool_call_id``, with its JSON
arguments kept as issued (``is_input``, ``timeout`` …; only ``security_risk`` is dropped) and the
response's prose as the thought of its first call. OpenHands' own ``args.thought`` is not used there: it
is the prose *plus* the ``think`` argument. Tool names map as everywhere (``execute_bash`` → ``bash``,
``finish`` → ``submit``). Actions without metadata (older CodeAct) are read from ``args``: ``run`` →
``bash``; ``read`` → ``str_replace_editor view``; ``edit`` → ``str_replace_editor``; ``run_ipython`` →
``str_replace_editor`` when it wraps ``file_editor(**{…})`` (CodeAct 2.1), else
``execute_ipython_cell``; ``think`` → ``think``; ``finish`` → ``submit``; any other call kind skips the
record (it is never dropped silently). Messages, recalls, system, state and condensation events are not
actions. An observation answers the action its ``cause`` names; an uncaused one in an id'd stream (the
controller's error about a malformed call, a limit) answers nothing; in id-less histories it answers the
action just before it. The controller's limit and error exits (stuck in a loop, iteration or budget
limit) become ``outcome.exit_status``, never a step.
"""

from __future__ import annotations

import ast
import json
import re
from typing import Any

from srl_swe.formats.common import (
    BadRecord,
    as_resolved,
    call_arguments,
    call_step,
    content_text,
    extract_issue,
    require,
    swe_trajectory,
    with_observation,
)
from srl_swe.trajectory import Step

NAME = "openhands"
_EDITOR_ARGS = ("command", "path", "file_text", "old_str", "new_str", "insert_line", "view_range")
_FILE_EDITOR_CODE = re.compile(r"^\s*print\(file_editor\(\*\*(\{.*\})\)\)\s*$", re.S)
_NOT_OBSERVED = {"null", "recall", "agent_state_changed", "message", "chat", "condense", "user_rejected"}
_NOT_CALLS = {"message", "system", "recall", "null", "change_agent_state", "condensation",
              "condensation_request", "chat", "start"}
_LIMIT_ERROR = re.compile(r"stuck in a loop|maximum (?:number of )?iterations?|maximum budget", re.I)


def detect(record: dict[str, Any]) -> bool:
    return "instance_id" in record and isinstance(record.get("history"), list) and (
        "test_result" in record or "instruction" in record
    )


def convert(record: dict[str, Any], source: str) -> Any:
    history, instance_id = require(record, "history", "instance_id")
    events = flat_events(history)
    instance = record.get("instance") or record.get("swe_instance") or {}
    problem = instance.get("problem_statement") or extract_issue(record.get("instruction") or "")
    test_result = record.get("test_result") or {}
    report = record.get("report") or test_result.get("report") or {}
    outcome = {
        "resolved": as_resolved(report.get("resolved"), "report.resolved"),
        "patch": test_result.get("git_patch") or record.get("git_patch") or "",
        "exit_status": str(record.get("error") or limit_exit(events)),
    }
    model = ((record.get("metadata") or {}).get("llm_config") or {}).get("model") or ""
    task = _task(instance_id, problem, instance)
    return swe_trajectory(NAME, source, event_steps(events), task, outcome, teacher=model or teacher(events))


def _task(instance_id: str, problem: str, instance: dict) -> dict[str, Any]:
    return {
        "instance_id": instance_id,
        "problem_statement": problem,
        "repo": instance.get("repo") or "",
        "base_commit": instance.get("base_commit") or "",
        "FAIL_TO_PASS": instance.get("FAIL_TO_PASS"),
        "PASS_TO_PASS": instance.get("PASS_TO_PASS"),
        "patch": instance.get("patch") or "",
        "test_patch": instance.get("test_patch") or "",
    }


def is_event(item: Any) -> bool:
    """Whether ``item`` looks like one serialized OpenHands event (an action or an observation)."""
    return isinstance(item, dict) and isinstance(item.get("action") or item.get("observation"), str)


def flat_events(history: list) -> list[dict]:
    """The events of a history, pairs flattened, each in ``event_to_dict`` shape (``args`` for actions);
    BadRecord naming the position of an event that is not an object."""
    events = [event for pair in history for event in (pair if isinstance(pair, list) else [pair])]
    for position, event in enumerate(events):
        if not isinstance(event, dict):
            raise BadRecord("malformed event", f"history event {position} is a {type(event).__name__}")
    return [_with_args(event) for event in events]


def _with_args(event: dict) -> dict:
    """The resolver's dataclass dump puts an action's fields beside ``action``: move them into ``args``."""
    if event.get("action") and not isinstance(event.get("args"), dict):
        return {"action": event["action"], "args": {k: v for k, v in event.items() if k != "action"}}
    return event


def event_steps(events: list[dict]) -> list[Step]:
    """The agent's calls in an event list, each with the observation that answers it (see module doc)."""
    steps: list[Step] = []
    step_of_event: dict[Any, int] = {}
    last: int | None = None
    for position, event in enumerate(events):
        if event.get("action"):
            last = None
            if event.get("source", "agent") == "agent" and event["action"] not in _NOT_CALLS:
                steps.append(_action_step(event, position))
                last = step_of_event[event.get("id", position)] = len(steps) - 1
        elif event.get("observation") not in (None, *_NOT_OBSERVED):
            index = _answered(event, step_of_event, last)
            if index is not None and steps[index].observation is None:
                steps[index] = with_observation(steps[index], str(event.get("content") or ""))
    return steps


def _answered(observation: dict, step_of_event: dict[Any, int], last: int | None) -> int | None:
    if "cause" in observation:
        return step_of_event.get(observation["cause"])
    return None if "id" in observation else last  # an id'd, uncaused observation answers no call


def limit_exit(events: list[dict]) -> str:
    """Why the controller stopped the agent, when it did: the reason of the last ``error`` agent state,
    else the last uncaused error observation that names a limit (older streams); "" otherwise."""
    for event in reversed(events):
        extras = event.get("extras") if isinstance(event.get("extras"), dict) else event
        if event.get("observation") == "agent_state_changed" and extras.get("agent_state") == "error":
            return str(extras.get("reason") or "error")
        if event.get("observation") == "error" and "cause" not in event:
            content = str(event.get("content") or "")
            if _LIMIT_ERROR.search(content):
                return content
    return ""


def teacher(events: list[dict]) -> str:
    """The model named in the first function-calling response of the events, or ""."""
    for event in events:
        response = (event.get("tool_call_metadata") or {}).get("model_response")
        if isinstance(response, dict) and response.get("model"):
            return str(response["model"])
    return ""


def _action_step(event: dict, position: int) -> Step:
    where = f"event {event.get('id', position)} ({event['action']})"
    try:
        issued = _issued_step(event)
        return issued if issued is not None else _args_step(event)
    except BadRecord as error:
        raise BadRecord(error.kind, f"{where}: {str(error).removeprefix(error.kind + ': ')}") from None


def _issued_step(event: dict) -> Step | None:
    """The step for the call the model issued, from ``tool_call_metadata``; None without one."""
    metadata = event.get("tool_call_metadata")
    if not isinstance(metadata, dict):
        return None
    choices = (metadata.get("model_response") or {}).get("choices") or [{}]
    message = choices[0].get("message") or {} if isinstance(choices[0], dict) else {}
    calls = [call for call in message.get("tool_calls") or [] if isinstance(call, dict)]
    position = next((i for i, call in enumerate(calls) if call.get("id") == metadata.get("tool_call_id")), None)
    if position is None:
        return None  # a trimmed model_response: the event's own args are all there is
    function = calls[position].get("function") or {}
    if not isinstance(function, dict) or not function.get("name"):
        raise BadRecord("unparseable tool call", "the issued call has no function name")
    arguments = call_arguments(function, function["name"])
    thought = content_text(message.get("content")).strip() if position == 0 else ""
    raw = json.dumps(calls[position], ensure_ascii=False)
    return call_step(thought, function["name"], arguments, raw, as_issued=True)


def _args_step(event: dict) -> Step:
    """The step for an action without a recorded call (older CodeAct), from the event's ``args``."""
    kind, args = event["action"], event.get("args") or {}
    thought = str(args.get("thought") or "")
    raw = json.dumps(event, ensure_ascii=False)
    if kind == "run":
        return call_step(thought, "bash", {"command": args.get("command", "")}, raw)
    if kind == "read":
        return call_step(thought, "str_replace_editor", _editor_args({**args, "command": "view"}), raw)
    if kind == "edit":
        if args.get("impl_source") == "llm_based_edit":
            legacy = {key: args.get(key) for key in ("path", "content", "start", "end")}
            return call_step(thought, "edit_file", legacy, raw)
        return call_step(thought, "str_replace_editor", _editor_args(args), raw)
    if kind == "run_ipython":
        editor = _FILE_EDITOR_CODE.match(args.get("code") or "")
        if editor:
            return call_step(thought, "str_replace_editor", _editor_args(_literal(editor.group(1))), raw)
        return call_step(thought, "execute_ipython_cell", {"code": args.get("code", "")}, raw)
    if kind == "think":
        return call_step("", "think", {"thought": thought}, raw)
    if kind == "finish":
        return call_step(thought, "submit", {}, raw)
    raise BadRecord("unsupported action", f"OpenHands action {kind!r} has no recorded tool call to read")


def _editor_args(args: dict) -> dict[str, Any]:
    return {key: args[key] for key in _EDITOR_ARGS if args.get(key) is not None}


def _literal(text: str) -> dict:
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError) as exc:
        raise BadRecord("unparseable tool call", f"file_editor arguments: {exc}") from None
    if not isinstance(value, dict):
        raise BadRecord("unparseable tool call", "file_editor arguments are not a dict")
    return value
