"""The task sources ``srl-swe collect --tasks`` and ``srl-swe eval --benchmark`` accept, in a module light enough
for every ``--help`` (loading swebench or datasets takes seconds)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Dataset:
    """A task dataset on the Hugging Face Hub."""

    hub: str
    split: str
    image_rule: str
    """How its rows' images are named when a row carries none (``srl_swe.tasks.rows.IMAGE_RULES``)."""
    harness: bool
    """Its rows carry SWE-bench 5's ``image``, ``eval_script``, ``log_parser`` and ``eval_type``, so ``eval``
    grades it with swebench's official harness; else with our grader (``srl_swe.grading``)."""


DATASETS = {
    "swe-bench-verified": Dataset("SWE-bench/SWE-bench_Verified", "test", "swe-bench", True),
    "swe-bench-lite": Dataset("SWE-bench/SWE-bench_Lite", "test", "swe-bench", True),
    "swe-bench": Dataset("SWE-bench/SWE-bench", "test", "swe-bench", True),
    "swe-gym": Dataset("SWE-Gym/SWE-Gym", "train", "swe-gym", False),
    "swe-smith": Dataset("SWE-bench/SWE-smith", "train", "swe-bench", False),
}
PATH_FORMS = {
    "swebench:PATH": ("a SWE-bench 5 dataset file or folder (.jsonl/.json/.parquet, a folder with test.parquet)",
                      "swebench's harness"),
    "local:PATH": ("a bundled sandbox folder (sandboxes/NAME) or a SWE-bench-format file", "our grader"),
    "TASK_REPO": ("a swebench task repo folder (tasks/<id>/task.yaml …, e.g. written by `srl-swe sandbox export`)",
                  "swebench's harness"),
}
"""Sources given by path: (what it is, what grades it in ``eval``; ``collect`` always grades with ours)."""
SOURCE_FORMS = (*DATASETS, *PATH_FORMS)
"""Every task source, for help texts."""


def sources_help(graders: bool = True) -> str:
    """One line naming every accepted source, for ``--help``; with ``graders``, what grades each in ``eval``."""
    forms = "; ".join(f"{form}: {what}" + (f", graded by {grader}" if graders else "")
                      for form, (what, grader) in PATH_FORMS.items())
    return f"{', '.join(DATASETS)} (Hugging Face datasets); {forms}"
