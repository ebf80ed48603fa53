"""s1K-1.1 rows (``simplescaling/s1K-1.1``) for the math track.

The steps are the numbered steps of ``deepseek_attempt`` — lines beginning ``N. **Title**`` — numbered
1, 2, 3 … in order; the text before step 1 is the preamble, and the closing text after the last step
(usually the boxed answer) stays with the last step. As in the paper, a row that does not follow this
format (fewer than two numbered steps, or numbering that skips) is skipped and counted.
``resolved`` is ``deepseek_grade == "Yes"`` (R1's attempt was graded correct), so the default
resolved-only import keeps the verified solutions. The reference answer is the last ``\\boxed{}`` of
``solution``, or ``solution`` itself when it is a short bare answer.
"""

from __future__ import annotations

import re
from typing import Any

from srl_swe.formats.common import BadRecord, as_resolved, content_id, math_trajectory, require
from srl_swe.math_check import last_boxed
from srl_swe.trajectory import Action, MathTask, Step

NAME = "s1k"
_STEP_START = re.compile(r"^(\d+)\.[ \t]+\*\*", re.M)  # at column 0: indented lists are sub-items
_SHORT_ANSWER = 80


def detect(record: dict[str, Any]) -> bool:
    return "deepseek_attempt" in record and "question" in record


def convert(record: dict[str, Any], source: str) -> Any:
    question, attempt = require(record, "question", "deepseek_attempt")
    attempt = "\n".join(attempt) if isinstance(attempt, list) else str(attempt)
    preamble, texts = numbered_steps(attempt)
    task = MathTask(
        instance_id=content_id("s1k", question),
        question=question,
        answer=reference_answer(record.get("solution")),
    )
    steps = [Step(action=Action(text=text, raw=text)) for text in texts]
    resolved = as_resolved(record.get("deepseek_grade"), "deepseek_grade")
    return math_trajectory(NAME, source, task, preamble, steps, resolved, teacher="deepseek-r1")


def numbered_steps(solution: str) -> tuple[str, list[str]]:
    """Split a solution into (preamble, [step texts]); BadRecord unless it has steps 1, 2, … N ≥ 2."""
    starts = list(_STEP_START.finditer(solution))
    numbers = [int(match.group(1)) for match in starts]
    if len(starts) < 2 or numbers != list(range(1, len(starts) + 1)):
        found = ", ".join(map(str, numbers[:6])) or "none"
        raise BadRecord("not numbered steps", f"deepseek_attempt needs steps '1. **Title**', '2. …' (found {found})")
    bounds = [match.start() for match in starts] + [len(solution)]
    texts = [solution[a:b].strip() for a, b in zip(bounds, bounds[1:], strict=False)]
    return solution[: bounds[0]].strip(), texts


def reference_answer(solution: Any) -> str:
    text = "" if solution is None else str(solution).strip()
    boxed = last_boxed(text)
    if boxed is not None:
        return boxed.strip()
    return text if len(text) <= _SHORT_ANSWER and "\n" not in text else ""
