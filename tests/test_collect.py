"""Bad input never crashes an import and never loses data: every bad record is skipped with a message
naming file:line (or row) and the reason, counted in the summary; --strict makes any skip fatal."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from srl_swe.cli import app
from srl_swe.collect import collect_import, import_files, load_report
from srl_swe.trajectory import read_trajectories

CALL = "<function=bash>\n<parameter=command>ls /testbed</parameter>\n</function>"


def smith_row(messages, **extra):
    row = {"messages": json.dumps(messages), "instance_id": "acme__calc.1a2b3c4d.x", "resolved": True,
           "model": "claude-3-7-sonnet-20250219", "traj_id": "acme__calc.1a2b3c4d.x.abc", "patch": ""}
    row.update(extra)
    return row


GOOD = [{"role": "system", "content": "sys"},
        {"role": "user", "content": "<pr_description>\ndivide by zero returns None\n</pr_description>"},
        {"role": "assistant", "content": "Look first.\n\n" + CALL},
        {"role": "user", "content": "OBSERVATION:\ncalc\nsetup.py"},
        {"role": "assistant", "content": "<function=submit>\n</function>"}]


def write_corpus(path):
    lines = [
        json.dumps(smith_row(GOOD)).encode(),                                                   # 1 good
        b'{"messages": "[1, 2", "traj_id": "x"',                                                 # 2 malformed JSON
        b'{"note": "caf\xe9"}',                                                                  # 3 not UTF-8
        json.dumps({"foo": 1, "bar": 2}).encode(),                                               # 4 unknown format
        json.dumps(smith_row(GOOD, instance_id=None)).encode(),                                  # 5 missing field
        json.dumps(smith_row(GOOD[:2] + [{"role": "assistant", "content": "just prose"}])).encode(),  # 6 no steps
        json.dumps(smith_row(GOOD[:2] + [{"role": "assistant", "content":
                                          "<function=bash>\n<parameter=command>ls\n</function>"}])).encode(),  # 7
        json.dumps({"messages": [GOOD[1], {"role": "assistant", "content": "", "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "bash", "arguments": "{not json"}}]}]}).encode(),  # 8
        json.dumps({**smith_row(GOOD), "messages": "not a json list"}).encode(),                 # 9 bad JSON
        json.dumps(smith_row(GOOD, resolved=False)).encode(),                                    # 10 filtered
        b"",                                                                                     # blank: ignored
    ]
    path.write_bytes(b"\n".join(lines) + b"\n")


EXPECTED = {
    2: "malformed JSON",
    3: "not UTF-8",
    4: "unknown format: no importer recognises a record with keys bar, foo",
    5: "missing field: 'instance_id' is missing",
    6: "no steps",
    7: "unparseable tool call: parameter 'command' is not closed",
    8: "unparseable tool call: arguments of bash are not valid JSON",
    9: "malformed JSON field: 'messages' is not valid JSON",
}


def test_malformed_corpus_gives_one_message_per_bad_line(tmp_path):
    source, out = tmp_path / "corpus.jsonl", tmp_path / "out.jsonl"
    write_corpus(source)
    tally = collect_import([source], out)
    assert len(tally.messages) == len(EXPECTED)
    for message, (line, reason) in zip(tally.messages, sorted(EXPECTED.items()), strict=True):
        assert message.startswith(f"{source}:{line}: {reason}"), message
    assert tally.kept["swe-smith"] == 1 and tally.steps["swe-smith"] == 2
    assert tally.filtered[("swe-smith", "not resolved")] == 1
    assert tally.total_skipped == 8
    [trajectory] = list(read_trajectories(out))
    assert trajectory.provenance.source == f"{source}:1"


def test_all_keeps_unresolved_and_strict_fails_without_writing(tmp_path):
    source, out = tmp_path / "corpus.jsonl", tmp_path / "out.jsonl"
    write_corpus(source)
    collect_import([source], out, resolved_only=False)
    assert len(list(read_trajectories(out))) == 2
    before = out.read_bytes()
    tally = collect_import([source], out, strict=True)
    assert tally.total_skipped == 8 and out.read_bytes() == before, "strict leaves the old output untouched"
    assert not list(tmp_path.glob(".out.jsonl.*")), "no temporary file left behind"


def test_cli_prints_reasons_and_counts_and_strict_exits_non_zero(tmp_path):
    source, out = tmp_path / "corpus.jsonl", tmp_path / "out.jsonl"
    write_corpus(source)
    runner = CliRunner()
    result = runner.invoke(app, ["collect", "--import", str(source), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert f"{source}:7" in result.output and "not closed" in result.output
    assert "swe-smith" in result.output and "1 not resolved" in result.output
    strict = runner.invoke(app, ["collect", "--import", str(source), "-o", str(tmp_path / "s.jsonl"), "--strict"])
    assert strict.exit_code == 1 and not (tmp_path / "s.jsonl").exists()


def test_forced_format_that_does_not_fit_is_reported(tmp_path):
    source = tmp_path / "corpus.jsonl"
    write_corpus(source)
    tally = collect_import([source], tmp_path / "o.jsonl", fmt="nebius")
    assert tally.kept == {} and any("does not look like nebius" in m for m in tally.messages)


def test_folders_json_lists_and_parquet_are_read(tmp_path):
    folder = tmp_path / "dumps"
    (folder / "sub").mkdir(parents=True)
    (folder / "sub" / "rows.json").write_text(json.dumps([smith_row(GOOD), 5]))
    pq.write_table(pa.Table.from_pylist([smith_row(GOOD)]), folder / "rows.parquet")
    (folder / "README.md").write_text("ignored")
    out = tmp_path / "o.jsonl"
    tally = collect_import([folder], out)
    assert tally.kept["swe-smith"] == 2
    assert tally.messages == [f"{folder / 'sub' / 'rows.json'}:row 1: malformed JSON: list item is not an object"]
    sources = sorted(t.provenance.source for t in read_trajectories(out))
    assert sources == [f"{folder / 'rows.parquet'}:row 0", f"{folder / 'sub' / 'rows.json'}:row 0"]


def test_missing_input_file_is_a_skip_not_a_crash(tmp_path):
    tally = collect_import([tmp_path / "nope.jsonl"], tmp_path / "o.jsonl")
    assert tally.messages == [f"{tmp_path / 'nope.jsonl'}: unreadable file: no such file"]


def test_console_script_runs(tmp_path):
    source, out = tmp_path / "corpus.jsonl", tmp_path / "out.jsonl"
    write_corpus(source)
    done = subprocess.run([sys.executable, "-m", "srl_swe", "collect", "--import", str(source), "-o", str(out)],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    steps = subprocess.run([sys.executable, "-m", "srl_swe", "steps", str(out), "-o", str(tmp_path / "steps")],
                           capture_output=True, text=True)
    assert steps.returncode == 0, steps.stderr
    assert "1 trajectories → 1 step examples" in steps.stderr


def test_a_swebench_report_marks_ungraded_runs(tmp_path):
    from pathlib import Path

    examples = Path(__file__).parent.parent / "trajectories" / "examples"
    report = tmp_path / "report.json"
    report.write_text(json.dumps({"resolved_ids": ["acme__calc-12"], "unresolved_ids": ["swe_agent_0x"]}))
    runner = CliRunner()
    out = tmp_path / "o.jsonl"
    inputs = [str(examples / "swe_agent_1x"), str(examples / "swe_agent_0x.traj")]
    result = runner.invoke(app, ["collect", "--import", *inputs, "--report", str(report), "-o", str(out)])
    assert result.exit_code == 0, result.output
    [kept] = list(read_trajectories(out))
    assert kept.task.instance_id == "acme__calc-12" and kept.outcome.resolved is True
    assert "1 not resolved" in result.output
    bad = runner.invoke(app, ["collect", "--import", str(examples), "--report", str(examples / "s1k.jsonl")],
                        env={"COLUMNS": "400"})
    assert bad.exit_code != 0 and "not a readable JSON report" in bad.output


# --report: hand-written files in the shapes swebench, sb-cli and the experiments repositories write.
RUN_SUMMARY = {  # swebench run_evaluation's MODEL.RUN_ID.json (schema 2)
    "total_instances": 5, "submitted_instances": 4, "completed_instances": 3, "resolved_instances": 1,
    "unresolved_instances": 1, "infra_failure_instances": 0, "ambiguous_failure_instances": 0,
    "empty_patch_instances": 1, "error_instances": 1,
    "completed_ids": ["a__a-1", "a__a-2", "a__a-3"], "incomplete_ids": ["a__a-5"], "empty_patch_ids": ["a__a-4"],
    "submitted_ids": ["a__a-1", "a__a-2", "a__a-3", "a__a-4"], "resolved_ids": ["a__a-1"],
    "unresolved_ids": ["a__a-2"], "infra_failure_ids": [], "ambiguous_failure_ids": [], "failure_reasons": {},
    "error_ids": ["a__a-3"], "schema_version": 2,
}
SB_CLI_REPORT = {  # sb-cli get-report's SUBSET__SPLIT__RUN.json: the summary counts and id lists
    "total_instances": 3, "submitted_instances": 3, "completed_instances": 2, "resolved_instances": 1,
    "unresolved_instances": 1, "empty_patch_instances": 0, "error_instances": 1, "pending_instances": 0,
    "failed_instances": 1, "resolved_ids": ["a__a-1"], "unresolved_ids": ["a__a-2"], "error_ids": ["a__a-3"],
    "completed_ids": ["a__a-1", "a__a-2"], "submitted_ids": ["a__a-1", "a__a-2", "a__a-3"],
}
RESULTS_V2 = {"no_generation": ["a__a-4"], "no_logs": ["a__a-3"], "resolved": ["a__a-1", "a__a-2"]}
RESULTS_PRE_V2 = {  # experiments' analysis before v2: every category, resolved ids also in generated/applied
    "no_generation": ["a__a-4"], "generated": ["a__a-1", "a__a-2", "a__a-3"], "with_logs": ["a__a-1", "a__a-2"],
    "install_fail": [], "reset_failed": [], "no_apply": ["a__a-3"], "applied": ["a__a-1", "a__a-2"],
    "test_errored": [], "test_timeout": [], "resolved": ["a__a-1"],
}
RESULTS_BY_REPO = {"a/a": {"none": ["a__a-4"], "generated": ["a__a-1", "a__a-2"], "with_logs": ["a__a-1", "a__a-2"],
                           "install_fail": [], "applied": ["a__a-1", "a__a-2"], "resolved": ["a__a-1"]},
                   "b/b": {"none": [], "generated": ["b__b-7"], "with_logs": ["b__b-7"], "install_fail": [],
                           "applied": ["b__b-7"], "resolved": ["b__b-7"]}}
PER_INSTANCE_DETAILS = {"a__a-1": {"cost": 0.72, "api_calls": 32, "resolved": True},
                        "a__a-2": {"cost": 1.10, "api_calls": 51, "resolved": False}}


def instance_report(instance_id, resolved):
    """swebench grading's report.json for one instance (logs/run_evaluation/RUN/MODEL/ID/report.json)."""
    tests = {"success": ["tests/test_ops.py::test_divide"] if resolved else [],
             "failure": [] if resolved else ["tests/test_ops.py::test_divide"]}
    return {instance_id: {"patch_is_None": False, "patch_exists": True, "patch_successfully_applied": True,
                          "resolved": resolved, "infra_failure": False,
                          "tests_status": {"FAIL_TO_PASS": tests, "PASS_TO_PASS": {"success": [], "failure": []},
                                           "FAIL_TO_FAIL": {"success": [], "failure": []},
                                           "PASS_TO_FAIL": {"success": [], "failure": []}}}}


