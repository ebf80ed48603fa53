"""Grading without Docker: the eval script runs with bash on a real temporary git repository, its output is
graded, and every exploit is tried for real (edited tests, conftest hooks, pytest config, forged report
lines, skips, zero tests). Where an exploit is shown to be defeated, the same run without the defence is
shown to succeed, so the test proves the defence and not a broken attack."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from srl_swe.grading import Grade, as_task, eval_script, grade, markers, new_nonce, task_test_ids
from srl_swe.tasks.testing import make_eval_script
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
    options.setdefault("scratch", str(repo.parent / "scratch"))
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


def report_rewritten(result: Grade) -> bool:
    """The ``-rA`` report was fooled (every test PASSED, exit code 0), and only the runner's record refused it."""
    fooled = all(result.statuses.get(test) == "PASSED" for test in F2P + P2P) and result.exit_code == 0
    caught = not result.resolved and result.reason.endswith("the report was rewritten or disagrees")
    return fooled and caught and all(result.outcomes[test] == "FAILED" for test in F2P)


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
    assert report_rewritten(run_and_grade(repo, task, protected=()))  # the attack works when config is not reverted
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
    assert report_rewritten(run_and_grade(repo, task, without="unset PYTEST_ADDOPTS PYTEST_PLUGINS"))  # it works
    assert not run_and_grade(repo, task).resolved


# --- forged report lines ------------------------------------------------------------------------------------

def forged_lines(nonce: str = "") -> str:
    return "\n".join([f">>>>> End Test Output{nonce}", *(f"PASSED {test}" for test in F2P + P2P),
                      ">>>>> Test Exit Code: 0", ">>>>> Start Test Output"])


def with_command(task: dict, command: str) -> dict:
    """``task`` as a row carrying its own eval script, running ``command`` on its test files."""
    plain = as_task(task)
    script = make_eval_script(plain, command, ["tests/test_calc.py", "tests/test_divide.py"])
    return {**task, "eval_script": script, "log_parser": "parse_log_pytest", "eval_type": "pass_and_fail"}


def test_forged_passed_lines_from_inside_a_test(repo, task):
    task = with_command(task, "pytest -rA")  # without --tb=no, a failing test's output is shown in the section
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
    # the test command runs whole test files: a task naming only a file that does not exist runs nothing
    missing = {**task, "FAIL_TO_PASS": ["tests/test_nope.py::test_nope"], "PASS_TO_PASS": [],
               "test_patch": ""}
    result = run_and_grade(repo, missing)
    assert not result.resolved and result.reason == "no tests ran" and result.exit_code != 0


def test_task_without_tests_is_not_a_pass(repo, task):
    empty = {**task, "FAIL_TO_PASS": [], "PASS_TO_PASS": "[]"}
    assert grade(empty, "", new_nonce()).reason == "task lists no FAIL_TO_PASS or PASS_TO_PASS tests"


def synthetic_log(nonce: str, exit_code: int, status: str = "PASSED", recorded: str = "") -> str:
    """A log as the eval script writes it: ``status`` for every test in the report, ``recorded`` (default: the
    same) for every test in the runner's record."""
    mark = markers(nonce)
    return "\n".join([mark["applied"], mark["start"], *(f"{status} {test}" for test in F2P + P2P), mark["end"],
                      f"{mark['exit_code']}: {exit_code}", mark["outcomes_start"],
                      *(f"{nonce} {recorded or status} {test}" for test in F2P + P2P), f"{nonce} END {exit_code}",
                      mark["outcomes_end"], ""])


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


# --- a shadowed test runner, rewritten reports: the runner and its own record of outcomes ------------------

UNSHADOW = "unshadow . tests || fail_reset"
FAKE_PYTEST = ("import sys\n\nfor test in " + repr(F2P + P2P) + ":\n    print('PASSED ' + test)\nsys.exit(0)\n")
REWRITE_REPORTS = ("import _pytest.reports\n\n_make = _pytest.reports.TestReport.from_item_and_call\n\n\n"
                   "def _passed(item, call):\n    report = _make(item, call)\n"
                   "    report.outcome, report.longrepr = 'passed', None\n    return report\n\n\n"
                   "_pytest.reports.TestReport.from_item_and_call = staticmethod(_passed)\n")
