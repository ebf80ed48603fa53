"""OpenHands resolver ``output.jsonl`` lines (``openhands.resolver``'s ``ResolverOutput``): ``issue``
(owner, repo, number, title, body …), ``issue_type`` (``issue`` or ``pr``), ``instruction``,
``base_commit``, ``git_patch``, ``history``, ``metrics``, ``success``, ``comment_success``,
``result_explanation``, ``error``.

``history`` is the resolver's dataclass dump of the events (an action's fields beside ``action``, no ids,
sources or tool-call metadata), read as in :mod:`openhands`: without metadata, a ``think`` argument
holds OpenHands' prose too. ``success`` is the resolver's own verdict (an LLM reads the history and the
patch; no tests ran): it is taken as ``resolved``; pass ``--report`` to grade by tests instead. The
instance id is ``owner__repo-number``; the problem statement is the issue's title and body (for a
``pr`` run, review comments are not added). ``error`` (the controller's last error) is the exit status.
"""

from __future__ import annotations

from typing import Any

from srl_swe.formats.common import BadRecord, as_resolved, extract_issue, require, swe_trajectory
from srl_swe.formats.openhands import event_steps, flat_events, limit_exit, teacher

NAME = "openhands-resolver"


def detect(record: dict[str, Any]) -> bool:
    return isinstance(record.get("issue"), dict) and isinstance(record.get("history"), list) and (
        "success" in record and "git_patch" in record
    )


def convert(record: dict[str, Any], source: str) -> Any:
    history, issue = require(record, "history", "issue")
    events = flat_events(history)
    owner, repo, number = (issue.get(key) for key in ("owner", "repo", "number"))
    if not (owner and repo and number is not None):
        raise BadRecord("missing field", "'issue' lacks owner, repo or number")
    title, body = (str(issue.get(key) or "").strip() for key in ("title", "body"))
    problem = "\n".join(part for part in (title, body) if part) or extract_issue(record.get("instruction") or "")
    task = {"instance_id": f"{owner}__{repo}-{number}", "problem_statement": problem, "repo": f"{owner}/{repo}",
            "base_commit": record.get("base_commit") or ""}
    outcome = {
        "resolved": as_resolved(record.get("success"), "success"),
        "patch": record.get("git_patch") or "",
        "exit_status": str(record.get("error") or limit_exit(events)),
    }
    return swe_trajectory(NAME, source, event_steps(events), task, outcome, teacher=teacher(events))
