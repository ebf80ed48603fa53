"""R2E-Gym ``Trajectory`` JSONL lines: ``trajectory_steps`` (``thought``, ``action`` as function markup,
``observation``), ``problem_statement`` (maybe wrapped in ``[ISSUE]…[/ISSUE]``), ``docker_image``, ``ds``
(the dataset row), ``exit_reason``, ``output_patch``, ``reward`` (1.0 = the tests passed).

R2E-Gym names its tools ``execute_bash(cmd)``, ``file_editor``, ``search`` and ``finish(command=submit)``;
they are mapped to the canonical ``bash``/``str_replace_editor``/``submit`` (``search`` is kept). The
instance id is ``ds.instance_id`` (SWE-bench rows) or the ``docker_image`` (R2E-Gym's own rows).
"""

from __future__ import annotations

import math
from typing import Any

from srl_swe.formats.common import (
    BadRecord,
    as_resolved,
    clean_observation,
    extract_issue,
    markup_steps,
    require,
    swe_trajectory,
)

NAME = "r2e-gym"


def detect(record: dict[str, Any]) -> bool:
    return isinstance(record.get("trajectory_steps"), list)


def convert(record: dict[str, Any], source: str) -> Any:
    raw_steps, problem = require(record, "trajectory_steps", "problem_statement")
    steps = []
    for index, raw in enumerate(raw_steps):
        if not isinstance(raw, dict) or not isinstance(raw.get("action"), str):
            raise BadRecord("malformed step", f"trajectory_steps[{index}] has no action text")
        if "<function=" not in raw["action"]:
            continue  # the model forgot the call; R2E-Gym answered with a reminder
        produced = markup_steps(f"{raw.get('thought') or ''}\n{raw['action']}", strip_wrapped=False)
        produced[-1] = produced[-1].model_copy(update={"observation": _observation(raw)})
        steps.extend(produced)
    ds = record.get("ds") or {}
    task = {
        "instance_id": ds.get("instance_id") or record.get("docker_image") or "",
        "problem_statement": extract_issue(problem),
        "repo": ds.get("repo") or ds.get("repo_name") or "",
        "base_commit": ds.get("base_commit") or ds.get("commit_hash") or "",
        "image": record.get("docker_image") or "",
    }
    reward = record.get("reward")
    outcome = {
        "resolved": _resolved(reward),
        "patch": record.get("output_patch") or "",
        "exit_status": record.get("exit_reason") or "",
    }
    return swe_trajectory(NAME, source, steps, task, outcome)


def _resolved(reward: Any) -> bool | None:
    if reward is None or isinstance(reward, bool):
        return as_resolved(reward, "reward")
    if not isinstance(reward, int | float) or (isinstance(reward, float) and not math.isfinite(reward)):
        raise BadRecord("malformed field", f"'reward' should be a number, got {str(reward)[:40]!r}")
    return reward >= 1.0


def _observation(raw: dict) -> str:
    text = raw.get("observation") or ""
    prefix, _, rest = text.partition("\n")
    if prefix.startswith("Exit code:") and rest.startswith("Execution output of ["):
        return prefix + "\n" + clean_observation(rest)
    return clean_observation(text)
