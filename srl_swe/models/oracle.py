"""The ``oracle`` expert: solves a task through real tool calls derived from its gold patch.

Deterministic and free: it explores (lists the files the patch touches), views each file, applies every
hunk with ``str_replace_editor`` (``old_str`` = the hunk's context and removed lines, ``new_str`` = its
context and added lines; new files are created, deleted ones removed with bash), runs the tests the task
names as passing before and after (PASS_TO_PASS), and submits. Each completion is ``<think>…</think>``
plus one call, the format the policy is trained to write.
"""

from __future__ import annotations

import json
import shlex

from unidiff import PatchSet

from srl_swe.actions import render_completion, tool_action
from srl_swe.trajectory import Action

MAX_TESTS_RUN = 20


class OracleModel:
    name = "oracle"

    def __init__(self, task, workdir: str = "/testbed", python: str = "python3"):
        task = task.model_dump(by_alias=True) if hasattr(task, "model_dump") else task
        self.script = oracle_script(task, workdir, python)
        self.calls = 0

    def complete(self, messages: list[dict[str, str]]) -> str:
        thought, action = self.script[min(self.calls, len(self.script) - 1)]
        self.calls += 1
        return render_completion(thought, action)


def oracle_script(task: dict, workdir: str, python: str = "python3") -> list[tuple[str, Action]]:
    """The (thought, action) steps that apply the task's gold patch."""
    patch = PatchSet(task["patch"])
    paths = [f"{workdir}/{changed.path}" for changed in patch]
    script = [("Let me find the files that matter for this issue.",
               tool_action("bash", {"command": f"cd {workdir} && ls " + " ".join(shlex.quote(p) for p in paths)}))]
    for changed in patch:
        path = f"{workdir}/{changed.path}"
        if changed.is_added_file:
            text = "".join(line.value for hunk in changed for line in hunk if line.is_added)
            script.append((f"{changed.path} has to be created.",
                           tool_action("str_replace_editor", {"command": "create", "path": path, "file_text": text})))
            continue
        if changed.is_removed_file:
            script.append((f"{changed.path} is no longer needed.", tool_action("bash", {"command": f"rm {path}"})))
            continue
        view = tool_action("str_replace_editor", {"command": "view", "path": path})
        script.append((f"Let me read {changed.path}.", view))
        for hunk in changed:
            old, new = hunk_sides(list(hunk))
            script.append((f"Fix the code around line {hunk.source_start} of {changed.path}.",
                           tool_action("str_replace_editor", {"command": "str_replace", "path": path,
                                                              "old_str": old, "new_str": new})))
    tests = _tests(task)
    if tests:
        command = f"cd {workdir} && {python} -m pytest -q -p no:cacheprovider " + " ".join(map(shlex.quote, tests))
        script.append(("Check that the existing tests still pass.", tool_action("bash", {"command": command})))
    script.append(("The fix is in place; submit it.", tool_action("submit", {})))
    return script


def hunk_sides(lines: list) -> tuple[str, str]:
    """(before, after) text of a hunk; a line followed by "\\ No newline at end of file" has no newline."""
    old, new = [], []
    for index, line in enumerate(lines):
        if line.line_type not in " +-":
            continue
        last = index + 1 < len(lines) and lines[index + 1].line_type not in " +-"
        value = line.value[:-1] if last and line.value.endswith("\n") else line.value
        if not line.is_added:
            old.append(value)
        if not line.is_removed:
            new.append(value)
    return "".join(old), "".join(new)


def _tests(task: dict) -> list[str]:
    tests = task.get("PASS_TO_PASS") or []
    tests = json.loads(tests) if isinstance(tests, str) else tests
    return list(tests)[:MAX_TESTS_RUN]
