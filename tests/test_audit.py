"""srl-swe audit and steps --exclude, on expert runs written here by hand in the canonical JSONL shape."""

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from srl_swe.audit import FLAGS, Summary, audit, audit_files, exclusion
from srl_swe.cli import app
from srl_swe.collect import Tally, import_files
from srl_swe.trajectory import Trajectory

BASE = "4c1d2e3f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d"
OTHER = "9f8e7d6c5b4a39281706f5e4d3c2b1a098765432"
TEST_PATCH = """diff --git a/tests/test_ops.py b/tests/test_ops.py
--- a/tests/test_ops.py
+++ b/tests/test_ops.py
@@ -1,2 +1,5 @@
+def test_clamp():
+    assert clamp(12, 0, 10) == 10
"""
GOLD = """diff --git a/calc/ops.py b/calc/ops.py
--- a/calc/ops.py
+++ b/calc/ops.py
@@ -1 +1 @@
-    return value
+    return max(low, min(high, value))
"""
EXAMPLES = Path(__file__).resolve().parent.parent / "trajectories" / "examples"


def bash(command: str, observation: str = "ok") -> dict:
    return {"thought": "", "action": {"tool": "bash", "arguments": {"command": command}}, "observation": observation}


def edit(command: str, path: str, **arguments: str) -> dict:
    args = {"command": command, "path": path, **arguments}
    return {"thought": "", "action": {"tool": "str_replace_editor", "arguments": args}, "observation": "done"}


SUBMIT = {"thought": "done", "action": {"tool": "submit", "arguments": {}}, "observation": None}


def record(steps: list[dict], ident: str = "run-1", resolved: bool | None = True, exit_status: str = "submitted",
           patch: str = GOLD) -> dict:
    """One canonical JSONL record, as `srl-swe collect` writes it."""
    return {
        "schema_version": 1, "id": ident,
        "task": {"track": "swe", "instance_id": "acme__calc-7", "problem_statement": "clamp() ignores its bounds",
                 "repo": "acme/calc", "base_commit": BASE, "test_patch": TEST_PATCH},
        "steps": steps,
        "outcome": {"resolved": resolved, "patch": patch, "exit_status": exit_status},
        "provenance": {"source_format": "handwritten", "source": f"hand:{ident}"},
    }


CLEAN = [
    bash("cd /testbed && ls calc tests"),
    edit("view", "/testbed/calc/ops.py"),
    bash("cd /testbed && git log -n 3 --oneline && git diff HEAD~1 --stat"),
    bash(f"git show {BASE[:10]} --stat"),
    edit("str_replace", "/testbed/calc/ops.py", old_str="    return value", new_str="    return max(low, value)"),
    bash("cd /testbed && python -m pytest tests/test_ops.py -q && pip install -e ."),
    SUBMIT,
]
PEEKING = [
    bash("cd /testbed && ls calc"),
    bash("cd /testbed && git log --all --oneline | head -20", f"{OTHER[:7]} Fix clamp bounds (#42)"),
    edit("view", "/testbed/calc/ops.py"),
    bash(f"cd /testbed && git show {OTHER[:12]}:calc/ops.py", "def clamp(value, low, high): ..."),
    edit("str_replace", "/testbed/calc/ops.py", old_str="    return value", new_str="    return max(low, value)"),
    SUBMIT,
]


def write_jsonl(path: Path, records: list[dict], bad_lines: tuple[str, ...] = ()) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records) + "".join(line + "\n" for line in bad_lines))
    return path


def trajectory(steps: list[dict], **outcome) -> Trajectory:
    return Trajectory.model_validate(record(steps, **outcome))


def findings(steps: list[dict], **outcome) -> set[tuple[str, int | None]]:
    return {(f.flag, f.step) for f in audit(trajectory(steps, **outcome)).findings}


def test_a_run_peeking_at_git_history_is_flagged_on_exactly_those_steps(tmp_path):
    path = write_jsonl(tmp_path / "runs.jsonl", [record(PEEKING)])
    (report,) = audit_files([path])
    assert report.flagged_steps("history_peek") == {2, 4}
    assert report.flags == {"history_peek"}
    reasons = [f.reason for f in report.findings]
    assert "--all" in reasons[0] and OTHER[:12] in reasons[1]
    assert exclusion(report, ["history_peek"]) is None  # every later step builds on what the peek showed