REGISTER_HOOK = ("import gc\n\nimport pytest\n\n\nclass _Cheat:\n    @pytest.hookimpl(hookwrapper=True)\n"
                 "    def pytest_runtest_makereport(self, item, call):\n        report = (yield).get_result()\n"
                 "        report.outcome, report.longrepr = 'passed', None\n\n\n"
                 "next(o for o in gc.get_objects() if type(o).__name__ == 'Config').pluginmanager.register(_Cheat())\n")
EXIT_ZERO = ("import atexit\nimport os\nimport sys\n\n\ndef _forge():\n"
             "    print('\\n'.join('PASSED ' + test for test in " + repr(F2P + P2P) + "))\n"
             "    sys.stdout.flush()\n    os._exit(0)\n\n\natexit.register(_forge)\n")


@pytest.mark.parametrize("files", [{"pytest.py": FAKE_PYTEST},
                                   {"pytest/__init__.py": FAKE_PYTEST, "pytest/__main__.py": FAKE_PYTEST}],
                         ids=["module", "package"])
def test_a_pytest_at_the_root_is_not_the_test_runner(repo, task, files):
    write(repo, files)
    direct = subprocess.run([sys.executable, "-m", "pytest", "-rA", *F2P], cwd=repo, capture_output=True, text=True)
    assert direct.returncode == 0 and f"PASSED {F2P[0]}" in direct.stdout  # it fools a plain `python -m pytest`
    kept = run_and_grade(repo, task, without=UNSHADOW)  # left in place, it is still never imported
    assert not kept.resolved and kept.fail_to_pass.failure == F2P and kept.statuses[F2P[0]] == "FAILED"
    assert (repo / next(iter(files))).exists()
    log, nonce = evaluate(repo, task)
    result = grade(task, log, nonce)
    assert not result.resolved and result.fail_to_pass.failure == F2P and result.outcomes[F2P[0]] == "FAILED"
    assert not (repo / "pytest").exists() and not (repo / "pytest.py").exists()
    top = next(iter(files)).split("/")[0]
    assert f"srl-swe grading: removed {top} (absent at the base commit, it would shadow the module pytest)" in log


PLUGIN_CHEAT = ("import pytest\n\n\n@pytest.hookimpl(hookwrapper=True, tryfirst=True)\n"
                "def pytest_runtest_makereport(item, call):\n    call.excinfo = None\n    yield\n")


def test_a_module_shadowing_an_installed_pytest_plugin_is_removed(repo, task, monkeypatch):
    """pytest imports its plugins (``pytest11`` entry points, e.g. hypothesis's in many SWE-bench images)
    after the root is back on ``sys.path``: a root module of a plugin's name would be loaded in its place and
    could clear every failure before either record sees it. Such a module, added by the patch, is removed."""
    write(repo, {"_hypothesis_pytestplugin.py": PLUGIN_CHEAT})
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "")  # this test needs the plugins loaded
    nonce = new_nonce()
    script = eval_script(task, nonce, workdir=str(repo), python=sys.executable, scratch=str(repo.parent / "s"))
    env = {key: value for key, value in os.environ.items() if key != "PYTEST_DISABLE_PLUGIN_AUTOLOAD"}
    log = subprocess.run(["bash", "-c", script], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                         env=env, timeout=300).stdout
    result = grade(task, log, nonce)
    assert "srl-swe grading: removed _hypothesis_pytestplugin.py" in log
    assert not result.resolved and result.outcomes[F2P[0]] == "FAILED"


def test_a_sitecustomize_the_patch_adds_anywhere_is_removed(repo, task):
    write(repo, {"src/sitecustomize.py": "print('customized')\n"})
    log, nonce = evaluate(repo, task)
    assert "srl-swe grading: removed src/sitecustomize.py" in log and not (repo / "src/sitecustomize.py").exists()


