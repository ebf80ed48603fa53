"""mini-swe-agent ``.traj.json`` files.

Generations: the first format (no ``trajectory_format``), ``mini-swe-agent-1`` (both: bash commands in
a ```bash fence of the assistant text, observations as user turns) and ``mini-swe-agent-1.1`` (v2:
OpenAI ``tool_calls`` answered by ``tool`` messages, or text mode with ```mswea_bash_command fences, and
a final ``exit`` message). An assistant turn without a command is a format error the agent was told
about: it is not a step. mini-swe-agent does not grade runs: ``resolved`` stays unknown.
"""

from __future__ import annotations

from typing import Any

from srl_swe.formats.common import (
    cli_step,
    extract_issue,
    fenced_command,
    file_stem,
    openai_call_steps,
    require,
    swe_trajectory,
    walk_chat,
)

NAME = "mini-swe-agent"
_FENCE_LANGUAGES = ("bash", "mswea_bash_command")


def detect(record: dict[str, Any]) -> bool:
    info = record.get("info")
    if not isinstance(record.get("messages"), list) or not isinstance(info, dict):
        return False
    return str(record.get("trajectory_format", "")).startswith("mini-swe-agent") or "exit_status" in info


def convert(record: dict[str, Any], source: str) -> Any:
    messages, info = require(record, "messages", "info")
    task_text, steps = walk_chat(messages, _assistant_steps)
    instance_id = record.get("instance_id") or file_stem(source)
    task = {"instance_id": instance_id, "problem_statement": extract_issue(task_text)}
    outcome = {"patch": info.get("submission") or "", "exit_status": info.get("exit_status") or ""}
    model = ((info.get("config") or {}).get("model") or {}).get("model_name", "")
    return swe_trajectory(NAME, source, steps, task, outcome, teacher=model)


def _assistant_steps(message: dict, text: str) -> list:
    if message.get("tool_calls"):
        return openai_call_steps(text.strip(), message["tool_calls"])
    for language in _FENCE_LANGUAGES:
        found = fenced_command(text, language)
        if found:
            return [cli_step(*found)]
    return []

