"""The paper's "oracle file edit" setting (after SWE-RL): the model gets the issue and the full contents of
the files the gold patch touches, thinks in ``<think>…</think>``, then answers search/replace edits:

    ### path/to/file.py
    <<<<<<< SEARCH
    lines exactly as they are in the file
    =======
    the lines that replace them
    >>>>>>> REPLACE

(optionally inside ``<solution>…</solution>``). Each SEARCH text must occur in its file; the first
occurrence is replaced, edits apply in order. Edits may only touch the given files (model output is
hostile input). The patch is the sandbox's ``git diff``. ``solve`` has the signature of
``srl_swe.agent.run_agent``, so ``rollout_all`` runs it in parallel, resumably, in sandboxes.
``OracleFilesModel`` answers with the gold patch's hunks: the mode's own sanity check.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable

from unidiff import PatchSet

from srl_swe.agent import EpisodeTimeout, complete_within, final_outcome
from srl_swe.models.oracle import hunk_sides
from srl_swe.sandbox.base import Sandbox
from srl_swe.trajectory import Action, Outcome, Provenance, Step, SweTask, Trajectory

SYSTEM = ("You are an expert software engineer. You are given an issue and the full contents of the source "
          "files that have to change to resolve it. Think step by step inside <think>…</think>, then write the "
          "edits that resolve the issue as search/replace blocks:\n\n### path/to/file.py\n<<<<<<< SEARCH\n"
          "the exact lines to replace, copied from the file\n=======\nthe new lines\n>>>>>>> REPLACE\n\n"
          "Use as many blocks as needed; the SEARCH lines must match the file exactly, indentation included.")
_BLOCK = re.compile(r"^###[ \t]*(?P<path>\S+)[ \t]*\n<<<<<<< SEARCH\n(?P<search>.*?)^=======\n(?P<replace>.*?)"
                    r"^>>>>>>> REPLACE[ \t]*$", re.M | re.S)


class EditError(ValueError):
    """Edits that cannot be applied; the message says which and why."""


def oracle_paths(task: SweTask) -> list[str]:
    """Files the gold patch modifies (new and deleted files have no contents to show)."""
    return [f.path for f in PatchSet(task.patch) if not f.is_added_file and not f.is_removed_file]


def prompt(task: SweTask, files: dict[str, str]) -> list[dict[str, str]]:
    shown = "\n\n".join(f"--- {path} ---\n{text}" for path, text in files.items())
    return [{"role": "system", "content": SYSTEM},
            {"role": "user", "content": f"<issue>\n{task.problem_statement.strip()}\n</issue>\n\n<files>\n{shown}\n"
                                        f"</files>"}]


def parse_edits(answer: str) -> list[tuple[str, str, str]]:
    """(path, search, replace) blocks after the thinking; EditError when there is none."""
    body = answer.split("</think>", 1)[1] if "</think>" in answer else answer
    edits = [(m["path"], m["search"], m["replace"]) for m in _BLOCK.finditer(body)]
    if not edits:
        raise EditError("no search/replace block after </think>")
    return edits


def apply_edits(files: dict[str, str], edits: list[tuple[str, str, str]]) -> dict[str, str]:
    """The new contents of the edited files."""
    changed: dict[str, str] = {}
    for path, search, replace in edits:
        if path not in files:
            raise EditError(f"{path} is not one of the given files")
        text = changed.get(path, files[path])
        if not search or search not in text:
            raise EditError(f"the SEARCH text of an edit to {path} is not in the file")
        changed[path] = text.replace(search, replace, 1)
    return changed


def solve(task: SweTask, sandbox: Sandbox, model, limits, on_step: Callable[[Trajectory], None] | None = None
          ) -> Trajectory:
    """One answer from ``model``, its edits applied in ``sandbox``; the trajectory holds one step."""
    files = {path: sandbox.read_file(f"{sandbox.workdir}/{path}") for path in oracle_paths(task)}
    messages = prompt(task, files)
    trajectory = Trajectory(id=f"{task.instance_id}.{model.name}", task=task, steps=[],
                            provenance=Provenance(source_format="srl-swe-oracle-files", teacher=model.name))
    if sum(len(m["content"]) for m in messages) > limits.max_prompt_chars:
        trajectory.outcome = Outcome(exit_status="context_limit")
        return trajectory
    try:
        answer = complete_within(model, messages, time.monotonic() + limits.max_seconds)
    except EpisodeTimeout:
        trajectory.outcome = Outcome(exit_status="time_limit")
        return trajectory
    try:
        for path, text in apply_edits(files, parse_edits(answer)).items():
            sandbox.write_file(f"{sandbox.workdir}/{path}", text)
        observation, status = "edits applied", "submitted"
    except EditError as exc:
        observation, status = f"edits not applied: {exc}", "edit_error"
    thought, _, action = answer.partition("</think>")
    step = Step(thought=thought.replace("<think>", "").strip(), action=Action(text=action.strip() or answer,
                                                                               raw=answer), observation=observation)
    trajectory.steps.append(step)
    trajectory.outcome = final_outcome(sandbox, status)
    if on_step is not None:
        on_step(trajectory)
    return trajectory


class OracleFilesModel:
    """Answers with the gold patch as search/replace edits (one block per hunk)."""

    name = "oracle"

    def __init__(self, task: SweTask):
        self.task = task

    def complete(self, messages: list[dict[str, str]]) -> str:
        blocks = []
        for changed in PatchSet(self.task.patch):
            if changed.is_added_file or changed.is_removed_file:
                continue
            for hunk in changed:
                old, new = hunk_sides(list(hunk))
                blocks.append(f"### {changed.path}\n<<<<<<< SEARCH\n{old}=======\n{new}>>>>>>> REPLACE")
        return "<think>\nApply the fix.\n</think>\n" + "\n\n".join(blocks)