def test_modules_the_patch_adds_to_shadow_the_stdlib_are_removed(repo, task):
    apply_gold(repo, task)
    shadows = {"json.py": "raise SystemExit('shadowed json')\n", "tests/unittest/__init__.py": "",
               "pluggy.cpython-311-x86_64-linux-gnu.so": "not a library\n"}
    harmless = {"json.txt": "notes\n", "code/data.txt": "a folder without __init__ is no package\n",
                "calc_extra/__init__.py": "", "calc_extra/random.py": "# not on the way to a test\n"}
    write(repo, {**shadows, **harmless})
    log, nonce = evaluate(repo, task)
    assert grade(task, log, nonce).resolved
    for path, module in (("json.py", "json"), ("tests/unittest", "unittest"),
                         ("pluggy.cpython-311-x86_64-linux-gnu.so", "pluggy")):
        assert not (repo / path).exists()
        assert f"removed {path} (absent at the base commit, it would shadow the module {module})" in log
    assert all((repo / path).exists() for path in harmless)


def test_a_shadowing_module_in_a_package_folder_is_kept(repo, task):
    apply_gold(repo, task)
    write(repo, {"tests/__init__.py": "", "tests/json.py": "VALUE = 1\n"})  # tests/ never goes on sys.path
    log, nonce = evaluate(repo, task)
    assert grade(task, log, nonce).resolved and (repo / "tests/json.py").exists() and "removed" not in log


@pytest.mark.parametrize("code", [REWRITE_REPORTS, REGISTER_HOOK, EXIT_ZERO],
                         ids=["report-class", "hook-registered-at-import", "atexit-forgery-and-exit-0"])
def test_reports_rewritten_by_the_code_under_test_are_caught(repo, task, code):
    write(repo, {"calc.py": code + "\n\n" + BASE_FILES["calc.py"]})
    assert report_rewritten(run_and_grade(repo, task))


def test_a_rewriting_gold_patch_still_resolves(repo, task):
    apply_gold(repo, task)  # rewriting reports is no crime in itself: every test really passes
    write(repo, {"calc.py": REWRITE_REPORTS + "\n\n" + (repo / "calc.py").read_text()})
    assert run_and_grade(repo, task).resolved


KINDS = """import unittest

import pytest


def test_pass():
    assert True


def test_fail():
    assert False


class Case(unittest.TestCase):
    def test_ok(self):
        self.assertTrue(True)

    def test_bad(self):
        self.assertTrue(False)

    @unittest.skip("no")
    def test_skipped(self):
        pass

    @unittest.expectedFailure
    def test_expected_failure(self):
        self.assertTrue(False)


@pytest.mark.xfail(reason="known")
def test_xfail_marked():
    assert False


def test_xfail_call():
    pytest.xfail("known")


def test_skip_call():
    pytest.skip("no")


@pytest.fixture
def broken():
    raise RuntimeError("setup")


def test_setup_error(broken):
    pass


@pytest.fixture
def messy():
    yield
    raise RuntimeError("teardown")


def test_teardown_error(messy):
    pass


@pytest.mark.parametrize("text", ["a b", "c"])
def test_param(text):
    assert text
"""
KIND_STATUSES = {
    "test_pass": "PASSED", "test_fail": "FAILED", "Case::test_ok": "PASSED", "Case::test_bad": "FAILED",
    "Case::test_skipped": "SKIPPED", "Case::test_expected_failure": "XFAIL", "test_xfail_marked": "XFAIL",
    "test_xfail_call": "XFAIL", "test_skip_call": "SKIPPED", "test_setup_error": "ERROR",
    "test_teardown_error": "ERROR", "test_param[a": "PASSED", "test_param[c]": "PASSED"}


def kinds_task(base: dict, repo: Path) -> dict:
    """A task whose tests end in every way pytest knows (tests/test_kinds.py)."""
    ids = [f"tests/test_kinds.py::{name}" for name in KIND_STATUSES]
    ids[ids.index("tests/test_kinds.py::test_param[a")] = "tests/test_kinds.py::test_param[a b]"
    return {**base, "test_patch": diff_of(repo, {"tests/test_kinds.py": KINDS}), "FAIL_TO_PASS": ids,
            "PASS_TO_PASS": []}


