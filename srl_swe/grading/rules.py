"""The verdict on a run, from the output of its eval script: a pure function of text (``grade``), the SWE-bench
harness's rules with swebench's own pieces, and what our eval script adds (``srl_swe.grading.script``).

Rules (the harness's, ``swebench.harness.grading``): the test output is read only between the start and end
markers, with the task's own parser (``log_parser``, a name in swebench's ``PARSER_REGISTRY``) and its
``eval_type``. A FAIL_TO_PASS test passes only when its status is PASSED or XFAIL; missing, FAILED, ERROR and
SKIPPED are failures. A PASS_TO_PASS test that is SKIPPED is not a regression (``test_maintained``). A test
command that exited non-zero while its log shows no FAILED or ERROR test describes some other run than the real
one and is refused. On top of the harness: the test patch must have applied, at least one test must have run to
an outcome (PASSED, FAILED or XFAIL), and every marker carries the run's nonce and occurs once.

When the test command is one pytest run (``srl_swe.tasks.testing.EvalPlan.pytest_parts``), the script runs it
through our runner (``srl_swe/grading/plugin.py``), which keeps a second record of every test's outcome; then
every FAIL_TO_PASS and PASS_TO_PASS test counted as passed by the log must have passed in that record too, the
record must end with pytest's return code, and that code must be the process's exit code. Other test runners
(sympy's ``bin/test``, django's ``runtests.py``, tox …) have the harness's defences only.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, Field, ValidationError
from swebench.harness.constants import (
    APPLY_PATCH_FAIL,
    APPLY_PATCH_PASS,
    END_TEST_OUTPUT,
    FAIL_TO_PASS,
    PASS_TO_PASS,
    RESET_FAILED,
    START_TEST_OUTPUT,
    TEST_EXIT_CODE,
    EvalType,
    ResolvedStatus,
    TestStatus,
)
from swebench.harness.grading import SUITE_RAN, get_eval_tests_report, get_resolution_status
from swebench.harness.log_parsers import PARSER_REGISTRY
from swebench.types import TestSpec

from srl_swe.tasks.testing import EvalPlan, plan_of
from srl_swe.trajectory import SweTask, validation_reason

START_OUTCOMES, END_OUTCOMES = ">>>>> Start Test Outcomes", ">>>>> End Test Outcomes"
_RAN = {TestStatus.PASSED.value, TestStatus.FAILED.value, TestStatus.XFAIL.value}
_FAILING = {TestStatus.FAILED.value, TestStatus.ERROR.value}
_WORST = {"PASSED": 0, "XFAIL": 1, "SKIPPED": 2, "FAILED": 3, "ERROR": 4}
"""The runner's statuses, best first (see ``_outcomes``)."""


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
    log_parser: str = ""
    """The parser the test output was read with (the task's)."""
    runner_record: bool = False
    """The test command ran through our pytest runner, whose record had to agree (see the module docstring)."""


def new_nonce() -> str:
    """A fresh random nonce for one run's markers (32 hex digits). Keep it from the sandbox until grading."""
    return secrets.token_hex(16)


def task_test_ids(task: Any) -> tuple[list[str], list[str]]:
    """(FAIL_TO_PASS, PASS_TO_PASS) of a task: a SWE-bench dict (lists or JSON strings) or a ``SweTask``."""
    task = as_task(task)
    return task.fail_to_pass, task.pass_to_pass


def markers(nonce: str) -> dict[str, str]:
    """The marker lines of one run: swebench's marker texts followed by the nonce."""
    return {name: f"{text} {nonce}" for name, text in (
        ("reset_failed", RESET_FAILED), ("apply_failed", APPLY_PATCH_FAIL), ("applied", APPLY_PATCH_PASS),
        ("start", START_TEST_OUTPUT), ("end", END_TEST_OUTPUT), ("exit_code", TEST_EXIT_CODE),
        ("outcomes_start", START_OUTCOMES), ("outcomes_end", END_OUTCOMES))}


