"""Validating tasks as SWE-bench does: each task is graded, in fresh sandboxes, without a patch and with its gold
patch, ``repeat`` times over, and must behave the same way every time.

A sound task: without the fix every FAIL_TO_PASS test fails and every PASS_TO_PASS test passes; with the gold
patch the grader calls it resolved; and no FAIL_TO_PASS or PASS_TO_PASS test changes its status between repeats
under the same patch (a flaky test would make the task's reward noise).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from srl_swe.agent import grade_patch
from srl_swe.grading import Grade
from srl_swe.sandbox.base import Sandbox
from srl_swe.tasks.rows import TaskRef

SandboxFactory = Callable[[TaskRef], Sandbox]
MISSING = "MISSING"
"""The status of a task's test that a run's log does not report (the grader counts it as failed)."""
PATCHES = ("without the fix", "with the gold patch")


@dataclass(frozen=True)
class FlakyTest:
    """A FAIL_TO_PASS or PASS_TO_PASS test whose status varied between repeats under one patch."""

    test: str
    patch: str
    """``without the fix`` or ``with the gold patch``."""
    counts: dict[str, int]
    """How many runs gave each status (``PASSED``, ``FAILED``, …, ``MISSING`` when the log lacks the test)."""

    @property
    def description(self) -> str:
        """E.g. ``PASSED 2/3, FAILED 1/3 with the gold patch``."""
        runs = sum(self.counts.values())
        ranked = sorted(self.counts.items(), key=lambda item: (-item[1], item[0]))
        return ", ".join(f"{status} {n}/{runs}" for status, n in ranked) + f" {self.patch}"


@dataclass
class TaskValidation:
    """The verdict on one task: valid iff ``problems`` is empty (each flaky test is one of them)."""

    instance_id: str
    problems: list[str] = field(default_factory=list)
    flaky: list[FlakyTest] = field(default_factory=list)
    runs: int = 0
    """Gradings made (two per repeat that completed: without a patch and with the gold patch)."""

    @property
    def valid(self) -> bool:
        return not self.problems


def validate_task(ref: TaskRef, open_sandbox: SandboxFactory, repeat: int = 1) -> TaskValidation:
    """Grade ``ref``'s task ``repeat`` times over, each time twice, each in a fresh sandbox from ``open_sandbox``:
    without a patch and with the gold patch. Its problems (none for a sound task): FAIL_TO_PASS tests that pass
    without the fix, PASS_TO_PASS tests that fail without it, the gold patch not resolving it (with the grader's
    reason), and one per flaky test (a FAIL_TO_PASS or PASS_TO_PASS test whose status under one patch was not the
    same in every repeat, also listed in ``flaky``). An exception (a sandbox that cannot start, a broken task)
    becomes the task's problem, so that the other tasks are still checked; only ``repeat`` < 1 raises ValueError."""
    if repeat < 1:
        raise ValueError(f"repeat must be at least 1, not {repeat}")
    result = TaskValidation(ref.task.instance_id)
    try:
        _validate(ref, open_sandbox, repeat, result)
    except Exception as exc:  # noqa: BLE001 - a broken task is reported, the others are still checked
        result.problems.append(f"{type(exc).__name__}: {exc}")
    return result


def _validate(ref: TaskRef, open_sandbox: SandboxFactory, repeat: int, result: TaskValidation) -> None:
    task = ref.task
    before: list[Grade] = []
    after: list[Grade] = []
    for _ in range(repeat):
        before.append(grade_patch(task, "", lambda: open_sandbox(ref)))
        after.append(grade_patch(task, task.patch, lambda: open_sandbox(ref)))
        result.runs += 2
    result.problems.extend(_validation_problems(task, before, after))
    tests = list(dict.fromkeys([*task.fail_to_pass, *task.pass_to_pass]))
    for patch, grades in zip(PATCHES, (before, after), strict=True):
        for test in tests:
            counts = Counter(grade.statuses.get(test, MISSING) for grade in grades)
            if len(counts) > 1:
                result.flaky.append(FlakyTest(test, patch, dict(counts)))
    result.problems.extend(f"flaky test {f.test}: {f.description}" for f in result.flaky)


def _validation_problems(task, before: list[Grade], after: list[Grade]) -> list[str]:
    """The problems of the gradings without the fix (``before``) and with the gold patch (``after``), one grade
    per repeat each; a problem seen in some repeats only says in how many."""
    problems = []
    passing = [t for t in task.fail_to_pass if any(t in g.fail_to_pass.success for g in before)]
    if passing:
        problems.append(f"FAIL_TO_PASS tests pass without the fix: {passing}{_share(before, passing, 'success')}")
    failing = [t for t in task.pass_to_pass if any(t in g.pass_to_pass.failure for g in before)]
    if failing:
        problems.append(f"PASS_TO_PASS tests fail without the fix: {failing}{_share(before, failing, 'failure')}")
    unresolved = [g for g in after if not g.resolved]
    if unresolved:
        share = f" (in {len(unresolved)}/{len(after)} runs)" if len(unresolved) < len(after) else ""
        problems.append(f"the gold patch does not resolve it{share}: {unresolved[0].reason}")
    return problems


def _share(grades: list[Grade], tests: list[str], outcome: str) -> str:
    """`` (in n/K runs)`` when only some of the gradings had any of ``tests`` in that outcome."""
    hit = sum(any(t in getattr(g.fail_to_pass, outcome) + getattr(g.pass_to_pass, outcome) for t in tests)
              for g in grades)
    return f" (in {hit}/{len(grades)} runs)" if hit < len(grades) else ""
