"""OpenHands saved trajectories: the bare JSON list of events that ``save_trajectory_path`` and the
web UI's "download trajectory" write, and that ``replay_trajectory_path`` replays (read as the record
``{"events": [...]}``, see :mod:`sources`), or the server's ``{"trajectory": [...]}`` answer.

Events are in ``event_to_dict`` shape and read as in :mod:`openhands` (calls from ``tool_call_metadata``
when present). The file carries no task record: the problem statement is the first user message (its
issue part when a known wrapper is found), the instance id the file's name, the resolution unknown (pass
``--report`` or ``--all``), the patch empty; the controller's error state (stuck, limits) is the exit
status.
"""

from __future__ import annotations

from typing import Any

from srl_swe.formats.common import content_text, extract_issue, file_stem, swe_trajectory
from srl_swe.formats.openhands import event_steps, flat_events, is_event, limit_exit, teacher

NAME = "openhands-trajectory"


def detect(record: dict[str, Any]) -> bool:
    events = _events(record)
    return events is not None and bool(events) and all(is_event(event) for event in events)


def convert(record: dict[str, Any], source: str) -> Any:
    events = flat_events(_events(record) or [])
    task = {"instance_id": file_stem(source), "problem_statement": extract_issue(_first_user_message(events))}
    outcome = {"resolved": None, "exit_status": limit_exit(events)}
    return swe_trajectory(NAME, source, event_steps(events), task, outcome, teacher=teacher(events))


def _events(record: dict[str, Any]) -> list | None:
    for key in ("events", "trajectory"):
        if set(record) == {key} and isinstance(record[key], list):
            return record[key]
    return None


def _first_user_message(events: list[dict]) -> str:
    for event in events:
        if event.get("action") == "message" and event.get("source") == "user":
            return content_text((event.get("args") or {}).get("content"))
    return ""