def assert_both_channels_agree_on_every_kind(result: Grade) -> None:
    expected = {f"tests/test_kinds.py::{name}": status for name, status in KIND_STATUSES.items()}
    assert result.outcomes == expected
    assert {test: status for test, status in result.statuses.items() if test in expected} == {
        test: status for test, status in expected.items() if status != "SKIPPED"}  # -rA names skips by file:line


def test_the_runners_record_matches_pytests_report_on_honest_tests(repo, task):
    result = run_and_grade(repo, kinds_task(task, repo))
    assert_both_channels_agree_on_every_kind(result)
    assert result.reason.startswith("FAIL_TO_PASS failed")


def test_the_runner_keeps_python_m_pytest_semantics(repo, task):
    """The root is at the front of sys.path for the code under test, as with `python -m pytest` (behind the test
    folder pytest itself inserts); the runner's own folder is not on it."""
    probe = ("import os\nimport sys\n\n\ndef test_divide():\n    assert sys.path[:2] == [os.getcwd() + '/tests', "
             "os.getcwd()]\n    assert not any('grading-' in path for path in sys.path)\n")
    checked = {**task, "test_patch": diff_of(repo, {**TEST_FILES, "tests/test_divide.py": probe})}
    apply_gold(repo, task)
    assert run_and_grade(repo, checked).resolved


def test_the_runner_is_python_3_6_syntax():
    import ast

    from srl_swe.grading import plugin

    ast.parse(Path(plugin.__file__).read_text(), feature_version=(3, 6))


def test_the_runners_record_must_agree(task):
    nonce = new_nonce()
    mark = markers(nonce)
    honest = synthetic_log(nonce, 0)
    assert grade(task, honest, nonce).resolved

    rewritten = grade(task, synthetic_log(nonce, 0, recorded="FAILED"), nonce)
    assert not rewritten.resolved and rewritten.reason == (
        f"FAIL_TO_PASS passed by the pytest report but not by the grading runner's record: {F2P[0]} (FAILED), "
        f"{F2P[1]} (FAILED); the report was rewritten or disagrees")
    assert rewritten.fail_to_pass.failure == F2P and rewritten.pass_to_pass.failure == P2P

    unrecorded = grade(task, honest.replace(f"{nonce} PASSED {P2P[0]}\n", ""), nonce)
    assert not unrecorded.resolved and f"{P2P[0]} (no record)" in unrecorded.reason
    nothing = grade(task, "\n".join(line for line in honest.split("\n") if " PASSED " not in line), nonce)
    assert nothing.reason.startswith("the grading runner recorded no test")

    rerun = synthetic_log(nonce, 0, recorded="FAILED").replace(
        mark["outcomes_end"], "".join(f"{nonce} PASSED {test}\n" for test in F2P + P2P) + mark["outcomes_end"])
    assert grade(task, rerun, nonce).resolved  # a test's last record counts, as a rerun plugin leaves it
    twins = honest.replace(f"{nonce} PASSED {F2P[0]}", f"{nonce} PASSED {F2P[0]}[a b]\n{nonce} FAILED {F2P[0]}[a c]")
    assert grade(task, twins, nonce).outcomes[f"{F2P[0]}[a"] == "FAILED"  # ids cut to one key: the worst counts

    other = new_nonce()
    foreign = synthetic_log(nonce, 0, recorded="FAILED").replace(f"{nonce} FAILED", f"{other} PASSED")
    assert grade(task, foreign, nonce).reason.startswith("the grading runner recorded no test")  # not this run's

    assert grade(task, honest.replace(f"{nonce} END 0\n", ""), nonce).reason.startswith(
        "the grading runner recorded no end of the test session")
    assert grade(task, honest.split(mark["outcomes_start"])[0], nonce).reason == (
        "no record of test outcomes from the grading runner")
    assert "forged" in grade(task, honest + mark["outcomes_start"] + "\n", nonce).reason
    assert grade(task, honest.replace(f"{nonce} END 0", f"{nonce} END 1"), nonce).reason == (
        "pytest returned 1 but the test process exited 0: the exit code was rewritten")


