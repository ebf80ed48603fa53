"""Grading a SWE task: did the agent's changes resolve it? SWE-bench harness rules, pieces reused from swebench.

Two halves, so the sandbox does the I/O and the verdict is a pure function of text:

- ``eval_script(task, nonce)`` is a bash script to run in the sandbox after the agent finished (``cd`` to
  the repository, revert what the agent may not change, apply the task's test patch, run the FAIL_TO_PASS
  and PASS_TO_PASS tests with ``pytest -rA``, record the test command's exit code).
- ``grade(task, log, nonce)`` reads the script's output (stdout and stderr together) and returns a
  :class:`Grade`. It does no I/O and depends on nothing but its arguments.

Rules (the SWE-bench harness's, ``swebench.harness.grading``): a FAIL_TO_PASS test passes only when the
log says PASSED or XFAIL; missing, FAILED, ERROR and SKIPPED are failures. A PASS_TO_PASS test that is
SKIPPED is not a regression (``test_maintained``). On top, resolved requires that the test patch applied,
that at least one test ran to an outcome (PASSED, FAILED or XFAIL), and that the test command exited 0:
a log claiming every test passed while pytest exited non-zero describes some other run than the real one.

What the script defends against, and how:

- **Forged report lines.** Only the text between two marker lines counts, and every marker carries a
  per-run random nonce (``new_nonce()``) that exists nowhere before the script is written, so nothing the
  agent prepared can print a section boundary; a log with a nonce'd marker twice is refused. Inside the
  section, output of the code under test is captured by pytest and shown before the short test summary
  (``-rA``), whose real line for each test comes later and wins in swebench's parser; output after the
  summary (an ``atexit`` hook) can override a status, but then the exit code of the failing run refuses it.
- **Edited tests.** Every file the test patch touches is put back to its content at ``base_commit`` (files
  the patch creates are deleted) before the patch is applied, so the agent's edits to them are gone.
- **Test configuration.** ``conftest.py``, ``pytest.ini``, ``.pytest.ini``, ``tox.ini``, ``setup.cfg`` and
  ``pyproject.toml`` in every directory on the way from the repository root to a test file are put back to
  base (or deleted when base has none): a conftest hook or an ``addopts`` line could rewrite every outcome.
  Choice: all six names, since pytest reads its options from any of them. Cost: a fix that must change
  one of these files (rare in SWE-bench) grades as not resolved; pass ``protected=`` to narrow the list.
  ``PYTEST_ADDOPTS`` and ``PYTEST_PLUGINS`` are unset, and ``__pycache__`` folders are removed so no
  bytecode compiled from an edited test can stand in for the reverted source.
- **Git tricks.** Files are restored with ``git cat-file`` (no hooks, no smudge filters), git runs with
  ``core.hooksPath=/dev/null`` and ``--no-replace-objects``.

Not defended (the sandbox is the agent's): code under test runs inside the pytest process and can tamper
with it (monkeypatch its reporting, ``os._exit(0)`` at exit, read the script to learn the nonce); an agent
can also replace ``git``, ``python`` or objects in ``.git``. Where that matters, run the script in a fresh
container from the task image with only the agent's diff applied, as the SWE-bench harness does.
"""

from __future__ import annotations

import json
import re
import secrets
import shlex
from collections.abc import Iterable, Mapping
from pathlib import PurePosixPath
from typing import Any

from pydantic import BaseModel, Field
from swebench.harness.constants import (
    APPLY_PATCH_FAIL,
    APPLY_PATCH_PASS,
    END_TEST_OUTPUT,
    FAIL_TO_PASS,
    PASS_TO_PASS,
    RESET_FAILED,
    START_TEST_OUTPUT,
    TEST_EXIT_CODE,
    TEST_EXIT_CODE_VAR,
    EvalType,
    ResolvedStatus,
    TestStatus,
)
from swebench.harness.grading import get_eval_tests_report, get_resolution_status
from swebench.harness.log_parsers import PARSER_REGISTRY
from swebench.types import TestSpec
from swebench.utils import generate_heredoc_delimiter
from unidiff import PatchSet  # swebench's own patch parser (a dependency of swebench)

