"""Grading a SWE task: did the agent's changes resolve it? SWE-bench harness rules, pieces reused from swebench.

Two halves, so the sandbox does the I/O and the verdict is a pure function of text:

- ``eval_script(task, nonce)`` is a bash script to run in the sandbox after the agent finished (``cd`` to
  the repository, revert what the agent may not change, apply the task's test patch, run the FAIL_TO_PASS
  and PASS_TO_PASS tests with ``pytest -rA`` through the grading runner (``srl_swe/grading_plugin.py``),
  record the test command's exit code, then print the runner's own record of each test's outcome).
- ``grade(task, log, nonce)`` reads the script's output (stdout and stderr together) and returns a
  :class:`Grade`. It does no I/O and depends on nothing but its arguments.

Rules (the SWE-bench harness's, ``swebench.harness.grading``): a FAIL_TO_PASS test passes only when the
log says PASSED or XFAIL; missing, FAILED, ERROR and SKIPPED are failures. A PASS_TO_PASS test that is
SKIPPED is not a regression (``test_maintained``). On top, resolved requires that the test patch applied,
that at least one test ran to an outcome (PASSED, FAILED or XFAIL), and that the test command exited 0:
a log claiming every test passed while pytest exited non-zero describes some other run than the real one.
Beyond the SWE-bench harness, the runner's record must agree: a test the ``-rA`` report counts as passed
must have passed there too, and pytest must have returned the code the process exited with.

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
- **Git tricks.** Files are restored with ``git cat-file`` (no hooks, no smudge filters), git runs as
  ``srl_swe.sandbox.base.SAFE_GIT_FUNCTION`` (no hooks, fsmonitor, attribute file or replace refs; the
  root's own .git and work tree; each command killed after 300 s).
- **A shadowed test runner.** pytest does not run as ``python -m pytest`` from the root (which makes a
  ``pytest.py`` of the patch the test runner) but through a runner script the eval script writes to a
  folder of its own outside the repository: it imports pytest, pluggy and what they import while nothing of
  the repository is on ``sys.path``, then puts the root at the front as ``-m`` does. And before the test
  patch is applied, every file or package the patch added (absent at ``base_commit``) that would shadow a
  module of :data:`SHADOWED_MODULES` — the standard library, the test runner and pytest's dependencies — is
  deleted, with a note in the log: ``NAME.py``/``.pyc``/``.pyd``/``.so``/``.pth`` (and ``NAME.*.so``), or a
  folder ``NAME`` holding an ``__init__``, in the root and in each folder on the way to a test file that is
  no package (pytest puts such a folder on ``sys.path``; it never puts a package folder there, so a fix
  adding ``pkg/sub/types.py`` keeps it). A folder without ``__init__`` is a namespace package, which never
  wins over a module of the same name. Cost: a fix that adds such a top-level module is not graded with it.
- **Rewritten reports.** Code under test that rewrites pytest's ``TestReport`` objects or terminal output
  (patching ``_pytest.reports``, registering a hook when imported, printing ``PASSED`` lines and
  ``os._exit(0)`` at exit) changes the ``-rA`` report only. The runner's plugin is registered before
  collection, so before any code under test is imported; it records each test's outcome from the
  ``CallInfo`` of its setup, call and teardown (was an exception raised, and was it a skip or an xfail) to
  a file outside the repository, which the script prints between its own nonce'd markers after pytest
  exited; every line carries the nonce too. :func:`grade` then requires both channels to agree on every
  FAIL_TO_PASS and PASS_TO_PASS test counted as passed (one with no record fails), requires the record's
  end-of-session line (its absence means pytest died or never ran), and requires pytest's return code to
  be the process's exit code.

Not defended (the sandbox is the agent's): code under test still runs inside the pytest process and can
aim at the defence itself: patch the runner's plugin object or pytest's runner (``CallInfo``, the
``pytest_runtest_makereport`` call), register a hook wrapper that clears ``call.excinfo``, or write records
to the outcome file after reading the nonce from the script, its command line or ``/proc``; os-level
tricks (``dup2`` over the record's descriptor, ``ptrace``, background processes that print after pytest
exits) are open too. (A root module named like an installed pytest plugin, which pytest imports after the
root is back on ``sys.path``, is removed like the shadows above: the plugins' modules are read from the
``pytest11`` entry points of the sandbox's Python; a ``sitecustomize`` the patch adds anywhere is removed.)
An agent can
also replace ``git``, ``python`` or objects in ``.git``. Where that matters, run the script in a fresh
container from the task image with only the agent's diff applied, as :func:`srl_swe.agent.grade_patch`
and the SWE-bench harness do.
"""