@pytest.mark.parametrize("name, report, expected", [
    ("gpt-4o.run1.json", RUN_SUMMARY, {"a__a-1": True, "a__a-2": False, "a__a-3": False, "a__a-4": False}),
    ("swe-bench_verified__test__run1.json", SB_CLI_REPORT, {"a__a-1": True, "a__a-2": False, "a__a-3": False}),
    ("results.json", RESULTS_V2, {"a__a-1": True, "a__a-2": True, "a__a-3": False, "a__a-4": False}),
    ("results.json", RESULTS_PRE_V2, {"a__a-1": True, "a__a-2": False, "a__a-3": False, "a__a-4": False}),
    ("results.json", RESULTS_BY_REPO, {"a__a-1": True, "a__a-2": False, "a__a-4": False, "b__b-7": True}),
    ("report.json", instance_report("a__a-2", False), {"a__a-2": False}),
    ("per_instance_details.json", PER_INSTANCE_DETAILS, {"a__a-1": True, "a__a-2": False}),
])
def test_every_report_shape_the_tools_write_is_read(tmp_path, name, report, expected):
    path = tmp_path / name
    path.write_text(json.dumps(report, indent=4))
    assert load_report(path) == expected


def test_a_folder_of_per_instance_reports_is_read(tmp_path):
    run = tmp_path / "logs" / "run_evaluation" / "run1" / "gpt-4o"
    for instance_id, resolved in (("acme__calc-12", True), ("swe_agent_0x", False), ("a__a-9", True)):
        (run / instance_id).mkdir(parents=True)
        (run / instance_id / "report.json").write_text(json.dumps(instance_report(instance_id, resolved)))
        (run / instance_id / "run_instance.log").write_text("not a report")
    (run / "acme__calc-12" / "patch.diff").write_text("diff --git a/x b/x\n")
    assert load_report(tmp_path / "logs") == {"acme__calc-12": True, "swe_agent_0x": False, "a__a-9": True}
    examples = Path(__file__).parent.parent / "trajectories" / "examples"
    out = tmp_path / "o.jsonl"
    inputs = [str(examples / "swe_agent_1x"), str(examples / "swe_agent_0x.traj")]
    result = CliRunner().invoke(app, ["collect", "--import", *inputs, "--report", str(tmp_path / "logs"),
                                      "-o", str(out)])
    assert result.exit_code == 0, result.output
    [kept] = list(read_trajectories(out))
    assert kept.task.instance_id == "acme__calc-12" and kept.outcome.resolved is True
    assert "1 not resolved" in result.output


