"""The ``oracle`` expert: solves a task through real tool calls derived from its gold patch.

Deterministic and free: it explores (lists the files the patch touches), views each file, applies every
hunk with ``str_replace_editor`` (``old_str`` = the hunk's removed lines with just enough of its context
to be unique in the file as viewed — the whole hunk when the view was cut —, ``new_str`` = the same context
and the added lines; new files are created, deleted ones removed with bash), runs the task's own test
command (``srl_swe.tasks.testing``: ``bin/test`` for sympy, ``runtests.py`` for django, pytest …) on the test
files of its FAIL_TO_PASS tests that exist before the test patch, and submits. Every command is one an engineer
would type: a test command on a few files, never a list of test ids. Each completion is ``<think>…</think>``
plus one call, the format the policy is trained to write.
"""

from __future__ import annotations

import re
import shlex
from pathlib import PurePosixPath

from unidiff import PatchSet

from srl_swe.actions import render_completion, tool_action
from srl_swe.effects import common_ends
from srl_swe.grading.rules import as_task
from srl_swe.tasks.testing import module_name, plan_of, unquoted
from srl_swe.trajectory import Action, SweTask

MAX_TEST_FILES = 5
_WHOLE_VIEW = re.compile(r"Here is (?P<path>\S+) \(lines (?P<first>\d+)-(?P<last>\d+) of (?P<total>\d+)\):\n")
_NUMBERED = re.compile(r" *\d+\t")
_VIEW_CUT = "[… file too long"


class OracleModel:
    name = "oracle"

    def __init__(self, task, workdir: str = "/testbed"):
        self.script = oracle_script(task, workdir)
        self.calls = 0
        self.files: dict[str, str] = {}
        """path → its text as the last whole-file view showed it, with our edits since applied."""

    def complete(self, messages: list[dict[str, str]]) -> str:
        thought, action = self.script[min(self.calls, len(self.script) - 1)]
        self.calls += 1
        self._remember_view(messages)
        if action.tool == "str_replace_editor" and action.arguments.get("command") == "str_replace":
            action = self._shortened(action)
        return render_completion(thought, action)

    def _remember_view(self, messages: list[dict[str, str]]) -> None:
        if messages and messages[-1].get("role") != "assistant":
            seen = viewed_file(str(messages[-1].get("content") or ""))
            if seen is not None:
                self.files[seen[0]] = seen[1]

    def _shortened(self, action: Action) -> Action:
        """The edit with only as much context as makes ``old_str`` unique in the file as last viewed."""
        args = action.arguments
        text = self.files.get(args["path"])
        if text is None:
            return action
        old, new = minimal_edit(args["old_str"], args["new_str"], text)
        self.files[args["path"]] = text.replace(old, new, 1)
        return tool_action("str_replace_editor", {**args, "old_str": old, "new_str": new})


def oracle_script(task: SweTask | dict, workdir: str) -> list[tuple[str, Action]]:
    """The (thought, action) steps that apply the task's gold patch and run its tests (a ``SweTask`` or a
    SWE-bench dict)."""
    task = as_task(task)
    patch = PatchSet(task.patch)
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
    files = _test_files(task, workdir)
    if files:
        command = f"cd {workdir} && {plan_of(task, workdir).head} {' '.join(files)}"
        script.append(("Run the tests of the code I changed.", tool_action("bash", {"command": command})))
    script.append(("The fix is in place; submit it.", tool_action("submit", {})))
    return script


def viewed_file(observation: str) -> tuple[str, str] | None:
    """(path, text) when ``observation`` is the editor's view of a whole file, untruncated; else None."""
    match = _WHOLE_VIEW.search(observation)
    if match is None or match["first"] != "1" or match["last"] != match["total"] or _VIEW_CUT in observation:
        return None
    lines = observation[match.end():].split("\n")
    if len(lines) != int(match["total"]) or not all(_NUMBERED.match(line) for line in lines):
        return None
    return match["path"], "\n".join(line.split("\t", 1)[1] for line in lines)


def minimal_edit(old: str, new: str, text: str) -> tuple[str, str]:
    """(old, new) cut down to the changed lines plus the fewest context lines (added on both sides, one at
    a time) that make ``old`` occur exactly once in ``text`` — what an engineer types; the hunk unchanged
    when no cut is unique."""
    before, after = old.splitlines(keepends=True), new.splitlines(keepends=True)
    head, tail = common_ends(before, after)
    for extra in range(max(head, tail) + 1):
        start, cut = max(0, head - extra), max(0, tail - extra)
        shorter = "".join(before[start:len(before) - cut])
        if shorter.strip() and text.count(shorter) == 1:
            return shorter, "".join(after[start:len(after) - cut])
    return old, new


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


def _test_files(task: SweTask, workdir: str) -> list[str]:
    """The words of the task's test command naming test files that exist before the test patch and hold a
    FAIL_TO_PASS test (all of them when the ids name no file, as sympy's bare test names); when none does (the
    failing tests are in new files), the existing ones named after a file the fix changes. At most
    MAX_TEST_FILES."""
    added = set()
    if task.test_patch.strip():
        added = {changed.path for changed in PatchSet(task.test_patch) if changed.is_added_file}
    existing = [word for word in plan_of(task, workdir).test_files
                if unquoted(word) not in added | {module_name(path) for path in added}]
    failing = {test.split("::")[0] for test in task.fail_to_pass if "::" in test}
    failing |= {module_name(path) for path in failing}
    chosen = [word for word in existing if not failing or unquoted(word) in failing]
    if not chosen:
        stems = {PurePosixPath(changed.path).stem for changed in PatchSet(task.patch)}
        chosen = [word for word in existing if PurePosixPath(unquoted(word)).stem.removeprefix("test_") in stems]
    return chosen[:MAX_TEST_FILES]