def test_scratch_must_be_outside_the_repository(task):
    for scratch in ("relative/dir", "/testbed", "/testbed/.cache"):
        with pytest.raises(ValueError, match="scratch"):
            eval_script(task, new_nonce(), scratch=scratch)


# --- the same in Docker: the base image (Debian bookworm, python3.11, python3-pytest) ------------------------

def docker_repo(image: str):
    """A fresh container of ``image`` whose /testbed holds BASE_FILES at the commit ``commit_base`` makes."""
    from srl_swe.sandbox.docker import DockerSandbox
    from srl_swe.sandbox.local import BASE_COMMIT_ENV

    sandbox = DockerSandbox(image)
    for name, text in BASE_FILES.items():
        sandbox.write_file(f"{sandbox.workdir}/{name}", text)
    env = " ".join(f"{name}={shlex.quote(value)}" for name, value in BASE_COMMIT_ENV.items())
    made = sandbox.run(f"cd {sandbox.workdir} && git init -q -b main && git add -A && {env} git commit -q -m base")
    assert made.exit_code == 0, made.output
    return sandbox


@pytest.fixture
def docker_task(tmp_path, task, repo):
    from srl_swe.sandbox.local import commit_base

    same = tmp_path / "same"
    write(same, BASE_FILES)
    return SweTask(problem_statement="divide multiplies", **{**task, "base_commit": commit_base(same)})


@pytest.mark.docker
@pytest.mark.parametrize("extra, resolved, reason", [
    ({}, True, ""),
    ({"pytest.py": FAKE_PYTEST, "json.py": "raise SystemExit('shadowed')\n"}, True, ""),
    ({"pytest.py": FAKE_PYTEST}, False, "FAIL_TO_PASS failed"),
    ({"calc.py": REWRITE_REPORTS + "\n\n" + BASE_FILES["calc.py"]}, False, "the report was rewritten"),
    ({"calc.py": REGISTER_HOOK + "\n\n" + BASE_FILES["calc.py"]}, False, "the report was rewritten"),
], ids=["gold", "gold-with-shadows", "pytest-module", "report-class", "hook-registered-at-import"])
def test_grading_in_the_base_image(docker_client, base_image, repo, docker_task, extra, resolved, reason):
    from srl_swe.agent import grade_patch

    patch = diff_of(repo, {**(GOLD_FILES if resolved else {}), **extra})
    result = grade_patch(docker_task, patch, lambda: docker_repo(base_image))
    assert result.resolved is resolved and reason in result.reason
    if not resolved:
        assert result.outcomes[F2P[0]] == "FAILED"


@pytest.mark.docker
def test_the_runners_record_matches_pytests_report_in_the_base_image(docker_client, base_image, repo, docker_task):
    from srl_swe.agent import grade_patch

    task = SweTask(**{**docker_task.model_dump(by_alias=True), **kinds_task({}, repo)})
    result = grade_patch(task, "", lambda: docker_repo(base_image))
    assert_both_channels_agree_on_every_kind(result)


# --- the task's own test command and parser ---------------------------------------------------------------

RUNNER_SCRIPT = '''#!/usr/bin/env python3
"""A test runner of the repository's own, sympy-style output: `test_name ok|F|E` per test."""
import importlib.util
import os
import sys
import traceback

failed = 0
for path in sys.argv[1:]:
    spec = importlib.util.spec_from_file_location("t", path)
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    spec.loader.exec_module(module)
    for name in sorted(n for n in vars(module) if n.startswith("test_")):
        try:
            getattr(module, name)()
            print(name, "ok")
        except AssertionError:
            failed += 1
            print(name, "F")
        except Exception:
            failed += 1
            print(name, "E")
sys.exit(1 if failed else 0)
'''