def grade(task: Any, log: str, nonce: str) -> Grade:
    """Grade a run from the full output of ``eval_script(task, nonce)`` (see the module docstring for the rules).
    Pure: no I/O, no randomness; only the nonce'd sections are parsed. ``task`` is a ``SweTask`` or a SWE-bench
    dict; its test command and parser are ``srl_swe.tasks.testing.plan_of(task)``'s."""
    task = as_task(task)
    f2p, p2p = task.fail_to_pass, task.pass_to_pass
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
    plan = plan_of(task)
    gold, eval_type = {FAIL_TO_PASS: f2p, PASS_TO_PASS: p2p}, EvalType(plan.eval_type)
    spec = _spec(task, plan)
    statuses = PARSER_REGISTRY[plan.log_parser]("\n".join(section), spec)
    report = get_eval_tests_report(statuses, gold, eval_type=eval_type)
    reason = _verdict(statuses, report, exit_code, eval_type, "\n".join(section))
    outcomes: dict[str, str] = {}
    recorded = report
    runner_record = plan.pytest_parts() is not None
    if runner_record:
        outcomes, pytest_code, missing = _outcomes(lines, mark, nonce,
                                                   lambda text: PARSER_REGISTRY[plan.log_parser](text, spec))
        recorded = get_eval_tests_report(outcomes, gold, eval_type=eval_type)
        reason = (reason or missing or _disagreement(report, recorded, outcomes)
                  or _exit_disagreement(pytest_code, exit_code))
    cases = {kind: _agreed(tests, report[kind], recorded[kind]) for kind, tests in ((FAIL_TO_PASS, f2p),
                                                                                   (PASS_TO_PASS, p2p))}
    return Grade(resolved=not reason, reason=reason, patch_applied=True, exit_code=exit_code, statuses=statuses,
                 outcomes=outcomes, fail_to_pass=cases[FAIL_TO_PASS], pass_to_pass=cases[PASS_TO_PASS],
                 log_parser=plan.log_parser, runner_record=runner_record)


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


def _verdict(statuses: dict[str, str], report: dict, exit_code: int | None, eval_type: EvalType, section: str
             ) -> str:
    """Why the run is not resolved by the harness's rules and ours, or "" when it is. Some test must have run:
    one with an outcome (PASSED, FAILED, XFAIL); under ``fail_only`` (whose parsers record failures only), any
    status or the harness's evidence that the suite ran (``SUITE_RAN``)."""
    ran = (any(status in _RAN for status in statuses.values()) if eval_type == EvalType.PASS_AND_FAIL
           else bool(statuses) or bool(SUITE_RAN.search(section)))
    if not ran:
        return "no tests ran"
    for kind in (FAIL_TO_PASS, PASS_TO_PASS):
        if report[kind]["failure"]:
            return f"{kind} failed: {', '.join(report[kind]['failure'])}"
    if get_resolution_status(report) != ResolvedStatus.FULL.value:
        return "not every test passed"
    if exit_code not in (None, 0) and statuses and not _FAILING & set(statuses.values()):
        return f"test command exited {exit_code} but claimed all passed"
    return ""


def _outcomes(lines: list[str], mark: dict[str, str], nonce: str,
              read: Callable[[str], dict[str, str]]) -> tuple[dict[str, str], int | None, str]:
    """(status per test, pytest's exit code, problem) from the runner's record between the outcome markers.
    A test's last record counts (a rerun plugin records it again); the records are then read as ``-rA`` summary
    lines (``STATUS id``, worst last) by ``read`` — the task's own parser, so tests are named exactly as in the
    report (cut at the first space, matplotlib's and pylint's rewrites …) and where several share a name the worst
    status counts, as in the report, which lists failures last. ``problem`` is empty iff the markers occur once
    each, in order, around exactly one end-of-session record."""
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
    summary = "\n".join(f"{status} {test}" for test, status in sorted(last.items(), key=lambda kv: _WORST[kv[1]]))
    outcomes = (read(summary) or PARSER_REGISTRY["parse_log_pytest"](summary, None)) if last else {}
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


def _spec(task: SweTask, plan: EvalPlan) -> TestSpec:
    """The swebench TestSpec its log parsers take (they read only the parser name and test lists)."""
    return TestSpec(instance_id=task.instance_id, image=task.image, eval_script_list=[], repo=task.repo,
                    version=task.version, FAIL_TO_PASS=task.fail_to_pass, PASS_TO_PASS=task.pass_to_pass,
                    log_parser=plan.log_parser, eval_type=plan.eval_type)


def as_task(task: Any) -> SweTask:
    """A ``SweTask`` from itself or from a SWE-bench dict (other columns are ignored); ValueError naming the first
    unusable field."""
    if isinstance(task, SweTask):
        return task
    known = set(SweTask.model_fields) | {"FAIL_TO_PASS", "PASS_TO_PASS"}
    try:
        return SweTask.model_validate({"problem_statement": "", **{k: v for k, v in task.items() if k in known}})
    except ValidationError as exc:
        raise ValueError(validation_reason(exc)) from None
