"""Chats in mini-swe-agent's text format outside a ``.traj.json``: dataset rows of ``messages`` (the
``mini-coder`` trajectory sets, rows with ``trajectory_format``/``exit_status`` columns beside the
messages) and mini's bare message lists (a JSON file that is only the list; read as ``{"messages": …}``).

Assistant turns hold one ```bash (or ```mswea_bash_command) fence each; some datasets end with a
function-markup call (``<function=submit>``), which is read as markup. A turn with no fence or several
was rejected by mini (format error) and gives no step, exactly as in
:mod:`srl_swe.formats.mini_swe_agent`, whose rules this importer shares; a turn holding a call of another
syntax is a skip with its reason, never a silent loss. ``resolved``, ``patch``/``model_patch`` and
``exit_status`` columns are read when present (the last decides the submission); the instance id is the
``instance_id`` column, else a hash of the issue text.
"""

from __future__ import annotations

from typing import Any

from srl_swe.formats.common import BadRecord, content_id, extract_issue, swe_trajectory
from srl_swe.formats.mini_swe_agent import DEFAULT_ACTION_REGEX, mini_chat_steps
from srl_swe.formats.openai_chat import outcome_fields

NAME = "mini-chat"


def detect(record: dict[str, Any]) -> bool:
    """A ``messages`` list without mini's ``info`` whose assistant turns have no ``tool_calls`` and mostly hold
    mini fences: more fenced turns than turns with ``<function=…>`` markup (a markup chat — SWE-Gym, OpenHands
    — may show a ```bash example in a closing summary; a mini chat may end with one markup submit)."""
    messages = record.get("messages")
    if not isinstance(messages, list) or isinstance(record.get("info"), dict):
        return False
    assistant = [m for m in messages if isinstance(m, dict) and m.get("role") == "assistant"]
    if any(m.get("tool_calls") for m in assistant):
        return False
    texts = [m["content"] for m in assistant if isinstance(m.get("content"), str)]
    fenced = sum(1 for text in texts if DEFAULT_ACTION_REGEX.search(text))
    return fenced > 0 and fenced > sum(1 for text in texts if "<function=" in text)


def convert(record: dict[str, Any], source: str) -> Any:
    messages = record.get("messages")
    if not isinstance(messages, list):
        raise BadRecord("missing field", "'messages' is missing")
    outcome = outcome_fields(record)
    task_text, steps = mini_chat_steps(messages, DEFAULT_ACTION_REGEX, outcome["exit_status"])
    problem = extract_issue(task_text)
    instance_id = record.get("instance_id") or content_id("mini-chat", problem)
    teacher = record.get("model") or record.get("model_name") or ""
    return swe_trajectory(NAME, source, steps, {"instance_id": instance_id, "problem_statement": problem},
                          outcome, teacher=str(teacher))
