"""SWE-agent ``.traj`` files (one trajectory per file), and its history-only demonstration files.

Generations, told apart by what SWE-agent writes into ``trajectory`` entries:

- **0.x** (``state`` a JSON string; no ``tool_calls`` in history): steps come from ``trajectory``, one entry
  per executed command, with the command's own output as observation. ``history`` renders that output
  with the scaffold's status suffix (``(Open file: …)``/``(Current directory: …)``/``bash-$``) and ends
  without the submit's output, so it only supplies the task prompt. Requeries (a reply the parser
  rejected, the format-error or blocked-command note, the retried reply) were sent on a temporary copy
  of the history and appear in neither list.
- **1.x** (``state`` an object; entries carry ``query``, though some published files drop it): steps come
  from ``history``, the conversation the model saw, with structured ``tool_calls`` where present (1.x
  renders editor calls lossily in ``action``), else ``action`` read as a SWE-agent command line.
  ``trajectory`` also holds the requeried replies, so it is not read step by step; only when ``history``
  ends before the run's last step (the final ``submit`` only in ``trajectory``) is that entry appended.
- **Demonstrations** (``history`` only, no or empty ``trajectory``): steps come from ``history``.

Scaffold exits are not expert actions: 0.x writes them as the actions ``exit_cost``, ``exit_context``,
``exit_format``, ``exit_error``, ``exit_api``; 1.x as an assistant turn with an empty action. Neither
becomes a step; the run's exit status (``info.exit_status``, e.g. ``submitted (exit_cost)``, else the
pseudo-action) goes to ``outcome.exit_status``. Demonstration items inside a run (``is_demo``) are skipped.
SWE-agent does not grade runs: ``resolved`` stays unknown.
"""

from __future__ import annotations

import re
from typing import Any

from srl_swe.formats.common import (
    BadRecord,
    cli_step,
    content_text,
    extract_issue,
    file_stem,
    json_loads_field,
    openai_call_steps,
    swe_trajectory,
    walk_chat,
    with_observation,
)
from srl_swe.trajectory import Step

NAME = "swe-agent"

SCAFFOLD_EXITS = frozenset({"exit_context", "exit_cost", "exit_error", "exit_format", "exit_api"})
"""The actions SWE-agent 0.x writes when it, not the model, ends a run (limits, errors, format failures)."""

_STATUS_SUFFIX = re.compile(r"\n?\(Open file: [^\n]*\)\n\(Current directory: [^\n]*\)\n?(?:bash-\$|\$)?\s*\Z")


def detect(record: dict[str, Any]) -> bool:
    """A run (``trajectory`` and ``history`` lists) or a demonstration: a ``history`` of chat items that
    name their ``agent`` or ``message_type`` (OpenHands histories hold events, not role/agent items)."""
    history = record.get("history")
    if not isinstance(history, list):
        return False
    if isinstance(record.get("trajectory"), list):
        return True
    first = history[0] if history else None
    return isinstance(first, dict) and "role" in first and ("agent" in first or "message_type" in first)


def convert(record: dict[str, Any], source: str) -> Any:
    history = record.get("history")
    if not history:
        raise BadRecord("missing field", "'history' is missing or empty")
    info = record.get("info") or {}
    if not isinstance(info, dict):
        raise BadRecord("malformed field", f"'info' is a {type(info).__name__}, not an object")
    replay = json_loads_field(record.get("replay_config") or {}, "replay_config")
    replay = replay if isinstance(replay, dict) else {}
    problem = replay.get("problem_statement") or {}
    items = [item for item in history if not (isinstance(item, dict) and item.get("is_demo"))]
    entries = _entries(record)
    if entries and not _is_1x(entries, items):
        task_text, steps = _task_text(items), _trajectory_steps(entries)
    else:
        task_text, steps = walk_chat(items, _assistant_steps)
        steps = [_clean(step) for step in steps] + _unrecorded_last_step(items, entries)
    instance_id = problem.get("id") or _instance_from_source(record, source)
    task = {"instance_id": instance_id, "problem_statement": problem.get("text") or extract_issue(task_text)}
    outcome = {"patch": info.get("submission") or "", "exit_status": _exit_status(info, entries, items)}
    model = (replay.get("agent") or {}).get("model") or {}
    return swe_trajectory(NAME, source, steps, task, outcome, teacher=model.get("name", ""))


