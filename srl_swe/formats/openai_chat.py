"""Generic OpenAI chat records with ``tool_calls``: ``messages`` (or nebius SWE-rebench's ``trajectory``)
as a list of ``system``/``user``/``assistant``/``tool`` messages, assistant ``tool_calls`` with
arguments as a JSON string or an object, tool results as ``tool`` messages (paired in call order).

Optional columns used when present: ``instance_id``, ``problem_statement``, ``resolved`` (bool or 0/1),
``model_patch``/``patch``, ``exit_status``, ``model``/``model_name``.
"""

from __future__ import annotations

from typing import Any

from srl_swe.formats.common import (
    BadRecord,
    as_resolved,
    content_id,
    extract_issue,
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
    outcome = {
        "resolved": as_resolved(record.get("resolved"), "resolved"),
        "patch": record.get("model_patch") or record.get("patch") or "",
        "exit_status": str(record.get("exit_status") or ""),
    }
    teacher = record.get("model") or record.get("model_name") or ""
    return swe_trajectory(NAME, source, steps, {"instance_id": instance_id, "problem_statement": problem},
                          outcome, teacher=teacher)


def _assistant_steps(message: dict, text: str) -> list:
    return openai_call_steps(text.strip(), message.get("tool_calls") or [])