PROTECTED_NAMES = ("conftest.py", "pytest.ini", ".pytest.ini", "tox.ini", "setup.cfg", "pyproject.toml")
"""Files that configure pytest; reverted to base in every directory from the root to each test file."""

LOG_PARSER = "parse_log_pytest"
_NONCE = re.compile(r"[A-Za-z0-9_-]{8,64}")
_RAN = {TestStatus.PASSED.value, TestStatus.FAILED.value, TestStatus.XFAIL.value}


class CaseResults(BaseModel):
    """Tests of one kind (FAIL_TO_PASS or PASS_TO_PASS) split by outcome, in the task's order."""

    success: list[str] = Field(default_factory=list)
    failure: list[str] = Field(default_factory=list)


class Grade(BaseModel):
    """The verdict on one run. ``reason`` is empty iff ``resolved``; otherwise it says why not."""

    resolved: bool
    reason: str = ""
    patch_applied: bool = False
    exit_code: int | None = None
    statuses: dict[str, str] = Field(default_factory=dict)
    """Status per test id, parsed from the nonce'd test output section only."""
    fail_to_pass: CaseResults = Field(default_factory=CaseResults)
    pass_to_pass: CaseResults = Field(default_factory=CaseResults)


def new_nonce() -> str:
    """A fresh random nonce for one run's markers (32 hex digits). Keep it from the sandbox until grading."""
    return secrets.token_hex(16)


def task_test_ids(task: Any) -> tuple[list[str], list[str]]:
    """(FAIL_TO_PASS, PASS_TO_PASS) of a task: a SWE-bench dict (lists or JSON strings) or a ``SweTask``."""
    fields = _task_dict(task)
    return _id_list(fields.get(FAIL_TO_PASS)), _id_list(fields.get(PASS_TO_PASS))


def markers(nonce: str) -> dict[str, str]:
    """The marker lines of one run: swebench's marker texts followed by the nonce."""
    return {name: f"{text} {nonce}" for name, text in (
        ("reset_failed", RESET_FAILED), ("apply_failed", APPLY_PATCH_FAIL), ("applied", APPLY_PATCH_PASS),
        ("start", START_TEST_OUTPUT), ("end", END_TEST_OUTPUT), ("exit_code", TEST_EXIT_CODE))}


def eval_script(task: Any, nonce: str, workdir: str = "/testbed", python: str = "python3",
                protected: Iterable[str] = PROTECTED_NAMES) -> str:
    """The bash script that grades the sandbox's current state of ``workdir`` (the root of a git checkout of
    the task's repository holding ``base_commit``). Run it with bash after the agent finished and pass its whole
    output to :func:`grade` with the same ``nonce``. It exits 1 when the reset or the test patch fails,
    else 0; the tests' exit code is in the output. Raises ValueError for a bad nonce, a task without
    ``base_commit``, or a ``test_patch`` that holds no file diff.
    """
    if not _NONCE.fullmatch(nonce):
        raise ValueError("nonce must be 8-64 characters of [A-Za-z0-9_-]")
    fields = _task_dict(task)
    base, test_patch = str(fields.get("base_commit") or ""), str(fields.get("test_patch") or "")
    if not base:
        raise ValueError("task has no base_commit")
    f2p, p2p = task_test_ids(fields)
    patch_paths = _patch_paths(test_patch)
    mark = {name: shlex.quote(text) for name, text in markers(nonce).items()}
    ids = " ".join(shlex.quote(test_id) for test_id in dict.fromkeys(f2p + p2p))
    return "\n".join([
        "#!/bin/bash",
        f"# srl_swe.grading: evaluation of {_comment(fields.get('instance_id'))}",
        "set -uo pipefail",
        "unset PYTEST_ADDOPTS PYTEST_PLUGINS",
        f"fail_reset() {{ echo {mark['reset_failed']}; exit 1; }}",
        f"cd -- {shlex.quote(workdir)} || fail_reset",
        _RESTORE.replace("@BASE@", shlex.quote(base)),
        'g cat-file -e "$base^{commit}" || fail_reset',
        *_restore_lines(patch_paths + _config_paths(patch_paths + _id_files(f2p + p2p), tuple(protected))),
        "find . -name .git -prune -o -name __pycache__ -type d -prune -exec rm -rf -- {} + || fail_reset",
        *_apply_lines(test_patch, mark),
        f"echo {mark['start']}",
        f"{shlex.quote(python)} -m pytest -rA -p no:cacheprovider {ids}",
        f"{TEST_EXIT_CODE_VAR}=$?",
        f"echo; echo {mark['end']}",  # on a line of its own even after output without a final newline
        f'echo {shlex.quote(markers(nonce)["exit_code"] + ": ")}"${TEST_EXIT_CODE_VAR}"',
        "exit 0",
        "",
    ])