def own_runner_task(repo: Path, task: dict, setup: str = "") -> dict:
    """``task`` as a row of a repository with its own runner (``bin/check``) and sympy's parser; the runner is
    committed at base, so the row's eval script carries its setup lines, resets, the test patch and the command."""
    write(repo, {"bin/check": RUNNER_SCRIPT})
    (repo / "bin/check").chmod(0o755)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "runner")
    row = {**task, "base_commit": git(repo, "rev-parse", "HEAD").strip(), "repo": "demo/calc",
           "FAIL_TO_PASS": ["test_divide_by_two", "test_divide"], "PASS_TO_PASS": ["test_add"]}
    script = make_eval_script(as_task(row), "bin/check", ["tests/test_calc.py", "tests/test_divide.py"])
    if setup:
        script = script.replace("cd /testbed\n", f"cd /testbed\n{setup}\n", 1)
    return {**row, "eval_script": script, "log_parser": "parse_log_sympy", "eval_type": "pass_and_fail"}


def test_a_task_with_its_own_test_runner_and_parser_is_graded_with_them(repo, task):
    row = own_runner_task(repo, task)
    unfixed = run_and_grade(repo, row)
    assert not unfixed.resolved and unfixed.fail_to_pass.failure == row["FAIL_TO_PASS"]
    assert unfixed.statuses == {"test_add": "PASSED", "test_divide_by_two": "FAILED", "test_divide": "FAILED"}
    assert unfixed.log_parser == "parse_log_sympy" and not unfixed.runner_record and not unfixed.outcomes
    apply_gold(repo, row)
    fixed = run_and_grade(repo, row)
    assert fixed.resolved, fixed.reason
    assert fixed.pass_to_pass.success == ["test_add"] and fixed.exit_code == 0


def test_the_rows_setup_lines_run_before_its_tests_and_its_git_lines_do_not(repo, task):
    row = own_runner_task(repo, task, setup="export CALC_MODE=checked\ngit status")
    apply_gold(repo, row)
    write(repo, {"calc.py": GOLD_FILES["calc.py"] + "\nimport os\n\nassert os.environ['CALC_MODE'] == 'checked'\n"})
    log, nonce = evaluate(repo, row)
    assert grade(row, log, nonce).resolved  # the export reached the tests
    assert "On branch" not in log  # `git status` of the row is ours to drop (we reset and apply ourselves)
    without = {**row, "eval_script": row["eval_script"].replace("export CALC_MODE=checked\n", "")}
    assert not run_and_grade(repo, without).resolved


def test_forged_lines_from_a_runner_without_a_second_record_are_refused_by_the_exit_code(repo, task):
    """The harness's own defence, all a non-pytest runner has: a log with no failure but a failing exit."""
    row = own_runner_task(repo, task)
    forged = "\nimport atexit\n\natexit.register(print, 'test_divide_by_two ok\\ntest_divide ok')\n"
    code = BASE_FILES["calc.py"] + forged
    write(repo, {"calc.py": code})
    result = run_and_grade(repo, row)
    assert set(result.statuses.values()) == {"PASSED"}  # printed after the runner's own lines, the forgery wins …
    assert not result.resolved and result.reason == "test command exited 1 but claimed all passed"  # … exit code


def test_a_truncated_parametrized_id_resolves_because_whole_files_run(repo, task):
    """SWE-bench's pytest parser cuts ids at the first space, so the datasets hold ids such as
    ``test_param[a`` (markupsafe, astropy): run as node ids they select nothing; run as files they resolve."""
    param = ("import pytest\n\n\n@pytest.mark.parametrize('text', ['a b', 'c'])\n"
             "def test_param(text):\n    assert text\n")
    write(repo, {"tests/test_param.py": param})
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "param")
    row = {**task, "base_commit": git(repo, "rev-parse", "HEAD").strip(),
           "PASS_TO_PASS": P2P + ["tests/test_param.py::test_param[a", "tests/test_param.py::test_param[c]"]}
    apply_gold(repo, row)
    result = run_and_grade(repo, row)
    assert result.resolved, result.reason
    assert "tests/test_param.py::test_param[a" in result.pass_to_pass.success


