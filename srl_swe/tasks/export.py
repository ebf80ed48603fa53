"""Writing tasks in swebench's formats: as SWE-bench 5 dataset rows, and as a swebench *task repo* that
``swebench dataset check`` accepts and ``swebench dataset build`` compiles, so swebench's own harness can grade
them.

A task repo written here (``write_task_repo``) holds ``sweb.yaml`` (one dataset, split ``test``) and per task
``tasks/<id>/``: ``task.yaml``, ``tests.json``, ``problem_statement.md``, ``gold.patch``, ``test.patch``, ``eval.sh``
(the task's eval script, ``srl_swe.tasks.testing``) and a ``Dockerfile`` that builds the task's image from its own
(``FROM <the task's image>``). The harness wants each instance's image under the name it derives from the id
(``swebench/sweb.eval.x86_64.<id, "__" → "_1776_">:latest``); ``tag_images`` gives the local images those names.
"""

from __future__ import annotations

import json
from pathlib import Path

from srl_swe.tasks.testing import with_testing
from srl_swe.trajectory import SweTask, atomic_output

DATASET = "srl-swe/bundled"
"""The dataset name a written task repo publishes (``sweb.yaml``)."""


def swebench_row(task: SweTask) -> dict:
    """``task`` as a SWE-bench 5 dataset row, with the ``image``, ``eval_script``, ``log_parser`` and ``eval_type``
    swebench's harness reads (from ``with_testing``), so the harness can grade it in the task's own image."""
    task = with_testing(task)
    return {"instance_id": task.instance_id, "repo": task.repo, "version": task.version or "0", "image": task.image,
            "base_commit": task.base_commit, "patch": task.patch, "test_patch": task.test_patch,
            "problem_statement": task.problem_statement, "hints_text": "", "FAIL_TO_PASS": task.fail_to_pass,
            "PASS_TO_PASS": task.pass_to_pass, "eval_script": task.eval_script, "log_parser": task.log_parser,
            "eval_type": task.eval_type}


def harness_image(instance_id: str) -> str:
    """The image name swebench's harness derives for an instance (``swebench.task.checks.expected_image``)."""
    from swebench.task.checks import expected_image

    return expected_image(instance_id)


def write_task_repo(tasks: list[SweTask], out: Path) -> list[Path]:
    """Write ``tasks`` as a task repo in ``out`` (created; task folders already there are replaced); returns the
    task folders. Each file is written atomically."""
    from swebench.task.repo import dump_tests, dump_yaml

    out.mkdir(parents=True, exist_ok=True)
    _write(out / "sweb.yaml", dump_yaml({"datasets": [DATASET], "splits": ["test"]}))
    folders = []
    for task in tasks:
        row = swebench_row(task)
        folder = out / "tasks" / task.instance_id
        folder.mkdir(parents=True, exist_ok=True)
        meta = {key: row[key] for key in ("instance_id", "repo", "version", "base_commit", "log_parser", "eval_type")}
        _write(folder / "task.yaml", dump_yaml({**meta, "image": harness_image(task.instance_id), "split": "test",
                                                "datasets": [DATASET]}))
        _write(folder / "tests.json", dump_tests({"FAIL_TO_PASS": row["FAIL_TO_PASS"],
                                                  "PASS_TO_PASS": row["PASS_TO_PASS"]}))
        for name, column in (("problem_statement.md", "problem_statement"), ("gold.patch", "patch"),
                             ("test.patch", "test_patch"), ("eval.sh", "eval_script")):
            _write(folder / name, row[column])
        _write(folder / "Dockerfile", f"# {task.instance_id}: the task's own image, under the name the harness "
                                      f"derives\nFROM {task.image}\n")
        folders.append(folder)
    return folders


def tag_images(tasks: list[SweTask], client=None) -> list[str]:
    """Tag each task's local image with the harness's name for the task; returns the names. SandboxError names
    a task whose image is missing."""
    import docker

    from srl_swe.sandbox.base import SandboxError

    client = client or docker.from_env()
    names = []
    for task in tasks:
        try:
            image = client.images.get(task.image)
        except docker.errors.ImageNotFound:
            raise SandboxError(f"{task.instance_id}: image {task.image} not found; build it first "
                               "(srl-swe sandbox build)") from None
        repository, tag = harness_image(task.instance_id).rsplit(":", 1)
        image.tag(repository, tag)
        names.append(f"{repository}:{tag}")
    return names


def _write(path: Path, text: str) -> None:
    with atomic_output(path) as handle:
        handle.write(text)


def rows_jsonl(tasks: list[SweTask], path: Path) -> Path:
    """``tasks`` as SWE-bench 5 rows in a JSONL file (for ``--benchmark swebench:PATH``); returns ``path``."""
    with atomic_output(path) as handle:
        for task in tasks:
            handle.write(json.dumps(swebench_row(task)) + "\n")
    return path