from __future__ import annotations

import json
import re
import secrets
import shlex
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path, PurePosixPath
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

from srl_swe.sandbox.base import SAFE_GIT_FUNCTION

PROTECTED_NAMES = ("conftest.py", "pytest.ini", ".pytest.ini", "tox.ini", "setup.cfg", "pyproject.toml")
"""Files that configure pytest; reverted to base in every directory from the root to each test file."""

RUNNER_MODULES = ("pytest", "_pytest", "pluggy", "py", "iniconfig", "unittest", "nose", "sitecustomize",
                  "usercustomize", "attr", "attrs", "packaging", "tomli", "exceptiongroup", "pygments",
                  "importlib_metadata", "zipp", "more_itertools", "six", "atomicwrites", "colorama", "wcwidth")
"""The test runner, the packages pytest 3-9 import, and the modules ``site`` imports at start-up."""
REMOVED_STDLIB = ("_dummy_thread", "aifc", "asynchat", "asyncore", "audioop", "binhex", "cgi", "cgitb", "chunk",
                  "crypt", "distutils", "dummy_threading", "formatter", "imghdr", "imp", "lib2to3", "macpath",
                  "mailcap", "msilib", "nis", "nntplib", "ossaudiodev", "parser", "pipes", "smtpd", "sndhdr", "spwd",
                  "sunau", "symbol", "telnetlib", "uu", "xdrlib")
"""Standard modules that Python 3.8-3.13 removed but the older Pythons of SWE-bench images still have."""
SHADOWED_MODULES = tuple(sorted({*sys.stdlib_module_names, *REMOVED_STDLIB, *RUNNER_MODULES}))
"""Names no patch may add where they would shadow a module (see the module docstring). The standard library's
names are the host Python's (``sys.stdlib_module_names``, taken when the script is generated) plus
:data:`REMOVED_STDLIB`: a name the sandbox's older Python lacks costs nothing, one it has is covered."""
DEFAULT_SCRATCH = "/tmp/.srl-swe"
"""Where the script writes its runner and outcome record by default (the Docker sandbox's state folder)."""
START_OUTCOMES, END_OUTCOMES = ">>>>> Start Test Outcomes", ">>>>> End Test Outcomes"

LOG_PARSER = "parse_log_pytest"
_NONCE = re.compile(r"[A-Za-z0-9_-]{8,64}")
_RAN = {TestStatus.PASSED.value, TestStatus.FAILED.value, TestStatus.XFAIL.value}
_WORST = {"PASSED": 0, "XFAIL": 1, "SKIPPED": 2, "FAILED": 3, "ERROR": 4}
"""The runner's statuses, best first (see ``_outcomes``)."""
_RUNNER = Path(__file__).with_name("grading_plugin.py")


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
    outcomes: dict[str, str] = Field(default_factory=dict)
    """Status per test id as the runner's plugin recorded it (the second channel), keyed like ``statuses``."""
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
        ("start", START_TEST_OUTPUT), ("end", END_TEST_OUTPUT), ("exit_code", TEST_EXIT_CODE),
        ("outcomes_start", START_OUTCOMES), ("outcomes_end", END_OUTCOMES))}


