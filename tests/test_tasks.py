"""Tasks in one place: how rows become tasks, how each task's test command and parser are chosen and recorded,
how an eval script is read back, and the oracle's commands (no Docker: pure functions on real-shaped rows)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from srl_swe.models.oracle import oracle_script
from srl_swe.tasks.export import write_task_repo
from srl_swe.tasks.names import DATASETS, SOURCE_FORMS
from srl_swe.tasks.rows import harness_task, load_tasks, task_from_row
from srl_swe.tasks.testing import PYTEST_COMMAND, plan_of, with_testing
from srl_swe.trajectory import SweTask

SANDBOXES = Path(__file__).parent.parent / "sandboxes"
TEST_PATCH = ("diff --git a/sympy/core/tests/test_basic.py b/sympy/core/tests/test_basic.py\n"
              "--- a/sympy/core/tests/test_basic.py\n+++ b/sympy/core/tests/test_basic.py\n"
              "@@ -1,2 +1,3 @@\n x = 1\n+y = 2\n z = 3\n"
              "diff --git a/sympy/core/tests/test_new.py b/sympy/core/tests/test_new.py\nnew file mode 100644\n"
              "--- /dev/null\n+++ b/sympy/core/tests/test_new.py\n@@ -0,0 +1 @@\n+def test_new(): pass\n")
GOLD = ("diff --git a/sympy/core/basic.py b/sympy/core/basic.py\n--- a/sympy/core/basic.py\n"
        "+++ b/sympy/core/basic.py\n@@ -1,2 +1,2 @@\n a = 1\n-b = 2\n+b = 3\n")


def row(**fields) -> dict:
    return {"instance_id": "sympy__sympy-1", "repo": "sympy/sympy", "base_commit": "abc123", "problem_statement": "p",
            "patch": GOLD, "test_patch": TEST_PATCH, "FAIL_TO_PASS": ["test_basic_y"],
            "PASS_TO_PASS": ["test_basic_x"], **fields}


# what a SWE-bench 5 row's eval_script looks like (sympy, Verified): activation, git bookkeeping, reset, heredoc
VERIFIED_SCRIPT = """#!/bin/bash
set -uxo pipefail
source /opt/miniconda3/bin/activate
conda activate testbed
cd /testbed
git config --global --add safe.directory /testbed
cd /testbed
git status
git show
git -c core.fileMode=false diff abc123
source /opt/miniconda3/bin/activate
conda activate testbed
python -m pip install -e .
cat > /tmp/settings.cfg <<'EOF_CFG'
git is not a command here
EOF_CFG
git checkout abc123 sympy/core/tests/test_basic.py
git apply -v - <<'EOF_114329324912'
diff --git a/sympy/core/tests/test_basic.py b/sympy/core/tests/test_basic.py
+y = 2
EOF_114329324912
: '>>>>> Start Test Output'
PYTHONWARNINGS='ignore::UserWarning,ignore::SyntaxWarning' bin/test -C --verbose \
sympy/core/tests/test_basic.py sympy/core/tests/test_new.py
: '>>>>> End Test Output'
git checkout abc123 sympy/core/tests/test_basic.py
"""


def test_a_row_with_its_own_eval_script_keeps_it_and_says_so():
    task = task_from_row(row(eval_script=VERIFIED_SCRIPT, log_parser="parse_log_sympy", eval_type="pass_and_fail"))
    assert (task.test_source, task.log_parser, task.eval_script) == ("row", "parse_log_sympy", VERIFIED_SCRIPT)


def test_the_eval_script_is_read_back_into_setup_command_and_test_files():
    task = task_from_row(row(eval_script=VERIFIED_SCRIPT, log_parser="parse_log_sympy", eval_type="pass_and_fail"))
    plan = plan_of(task, workdir="/work/repo")
    assert plan.setup == ("source /opt/miniconda3/bin/activate", "conda activate testbed", "cd /work/repo",
                          "cd /work/repo", "source /opt/miniconda3/bin/activate", "conda activate testbed",
                          "python -m pip install -e .", "cat > /tmp/settings.cfg <<'EOF_CFG'",
                          "git is not a command here", "EOF_CFG")  # git lines dropped, other heredocs whole
    assert plan.command.endswith("bin/test -C --verbose sympy/core/tests/test_basic.py sympy/core/tests/test_new.py")
    assert plan.test_files == ("sympy/core/tests/test_basic.py", "sympy/core/tests/test_new.py")
    assert plan.head == "PYTHONWARNINGS='ignore::UserWarning,ignore::SyntaxWarning' bin/test -C --verbose"
    assert plan.pytest_parts() is None  # not pytest: no second record, the harness's defences only


@pytest.mark.parametrize("repo, parser, source, command", [
    ("sympy/sympy", "parse_log_sympy", "swebench:sympy/sympy", "bin/test -C --verbose"),
    ("django/django", "parse_log_django", "swebench:django/django", "./tests/runtests.py --verbosity 2"),
    ("pallets/flask", "parse_log_pytest", "swebench:pallets/flask", PYTEST_COMMAND),
    ("getmoto/moto", "parse_log_pytest", "pytest", PYTEST_COMMAND),
])
def test_rows_without_an_eval_script_get_swebenchs_choice_for_known_repositories_else_pytest(repo, parser, source,
                                                                                             command):
    task = task_from_row(row(repo=repo))
    assert (task.log_parser, task.test_source, task.eval_type) == (parser, source, "pass_and_fail")
    assert command in task.eval_script
    plan = plan_of(task)
    if repo == "django/django":  # django's runner takes dotted modules, not paths
        assert plan.test_files == ("sympy.core.tests.test_basic", "sympy.core.tests.test_new")
    else:
        assert plan.test_files == ("sympy/core/tests/test_basic.py", "sympy/core/tests/test_new.py")


def test_the_pytest_files_include_those_of_every_listed_test():
    task = task_from_row(row(repo="acme/lib", FAIL_TO_PASS=["tests/test_a.py::test_x"],
                             PASS_TO_PASS=["tests/test_b.py::test_y[a b]", "tests/test_a.py::test_z"]))
    assert plan_of(task).test_files == ("sympy/core/tests/test_basic.py", "sympy/core/tests/test_new.py",
                                          "tests/test_a.py", "tests/test_b.py")


@pytest.mark.parametrize("command, parts", [
    ("pytest -rA tests/a.py", ("", "", "-rA tests/a.py")),
    ("python -m pytest -rA", ("", "python", "-rA")),
    ("PYTHONWARNINGS='ignore::x' TZ=UTC python3.9 -m pytest -rA -x", ("PYTHONWARNINGS='ignore::x' TZ=UTC ",
                                                                       "python3.9", "-rA -x")),
    ("tox --current-env -epy39 -v --", None),
    ("pytest-benchmark run", None),
    ("pytest -rA a.py\npytest -rA b.py", None),
])
def test_only_one_pytest_run_goes_through_the_grading_runner(command, parts):
    task = SweTask.model_validate(row(repo="acme/lib", eval_script=f": '>>>>> Start Test Output'\n{command}\n"
                                                                   ": '>>>>> End Test Output'\n",
                                      log_parser="parse_log_pytest"))
    assert plan_of(task).pytest_parts() == parts


def test_a_row_that_cannot_be_a_task_names_the_field_and_the_place(tmp_path):
    with pytest.raises(ValueError, match="field problem_statement: missing"):
        task_from_row({k: v for k, v in row().items() if k != "problem_statement"})
    with pytest.raises(ValueError, match="log_parser 'parse_log_nope' is not one of swebench's parsers"):
        task_from_row(row(eval_script=VERIFIED_SCRIPT, log_parser="parse_log_nope"))
    path = tmp_path / "rows.jsonl"
    path.write_text(json.dumps(row()) + "\n" + json.dumps({"instance_id": "x"}) + "\n")
    with pytest.raises(ValueError, match=r"rows.jsonl:2: field problem_statement: missing"):
        load_tasks(path)
    lacks = r"rows.jsonl: row 3 \(sympy__sympy-1\) lacks version, image, eval_script, log_parser, eval_type"
    with pytest.raises(ValueError, match=lacks):
        harness_task("rows.jsonl", 3, row())
    with pytest.raises(ValueError, match="eval_script runs no command"):
        plan_of(task_from_row(row(eval_script="#!/bin/bash\necho hi\n", log_parser="parse_log_pytest")))


def test_one_table_of_sources_for_collect_and_eval():
    assert {"swe-bench-verified", "swe-bench-lite", "swe-bench", "swe-gym", "swe-smith"} == set(DATASETS)
    assert {"swebench:PATH", "local:PATH", "TASK_REPO"} <= set(SOURCE_FORMS)
    assert [name for name, dataset in DATASETS.items() if not dataset.harness] == ["swe-gym", "swe-smith"]
    gym = task_from_row({**row(), "instance_id": "getmoto__moto-7"}, DATASETS["swe-gym"].image_rule)
    assert gym.image == "xingyaoww/sweb.eval.x86_64.getmoto_s_moto-7:latest"


def test_a_task_repo_folder_is_read_by_swebenchs_reader(tmp_path):
    bundled = [ref.task for ref in load_tasks(SANDBOXES / "units")]
    write_task_repo(bundled, tmp_path / "repo")
    again = [ref.task for ref in load_tasks(tmp_path / "repo")]
    assert [t.instance_id for t in again] == [t.instance_id for t in bundled]
    for before, after in zip(bundled, again, strict=True):
        assert (after.eval_script, after.log_parser, after.fail_to_pass, after.pass_to_pass, after.test_source) == (
            before.eval_script, before.log_parser, before.fail_to_pass, before.pass_to_pass, "row")


def test_the_oracle_runs_the_tasks_own_command_on_a_few_files_never_a_list_of_ids():
    sympy = task_from_row(row(eval_script=VERIFIED_SCRIPT, log_parser="parse_log_sympy"))
    commands = [a.arguments["command"] for _, a in oracle_script(sympy, "/testbed") if a.tool == "bash"]
    # bare test names: every existing test file of the command; the file the test patch adds does not exist yet
    assert commands[-1] == ("cd /testbed && PYTHONWARNINGS='ignore::UserWarning,ignore::SyntaxWarning' bin/test -C "
                            "--verbose sympy/core/tests/test_basic.py")
    many = task_from_row(row(repo="acme/lib", FAIL_TO_PASS=["tests/test_a.py::test_x"],
                             PASS_TO_PASS=[f"tests/test_b.py::test_{n}" for n in range(60)]))
    commands = [a.arguments["command"] for _, a in oracle_script(many, "/testbed") if a.tool == "bash"]
    assert commands[-1] == f"cd /testbed && {PYTEST_COMMAND} tests/test_a.py"  # the failing test's file only


def test_with_testing_is_idempotent_and_keeps_a_rows_choice():
    task = with_testing(SweTask.model_validate(row()))
    assert with_testing(task) == task
    assert task.eval_type == "pass_and_fail" and task.test_source == "swebench:sympy/sympy"


def test_a_form_prefix_reads_the_path_it_names():
    plain = [ref.task.instance_id for ref in load_tasks(SANDBOXES / "units")]
    assert [ref.task.instance_id for ref in load_tasks(Path(f"local:{SANDBOXES / 'units'}"))] == plain
    rows = SANDBOXES / "units" / "tasks.jsonl"
    assert [ref.task.instance_id for ref in load_tasks(Path(f"swebench:{rows}"))] == plain


def test_a_rows_choices_are_checked_when_it_is_read():
    with pytest.raises(ValueError, match="sympy__sympy-1: eval_type 'FAIL_ONLY' is not one of pass_and_fail"):
        task_from_row(row(eval_type="FAIL_ONLY"))
    with pytest.raises(ValueError, match="log_parser 'parse_log_nope' is not one of swebench's parsers"):
        task_from_row(row(log_parser="parse_log_nope"))
    tox = VERIFIED_SCRIPT.replace("PYTHONWARNINGS", "TOX=1 tox -e py39 -- ; PYTHONWARNINGS")
    kept = task_from_row(row(eval_script=tox))  # a script without a parser keeps its script, gets the repo's parser
    assert (kept.eval_script, kept.test_source, kept.log_parser) == (tox, "row", "parse_log_sympy")
    broken = row(test_patch="diff --git a/t.py b/t.py\n--- a/t.py\n+++ b/t.py\n@@ -1,3 +1,4 @@\n x\n")
    with pytest.raises(ValueError, match="field test_patch: not a diff"):
        task_from_row(broken)


def test_the_oracles_command_keeps_earlier_lines_and_quoted_files_whole():
    script = (": '>>>>> Start Test Output'\nexport TZ=UTC\npytest -rA 'tests/test a.py' tests/test_b.py\n"
              ": '>>>>> End Test Output'\n")
    task = task_from_row(row(repo="acme/lib", eval_script=script, log_parser="parse_log_pytest",
                             FAIL_TO_PASS=["tests/test a.py::test_x"], PASS_TO_PASS=["tests/test_b.py::test_y"],
                             test_patch=""))
    plan = plan_of(task)
    assert plan.test_files == ("'tests/test a.py'", "tests/test_b.py") and plan.head == "export TZ=UTC && pytest -rA"
    commands = [a.arguments["command"] for _, a in oracle_script(task, "/testbed") if a.tool == "bash"]
    assert commands[-1] == "cd /testbed && export TZ=UTC && pytest -rA 'tests/test a.py'"


def test_only_the_repositorys_path_moves_to_the_workdir():
    script = VERIFIED_SCRIPT.replace("conda activate testbed", "conda activate /opt/miniconda3/envs/testbed")
    plan = plan_of(task_from_row(row(eval_script=script, log_parser="parse_log_sympy")), workdir="/work/repo")
    assert "conda activate /opt/miniconda3/envs/testbed" in plan.setup and "cd /work/repo" in plan.setup
