"""nebius ``SWE-agent-trajectories``: rows with ``instance_id``, ``model_name``, ``target`` (resolved),
``trajectory`` (items ``{role: system|user|ai, text, system_prompt, mask, cutoff_date}``),
``exit_status``, ``generated_patch``, ``eval_logs``.

These are SWE-agent 0.x runs: each ``ai`` turn is prose plus one fenced command (a bash command or one of
SWE-agent 0.x's shell commands such as ``open``/``edit … end_of_edit``), recorded as a ``bash`` call;
the next ``user`` turn is its observation. The issue is the text between ``ISSUE:`` and
``INSTRUCTIONS:`` of the first user turn. SWE-agent 0.x's scaffold exits (``exit_cost`` …) are no steps;
the row's ``exit_status`` says how the run ended.
"""

from __future__ import annotations

from typing import Any

from srl_swe.formats.common import (
    as_resolved,
    cli_step,
    extract_issue,
    fenced_command,
    require,
    swe_trajectory,
    walk_chat,
)
from srl_swe.formats.swe_agent import SCAFFOLD_EXITS

NAME = "nebius"


def detect(record: dict[str, Any]) -> bool:
    items = record.get("trajectory")
    return isinstance(items, list) and bool(items) and isinstance(items[0], dict) and "text" in items[0] \
        and "role" in items[0]


def convert(record: dict[str, Any], source: str) -> Any:
    items, instance_id = require(record, "trajectory", "instance_id")
    task_text, steps = walk_chat(items, _ai_steps, text_key="text", assistant_roles=("ai",))
    target = record.get("target")
    outcome = {
        "resolved": as_resolved(target, "target"),
        "patch": record.get("generated_patch") or "",
        "exit_status": record.get("exit_status") or "",
    }
    task = {"instance_id": instance_id, "problem_statement": extract_issue(task_text)}
    return swe_trajectory(NAME, source, steps, task, outcome, teacher=record.get("model_name") or "")


def _ai_steps(message: dict, text: str) -> list:
    found = fenced_command(text)
    return [cli_step(*found)] if found and found[1].strip() not in SCAFFOLD_EXITS else []
