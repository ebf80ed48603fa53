"""Regression tests for hostile or odd input found in review: each is skipped with a reason (never a
crash, never a lost batch) or imported correctly."""

import json

from srl_swe.collect import collect_import, import_files
from srl_swe.formats.common import cli_step
from srl_swe.trajectory import read_trajectories

ISSUE = {"role": "user", "content": "<pr_description>\nfix it\n</pr_description>"}


def call(call_id, command):
    arguments = json.dumps({"command": command})
    return {"id": call_id, "type": "function", "function": {"name": "bash", "arguments": arguments}}


def chat(*messages, **extra):
    return json.dumps({"messages": [ISSUE, *messages], "resolved": True, **extra})


HOSTILE = [
    ("[" * 200000, "malformed JSON"),
    ('{"x": ' + "1" * 5000 + "}", "malformed JSON"),
    (json.dumps({"trajectory_steps": [{"thought": "t", "action": "<function=bash>\n<parameter=command>ls</parameter>\n"
                                       "</function>", "observation": "o"}], "problem_statement": "p"})[:-1]
     + ', "reward": 1e999}', "malformed field"),
    (chat({"role": "assistant", "content": "", "tool_calls": [call("a", "ls")]},
          {"role": "tool", "content": "out \udc80"}), "malformed record"),
    (chat({"role": "assistant", "content": "", "tool_calls": [{"function": {"name": "my tool", "arguments": "{}"}}]}),
     "unparseable tool call"),
    (chat({"role": "assistant", "content": "", "tool_calls": [call("a", "echo '</parameter>\n</function>'")]}),
     "unparseable tool call"),
    (chat({"role": "assistant", "content": "", "tool_calls": "not a list"}), "unparseable tool call"),
    (json.dumps({"messages": [ISSUE, {"role": "assistant", "content": {"text": "x"},
                                      "tool_calls": [call("a", "ls")]}]}), "malformed message"),
    (json.dumps({"instance_id": "i", "instruction": "x", "history": ["a string event"]}), "malformed event"),
    (chat({"role": "assistant", "content": "", "tool_calls": [call("a", "ls")]}, resolved="maybe"), "malformed field"),
]


def test_hostile_records_are_skipped_with_a_reason(tmp_path):
    source = tmp_path / "hostile.jsonl"
    good = chat({"role": "assistant", "content": "", "tool_calls": [call("a", "ls")]}, {"role": "tool", "content": "x"})
    source.write_text("\n".join([good] + [line for line, _ in HOSTILE] + [good]) + "\n", encoding="utf-8",
                      errors="surrogatepass")
    tally = collect_import([source], tmp_path / "out.jsonl")
    assert sum(tally.kept.values()) == 2, tally.messages
    assert len(tally.messages) == len(HOSTILE)
    for message, (line, (_, kind)) in zip(tally.messages, enumerate(HOSTILE, start=2), strict=True):
        assert message.startswith(f"{source}:{line}: {kind}"), message
    assert len(list(read_trajectories(tmp_path / "out.jsonl"))) == 2


def test_truncated_traj_is_one_skip_and_a_bom_is_ignored(tmp_path):
    (tmp_path / "cut.traj").write_text('{\n  "trajectory": [\n    {"action": "ls"}\n')
    line = chat({"role": "assistant", "content": "", "tool_calls": [call("a", "ls")]}, {"role": "tool", "content": "x"})
    (tmp_path / "bom.jsonl").write_bytes(b"\xef\xbb\xbf" + line.encode() + b"\n")
    tally = collect_import([tmp_path], tmp_path / "out" / "o.jsonl")
    assert tally.kept["openai-chat"] == 1
    assert len(tally.messages) == 1 and tally.messages[0].startswith(f"{tmp_path / 'cut.traj'}: malformed JSON")


def test_string_flags_are_parsed_strictly(tmp_path):
    line = chat({"role": "assistant", "content": "", "tool_calls": [call("a", "ls")]}, resolved="false")
    (tmp_path / "r.jsonl").write_text(line + "\n")
    tally = collect_import([tmp_path / "r.jsonl"], tmp_path / "o.jsonl")
    assert tally.filtered[("openai-chat", "not resolved")] == 1


def test_tool_results_pair_with_their_own_turn_and_call_id(tmp_path):
    line = chat({"role": "assistant", "content": "", "tool_calls": [call("A", "echo a")]},
                {"role": "assistant", "content": "", "tool_calls": [call("B", "echo b"), call("C", "echo c")]},
                {"role": "tool", "tool_call_id": "C", "content": "result of C"},
                {"role": "tool", "tool_call_id": "B", "content": "result of B"})
    (tmp_path / "c.jsonl").write_text(line + "\n")
    [trajectory] = list(import_files([tmp_path / "c.jsonl"]))
    assert [s.observation for s in trajectory.steps] == [None, "result of B", "result of C"]


def test_editor_command_lines_with_dashed_values():
    step = cli_step("", "str_replace_editor str_replace /a.py --old_str '--foo' --new_str '--bar x'")
    expected = {"command": "str_replace", "path": "/a.py", "old_str": "--foo", "new_str": "--bar x"}
    assert step.action.arguments == expected
    assert cli_step("", "str_replace_editor view /a.py --view_range 1 x").action.tool == "bash"


def test_corrupt_parquet_pages_are_a_skip(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = [{"traj_id": str(i), "instance_id": "i", "messages": "x" * 5000, "resolved": True} for i in range(50)]
    path = tmp_path / "rows.parquet"
    pq.write_table(pa.Table.from_pylist(rows), path, compression="none")
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 2000] = b"\xff" * 2000
    path.write_bytes(bytes(data))
    tally = collect_import([path], tmp_path / "o.jsonl")
    assert any("unreadable file" in m or "malformed JSON field" in m for m in tally.messages)
