"""Bad input never crashes an import and never loses data: every bad record is skipped with a message
naming file:line (or row) and the reason, counted in the summary; --strict makes any skip fatal."""

import json
import subprocess
import sys

import pyarrow as pa
import pyarrow.parquet as pq
from typer.testing import CliRunner

from srl_swe.cli import app
from srl_swe.collect import collect_import
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