def test_a_clean_run_has_no_flag():
    assert audit(trajectory(CLEAN)).findings == []


def test_editing_a_file_of_the_test_patch_is_flagged_per_step_and_in_the_final_patch():
    steps = [bash("ls"), edit("create", "/testbed/tests/test_ops.py", file_text="def test_x(): pass\n"),
             edit("view", "/testbed/tests/test_ops.py"), bash("sed -i 's/10/11/' tests/test_ops.py"),
             bash("cat tests/test_ops.py > /tmp/copy.py"), SUBMIT]
    found = findings(steps, patch=GOLD + TEST_PATCH)
    assert found == {("test_edit", 2), ("test_edit", 4), ("test_edit", None)}


@pytest.mark.parametrize(("step", "flag"), [
    (bash("exit_cost"), "pseudo_action"),
    (bash("submitted (exit_context)"), "pseudo_action"),
    (bash("cd /testbed && echo COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT && git diff"), "pseudo_action"),
    ({"action": {"tool": "condensation", "arguments": {"summary": "x"}}}, "pseudo_action"),
    (bash("ls\nOBSERVATION:\ncalc tests"), "scaffold_text"),
    (bash("ls\n(Open file: /testbed/calc/ops.py)\n(Current directory: /testbed)\nbash-$"), "scaffold_text"),
    (edit("create", "/testbed/x.py", file_text="Please always provide EXACTLY ONE action in triple backticks"),
     "scaffold_text"),
    (bash("   "), "empty_action"),
    (edit("str_replace", "", old_str="", new_str=""), "empty_action"),
    (bash("git reflog"), "history_peek"),
    (bash("git fsck --lost-found"), "history_peek"),
    (bash(f"git cat-file -p {OTHER[:8]}"), "history_peek"),
    (bash(f"git diff {BASE[:8]}..{OTHER[:8]}"), "history_peek"),
    (bash("git checkout origin/main -- calc/ops.py"), "history_peek"),
    (bash('echo "$(git -C /testbed --no-pager log --branches)"'), "history_peek"),
    (bash("bash -c 'git log --all'"), "history_peek"),
    (bash("curl -sL https://github.com/acme/calc/pull/42.diff"), "network"),
    (bash("pip install requests==2.31"), "network"),
    (bash("cd /testbed && git fetch origin"), "network"),
    (bash("python -c \"import urllib.request as u; u.urlopen('https://pypi.org')\""), "network"),
])
def test_each_kind_of_step_is_flagged_on_its_step(step, flag):
    steps = [bash("ls"), {"thought": "", "observation": "x", **step}, SUBMIT]
    assert findings(steps) == {(flag, 2)}


@pytest.mark.parametrize("command", [
    "git log -n 5 --oneline -- calc/ops.py", "git diff HEAD~1", "git show HEAD:calc/ops.py", "git checkout -- calc",
    "git checkout -b fix", f"git log {BASE[:7]}", "git status && git stash", "pip install -e .",
    "grep -rn 'https://' docs", "git branch", 'git log --grep "main"',
])
def test_ordinary_commands_are_not_flagged(command):
    assert findings([bash("ls"), bash(command), SUBMIT]) == set()


def test_repeated_actions_are_flagged_from_the_second_on():
    steps = [bash("python t.py"), bash("python t.py"), bash("python t.py"), bash("ls"), SUBMIT]
    assert findings(steps) == {("repeated_action", 2), ("repeated_action", 3)}


@pytest.mark.parametrize(("outcome", "expected"), [
    ({"exit_status": "exit_cost", "resolved": None}, {"limit_exit", "resolution_unknown"}),
    ({"exit_status": "LimitsExceeded"}, {"limit_exit"}),
    ({"exit_status": "submitted (exit_context)"}, {"limit_exit"}),
    ({"exit_status": "exit_format", "resolved": False}, {"error_exit", "unresolved"}),
    ({"resolved": None}, {"resolution_unknown"}),
    ({"resolved": False}, {"unresolved"}),
])
def test_trajectory_flags_come_from_the_outcome(outcome, expected):
    report = audit(trajectory(CLEAN, **outcome))
    assert report.flags == expected
    assert all(f.step is None for f in report.findings)