def test_a_failing_test_outside_the_lists_does_not_block_resolution(repo, task):
    """As the harness: the command runs whole files, so a test failing before and after (FAIL_TO_FAIL) makes the
    exit code 1 and the run is still resolved, since the log shows that failure."""
    broken = TEST_FILES["tests/test_divide.py"] + "\n\ndef test_always_broken():\n    assert False\n"
    row = {**task, "test_patch": diff_of(repo, {**TEST_FILES, "tests/test_divide.py": broken})}
    apply_gold(repo, row)
    result = run_and_grade(repo, row)
    assert result.exit_code == 1 and result.statuses["tests/test_divide.py::test_always_broken"] == "FAILED"
    assert result.resolved, result.reason


def test_the_test_command_runs_where_the_rows_setup_left_it(repo, task):
    """A row whose setup changes into a subfolder runs its command from there, as the harness does."""
    row = own_runner_task(repo, task, setup="cd /testbed/tests")
    row["eval_script"] = row["eval_script"].replace("bin/check tests/test_calc.py tests/test_divide.py",
                                                    "../bin/check test_calc.py test_divide.py")
    apply_gold(repo, row)
    result = run_and_grade(repo, row)
    assert result.resolved, result.reason
    assert result.statuses == {"test_add": "PASSED", "test_divide_by_two": "PASSED", "test_divide": "PASSED"}


@pytest.mark.parametrize("repo_name, shown, listed", [
    ("matplotlib/matplotlib", "tests/test_a.py::test_x[MouseButton.LEFT]", "tests/test_a.py::test_x[1]"),
    ("pylint-dev/pylint", "tests/test_a.py::test_x[/tmp/pytest-of-agent/a/b.py]", "tests/test_a.py::test_x[/b.py]"),
    ("astropy/astropy", "tests/test_a.py::test_x[m s]", "tests/test_a.py::test_x[m s]"),
])
def test_the_runners_record_is_read_with_the_tasks_own_parser(repo_name, shown, listed):
    """swebench's parsers for these repositories name tests their own way; the record is named the same way, so
    an honest run agrees (and a record that says FAILED still refuses)."""
    task = {"instance_id": "x__y-1", "repo": repo_name, "base_commit": "abc", "FAIL_TO_PASS": [listed],
            "PASS_TO_PASS": []}
    nonce = new_nonce()
    mark = markers(nonce)

    def log(recorded: str) -> str:
        return "\n".join([mark["applied"], mark["start"], f"PASSED {shown}", mark["end"], f"{mark['exit_code']}: 0",
                          mark["outcomes_start"], f"{nonce} {recorded} {shown}", f"{nonce} END 0",
                          mark["outcomes_end"], ""])

    honest = grade(task, log("PASSED"), nonce)
    assert honest.resolved, honest.reason
    assert honest.runner_record and listed in honest.outcomes
    rewritten = grade(task, log("FAILED"), nonce)
    assert not rewritten.resolved and rewritten.reason.endswith("the report was rewritten or disagrees")


def test_a_fail_only_task_resolves_on_a_clean_run_and_not_on_a_silent_one():
    """``fail_only`` parsers record failures only: a clean run is resolved when the harness's evidence that the
    suite ran is there (``SUITE_RAN``), as in the harness, and not when nothing ran."""
    script = (": '>>>>> Start Test Output'\n./node_modules/.bin/jasmine spec/a.js\n"
              ": '>>>>> End Test Output'\n")
    task = {"instance_id": "markedjs__marked-1", "repo": "markedjs/marked", "base_commit": "abc",
            "FAIL_TO_PASS": ["spec/a.js should parse"], "PASS_TO_PASS": [], "eval_script": script,
            "log_parser": "parse_log_marked", "eval_type": "fail_only"}
    nonce = new_nonce()
    mark = markers(nonce)

    def log(output: str, code: int) -> str:
        return "\n".join([mark["applied"], mark["start"], output, mark["end"], f"{mark['exit_code']}: {code}", ""])

    assert grade(task, log("5 specs, 0 failures", 0), nonce).resolved
    assert grade(task, log("", 0), nonce).reason == "no tests ran"
    assert not grade(task, log("Started\n", 1), nonce).resolved