def _entries(record: dict) -> list[dict]:
    entries = record.get("trajectory") or []
    if not isinstance(entries, list) or not all(isinstance(entry, dict) for entry in entries):
        raise BadRecord("malformed field", "'trajectory' is not a list of objects")
    return entries


def _is_1x(entries: list[dict], items: list) -> bool:
    """1.x writes ``state`` as an object (0.x: a JSON string) and the model's input (``query``, dropped
    from some published files); a history with structured ``tool_calls`` must be read from history."""
    return any(isinstance(entry.get("state"), dict) or "query" in entry for entry in entries) or any(
        isinstance(item, dict) and item.get("tool_calls") for item in items)


def _task_text(items: list) -> str:
    """The first user item's text: the instance prompt (system and demonstration items come before)."""
    for item in items:
        if isinstance(item, dict) and item.get("role") == "user":
            return content_text(item.get("content"))
    return ""


def _trajectory_steps(entries: list[dict]) -> list[Step]:
    """0.x: one step per executed command, the entry's own (clean) output as its observation."""
    steps = []
    for entry in entries:
        action = entry.get("action")
        if not isinstance(action, str) or not action.strip() or action.strip() in SCAFFOLD_EXITS:
            continue  # nothing the model asked for was run
        step = cli_step(str(entry.get("thought") or "").strip(), action)
        observation = entry.get("observation")
        steps.append(with_observation(step, observation) if isinstance(observation, str) else step)
    return steps


def _assistant_steps(item: dict, text: str) -> list[Step]:
    thought = (item.get("thought") or text).strip()
    if item.get("tool_calls"):
        return openai_call_steps(thought, item["tool_calls"])
    action = item.get("action")
    if not isinstance(action, str) or not action.strip() or action.strip() in SCAFFOLD_EXITS:
        return []  # the scaffold ended the run here (1.x writes its exit turn with an empty action)
    return [cli_step(thought, action)]


def _clean(step: Step) -> Step:
    """History observations without the 0.x status suffix that demonstrations still carry."""
    if step.observation is None:
        return step
    return with_observation(step, _STATUS_SUFFIX.sub("", step.observation))


def _unrecorded_last_step(items: list, entries: list[dict]) -> list[Step]:
    """The run's last step when ``history`` ends before it: its last assistant turn is not the last
    trajectory entry (same action and thought). Limit: only the last entry is recovered."""
    last = entries[-1] if entries else None
    action = last.get("action") if last else None
    if not isinstance(action, str) or not action.strip() or action.strip() in SCAFFOLD_EXITS:
        return []
    turns = [item for item in items if isinstance(item, dict) and item.get("role") == "assistant"]
    if turns and _turn_key(turns[-1]) == _turn_key(last):
        return []
    step = cli_step(str(last.get("thought") or "").strip(), action)
    observation = last.get("observation")
    return [with_observation(step, observation) if isinstance(observation, str) else step]


def _turn_key(item: dict) -> tuple[str, str]:
    return str(item.get("action") or "").strip(), str(item.get("thought") or "").strip()


def _exit_status(info: dict, entries: list[dict], items: list) -> str:
    """``info.exit_status`` (``submitted``, ``submitted (exit_cost)``, ``exit_format`` …), else the 0.x
    pseudo-action the run ended with, else empty."""
    if info.get("exit_status"):
        return str(info["exit_status"])
    actions = [str(entry.get("action") or "").strip() for entry in entries]
    actions += [str(item.get("action") or "").strip() for item in items if isinstance(item, dict)]
    return next((action for action in reversed(actions) if action in SCAFFOLD_EXITS), "")


def _instance_from_source(record: dict, source: str) -> str:
    environment = record.get("environment")
    if isinstance(environment, str) and environment not in ("", "main", "swe_main"):
        return environment
    name = file_stem(source)
    if not name:
        raise BadRecord("missing field", "no instance id (replay_config, environment or file name)")
    return name
