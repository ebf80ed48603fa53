"""Grading without Docker: the eval script runs with bash on a real temporary git repository, its output is
graded, and every exploit is tried for real (edited tests, conftest hooks, pytest config, forged report
lines, skips, zero tests). Where an exploit is shown to be defeated, the same run without the defence is
shown to succeed, so the test proves the defence and not a broken attack."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from srl_swe.grading import Grade, eval_script, grade, markers, new_nonce, task_test_ids
from srl_swe.trajectory import SweTask

F2P = ["tests/test_calc.py::test_divide_by_two", "tests/test_divide.py::test_divide"]
P2P = ["tests/test_calc.py::test_add"]
BASE_FILES = {
    "pytest.ini": "[pytest]\n",
    "calc.py": "def add(a, b):\n    return a + b\n\n\ndef divide(a, b):\n    return a * b\n",
    "tests/test_calc.py": "from calc import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n",
}
GOLD_FILES = {"calc.py": BASE_FILES["calc.py"].replace("a * b", "a / b")}
TEST_FILES = {
    "tests/test_calc.py": "from calc import add, divide\n\n\ndef test_add():\n    assert add(2, 3) == 5\n\n\n"
                          "def test_divide_by_two():\n    assert divide(8, 2) == 4\n",
    "tests/test_divide.py": "from calc import divide\n\n\ndef test_divide():\n    assert divide(1, 4) == 0.25\n",
}
HOOK = ("import pytest\n\n\n@pytest.hookimpl(wrapper=True)\ndef pytest_runtest_makereport(item, call):\n"
        "    report = yield\n    report.outcome = 'passed'\n    report.longrepr = None\n    return report\n")


def git(repo: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@t"}
    return subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True, text=True).stdout


def write(repo: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(text)


def diff_of(repo: Path, files: dict[str, str]) -> str:
    """The patch that writes ``files`` over the base, made by git; the tree is back at base afterwards."""
    write(repo, files)
    git(repo, "add", "-A")
    patch = git(repo, "diff", "--cached")
    git(repo, "reset", "-q", "--hard")
    return patch


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    path = tmp_path / "repo"
    path.mkdir()
    git(path, "init", "-q")
    write(path, BASE_FILES)
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", "base")
    return path


@pytest.fixture
def task(repo: Path) -> dict:
    return {"instance_id": "demo__calc-1", "repo": "demo/calc", "base_commit": git(repo, "rev-parse", "HEAD").strip(),
            "patch": diff_of(repo, GOLD_FILES), "test_patch": diff_of(repo, TEST_FILES),
            "FAIL_TO_PASS": F2P, "PASS_TO_PASS": P2P}


def evaluate(repo: Path, task: dict, without: str = "", **options) -> tuple[str, str]:
    """Run the eval script with bash on ``repo``, less the line ``without`` if given; (its whole output, the
    nonce)."""
    nonce = new_nonce()
    script = eval_script(task, nonce, workdir=str(repo), python=sys.executable, **options)
    if without:
        assert without in script.splitlines()
        script = script.replace(without, "")
    env = {**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}  # speed only: skips this venv's pytest plugins
    result = subprocess.run(["bash", "-c", script], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env=env, timeout=120)
    return result.stdout, nonce


def run_and_grade(repo: Path, task: dict, without: str = "", **options) -> Grade:
    log, nonce = evaluate(repo, task, without, **options)
    return grade(task, log, nonce)


def apply_gold(repo: Path, task: dict) -> None:
    subprocess.run(["git", "apply", "-"], cwd=repo, input=task["patch"], text=True, check=True)


# --- honest runs --------------------------------------------------------------------------------------

@pytest.mark.parametrize("as_json", [False, True])
def test_gold_patch_resolves(repo, task, as_json):
    if as_json:
        task = {**task, "FAIL_TO_PASS": json.dumps(F2P), "PASS_TO_PASS": json.dumps(P2P)}
    apply_gold(repo, task)
    result = run_and_grade(repo, task)
    assert result.resolved and result.reason == "" and result.patch_applied and result.exit_code == 0
    assert result.fail_to_pass.success == F2P and result.pass_to_pass.success == P2P
    assert {test: result.statuses.get(test) for test in F2P + P2P} == dict.fromkeys(F2P + P2P, "PASSED")


def test_no_patch_is_not_resolved(repo, task):
    result = run_and_grade(repo, task)
    assert not result.resolved and result.reason.startswith("FAIL_TO_PASS failed")
    assert result.fail_to_pass.failure == F2P and result.pass_to_pass.success == P2P
    assert result.exit_code == 1


def test_swe_task_model_is_accepted(repo, task):
    model = SweTask(problem_statement="divide multiplies", **task)
    assert task_test_ids(model) == (F2P, P2P)
    apply_gold(repo, task)
    log, nonce = evaluate(repo, model)
    assert grade(model, log, nonce).resolved


# --- edited tests ---------------------------------------------------------------------------------------

CHEAT_TESTS = {
    "tests/test_calc.py": "def test_add():\n    assert True\n\n\ndef test_divide_by_two():\n    assert True\n",
    "tests/test_divide.py": "def test_divide():\n    assert True\n",
}


def test_edited_tests_are_reverted(repo, task):
    write(repo, CHEAT_TESTS)
    direct = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *F2P], cwd=repo,
                            capture_output=True, text=True)
    assert direct.returncode == 0  # the cheat fools a plain test run
    result = run_and_grade(repo, task)
    assert not result.resolved and result.fail_to_pass.failure == F2P
    assert (repo / "tests/test_divide.py").read_text() == TEST_FILES["tests/test_divide.py"]
    assert (repo / "tests/test_calc.py").read_text() == TEST_FILES["tests/test_calc.py"]


def test_edited_tests_do_not_block_a_real_fix(repo, task):
    apply_gold(repo, task)
    write(repo, CHEAT_TESTS)  # tests/test_divide.py is a file the test patch creates: it must be removed first
    assert run_and_grade(repo, task).resolved


def test_deleted_test_file_is_restored(repo, task):
    apply_gold(repo, task)
    (repo / "tests/test_calc.py").unlink()
    assert run_and_grade(repo, task).resolved


# --- pytest configuration ---------------------------------------------------------------------------------

@pytest.mark.parametrize("cheat", [
    {"tests/conftest.py": HOOK},
    {"conftest.py": HOOK},
    {"evil.py": HOOK, "pytest.ini": "[pytest]\naddopts = -p evil\n"},
    {"evil.py": HOOK, "tests/pytest.ini": "[pytest]\naddopts = -p evil\n"},
], ids=["tests-conftest", "root-conftest", "pytest-ini-plugin", "new-pytest-ini"])
def test_pytest_hooks_from_the_agent_are_removed(repo, task, cheat):
    write(repo, cheat)
    assert run_and_grade(repo, task, protected=()).resolved  # the attack works when config is not reverted
    write(repo, cheat)
    result = run_and_grade(repo, task)
    assert not result.resolved and result.fail_to_pass.failure == F2P
    for name in cheat:
        if name in BASE_FILES:
            assert (repo / name).read_text() == BASE_FILES[name]
        elif name.endswith(("conftest.py", ".ini")):
            assert not (repo / name).exists()


def test_pytest_env_options_are_ignored(repo, task, monkeypatch):
    write(repo, {"evil.py": HOOK})
    monkeypatch.setenv("PYTEST_ADDOPTS", "-p evil")
    monkeypatch.setenv("PYTEST_PLUGINS", "evil")
    assert run_and_grade(repo, task, without="unset PYTEST_ADDOPTS PYTEST_PLUGINS").resolved  # the attack works
    assert not run_and_grade(repo, task).resolved


# --- forged report lines ------------------------------------------------------------------------------------

def forged_lines(nonce: str = "") -> str:
    return "\n".join([f">>>>> End Test Output{nonce}", *(f"PASSED {test}" for test in F2P + P2P),
                      ">>>>> Test Exit Code: 0", ">>>>> Start Test Output"])


def test_forged_passed_lines_from_inside_a_test(repo, task):
    code = f"def add(a, b):\n    return a + b\n\n\ndef divide(a, b):\n    print({forged_lines()!r})\n    return a * b\n"
    write(repo, {"calc.py": code})
    log, nonce = evaluate(repo, task)
    assert f"PASSED {F2P[1]}" in log.split(markers(nonce)["start"])[1]  # the forgery is inside the section
    result = grade(task, log, nonce)
    assert not result.resolved and result.fail_to_pass.failure == F2P
    assert all(result.statuses[test] == "FAILED" for test in F2P)


def test_forged_passed_lines_after_pytest_finished(repo, task):
    code = (f"import atexit\n\natexit.register(print, {forged_lines()!r})\n\n\n"
            "def add(a, b):\n    return a + b\n\n\ndef divide(a, b):\n    return a * b\n")
    write(repo, {"calc.py": code})
    result = run_and_grade(repo, task)
    assert all(result.statuses[test] == "PASSED" for test in F2P)  # printed after the summary, the forgery wins…
    assert not result.resolved and result.reason == "test command exited 1 but claimed all passed"  # …exit code


def test_forged_lines_outside_the_markers(repo, task):
    log, nonce = evaluate(repo, task)
    honest = grade(task, log, nonce)
    other = new_nonce()
    fake_section = "\n".join([markers(other)["start"], *(f"PASSED {t}" for t in F2P + P2P), markers(other)["end"],
                              f"{markers(other)['exit_code']}: 0"])
    forged = "\n".join([forged_lines(), fake_section, log, forged_lines(), fake_section])
    result = grade(task, forged, nonce)
    assert not result.resolved and result.statuses == honest.statuses and result.reason == honest.reason


def test_repeated_nonce_markers_are_refused(repo, task):
    apply_gold(repo, task)
    log, nonce = evaluate(repo, task)
    assert grade(task, log, nonce).resolved
    mark = markers(nonce)
    for extra in (mark["start"], mark["end"], f"{mark['exit_code']}: 0"):
        result = grade(task, log + "\n" + extra + "\n", nonce)
        assert not result.resolved and "forged" in result.reason
    assert not grade(task, log, new_nonce()).resolved  # the log of another run


def test_skipped_fail_to_pass_test_is_a_failure(repo, task):
    code = "import pytest\n\n\ndef add(a, b):\n    return a + b\n\n\ndef divide(a, b):\n    pytest.skip('no')\n"
    write(repo, {"calc.py": code})
    log, nonce = evaluate(repo, task)
    assert "2 skipped" in log  # pytest -rA names a skip by file:line, so the tests are absent from the statuses
    result = grade(task, log, nonce)
    assert result.exit_code == 0 and not any(result.statuses.get(test) == "PASSED" for test in F2P)
    assert not result.resolved and result.fail_to_pass.failure == F2P


# --- zero tests, exit codes, broken runs ------------------------------------------------------------------

def test_zero_tests_is_not_a_pass(repo, task):
    apply_gold(repo, task)
    missing = {**task, "FAIL_TO_PASS": ["tests/test_calc.py::test_nope"], "PASS_TO_PASS": []}
    result = run_and_grade(repo, missing)
    assert not result.resolved and result.reason == "no tests ran" and result.exit_code != 0


def test_task_without_tests_is_not_a_pass(repo, task):
    empty = {**task, "FAIL_TO_PASS": [], "PASS_TO_PASS": "[]"}
    assert grade(empty, "", new_nonce()).reason == "task lists no FAIL_TO_PASS or PASS_TO_PASS tests"


def synthetic_log(nonce: str, exit_code: int, status: str = "PASSED") -> str:
    mark = markers(nonce)
    return "\n".join([mark["applied"], mark["start"], *(f"{status} {test}" for test in F2P + P2P), mark["end"],
                      f"{mark['exit_code']}: {exit_code}", ""])


def test_all_passed_with_nonzero_exit_code_is_refused(task):
    nonce = new_nonce()
    assert grade(task, synthetic_log(nonce, 0), nonce).resolved
    result = grade(task, synthetic_log(nonce, 2), nonce)
    assert not result.resolved and result.reason == "test command exited 2 but claimed all passed"
    assert result.fail_to_pass.success == F2P  # the tests' statuses are still reported


def test_missing_pieces_of_the_log(task):
    nonce = new_nonce()
    mark = markers(nonce)
    full = synthetic_log(nonce, 0)
    assert grade(task, "", nonce).reason == "test patch did not apply"
    assert grade(task, full.replace(mark["applied"], mark["apply_failed"]), nonce).reason == "test patch did not apply"
    assert grade(task, mark["reset_failed"] + "\n" + full, nonce).reason.startswith("test files could not be reset")
    assert grade(task, mark["applied"] + "\n", nonce).reason == "tests did not run"
    assert grade(task, full.split(mark["end"])[0], nonce).reason == "test output incomplete: no end marker"
    assert grade(task, full.split(mark["exit_code"])[0], nonce).reason == "no test exit code recorded"


def test_test_patch_that_does_not_apply(repo, task):
    broken = {**task, "test_patch": task["test_patch"].replace(" def test_add():", " def test_sub():")}
    result = run_and_grade(repo, broken)
    assert not result.resolved and result.reason == "test patch did not apply" and not result.patch_applied


def test_grade_is_pure(repo, task):
    apply_gold(repo, task)
    log, nonce = evaluate(repo, task)
    assert grade(task, log, nonce) == grade(task, log, nonce)


@pytest.mark.parametrize("bad", ["", "short", "has space!", "x" * 65, "$(reboot)"])
def test_nonce_must_be_shell_safe(task, bad):
    with pytest.raises(ValueError):
        eval_script(task, bad)


def test_bad_tasks_are_refused(task):
    with pytest.raises(ValueError):
        eval_script({**task, "base_commit": ""}, new_nonce())
    with pytest.raises(ValueError):
        eval_script({**task, "test_patch": "not a diff\n"}, new_nonce())
    with pytest.raises(ValueError):
        eval_script({**task, "FAIL_TO_PASS": ["../outside.py::test_x"]}, new_nonce())


def test_output_without_final_newline_keeps_the_markers(repo, task):
    apply_gold(repo, task)
    code = (repo / "calc.py").read_text() + "\nimport atexit\nimport sys\n\natexit.register(sys.stdout.write, 'tail')\n"
    write(repo, {"calc.py": code})
    assert run_and_grade(repo, task).resolved
