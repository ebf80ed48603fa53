"""Reading tasks: dataset rows in SWE-bench's format become :class:`SweTask` objects, each with its image and how
it is tested (``srl_swe.tasks.testing``).

Sources (``load_tasks``): a dataset name of :data:`srl_swe.tasks.names.DATASETS` (from the Hugging Face Hub), a
bundled sandbox folder (``sandboxes/<name>``: its ``tasks.jsonl``, and its ``repo/`` for the local backend), a
swebench task repo folder (``tasks/<id>/task.yaml`` …, read by swebench's own reader), or a JSONL/JSON/Parquet
file of rows. A row that cannot be a task stops the load with the place (``file:line``, ``dataset: row N``)
and the first unusable field.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from srl_swe.tasks.names import DATASETS
from srl_swe.tasks.testing import with_testing
from srl_swe.trajectory import SweTask, validation_reason

IMAGE_RULES = {
    "swe-bench": "swebench/sweb.eval.x86_64.{id__1776_}:latest",
    "swe-gym": "xingyaoww/sweb.eval.x86_64.{id__s_}:latest",
}
"""Image names of datasets whose rows carry none: the instance id with ``__`` replaced, lower-cased."""
HARNESS_COLUMNS = ("instance_id", "repo", "version", "base_commit", "patch", "test_patch", "FAIL_TO_PASS",
                   "PASS_TO_PASS", "image", "eval_script", "log_parser", "eval_type")
"""The columns of a SWE-bench 5 row that swebench's harness (``make_test_spec``) reads."""


@dataclass(frozen=True)
class TaskRef:
    task: SweTask
    repo_dir: Path | None = None
    """The bundled repository folder (for the local backend), when the task comes from ``sandboxes/``."""


def task_from_row(record: dict, image_rule: str = "swe-bench") -> SweTask:
    """A SWE-bench-format row as a task (other columns are dropped), with its testing filled in
    (``with_testing``). The image is the row's ``image`` (SWE-bench 5), else SWE-smith's ``image_name``, else named
    by ``IMAGE_RULES[image_rule]``. ValueError ``field X: reason`` when the row is not a task."""
    known = set(SweTask.model_fields) | {"FAIL_TO_PASS", "PASS_TO_PASS"}
    row = {key: value for key, value in record.items() if key in known and value is not None}
    iid = str(record.get("instance_id", ""))
    by_rule = IMAGE_RULES[image_rule].format(**{"id__1776_": iid.replace("__", "_1776_"),
                                                "id__s_": iid.replace("__", "_s_")}).lower()
    row["image"] = record.get("image") or record.get("image_name") or by_rule
    try:
        return with_testing(SweTask.model_validate(row))
    except ValidationError as exc:
        raise ValueError(validation_reason(exc)) from None


def harness_task(source: str, number: int, row: dict) -> SweTask:
    """Row ``number`` (from 1) of ``source`` as a task, once it has every column in ``HARNESS_COLUMNS``
    (absent, null or, for the text ones, empty counts as missing); else a one-line ValueError naming the
    source, the row and the missing columns, or the row's first unusable field."""
    iid = row.get("instance_id") or "no instance_id"
    missing = [column for column in HARNESS_COLUMNS
               if row.get(column) is None or (column not in ("FAIL_TO_PASS", "PASS_TO_PASS") and row[column] == "")]
    if missing:
        raise ValueError(f"{source}: row {number} ({iid}) lacks {', '.join(missing)}, which swebench's harness "
                         f"needs; write such rows with `srl-swe sandbox export` or srl_swe.tasks.export.swebench_row, "
                         f"or grade them with our grader via --benchmark local:PATH")
    try:
        return task_from_row(row)
    except ValueError as exc:
        raise ValueError(f"{source}: row {number} ({iid}): {exc}") from None