def grade(task: Any, log: str, nonce: str) -> Grade:
    """Grade a run from the full output of ``eval_script(task, nonce)``. Pure: no I/O, no randomness.

    Resolved iff the test patch applied, the nonce'd test section is present exactly once with one exit
    code after it, at least one test ran, every FAIL_TO_PASS and PASS_TO_PASS test passed by swebench's
    rules, and the test command exited 0. Only the section between the nonce'd markers is parsed.
    """
    f2p, p2p = task_test_ids(task)
    lines = [line.rstrip("\r") for line in log.split("\n")]
    mark = markers(nonce)
    if not f2p and not p2p:
        return Grade(resolved=False, reason="task lists no FAIL_TO_PASS or PASS_TO_PASS tests")
    if mark["reset_failed"] in lines:
        return Grade(resolved=False, reason="test files could not be reset to the base commit")
    if mark["apply_failed"] in lines or mark["applied"] not in lines:
        return Grade(resolved=False, reason="test patch did not apply")
    section, exit_code, problem = _section(lines, mark)
    if problem:
        return Grade(resolved=False, reason=problem, patch_applied=True, exit_code=exit_code)
    statuses = PARSER_REGISTRY[LOG_PARSER]("\n".join(section), _spec(task, f2p, p2p))
    report = get_eval_tests_report(statuses, {FAIL_TO_PASS: f2p, PASS_TO_PASS: p2p})
    reason = _verdict(statuses, report, exit_code)
    return Grade(resolved=not reason, reason=reason, patch_applied=True, exit_code=exit_code, statuses=statuses,
                 fail_to_pass=CaseResults(**report[FAIL_TO_PASS]), pass_to_pass=CaseResults(**report[PASS_TO_PASS]))


# --- script pieces ---------------------------------------------------------------------------------

_RESTORE = r"""base=@BASE@
g() { git -c core.hooksPath=/dev/null --no-replace-objects "$@"; }
restore() {  # $1 ends as it is at $base (file, executable or symlink), or absent when $base lacks it
  local mode
  mode=$(g ls-tree -z "$base" -- "$1" | cut -d' ' -f1) || return 1
  rm -rf -- "$1" || return 1
  [ -z "$mode" ] && return 0
  mkdir -p -- "$(dirname -- "$1")" || return 1
  case "$mode" in
    120000) ln -s -- "$(g cat-file blob "$base:$1")" "$1" ;;
    100644) g cat-file blob "$base:$1" > "$1" ;;
    100755) g cat-file blob "$base:$1" > "$1" && chmod +x -- "$1" ;;
    *) return 1 ;;
  esac
}"""


def _restore_lines(paths: list[str]) -> list[str]:
    """One ``restore`` call per path (each path once, in order)."""
    return [f"restore {shlex.quote(path)} || fail_reset" for path in dict.fromkeys(paths)]


def _apply_lines(test_patch: str, mark: dict[str, str]) -> list[str]:
    """Apply the test patch from a quoted here-document; an empty test patch applies trivially."""
    if not test_patch.strip():
        return [f"echo {mark['applied']}"]
    body = test_patch if test_patch.endswith("\n") else test_patch + "\n"
    delimiter = generate_heredoc_delimiter(body)
    return [f"if ! g apply -v - <<'{delimiter}'", body + delimiter, f"then echo {mark['apply_failed']}; exit 1; fi",
            f"echo {mark['applied']}"]


