"""How a task is tested: its test command, the parser of that command's output, and its eval script.

Every task ends up with the three SWE-bench 5 columns (``eval_script``, ``log_parser``, ``eval_type``) and a
record of where they came from (``test_source``), chosen by :func:`with_testing` in this order:

1. ``row`` — the dataset row carries them (SWE-bench 5 datasets, task repos, the bundled ``units`` tasks).
2. ``swebench:<repo>`` — swebench knows the repository (``MAP_REPO_TO_PARSER_PY``: django, sympy, astropy …):
   its parser, and that repository's test command from :data:`REPO_COMMANDS` (the harness's commands before
   swebench 5 moved them into the datasets; the default pytest command for the others).
3. ``pytest`` — anything else (SWE-Gym, SWE-smith, the bundled pytest tasks): ``pytest -rA`` and swebench's pytest
   parser.

For 2 and 3 the eval script is generated in the harness's shape (:func:`make_eval_script`): reset the test files
the test patch modifies, apply it, run the command on the test files between the markers, reset again. The test
files are the test patch's files plus the files of FAIL_TO_PASS/PASS_TO_PASS ids that name one (``path::name``),
so a PASS_TO_PASS test in a file the test patch does not touch still runs.

:func:`plan_of` reads an eval script back into a :class:`EvalPlan` (setup lines, the test command, its test
files), which is what our grader (``srl_swe.grading.script``) and the oracle expert run.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from functools import cache
from pathlib import PurePosixPath
from typing import Any

from srl_swe.trajectory import SweTask

START, END = ">>>>> Start Test Output", ">>>>> End Test Output"
PYTEST_COMMAND = "pytest --no-header -rA --tb=no -p no:cacheprovider"
"""The harness's default Python test command (swebench 4's ``TEST_PYTEST``)."""
REPO_COMMANDS = {
    "django/django": "./tests/runtests.py --verbosity 2 --settings=test_sqlite --parallel 1",
    "sympy/sympy": "PYTHONWARNINGS='ignore::UserWarning,ignore::SyntaxWarning' bin/test -C --verbose",
    "astropy/astropy": "pytest -rA -vv -o console_output_style=classic --tb=no",
}
"""Test commands of the repositories swebench knows whose command is not the default :data:`PYTEST_COMMAND`."""
MODULE_DIRECTIVES = {"django/django"}
"""Repositories whose test runner takes dotted module names (``tests/a/test_b.py`` → ``a.test_b``), not paths."""
HEREDOC = re.compile(r"(?<![<\w$])<<-?\s*(['\"]?)([A-Za-z_][\w]*)\1")
_TESTBED = re.compile(r"(?<![\w/.-])/testbed(?![\w.-])")
_WORD = re.compile(r"""(?:[^\s'"]+|'[^']*'|"(?:[^"\\]|\\.)*")+""")
_PYTEST = re.compile(r"^((?:[A-Za-z_]\w*=(?:'[^']*'|\"[^\"]*\"|\S+)\s+)*)"  # VAR=value prefixes
                     r"(?:(python[\w.]*)\s+-m\s+pytest|pytest|py\.test)(?=\s|$)(.*)$")


@dataclass(frozen=True)
class EvalPlan:
    """What running a task's tests takes, read from its eval script."""

    setup: tuple[str, ...]
    """Bash lines to run first (activating an environment, reinstalling): the script's lines before the test
    output, less its own git commands (resets, the test patch, status and diff)."""
    command: str
    """The test command, run from the repository root between the markers (several lines: the last one's exit
    status counts)."""
    test_files: tuple[str, ...]
    """The words of the command's last line naming test files (or, for module runners, module names), as written
    (quoted where the command quotes them: see :func:`unquoted`)."""
    log_parser: str
    eval_type: str

    @property
    def head(self) -> str:
        """The command without its test files, run it with other files to test those (earlier lines of a
        several-line command joined with ``&&``)."""
        *earlier, last = self.command.splitlines()
        words = shell_words(last)
        while words and words[-1] in self.test_files:
            words.pop()
        return " && ".join([*earlier, " ".join(words)])

    def pytest_parts(self) -> tuple[str, str, str] | None:
        """(environment assignments, interpreter or "", pytest's arguments) when the command is one pytest run
        (``pytest ARGS``, ``python -m pytest ARGS``, with ``VAR=value`` prefixes), else None."""
        if "\n" in self.command.strip():
            return None
        match = _PYTEST.match(self.command.strip())
        return (match.group(1), match.group(2) or "", match.group(3).strip()) if match else None


