"""SWE-Gym's OpenHands SFT rows (``SWE-Gym/OpenHands-SFT-Trajectories``) and other chats in OpenHands'
non-function-calling format: tool calls as function markup inside assistant text, tool results as user
turns starting ``EXECUTION RESULT of [tool]:``.

The published rows carry only ``messages``: no instance id (we derive a stable one from the issue text),
no patch and no ``resolved`` flag — the split itself holds only successful runs, so import it with
``--all``. A ``resolved`` or ``instance_id`` column, when present, is used, and so are the patch and
verdict columns that :func:`srl_swe.formats.openai_chat.outcome_fields` reads (``test_result.git_patch`` …).
SWE-Gym's *sampled* rows (``SWE-Gym/OpenHands-Sampled-Trajectories``) are OpenAI ``tool_calls`` chats: the
openai-chat importer reads them.
"""

from __future__ import annotations

from typing import Any

from srl_swe.formats.common import (
    content_id,
    extract_issue,
    markup_steps,
    no_call,
    require,
    swe_trajectory,
    walk_chat,
)
from srl_swe.formats.openai_chat import outcome_fields

NAME = "swe-gym"


def detect(record: dict[str, Any]) -> bool:
    messages = record.get("messages")
    if not isinstance(messages, list):
        return False
    for message in messages:
        content = message.get("content") if isinstance(message, dict) else None
        if not isinstance(content, str):
            continue
        is_call = message.get("role") == "assistant" and "<function=" in content
        if is_call or content.startswith("EXECUTION RESULT of ["):
            return True
    return False


def convert(record: dict[str, Any], source: str) -> Any:
    (messages,) = require(record, "messages")
    task_text, steps = walk_chat(messages, _assistant_steps)
    problem = extract_issue(task_text)
    instance_id = record.get("instance_id") or content_id("swe-gym", problem)
    task = {"instance_id": instance_id, "problem_statement": problem}
    return swe_trajectory(NAME, source, steps, task, outcome_fields(record))


def _assistant_steps(message: dict, text: str) -> list:
    return markup_steps(text) if "<function=" in text else no_call(message, text, NAME)