@pytest.mark.parametrize("content, reason", [
    ("[1, 2]", "not a SWE-bench report"),
    ("{}", "not a SWE-bench report"),
    ('{"run_id": "x", "status": "done"}', "not a SWE-bench report"),
    ('{"resolved_ids": "a__a-1"}', "'resolved_ids' should be a list of instance ids"),
    ('{"resolved": [1, 2], "no_logs": []}', "'resolved' should be a list of instance ids"),
    ('{"a__a-1": {"resolved": "maybe"}}', "'resolved' of a__a-1 should be true or false"),
    ('{"resolved_ids": [', "not a readable JSON report"),
])
def test_a_report_of_another_shape_is_a_clear_error_naming_the_file(tmp_path, content, reason):
    path = tmp_path / "report.json"
    path.write_text(content)
    with pytest.raises(ValueError, match=re.escape(reason)) as error:
        load_report(path)
    assert str(error.value).startswith(f"{path}: ") and "\n" not in str(error.value)


def test_a_report_folder_without_report_files_is_an_error(tmp_path):
    (tmp_path / "results.txt").write_text("nothing")
    with pytest.raises(ValueError, match="per-instance report.json files under it; none found") as error:
        load_report(tmp_path)
    assert str(error.value).startswith(f"{tmp_path}: ")
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "report.json").write_text('{"x": {"resolved": null}}')
    with pytest.raises(ValueError, match=re.escape(f"{tmp_path / 'x' / 'report.json'}: 'resolved' of x")):
        load_report(tmp_path)


def test_swe_gym_sampled_rows_keep_the_git_patch_as_the_outcome_patch():
    """SWE-Gym sampled rows (OpenHands evaluation output) carry the patch only in test_result.git_patch."""
    fixtures = Path(__file__).parent / "fixtures"
    expected = [e for e in json.loads((fixtures / "expected_swe_gym.json").read_text()) if "patch" in e]
    path = Path(__file__).parent.parent / "trajectories" / "examples" / "swe_gym_sampled.jsonl"
    trajectories = {t.task.instance_id: t for t in import_files([path], resolved_only=False)}
    assert len(expected) == len(trajectories) == 2
    for entry in expected:
        outcome = trajectories[entry["instance_id"]].outcome
        assert outcome.patch == entry["patch"] and outcome.patch.startswith("diff --git")
        assert outcome.resolved is entry["resolved"]