def with_testing(task: SweTask) -> SweTask:
    """``task`` with ``eval_script``, ``log_parser``, ``eval_type`` and ``test_source`` filled in (see the module
    docstring); a task that has them is returned as it is. A row with its own ``eval_script`` but no
    ``log_parser`` keeps its script (``test_source`` ``row``) and gets the parser chosen for its repository.
    ValueError naming the task when its ``log_parser`` is not one of swebench's, its ``eval_type`` is not one of
    swebench's ``EvalType`` values, or its ``test_patch`` is not a diff."""
    from swebench.harness.constants import EvalType

    if task.eval_type and task.eval_type not in {kind.value for kind in EvalType}:
        raise ValueError(f"{task.instance_id}: eval_type {task.eval_type!r} is not one of "
                         f"{', '.join(kind.value for kind in EvalType)}")
    if task.log_parser:
        _check_parser(task.log_parser, task.instance_id)
    if task.eval_script and task.log_parser and task.test_source:
        return task
    parser, source = _known_parser(task.repo)
    fields = {"log_parser": task.log_parser or parser, "eval_type": task.eval_type or "pass_and_fail"}
    if task.eval_script:
        return task.model_copy(update={**fields, "test_source": task.test_source or "row"})
    command = REPO_COMMANDS.get(task.repo, PYTEST_COMMAND)
    script = make_eval_script(task, command, _directives(task))
    return task.model_copy(update={**fields, "eval_script": script, "test_source": source})


def make_eval_script(task: SweTask, command: str, test_files: list[str], workdir: str = "/testbed") -> str:
    """An eval script in the SWE-bench harness's shape running ``command`` on ``test_files``."""
    modified = " ".join(shlex.quote(path) for path in _modified_test_files(task))
    reset = [f"git checkout {shlex.quote(task.base_commit)} -- {modified}"] if modified else []
    apply = []
    if task.test_patch.strip():
        delimiter = "EOF_SRL_SWE_TEST_PATCH"
        apply = [f"git apply -v - <<'{delimiter}'", task.test_patch.rstrip("\n"), delimiter]
    return "\n".join(["#!/bin/bash", "set -uxo pipefail", f"cd {shlex.quote(workdir)}",
                      f"git config --global --add safe.directory {shlex.quote(workdir)}", *reset, *apply,
                      f": '{START}'", " ".join([command, *map(shlex.quote, test_files)]), f": '{END}'", *reset, ""])


def plan_of(task: SweTask, workdir: str = "/testbed") -> EvalPlan:
    """The plan of ``with_testing(task)``'s eval script, with its ``/testbed`` paths moved to ``workdir``.
    ValueError naming the task when the script has no test command between the markers."""
    task = with_testing(task)
    before, command, _ = _split(task.eval_script)
    if not command.strip():
        raise ValueError(f"{task.instance_id}: eval_script runs no command between '{START}' and '{END}'")
    def moved(text: str) -> str:  # the repository's path, not e.g. a conda env named testbed
        return _TESTBED.sub(lambda _: workdir, text) if workdir != "/testbed" else text

    files = _command_files(command.splitlines()[-1], task)
    return EvalPlan(setup=tuple(moved(line) for line in _setup_lines(before)), command=moved(command),
                    test_files=tuple(files), log_parser=task.log_parser, eval_type=task.eval_type or "pass_and_fail")


def _split(script: str) -> tuple[list[str], str, list[str]]:
    """(lines before the start marker, the command lines between the markers, lines after the end marker)."""
    lines = script.splitlines()
    starts = [i for i, line in enumerate(lines) if START in line]
    ends = [i for i, line in enumerate(lines) if END in line]
    if not starts or not ends or ends[-1] < starts[0]:
        return lines, "", []
    body = "\n".join(line for line in lines[starts[0] + 1:ends[-1]] if line.strip())
    return lines[:starts[0]], re.sub(r"\\\n\s*", " ", body), lines[ends[-1] + 1:]  # continued lines joined


