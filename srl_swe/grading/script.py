"""The sandbox side of grading: the bash script that tests a sandbox's state after the agent finished.

``eval_script(task, nonce)`` runs the task's setup lines (activating its environment), ``cd``s to the
repository, reverts what the agent may not change, applies the task's test patch and runs the task's own test
command (``srl_swe.tasks.testing.plan_of``: the row's ``eval_script``, swebench's for a repository it knows, else
``pytest -rA``) between nonce'd markers, then records the command's exit code; a pytest command runs through our
runner (``srl_swe/grading/plugin.py``), whose own record of each test's outcome is printed after it.
``srl_swe.grading.rules.grade`` reads the output. Run the script in a fresh sandbox with only the agent's diff
applied (``srl_swe.agent.grade_patch``), as the SWE-bench harness does.

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
The task's setup lines run first, as in the harness: a reinstall there (``pip install -e .``) runs the agent's
``setup.py`` with the agent's packaging files, before they are reverted, and can place a ``.pth`` file or a
``pytest11`` entry point in site-packages, out of reach of the removals above. Lines a row puts between its test
patch and its test output run before our reset and patch, not after.
An agent can
also replace ``git``, ``python`` or objects in ``.git``. Where that matters, run the script in a fresh
container from the task image with only the agent's diff applied, as :func:`srl_swe.agent.grade_patch`
and the SWE-bench harness do.
"""

from __future__ import annotations

import re
import shlex
import sys
from collections.abc import Iterable
from pathlib import Path, PurePosixPath
from typing import Any

from swebench.harness.constants import TEST_EXIT_CODE_VAR
from swebench.utils import generate_heredoc_delimiter
from unidiff import PatchSet  # swebench's own patch parser (a dependency of swebench)

from srl_swe.grading.rules import as_task, markers
from srl_swe.sandbox.base import SAFE_GIT_FUNCTION
from srl_swe.tasks.testing import EvalPlan, plan_of

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
_NONCE = re.compile(r"[A-Za-z0-9_-]{8,64}")
_RUNNER = Path(__file__).with_name("plugin.py")


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
    task = as_task(task)
    if not task.base_commit:
        raise ValueError("task has no base_commit")
    plan = plan_of(task, workdir)
    patch_paths = _patch_paths(task.test_patch)
    test_folders = _folders(patch_paths + _id_files(task.fail_to_pass + task.pass_to_pass + list(plan.test_files)))
    mark = {name: shlex.quote(text) for name, text in markers(nonce).items()}
    run = f"{scratch.rstrip('/')}/grading-{nonce}"
    return "\n".join([
        "#!/bin/bash",
        f"# srl_swe.grading: evaluation of {_comment(task.instance_id)}",
        f"cd -- {shlex.quote(workdir)} || exit 1",
        *plan.setup,
        "testdir=$PWD",  # where the task's setup left us: its test command runs from there, as in the harness
        "set +xv; set -uo pipefail",
        "unset PYTEST_ADDOPTS PYTEST_PLUGINS",
        f"fail_reset() {{ echo {mark['reset_failed']}; exit 1; }}",
        f"cd -- {shlex.quote(workdir)} || fail_reset",
        _RESTORE.replace("@BASE@", shlex.quote(task.base_commit)).replace("@GIT@", SAFE_GIT_FUNCTION),
        'g cat-file -e "$base^{commit}" || fail_reset',
        *_restore_lines(patch_paths + _config_paths(test_folders, tuple(protected))),
        "find . -name .git -prune -o -name __pycache__ -type d -prune -exec rm -rf -- {} + || fail_reset",
        _UNSHADOW.replace("@NAMES@", " ".join(SHADOWED_MODULES)),
        f'shadowed="$shadowed $(cd / && {shlex.quote(python)} -I -c {shlex.quote(_PLUGIN_MODULES)} 2>/dev/null) "',
        " ".join(["unshadow", *map(shlex.quote, test_folders), "|| fail_reset"]),
        _UNCUSTOMIZE,
        *_runner_lines(run),
        *_apply_lines(task.test_patch, mark),
        'cd -- "$testdir" || fail_reset',
        f"echo {mark['start']}",
        _test_command(plan, python, nonce),
        f"{TEST_EXIT_CODE_VAR}=$?",
        f"echo; echo {mark['end']}",  # on a line of its own even after output without a final newline
        f'echo {shlex.quote(markers(nonce)["exit_code"] + ": ")}"${TEST_EXIT_CODE_VAR}"',
        *([f"echo {mark['outcomes_start']}", 'cat -- "$run/outcomes" 2>/dev/null',
           f"echo; echo {mark['outcomes_end']}"] if plan.pytest_parts() else []),
        'rm -rf -- "$run"',
        "exit 0",
        "",
    ])


def _test_command(plan: EvalPlan, python: str, nonce: str) -> str:
    """The task's test command; a pytest run goes through the runner (its interpreter: the command's ``python -m``,
    else ``python``), keeping the command's environment assignments and arguments."""
    parts = plan.pytest_parts()
    if parts is None:
        return plan.command
    env, interpreter, args = parts
    return f'{env}{interpreter or shlex.quote(python)} "$run/runner.py" "$run/outcomes" {nonce} {args}'.rstrip()


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
    """Set ``$run`` and write the runner (``srl_swe/grading/plugin.py``) there, with no outcome record yet."""
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


def _comment(value: Any) -> str:
    """Text safe on one comment line."""
    return re.sub(r"[^\w.\-/]", "_", str(value or "task"))