def eval_script(task: Any, nonce: str, workdir: str = "/testbed", python: str = "python3",
                protected: Iterable[str] = PROTECTED_NAMES, scratch: str = DEFAULT_SCRATCH) -> str:
    """The bash script that grades the sandbox's current state of ``workdir`` (the root of a git checkout of
    the task's repository holding ``base_commit``). Run it with bash after the agent finished and pass its whole
    output to :func:`grade` with the same ``nonce``. It exits 1 when the reset or the test patch fails,
    else 0; the tests' exit code is in the output. It writes its runner and outcome record to a folder of its
    own under ``scratch`` (an absolute path outside ``workdir``, created if missing) and removes that folder at
    the end. Raises ValueError for a bad nonce, a task without ``base_commit``, a ``test_patch`` that holds no
    file diff, or a ``scratch`` that is relative or inside ``workdir``.
    """
    if not _NONCE.fullmatch(nonce):
        raise ValueError("nonce must be 8-64 characters of [A-Za-z0-9_-]")
    _check_scratch(scratch, workdir)
    fields = _task_dict(task)
    base, test_patch = str(fields.get("base_commit") or ""), str(fields.get("test_patch") or "")
    if not base:
        raise ValueError("task has no base_commit")
    f2p, p2p = task_test_ids(fields)
    patch_paths = _patch_paths(test_patch)
    test_folders = _folders(patch_paths + _id_files(f2p + p2p))
    mark = {name: shlex.quote(text) for name, text in markers(nonce).items()}
    ids = " ".join(shlex.quote(test_id) for test_id in dict.fromkeys(f2p + p2p))
    run = f"{scratch.rstrip('/')}/grading-{nonce}"
    return "\n".join([
        "#!/bin/bash",
        f"# srl_swe.grading: evaluation of {_comment(fields.get('instance_id'))}",
        "set -uo pipefail",
        "unset PYTEST_ADDOPTS PYTEST_PLUGINS",
        f"fail_reset() {{ echo {mark['reset_failed']}; exit 1; }}",
        f"cd -- {shlex.quote(workdir)} || fail_reset",
        _RESTORE.replace("@BASE@", shlex.quote(base)).replace("@GIT@", SAFE_GIT_FUNCTION),
        'g cat-file -e "$base^{commit}" || fail_reset',
        *_restore_lines(patch_paths + _config_paths(test_folders, tuple(protected))),
        "find . -name .git -prune -o -name __pycache__ -type d -prune -exec rm -rf -- {} + || fail_reset",
        _UNSHADOW.replace("@NAMES@", " ".join(SHADOWED_MODULES)),
        f'shadowed="$shadowed $(cd / && {shlex.quote(python)} -I -c {shlex.quote(_PLUGIN_MODULES)} 2>/dev/null) "',
        " ".join(["unshadow", *map(shlex.quote, test_folders), "|| fail_reset"]),
        _UNCUSTOMIZE,
        *_runner_lines(run),
        *_apply_lines(test_patch, mark),
        f"echo {mark['start']}",
        f'{shlex.quote(python)} "$run/runner.py" "$run/outcomes" {nonce} -rA -p no:cacheprovider {ids}',
        f"{TEST_EXIT_CODE_VAR}=$?",
        f"echo; echo {mark['end']}",  # on a line of its own even after output without a final newline
        f'echo {shlex.quote(markers(nonce)["exit_code"] + ": ")}"${TEST_EXIT_CODE_VAR}"',
        f"echo {mark['outcomes_start']}",
        'cat -- "$run/outcomes" 2>/dev/null',
        f"echo; echo {mark['outcomes_end']}",
        'rm -rf -- "$run"',
        "exit 0",
        "",
    ])