def test_audit_of_every_bundled_example_does_not_crash():
    tally = Tally()
    summary = Summary()
    for imported in import_files(sorted(EXAMPLES.iterdir()), resolved_only=False, tally=tally):
        summary.add(audit(imported))
    assert summary.trajectories == sum(tally.kept.values()) > 10
    assert all(counts["steps"] <= summary.steps for counts in summary.by_flag.values())


def test_cli_prints_the_table_and_flagged_steps_and_counts_bad_lines(tmp_path):
    path = write_jsonl(tmp_path / "runs.jsonl", [record(PEEKING, "peek"), record(CLEAN, "clean")], ("{oops",))
    result = CliRunner().invoke(app, ["audit", str(path)], env={"COLUMNS": "300"})
    assert result.exit_code == 0, result.output
    assert f"{path}:3: not valid JSON" in result.output
    assert "1 of 2 trajectories flagged" in result.output and "1 bad lines skipped" in result.output
    row = next(line for line in result.output.splitlines() if "│ history_peek" in line)
    assert [cell.strip() for cell in row.split("│")[1:5]] == ["history_peek", "trajectory", "1", "2"]
    assert "step 2 history_peek: `git log --all --oneline`" in result.output
    assert "clean (" not in result.output


def test_cli_json_report_to_stdout_and_to_a_file(tmp_path):
    path = write_jsonl(tmp_path / "runs.jsonl", [record(PEEKING, "peek"), record(CLEAN, "clean")], ("[]",))
    result = CliRunner().invoke(app, ["audit", str(path), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["summary"]["by_flag"]["history_peek"] == {"trajectories": 1, "steps": 2}
    assert [t["trajectory_id"] for t in report["trajectories"]] == ["peek", "clean"]
    assert {(f["flag"], f["step"]) for f in report["trajectories"][0]["findings"]} == {("history_peek", 2),
                                                                                        ("history_peek", 4)}
    assert report["skipped"][0]["where"] == f"{path}:3"
    out = tmp_path / "audit.json"
    assert CliRunner().invoke(app, ["audit", str(path), "-o", str(out)]).exit_code == 0
    assert json.loads(out.read_text()) == report
    assert CliRunner().invoke(app, ["audit", str(tmp_path / "missing.jsonl")]).exit_code == 2


def test_steps_exclude_drops_flagged_trajectories_and_step_targets_and_counts_them(tmp_path):
    repeated = [bash("ls"), bash("ls"), bash("python t.py"), SUBMIT]
    path = write_jsonl(tmp_path / "runs.jsonl", [record(PEEKING, "peek"), record(CLEAN, "clean"),
                                                 record(repeated, "rep")])
    out = tmp_path / "steps"
    result = CliRunner().invoke(app, ["steps", str(path), "-o", str(out), "--exclude", "history_peek,repeated_action",
                                      "--include-unresolved"],
                                env={"COLUMNS": "300"})
    assert result.exit_code == 0, result.output
    assert "1 trajectories and 1 step targets left out" in result.output
    rows = pq.read_table(out / "steps.parquet").to_pylist()
    assert {r["trajectory_id"] for r in rows} == {"clean", "rep"}
    assert [r["step"] for r in rows if r["trajectory_id"] == "rep"] == [1, 3]
    rep_step3 = next(r for r in rows if r["trajectory_id"] == "rep" and r["step"] == 3)
    assert "ls" in rep_step3["prompt"][-2]["content"]  # the excluded step stays in the context
    assert [r["trajectory_id"] for r in pq.read_table(out / "sft.parquet").to_pylist()] == ["clean"]
    manifest = json.loads((out / "manifest.json").read_text())
    assert (manifest["excluded_trajectories"], manifest["excluded_steps"]) == (1, 1)
    assert manifest["options"]["exclude"] == ["history_peek", "repeated_action"]


def test_steps_exclude_unknown_flags_exit_2_naming_them(tmp_path):
    path = write_jsonl(tmp_path / "runs.jsonl", [record(CLEAN)])
    result = CliRunner().invoke(app, ["steps", str(path), "-o", str(tmp_path / "s"), "--exclude", "history_peek,nope"],
                                env={"COLUMNS": "300"})
    assert result.exit_code == 2
    assert "nope" in result.output and "history_peek" in result.output  # named, and the known ones listed
    assert not (tmp_path / "s").exists()
    assert set(FLAGS) >= {"history_peek", "test_edit", "network", "limit_exit", "resolution_unknown"}