def _setup_lines(lines: list[str]) -> list[str]:
    """The lines to keep from before the test output: not the shebang or ``set`` options, not git commands (with
    the here-documents they read); other here-documents are kept whole."""
    kept, i = [], 0
    while i < len(lines):
        heredoc = HEREDOC.search(lines[i])
        end = i + 1
        if heredoc:
            while end < len(lines) and lines[end].strip() != heredoc.group(2):
                end += 1
            end += 1
        if lines[i].strip() and not lines[i].strip().startswith(("git ", "#!", "set ")):
            kept.extend(lines[i:end])  # a here-document's body whole, blank lines included
        i = end
    return kept


def _directives(task: SweTask) -> list[str]:
    """The test files to run: the test patch's ``.py`` files, then those of ``path::name`` ids, each once (as
    dotted module names for :data:`MODULE_DIRECTIVES`)."""
    files = _test_files(task)
    if task.repo in MODULE_DIRECTIVES:
        return list(dict.fromkeys(module_name(path) for path in files))
    return files


def _test_files(task: SweTask) -> list[str]:
    """The task's test files, each once: the test patch's ``.py`` files, then those of ``path::name`` ids."""
    files = [path for path in _patch_files(task.test_patch) if path.endswith(".py")]
    files += [test.split("::")[0] for test in task.fail_to_pass + task.pass_to_pass if ".py::" in test]
    return list(dict.fromkeys(files))


def module_name(path: str) -> str:
    parts = PurePosixPath(path).with_suffix("").parts
    return ".".join(parts[1:] if parts and parts[0] == "tests" else parts)


def _command_files(line: str, task: SweTask) -> list[str]:
    """The words of a test command line (as written) that name test files: ``.py`` paths, or the module names of
    the task's test files."""
    files = _test_files(task)
    known = set(files) | {module_name(path) for path in files}
    return [word for word in shell_words(line)[1:] if unquoted(word) in known or unquoted(word).endswith(".py")]


def shell_words(line: str) -> list[str]:
    """The words of one shell command line as written, quotes kept (``a 'b c'`` → ``["a", "'b c'"]``)."""
    return _WORD.findall(line)


def unquoted(word: str) -> str:
    """A shell word as the command receives it (quotes removed); the word itself when it cannot be parsed."""
    try:
        parts = shlex.split(word)
    except ValueError:
        return word
    return parts[0] if len(parts) == 1 else word


def _patch_files(patch: str) -> list[str]:
    """The files a patch's diffs touch (their new paths; deleted files by their old one)."""
    return [changed.path for changed in _parsed(patch)]


def _modified_test_files(task: SweTask) -> list[str]:
    return [changed.path for changed in _parsed(task.test_patch) if not changed.is_added_file]


def _parsed(patch: str) -> list:
    """The file diffs of ``patch`` ([] when empty); ValueError ``field test_patch: …`` when it is not a diff."""
    from unidiff import PatchSet
    from unidiff.errors import UnidiffParseError

    if not patch.strip():
        return []
    try:
        return list(PatchSet(patch))
    except UnidiffParseError as exc:
        raise ValueError(f"field test_patch: not a diff ({exc})") from None


@cache
def _parser_names() -> dict[Any, str]:
    """Each of swebench's parser functions → its first name in ``PARSER_REGISTRY``."""
    from swebench.harness.log_parsers import PARSER_REGISTRY

    names: dict[Any, str] = {}
    for name, function in PARSER_REGISTRY.items():
        names.setdefault(function, name)
    return names


def _known_parser(repo: str) -> tuple[str, str]:
    """(parser name, test_source) for a repository: swebench's when it knows it, else pytest's."""
    from swebench.harness.log_parsers.python import MAP_REPO_TO_PARSER_PY

    if repo in MAP_REPO_TO_PARSER_PY:
        return _parser_names()[MAP_REPO_TO_PARSER_PY[repo]], f"swebench:{repo}"
    return "parse_log_pytest", "pytest"


def _check_parser(name: str, instance_id: str) -> None:
    from swebench.harness.log_parsers import PARSER_REGISTRY

    if name not in PARSER_REGISTRY:
        raise ValueError(f"{instance_id}: log_parser {name!r} is not one of swebench's parsers "
                         f"(swebench.harness.log_parsers.PARSER_REGISTRY)")