def grade(task: Any, log: str, nonce: str) -> Grade:
    """Grade a run from the full output of ``eval_script(task, nonce)``. Pure: no I/O, no randomness.

    Resolved iff the test patch applied, the nonce'd test section is present exactly once with one exit
    code after it, at least one test ran, every FAIL_TO_PASS and PASS_TO_PASS test passed by swebench's
    rules, and the test command exited 0; and the runner's own record (the nonce'd outcome section, once,
    with one end-of-session line) agrees: every test counted as passed by the ``-rA`` report passed there too,
    and pytest returned the exit code the process exited with. Only the nonce'd sections are parsed.
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
    outcomes, pytest_code, missing = _outcomes(lines, mark, nonce)
    recorded = get_eval_tests_report(outcomes, {FAIL_TO_PASS: f2p, PASS_TO_PASS: p2p})
    reason = (_verdict(statuses, report, exit_code) or missing or _disagreement(report, recorded, outcomes)
              or _exit_disagreement(pytest_code, exit_code))
    cases = {kind: _agreed(tests, report[kind], recorded[kind]) for kind, tests in ((FAIL_TO_PASS, f2p),
                                                                                   (PASS_TO_PASS, p2p))}
    return Grade(resolved=not reason, reason=reason, patch_applied=True, exit_code=exit_code, statuses=statuses,
                 outcomes=outcomes, fail_to_pass=cases[FAIL_TO_PASS], pass_to_pass=cases[PASS_TO_PASS])


# --- script pieces ---------------------------------------------------------------------------------

_RESTORE = r"""base=@BASE@
@GIT@
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


_UNSHADOW = r"""shadowed=" @NAMES@ "
unshadow() {  # remove what the patch added that would shadow a module in $shadowed, in the folders given
  local dir path name
  for dir in "$@"; do
    [ "$dir" = . ] || [ ! -e "$dir/__init__.py" ] || continue  # pytest never puts a package folder on sys.path
    for path in "$dir"/*; do
      name=${path##*/}
      case "$name" in
        *.py|*.pyc|*.pyd|*.pyw|*.so|*.pth) name=${name%%.*} ;;
        *) { [ -d "$path" ] && compgen -G "$path/__init__.*" >/dev/null; } || continue ;;
      esac
      case "$shadowed" in *" $name "*) ;; *) continue ;; esac
      path=${path#./}
      g cat-file -e "$base:$path" 2>/dev/null && continue
      rm -rf -- "$path" || return 1
      echo "srl-swe grading: removed $path (absent at the base commit, it would shadow the module $name)"
    done
  done
}"""


_PLUGIN_MODULES = (
    "try:\n"
    "    from importlib.metadata import entry_points\n"
    "    found = entry_points()\n"
    "    found = found.select(group='pytest11') if hasattr(found, 'select') else found.get('pytest11', [])\n"
    "    values = [point.value for point in found]\n"
    "except Exception:\n"
    "    import pkg_resources\n"
    "    values = [point.module_name for point in pkg_resources.iter_entry_points('pytest11')]\n"
    "print(' '.join(sorted(set(value.split(':')[0].split('.')[0].strip() for value in values))))\n"
)
"""Python 3.6+ that prints the top-level modules of the installed pytest plugins (``pytest11`` entry points):
pytest imports them after the root is back on ``sys.path``, so a root module of that name would be loaded in
their place. Run from ``/`` in isolated mode, so nothing of the repository is on the path."""
_UNCUSTOMIZE = r"""g ls-files -z --others -- '*sitecustomize.py' '*usercustomize.py' | while IFS= read -r -d '' path; do
  rm -f -- "$path" && echo "srl-swe grading: removed $path (absent at the base commit; Python runs it at start-up)"
done"""
"""Remove a ``sitecustomize``/``usercustomize`` module the patch added anywhere: an editable install's ``src/``
is on ``sys.path`` when Python starts, before the runner can keep the repository out of pytest's import."""


def _runner_lines(run: str) -> list[str]:
    """Set ``$run`` and write the runner (``srl_swe/grading_plugin.py``) there, with no outcome record yet."""
    source = _RUNNER.read_text()
    delimiter = generate_heredoc_delimiter(source)
    return [f"run={shlex.quote(run)}", 'mkdir -p -- "$run" && rm -f -- "$run/outcomes" || fail_reset',
            f"""cat > "$run/runner.py" <<'{delimiter}' || fail_reset""", source + delimiter]


