"""`srl-swe sandbox validate --tasks SOURCE --repeat K`: tasks proven as SWE-bench does, flaky tests found for real."""

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from srl_swe.agent import grade_patch
from srl_swe.cli import app
from srl_swe.rollout import sandbox_factory
from srl_swe.sandbox.local import commit_base
from srl_swe.tasks.rows import TaskRef, load_tasks
from srl_swe.tasks.validate import validate_task

SANDBOXES = Path(__file__).parent.parent / "sandboxes"
WIDE = {"COLUMNS": "200"}
FLAKY_TEST = '''from pathlib import Path

COUNTER = Path({counter!r})


def test_counter():
    """Passes on every run but the second: the count lives outside the sandbox, so it survives between runs."""
    runs = int(COUNTER.read_text()) + 1 if COUNTER.exists() else 1
    COUNTER.write_text(str(runs))
    assert runs != 2, "the second run fails"
'''
NOT_A_FIX = """diff --git a/calc.py b/calc.py
--- a/calc.py
+++ b/calc.py
@@ -1,2 +1,3 @@
+# a comment, not a fix
 def divide(a, b):
     return a / b if b else 0
"""


def sandbox_folder(tmp_path, calc_task, name, extra_files=None, **changes):
    """A sandbox folder ``tmp_path/name`` (repo/ with a base commit, tasks.jsonl with the calc task changed)."""
    pristine, task = calc_task
    folder = tmp_path / name
    shutil.copytree(pristine, folder / "repo")
    for path, text in (extra_files or {}).items():
        (folder / "repo" / path).write_text(text)
    base = commit_base(folder / "repo")
    row = task.model_copy(update={"instance_id": f"acme__{name}-1", "base_commit": base, **changes})
    (folder / "tasks.jsonl").write_text(json.dumps(row.model_dump(by_alias=True)) + "\n")
    return folder


def validate(*args):
    return CliRunner().invoke(app, ["sandbox", "validate", *args], env=WIDE)


@pytest.fixture(scope="module")
def images(docker_client, base_image):
    from srl_swe.sandbox.images import build_images

    return build_images(SANDBOXES, docker_client)


@pytest.mark.docker
def test_the_units_tasks_are_valid_and_steady_in_docker(images):
    result = validate("--tasks", str(SANDBOXES / "units"), "--repeat", "2", "-w", "4")
    assert result.exit_code == 0, result.output
    assert "4/4 tasks valid" in result.output and "flaky" not in result.output.lower()


def test_a_sound_task_is_valid_in_the_local_sandbox(tmp_path, calc_task):
    folder = sandbox_folder(tmp_path, calc_task, "calc")
    result = validate("--tasks", str(folder), "--sandbox", "local", "--repeat", "2")
    assert result.exit_code == 0, result.output
    assert "1/1 tasks valid" in result.output


def test_a_test_that_fails_on_one_run_only_is_reported_flaky(tmp_path, calc_task):
    pristine, task = calc_task
    counter = tmp_path / "runs.txt"
    flaky_file = {"tests/test_flaky.py": FLAKY_TEST.format(counter=str(counter))}
    folder = sandbox_folder(tmp_path, calc_task, "flaky", flaky_file,
                            pass_to_pass=[*task.pass_to_pass, "tests/test_flaky.py::test_counter"])
    result = validate("--tasks", str(folder), "--sandbox", "local", "--repeat", "2")
    assert result.exit_code == 1, result.output
    assert counter.read_text() == "4"  # two repeats, each without the fix and with the gold patch
    assert "0/1 tasks valid, 1 flaky test(s)" in result.output
    # run 2 (the first with the gold patch) failed it; runs 1 and 3 (without the fix) and 4 passed it
    flaky = result.output.split("Flaky tests:")[1]
    assert "acme__flaky-1  tests/test_flaky.py::test_counter: FAILED 1/2, PASSED 1/2 with the gold patch" in flaky
    assert "tests/test_calc.py::test_add" not in flaky
    line = next(line for line in result.output.splitlines() if line.startswith("acme__flaky-1:"))
    assert "flaky test tests/test_flaky.py::test_counter" in line
    assert "the gold patch does not resolve it (in 1/2 runs)" in line


def test_a_gold_patch_that_does_not_fix_the_task_is_reported_with_the_graders_reason(tmp_path, calc_task):
    folder = sandbox_folder(tmp_path, calc_task, "nofix", patch=NOT_A_FIX)
    result = validate("--tasks", str(folder), "--sandbox", "local")
    assert result.exit_code == 1, result.output
    assert "0/1 tasks valid" in result.output and "flaky" not in result.output.lower()
    [ref] = load_tasks(folder)
    grade = grade_patch(ref.task, NOT_A_FIX, lambda: sandbox_factory("local")(ref))
    assert not grade.resolved and grade.reason
    assert f"acme__nofix-1: the gold patch does not resolve it: {grade.reason}" in result.output


def test_an_exception_is_the_problem_of_its_task_only(tmp_path, calc_task):
    folder = sandbox_folder(tmp_path, calc_task, "calc")
    [sound] = load_tasks(folder)
    homeless = TaskRef(sound.task)  # from a rows file: the local sandbox has no repository for it
    open_local = sandbox_factory("local")
    broken = validate_task(homeless, open_local)
    assert not broken.valid and broken.runs == 0 and broken.flaky == []
    assert broken.problems == [f"ValueError: {sound.task.instance_id}: the local sandbox needs a bundled task folder "
                               "(sandboxes/<name>) with the repository; use --sandbox docker"]
    checked = validate_task(sound, open_local)
    assert checked.valid and checked.runs == 2 and checked.problems == [] and checked.flaky == []


def test_a_missing_source_is_a_one_line_usage_error(tmp_path):
    result = validate("--tasks", str(tmp_path / "missing.jsonl"), "--sandbox", "local")
    assert result.exit_code == 2
    message = [line for line in result.output.splitlines() if "missing.jsonl" in line]
    assert len(message) == 1 and "no such file or folder" in message[0]
    assert "Traceback" not in result.output