def strip_form(source: str) -> str:
    """A source without its ``swebench:`` or ``local:`` form (they choose the grader in ``eval``; the tasks are the
    same)."""
    for form in ("swebench:", "local:"):
        if source.startswith(form):
            return source[len(form):]
    return source


def is_task_repo(path: Path) -> bool:
    """A swebench task repo: a folder whose ``tasks/`` holds task folders with a ``task.yaml``."""
    return path.is_dir() and any((path / "tasks").glob("*/task.yaml"))


def load_tasks(source: Path, slice_: str | None = None, pattern: str | None = None) -> list[TaskRef]:
    """Tasks from a dataset name, a sandbox folder or a folder of them (``sandboxes/``: every one's tasks), a task
    repo folder, a folder holding ``test.parquet`` (as ``swebench dataset build`` writes) or a SWE-bench-format
    file (see the module docstring; a ``swebench:`` or ``local:`` form is read as the path it names); ``slice_``
    "a:b" and a regex on instance ids select some.
    ValueError naming the place of the first row that is not a task, or the option that is malformed."""
    from srl_swe.formats.sources import read_rows

    source = Path(strip_form(str(source)))
    name = str(source).lower()
    if not source.exists() and name in DATASETS:
        tasks = [TaskRef(task) for task in _numbered(name, _hub_rows(name), DATASETS[name].image_rule)]
    elif is_task_repo(source):
        from swebench.task.repo import load_task_repo

        tasks = [TaskRef(task) for task in _numbered(str(source), load_task_repo(source))]
    elif source.is_dir() and not (source / "tasks.jsonl").exists() and (source / "test.parquet").exists():
        tasks = [TaskRef(task) for task in read_rows(source / "test.parquet", parse=task_from_row)]
    elif source.is_dir() and not (source / "tasks.jsonl").exists() and any(source.glob("*/tasks.jsonl")):
        tasks = bundled_tasks(source)
    elif source.is_dir():
        tasks = [TaskRef(task, source / "repo") for task in read_rows(source / "tasks.jsonl", parse=task_from_row)]
    else:
        tasks = [TaskRef(task) for task in read_rows(source, parse=task_from_row)]
    return select_tasks(tasks, slice_, pattern)


def bundled_tasks(root: Path) -> list[TaskRef]:
    """Every task of every sandbox folder under ``root`` (folders holding a tasks.jsonl)."""
    return [ref for folder in sorted(p.parent for p in root.glob("*/tasks.jsonl")) for ref in load_tasks(folder)]


def select_tasks(tasks: list[TaskRef], slice_: str | None = None, pattern: str | None = None) -> list[TaskRef]:
    """The tasks whose instance id matches the regex ``pattern``, then the slice "a:b" of those.
    ValueError naming ``--filter`` or ``--slice`` when one is malformed."""
    if pattern:
        try:
            regex = re.compile(pattern)
        except re.error as exc:
            raise ValueError(f"--filter {pattern!r}: not a valid regular expression ({exc})") from None
        tasks = [t for t in tasks if regex.search(t.task.instance_id)]
    if slice_:
        start, _, stop = slice_.partition(":")
        try:
            tasks = tasks[int(start) if start.strip() else None : int(stop) if stop.strip() else None]
        except ValueError:
            raise ValueError(f"--slice {slice_!r}: expected START:STOP with whole numbers, e.g. 0:10") from None
    return tasks


def _numbered(source: str, rows: list[dict], image_rule: str = "swe-bench") -> list[SweTask]:
    tasks = []
    for number, row in enumerate(rows, 1):
        try:
            tasks.append(task_from_row(row, image_rule))
        except ValueError as exc:
            raise ValueError(f"{source}: row {number} ({row.get('instance_id') or 'no instance_id'}): {exc}") from None
    return tasks


def _hub_rows(name: str) -> list[dict]:
    import datasets

    dataset = DATASETS[name]
    return [dict(row) for row in datasets.load_dataset(dataset.hub, split=dataset.split)]