def _check_scratch(scratch: str, workdir: str) -> None:
    """ValueError unless ``scratch`` is absolute and outside ``workdir``."""
    folder, repository = PurePosixPath(scratch), PurePosixPath(workdir)
    if not folder.is_absolute() or folder == repository or repository in folder.parents:
        raise ValueError(f"scratch must be an absolute folder outside the repository: {scratch!r}")


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


def _folders(files: list[str]) -> list[str]:
    """Every folder from the root (``.``, always first) down to each of ``files``' folders, each once."""
    folders = dict.fromkeys(["."] + [str(folder) for file in files for folder in reversed(PurePosixPath(file).parents)])
    return list(folders)


def _config_paths(folders: list[str], names: Iterable[str]) -> list[str]:
    """``names`` in each of ``folders``."""
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


def _outcomes(lines: list[str], mark: dict[str, str], nonce: str) -> tuple[dict[str, str], int | None, str]:
    """(status per test id, pytest's exit code, problem) from the runner's record between the outcome markers.
    A test's last record counts (a rerun plugin records it again); then ids are keyed like swebench's pytest
    parser, up to the first whitespace, and where several ids share a key the worst status counts (as the
    ``-rA`` summary, which lists failures last). ``problem`` is empty iff the markers occur once each, in
    order, around exactly one end-of-session record."""
    starts = [i for i, line in enumerate(lines) if line == mark["outcomes_start"]]
    ends = [i for i, line in enumerate(lines) if line == mark["outcomes_end"]]
    if len(starts) > 1 or len(ends) > 1:
        return {}, None, "test outcome markers repeated: the log is forged"
    if not starts or not ends or ends[0] < starts[0]:
        return {}, None, "no record of test outcomes from the grading runner"
    last: dict[str, str] = {}
    codes: list[str] = []
    for words in (line.split(" ", 2) for line in lines[starts[0] + 1:ends[0]]):
        if len(words) < 3 or words[0] != nonce:
            continue
        if words[1] == "END":
            codes.append(words[2])
        elif words[1] in _WORST and words[2].split():
            last[words[2]] = words[1]
    outcomes: dict[str, str] = {}
    for test_id, status in last.items():
        key = test_id.split()[0]
        outcomes[key] = max(status, outcomes.get(key, status), key=_WORST.__getitem__)
    if len(codes) != 1 or not re.fullmatch(r"-?\d+", codes[0]):
        return outcomes, None, ("the grading runner recorded no end of the test session: pytest died or was "
                                "stopped before it finished" if not codes else "the grading runner's record is forged")
    return outcomes, int(codes[0]), ""


def _disagreement(report: dict, recorded: dict, outcomes: dict[str, str]) -> str:
    """Why the ``-rA`` report and the runner's record disagree on a test counted as passed, or ""."""
    for kind in (FAIL_TO_PASS, PASS_TO_PASS):
        rewritten = [test for test in report[kind]["success"] if test not in recorded[kind]["success"]]
        if rewritten and not outcomes:
            return ("the grading runner recorded no test (did they run in other processes, e.g. pytest-xdist's -n?) "
                    f"but the pytest report passed {kind}: {', '.join(rewritten)}")
        if rewritten:
            seen = ", ".join(f"{test} ({outcomes.get(test, 'no record')})" for test in rewritten)
            return (f"{kind} passed by the pytest report but not by the grading runner's record: {seen}; "
                    "the report was rewritten or disagrees")
    return ""


def _exit_disagreement(pytest_code: int | None, exit_code: int | None) -> str:
    if pytest_code is None or pytest_code == exit_code:
        return ""
    return f"pytest returned {pytest_code} but the test process exited {exit_code}: the exit code was rewritten"


def _agreed(tests: list[str], report: dict[str, list[str]], recorded: dict[str, list[str]]) -> CaseResults:
    """Of ``tests``, those both channels count as passed, and as failures the others swebench's report has."""
    success = [test for test in report["success"] if test in recorded["success"]]
    failure = [test for test in tests if test in report["failure"] or test in report["success"] and test not in success]
    return CaseResults(success=success, failure=failure)


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
