"""Grading a SWE task: did a patch resolve it? Three sides, each in one module:

- ``rules`` — the verdict, a pure function of the eval script's output (the harness's rules and ours);
- ``script`` — the sandbox side: the eval script that runs the task's own test command inside our protections
  (``plugin`` is the pytest runner it writes into the sandbox);
- ``harness`` — the official side: swebench's ``run_evaluation`` on a run's predictions.
"""

from srl_swe.grading.rules import CaseResults, Grade, as_task, grade, markers, new_nonce, task_test_ids
from srl_swe.grading.script import eval_script

__all__ = ["CaseResults", "Grade", "as_task", "eval_script", "grade", "markers", "new_nonce", "task_test_ids"]
