"""Generic OpenAI chat records with ``tool_calls``: ``messages`` (or nebius SWE-rebench's ``trajectory``)
as a list of ``system``/``user``/``assistant``/``tool`` messages, assistant ``tool_calls`` with
arguments as a JSON string or an object, tool results as ``tool`` messages (paired in call order).

Optional columns used when present: ``instance_id``, ``problem_statement``, ``resolved`` (bool or 0/1),
``model_patch``/``patch``, ``exit_status``, ``model``/``model_name``, and OpenHands' evaluation column
``test_result`` (SWE-Gym's sampled rows, OpenHands ``output.jsonl``): ``git_patch`` is the patch when no
other patch column is set, ``report.resolved`` the verdict when there is no ``resolved`` column.
"""

from __future__ import annotations

from typing import Any

from srl_swe.formats.common import (
    BadRecord,
    as_resolved,
    content_id,
    extract_issue,
    json_loads_field,
    no_call,
    openai_call_steps,
    swe_trajectory,
    walk_chat,
)

NAME = "openai-chat"


def _messages(record: dict[str, Any]) -> Any:
    value = record.get("messages")
    return value if isinstance(value, list) else record.get("trajectory")


def detect(record: dict[str, Any]) -> bool:
    messages = _messages(record)
    return isinstance(messages, list) and any(
        isinstance(m, dict) and m.get("role") == "assistant" and m.get("tool_calls") for m in messages
    )


def convert(record: dict[str, Any], source: str) -> Any:
    messages = _messages(record)
    if not isinstance(messages, list):
        raise BadRecord("missing field", "'messages' is missing")
    task_text, steps = walk_chat(messages, _assistant_steps)
    problem = record.get("problem_statement") or extract_issue(task_text)
    instance_id = record.get("instance_id") or content_id("chat", problem)
    outcome = outcome_fields(record)
    teacher = record.get("model") or record.get("model_name") or ""
    return swe_trajectory(NAME, source, steps, {"instance_id": instance_id, "problem_statement": problem},
                          outcome, teacher=teacher)


def outcome_fields(record: dict[str, Any]) -> dict[str, Any]:
    """``resolved``, ``patch`` and ``exit_status`` from a row's columns (see module docstring); the top-level
    columns win over ``test_result``, which may be an object or a JSON string. BadRecord for a malformed one."""
    test_result = json_loads_field(record.get("test_result"), "test_result") or {}
    if not isinstance(test_result, dict):
        raise BadRecord("malformed field", f"'test_result' is a {type(test_result).__name__}, not an object")
    report = test_result.get("report") if isinstance(test_result.get("report"), dict) else {}
    resolved = record.get("resolved")
    return {
        "resolved": as_resolved(report.get("resolved") if resolved is None else resolved, "resolved"),
        "patch": record.get("model_patch") or record.get("patch") or test_result.get("git_patch") or "",
        "exit_status": str(record.get("exit_status") or ""),
    }


def _assistant_steps(message: dict, text: str) -> list:
    if not message.get("tool_calls"):
        return no_call(message, text, NAME, fences=False)  # prose; markup calls are a skip, never lost
    return openai_call_steps(text.strip(), message["tool_calls"])
