"""Every importer on a fixture written in that tool's real schema (trajectories/examples/), checked
against the exact steps expected (tests/fixtures/expected_*.json)."""

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from srl_swe.collect import Tally, collect_import, import_files
from srl_swe.formats import FORMATS, detect_format
from srl_swe.formats.common import BadRecord
from srl_swe.formats.sources import read_records
from srl_swe.steps import StepOptions, step_examples

EXAMPLES = Path(__file__).parent.parent / "trajectories" / "examples"
EXPECTED = [entry for path in sorted((Path(__file__).parent / "fixtures").glob("expected_*.json"))
            for entry in json.loads(path.read_text())]
"""Every ``tests/fixtures/expected_*.json``: one file per format or per defect class."""
FORMAT_OF_FILE = {"swe_agent": "swe-agent", "mini": "mini-swe-agent", "openhands": "openhands", "swe_gym": "swe-gym",
                  "swe_smith": "swe-smith", "nebius": "nebius", "r2e": "r2e-gym", "openai": "openai-chat", "s1k": "s1k"}


def records():
    """(expected, source, record) for every fixture record, matched by file and line."""
    for expected in EXPECTED:
        path = EXAMPLES / expected["file"]
        items = list(read_records(path))
        if expected["record"].startswith("line"):
            line = int(expected["record"].split()[1])
            source, record = next(item for item in items if item[0] == f"{path}:{line}")
        else:
            [(source, record)] = items
        yield pytest.param(expected, source, record, id=f"{expected['file']}:{expected['record'][:7]}")


@pytest.mark.parametrize("expected, source, record", list(records()))
def test_importer_gives_the_expected_steps(expected, source, record):
    name = expected.get("format") or next(fmt for prefix, fmt in FORMAT_OF_FILE.items()
                                          if expected["file"].startswith(prefix))
    assert detect_format(record) == name
    if expected.get("skip"):
        with pytest.raises(BadRecord):
            FORMATS[name].convert(record, source)
        return
    trajectory = FORMATS[name].convert(record, source)
    assert trajectory.provenance.source_format == name and trajectory.provenance.source == source
    assert trajectory.outcome.resolved == expected["resolved"]
    if "question" in expected:
        assert [step.action.text for step in trajectory.steps] == expected["steps"]
        assert trajectory.preamble == expected["preamble"] and trajectory.task.answer == expected["answer"]
        return
    assert [[step.action.tool, step.action.arguments] for step in trajectory.steps] == expected["steps"]
    assert trajectory.task.problem_statement == expected["problem_statement"]
    if expected["instance_id"] is not None:
        assert trajectory.task.instance_id == expected["instance_id"]


@pytest.mark.parametrize("path", sorted(p for p in EXAMPLES.rglob("*") if p.is_file() and "s1k" not in p.name))
def test_observations_and_prose_are_context_never_targets(path):
    for trajectory in import_files([path], resolved_only=False):
        assert any(step.observation for step in trajectory.steps), "tool outputs are kept as context"
        for example in step_examples(trajectory, StepOptions(targets="all")):
            for step in trajectory.steps:
                if step.observation and len(step.observation) > 20:
                    assert step.observation not in example["expert_action"]
                if step.thought and len(step.thought) > 20:
                    assert step.thought not in example["expert_action"]


def test_prose_before_a_call_becomes_the_thought():
    [trajectory] = list(import_files([EXAMPLES / "swe_smith_xml.jsonl"]))
    first = trajectory.steps[0]
    assert first.thought and "<function=" not in first.thought
    assert first.action.raw.startswith("<function=")


def test_several_calls_in_one_turn_become_consecutive_steps():
    [trajectory] = list(import_files([EXAMPLES / "mini_v2.traj.json"], resolved_only=False))
    tools = [step.action.tool for step in trajectory.steps]
    assert len(tools) == 5
    # the two calls of one turn each get their own tool result, in order
    assert all(step.observation is not None for step in trajectory.steps[:-1])


def test_whole_examples_folder_imports_with_per_format_counts(tmp_path):
    tally = collect_import([EXAMPLES], tmp_path / "all.jsonl", resolved_only=False)
    assert set(tally.kept) == set(FORMATS)
    assert tally.skipped == {("s1k", "not numbered steps"): 1, ("openhands", "unsupported action"): 1}
    resolved = Tally()
    kept = list(import_files([EXAMPLES], tally=resolved))
    assert all(t.outcome.resolved for t in kept)
    assert resolved.filtered[("swe-smith", "not resolved")] == 2
    assert resolved.filtered[("swe-agent", "resolution unknown (use --all to keep)")] == 7


def test_parquet_rows_import_like_jsonl(tmp_path):
    rows = [json.loads(line) for line in (EXAMPLES / "nebius.jsonl").read_text().splitlines()]
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "nebius.parquet")
    from_parquet = list(import_files([tmp_path / "nebius.parquet"], resolved_only=False))
    from_jsonl = list(import_files([EXAMPLES / "nebius.jsonl"], resolved_only=False))
    assert [t.steps for t in from_parquet] == [t.steps for t in from_jsonl]
    assert from_parquet[1].provenance.source == f"{tmp_path / 'nebius.parquet'}:row 1"
