"""SWE-smith trajectories (``SWE-bench/SWE-smith-trajectories``): rows with ``messages`` stored as a JSON
string, ``instance_id``, ``resolved``, ``model``, ``traj_id``, ``patch``.

One importer for the three splits, recognised per assistant turn: ``tool`` (raw SWE-agent 1.x messages,
OpenAI ``tool_calls`` with JSON-string arguments, ``tool`` turns with list content), ``xml`` (function
markup in the text, observations as user turns) and ``ticks`` (a SWE-agent command line in a bare
``` fence). Beware: SWE-smith's own issue #144 reports ``patch`` values paired with the wrong instance;
we keep the column as the outcome patch but nothing downstream relies on it.
"""

from __future__ import annotations

from typing import Any

from srl_swe.formats.common import (
    BadRecord,
    as_resolved,
    cli_step,
    extract_issue,
    fenced_command,
    json_loads_field,
    markup_steps,
    openai_call_steps,
    require,
    swe_trajectory,
    walk_chat,
)

NAME = "swe-smith"


def detect(record: dict[str, Any]) -> bool:
    return "traj_id" in record and "messages" in record


def convert(record: dict[str, Any], source: str) -> Any:
    raw_messages, instance_id = require(record, "messages", "instance_id")
    messages = json_loads_field(raw_messages, "messages")
    if not isinstance(messages, list):
        raise BadRecord("malformed JSON field", "'messages' is not a list")
    task_text, steps = walk_chat(messages, _assistant_steps)
    task = {"instance_id": instance_id, "problem_statement": extract_issue(task_text)}
    outcome = {"resolved": as_resolved(record.get("resolved"), "resolved"), "patch": record.get("patch") or ""}
    trajectory = swe_trajectory(NAME, source, steps, task, outcome, teacher=record.get("model") or "")
    return trajectory.model_copy(update={"id": str(record.get("traj_id") or trajectory.id)})


def _assistant_steps(message: dict, text: str) -> list:
    if message.get("tool_calls"):
        return openai_call_steps((message.get("thought") or text).strip(), message["tool_calls"])
    if "<function=" in text:
        return markup_steps(text)
    found = fenced_command(text)
    return [cli_step(*found)] if found else []
