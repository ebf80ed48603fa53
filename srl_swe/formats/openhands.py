"""OpenHands evaluation ``output.jsonl`` lines: ``instance_id``, ``instruction``, ``instance`` (the
SWE-bench row), ``history``, ``test_result.git_patch``, ``metadata``, and ``report.resolved`` once
OpenHands' evaluation has been merged in (``test_result.report.resolved`` in ``output.swebench_eval.jsonl``).

``history`` generations: the flat event stream (since Sept 2024; actions carry ``action`` + ``args``,
observations ``observation`` + ``content``) and the older list of ``[action, observation]`` pairs. Agent
actions become canonical calls: ``run`` → ``bash``; ``read`` → ``str_replace_editor view``; ``edit`` →
``str_replace_editor``; ``run_ipython`` → ``str_replace_editor`` when it wraps ``file_editor(**{…})``
(CodeAct 2.1, late 2024), else ``execute_ipython_cell``; ``think`` → ``think``; ``finish`` → ``submit``.
Messages, recalls, system and state events are not actions.
"""

from __future__ import annotations

import ast
import json
import re
from typing import Any

from srl_swe.formats.common import (
    BadRecord,
    as_resolved,
    call_step,
    extract_issue,
    require,
    swe_trajectory,
    with_observation,
)

NAME = "openhands"
_EDITOR_ARGS = ("command", "path", "file_text", "old_str", "new_str", "insert_line", "view_range")
_FILE_EDITOR_CODE = re.compile(r"^\s*print\(file_editor\(\*\*(\{.*\})\)\)\s*$", re.S)
_NOT_OBSERVED = {"null", "recall", "agent_state_changed", "message", "chat", "condense"}


def detect(record: dict[str, Any]) -> bool:
    return "instance_id" in record and isinstance(record.get("history"), list) and (
        "test_result" in record or "instruction" in record
    )


def convert(record: dict[str, Any], source: str) -> Any:
    history, instance_id = require(record, "history", "instance_id")
    events = [event for pair in history for event in (pair if isinstance(pair, list) else [pair])]
    steps = []
    for event in events:
        if not isinstance(event, dict):
            raise BadRecord("malformed event", f"a history event is a {type(event).__name__}")
        if event.get("action") and event.get("source", "agent") == "agent":
            step = _action_step(event)
            if step is not None:
                steps.append(step)
        elif event.get("observation") not in (None, *_NOT_OBSERVED) and steps and steps[-1].observation is None:
            steps[-1] = with_observation(steps[-1], str(event.get("content") or ""))
    instance = record.get("instance") or record.get("swe_instance") or {}
    problem = instance.get("problem_statement") or extract_issue(record.get("instruction") or "")
    test_result = record.get("test_result") or {}
    report = record.get("report") or test_result.get("report") or {}
    outcome = {
        "resolved": as_resolved(report.get("resolved"), "report.resolved"),
        "patch": test_result.get("git_patch") or record.get("git_patch") or "",
        "exit_status": str(record.get("error") or ""),
    }
    model = ((record.get("metadata") or {}).get("llm_config") or {}).get("model") or ""
    return swe_trajectory(NAME, source, steps, _task(instance_id, problem, instance), outcome, teacher=model)


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


def _action_step(event: dict):
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
    return None


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
