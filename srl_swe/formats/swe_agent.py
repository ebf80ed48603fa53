"""SWE-agent ``.traj`` files (one trajectory per file).

Generations: 0.x (``history`` items without ``message_type``; the command fenced in the response, stored
in ``action``; ``state`` a JSON string) and 1.x (``message_type`` on history items, ``replay_config``;
function calling puts OpenAI ``tool_calls`` on assistant items and answers with ``tool`` items). Steps
come from ``history``, the conversation the model saw: structured ``tool_calls`` where present (1.x
renders editor calls lossily in ``action``), else ``action`` read as a SWE-agent command line.
Demonstrations (``is_demo``) are skipped. SWE-agent does not grade runs: ``resolved`` stays unknown.
"""

from __future__ import annotations

from typing import Any

from srl_swe.formats.common import (
    BadRecord,
    cli_step,
    extract_issue,
    file_stem,
    json_loads_field,
    openai_call_steps,
    require,
    swe_trajectory,
    walk_chat,
)

NAME = "swe-agent"


def detect(record: dict[str, Any]) -> bool:
    return isinstance(record.get("trajectory"), list) and isinstance(record.get("history"), list)


def convert(record: dict[str, Any], source: str) -> Any:
    history, info = require(record, "history", "info")
    replay = json_loads_field(record.get("replay_config") or {}, "replay_config")
    replay = replay if isinstance(replay, dict) else {}
    problem = replay.get("problem_statement") or {}
    items = [item for item in history if not (isinstance(item, dict) and item.get("is_demo"))]
    task_text, steps = walk_chat(items, _assistant_steps)
    instance_id = problem.get("id") or _instance_from_source(record, source)
    task = {"instance_id": instance_id, "problem_statement": problem.get("text") or extract_issue(task_text)}
    outcome = {"patch": info.get("submission") or "", "exit_status": info.get("exit_status") or ""}
    model = (replay.get("agent") or {}).get("model") or {}
    return swe_trajectory(NAME, source, steps, task, outcome, teacher=model.get("name", ""))


def _assistant_steps(item: dict, text: str) -> list:
    thought = (item.get("thought") or text).strip()
    if item.get("tool_calls"):
        return openai_call_steps(thought, item["tool_calls"])
    action = item.get("action")
    if not isinstance(action, str) or not action.strip():
        return []  # a turn the scaffold rejected (format error): no action was run
    return [cli_step(thought, action)]


def _instance_from_source(record: dict, source: str) -> str:
    environment = record.get("environment")
    if isinstance(environment, str) and environment not in ("", "main", "swe_main"):
        return environment
    name = file_stem(source)
    if not name:
        raise BadRecord("missing field", "no instance id (replay_config, environment or file name)")
    return name