def _patch_paths(test_patch: str) -> list[str]:
    """Every path the patch reads or writes (both sides of renames), without the a/ b/ prefixes."""
    if not test_patch.strip():
        return []
    files = PatchSet(test_patch)
    if not files:
        raise ValueError("test_patch holds no file diff")
    sides = (side for file in files for side in (file.source_file, file.target_file))
    return [_safe(side[2:]) for side in sides if side.startswith(("a/", "b/"))]


def _id_files(test_ids: list[str]) -> list[str]:
    """The test files named by pytest node ids (``path.py::name``); other ids name none."""
    files = (test_id.split("::")[0] for test_id in test_ids)
    return [_safe(file) for file in files if file.endswith(".py")]


def _config_paths(files: list[str], names: Iterable[str]) -> list[str]:
    """``names`` in every directory from the root down to each of ``files``' directories."""
    folders = dict.fromkeys(str(folder) for file in files for folder in reversed(PurePosixPath(file).parents))
    folders.setdefault(".")
    return [name if folder == "." else f"{folder}/{name}" for folder in folders for name in names]


def _safe(path: str) -> str:
    """A repository-relative path, or ValueError for one that escapes the repository."""
    if not path or path.startswith("/") or ".." in PurePosixPath(path).parts:
        raise ValueError(f"path outside the repository: {path!r}")
    return path


# --- grading pieces --------------------------------------------------------------------------------

def _section(lines: list[str], mark: dict[str, str]) -> tuple[list[str], int | None, str]:
    """(lines between the markers, recorded exit code, problem). ``problem`` is empty when the start and
    end markers occur exactly once, in order, followed by exactly one exit-code line."""
    starts = [i for i, line in enumerate(lines) if line == mark["start"]]
    ends = [i for i, line in enumerate(lines) if line == mark["end"]]
    prefix = mark["exit_code"] + ": "
    codes = [(i, line[len(prefix):]) for i, line in enumerate(lines) if line.startswith(prefix)]
    if not starts:
        return [], None, "tests did not run"
    if len(starts) > 1 or len(ends) > 1 or len(codes) > 1:
        return [], None, "test output markers repeated: the log is forged"
    if not ends or ends[0] < starts[0]:
        return [], None, "test output incomplete: no end marker"
    if not codes or codes[0][0] < ends[0] or not re.fullmatch(r"-?\d+", codes[0][1].strip()):
        return [], None, "no test exit code recorded"
    return lines[starts[0] + 1:ends[0]], int(codes[0][1]), ""


def _verdict(statuses: dict[str, str], report: dict, exit_code: int | None) -> str:
    """Why the run is not resolved, or "" when it is."""
    if not any(status in _RAN for status in statuses.values()):
        return "no tests ran"
    for kind in (FAIL_TO_PASS, PASS_TO_PASS):
        if report[kind]["failure"]:
            return f"{kind} failed: {', '.join(report[kind]['failure'])}"
    if get_resolution_status(report) != ResolvedStatus.FULL.value:
        return "not every test passed"
    if exit_code != 0:
        return f"test command exited {exit_code} but claimed all passed"
    return ""


def _spec(task: Any, f2p: list[str], p2p: list[str]) -> TestSpec:
    """The swebench TestSpec its log parsers take (they read only the parser name and test lists)."""
    fields = _task_dict(task)
    return TestSpec(instance_id=str(fields.get("instance_id", "")), image="", eval_script_list=[],
                    repo=str(fields.get("repo", "")), version=str(fields.get("version", "")),
                    FAIL_TO_PASS=f2p, PASS_TO_PASS=p2p, log_parser=LOG_PARSER, eval_type=EvalType.PASS_AND_FAIL.value)


def _task_dict(task: Any) -> Mapping[str, Any]:
    """A task's fields under SWE-bench's names, from a dict or a pydantic model such as ``SweTask``."""
    return task.model_dump(by_alias=True) if hasattr(task, "model_dump") else task


def _id_list(value: Any) -> list[str]:
    """A list of test ids from a list or its JSON text; None and "" give []."""
    if value in (None, ""):
        return []
    items = json.loads(value) if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
        raise ValueError("FAIL_TO_PASS / PASS_TO_PASS must be a list of strings or its JSON text")
    return list(items)


def _comment(value: Any) -> str:
    """Text safe on one comment line."""
    return re.sub(r"[^\w.\-/]", "_", str(value or "task"))
