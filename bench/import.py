"""Benchmark: ``collect_import`` streams — a ~1 GB JSONL and a ~1 GB Parquet of real-shaped trajectories are
imported in a subprocess each; we report MB/s and peak RSS (target: peak RSS < 1 GB whatever the input size).

The rows are the fixtures' own records (trajectories/examples: OpenAI tool-call chats, SWE-Gym sampled and
SFT rows, SWE-smith rows; the Parquet file holds nebius SWE-rebench-openhands rows, uniform structs as on
the Hub) with each tool output lengthened to a realistic 1–24 KB, so a row weighs ~50 KB, as SWE-Gym's
sampled rows do (6k rows, 300 MB). Parquet row groups hold ``--row-group-rows`` rows (1,000: what
``datasets`` writes). The baseline, in the same run, is what a user would otherwise load the files with:
``pandas.read_json(lines=True)`` and ``pyarrow.parquet.read_table(...).to_pylist()`` — reading only, no
conversion. Last line: one JSON object.
``--mb`` sets the size of each file (e.g. ``--mb 20`` for a quick run).
"""

from __future__ import annotations

import argparse
import copy
import json
import random
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from srl_swe.resources import examples_dir

EXAMPLES = examples_dir()
JSONL_TEMPLATES = ["openai_chat.jsonl", "swe_gym_sampled.jsonl", "swe_gym_sft.jsonl", "swe_smith_tool.jsonl",
                   "swe_smith_xml.jsonl"]
PARQUET_TEMPLATE = ("openai_chat.jsonl", 2)  # the nebius SWE-rebench-openhands row: uniform message structs

sys.path.insert(0, str(Path(__file__).parent))
from steps import measure  # noqa: E402 - bench/steps.py: wall time and peak RSS of a subprocess

IMPORT = """
import json, sys
from pathlib import Path
from srl_swe.collect import collect_import
tally = collect_import([Path(sys.argv[1])], Path(sys.argv[2]), resolved_only=False)
Path(sys.argv[3]).write_text(json.dumps({"records": tally.records, "written": tally.written,
                                         "skipped": tally.total_skipped, "steps": sum(tally.steps.values())}))
"""

BASELINE = """
import sys
if sys.argv[1].endswith(".parquet"):
    import pyarrow.parquet as pq
    rows = pq.read_table(sys.argv[1]).to_pylist()
else:
    import pandas as pd
    rows = pd.read_json(sys.argv[1], lines=True)
print(len(rows), file=sys.stderr)
"""


def observations(seed: int = 0, count: int = 64) -> list[str]:
    """Tool outputs of 1–24 KB shaped like ``cat -n`` listings and pytest logs."""
    rng = random.Random(seed)
    blocks = []
    for index in range(count):
        size, lines = rng.randint(1_000, 24_000), []
        while sum(map(len, lines)) < size:
            n = len(lines) + 1
            lines.append(f"{n:6}\t    def method_{index}_{n}(self, value: int) -> int:  # {rng.random():.6f}"
                         if index % 2 else f"tests/test_mod_{index}.py::test_case_{n} PASSED [{n % 100:3}%]")
        blocks.append("\n".join(lines))
    return blocks


def _pad_message(message: dict, text: str) -> None:
    content = message.get("content")
    if isinstance(content, str):
        message["content"] = content + "\n" + text
    elif isinstance(content, list) and content and isinstance(content[-1], dict):
        content[-1]["text"] = content[-1].get("text", "") + "\n" + text


def lengthen(record: dict, blocks: list[str], rng: random.Random, number: int) -> dict:
    """A copy of a fixture record whose tool outputs (tool turns, user turns after the task) are longer and
    whose instance id is unique; the record's shape is unchanged."""
    row = copy.deepcopy(record)
    key = "messages" if "messages" in row else "trajectory"
    encoded = isinstance(row[key], str)  # SWE-smith stores messages as a JSON string
    messages = json.loads(row[key]) if encoded else row[key]
    seen_task = False
    for message in messages:
        if message.get("role") in ("tool", "user"):
            if seen_task:  # a unique line first: no two outputs are equal, as in real dumps (no dictionary pages)
                _pad_message(message, f"[{number}:{rng.random()}]\n{rng.choice(blocks)[rng.randrange(500):]}")
            seen_task = True
    row[key] = json.dumps(messages) if encoded else messages
    if row.get("instance_id"):
        row["instance_id"] = f"{row['instance_id']}-{number}"
    return row


def template_records(names: list[str]) -> list[dict]:
    return [json.loads(line) for name in names for line in (EXAMPLES / name).read_text().splitlines() if line]


def rows(templates: list[dict], target_bytes: int) -> Iterator[tuple[dict, int]]:
    """Lengthened rows, cycling through the templates, until about ``target_bytes`` of JSON were yielded."""
    rng, blocks, total, number = random.Random(1), observations(), 0, 0
    while total < target_bytes:
        row = lengthen(templates[number % len(templates)], blocks, rng, number)
        size = len(json.dumps(row, ensure_ascii=False).encode())
        total += size
        number += 1
        yield row, size


def write_jsonl(path: Path, target_bytes: int) -> tuple[int, int]:
    """Rows of every JSONL template in turn; (rows, bytes of JSON)."""
    count = total = 0
    with open(path, "w", encoding="utf-8") as handle:
        for row, size in rows(template_records(JSONL_TEMPLATES), target_bytes):
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
            count, total = count + 1, total + size
    return count, total


def write_parquet(path: Path, target_bytes: int, row_group_rows: int) -> tuple[int, int]:
    """Rows of the nebius shape in row groups of ``row_group_rows`` (one group held in memory at a time);
    (rows, bytes of the same rows as JSON)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    name, line = PARQUET_TEMPLATE
    template = json.loads((EXAMPLES / name).read_text().splitlines()[line - 1])
    writer, group, count, total = None, [], 0, 0
    for row, size in rows([template], target_bytes):
        group.append(row)
        count, total = count + 1, total + size
        if len(group) == row_group_rows:
            writer = _write_group(writer, path, group, pa, pq)
            group = []
    if group:
        writer = _write_group(writer, path, group, pa, pq)
    writer.close()
    return count, total


def _write_group(writer, path: Path, group: list[dict], pa, pq):
    table = pa.Table.from_pylist(group) if writer is None else pa.Table.from_pylist(group, schema=writer.schema)
    writer = writer or pq.ParquetWriter(path, table.schema)
    writer.write_table(table, row_group_size=len(group))
    return writer


def run_import(path: Path, json_bytes: int, tmp: Path) -> dict:
    """Import one file in a subprocess: its size (as JSON and on disk), seconds, MB/s of JSON, peak RSS and
    what the import counted."""
    counts = tmp / f"{path.name}.counts.json"
    seconds, rss = measure([sys.executable, "-c", IMPORT, str(path), str(tmp / f"{path.name}.out.jsonl"), str(counts)])
    mb = json_bytes / 1e6
    return {"json_mb": round(mb), "file_mb": round(path.stat().st_size / 1e6), "seconds": round(seconds, 2),
            "mb_per_s": round(mb / seconds, 1),
            "peak_rss_gb": round(rss / 2**30, 3), **json.loads(counts.read_text())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mb", type=float, default=1000, help="size of each input file in MB (default 1000)")
    parser.add_argument("--row-group-rows", type=int, default=1000, help="Parquet rows per row group")
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument("--tmp", type=Path, default=None, help="folder for the generated files (default: a temp dir)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.tmp) as name:
        tmp, result = Path(name), {}
        for kind, path, write in (("jsonl", Path(name) / "rows.jsonl", write_jsonl),
                                  ("parquet", Path(name) / "rows.parquet", write_parquet)):
            start = time.perf_counter()
            extra = (args.row_group_rows,) if kind == "parquet" else ()
            count, json_bytes = write(path, int(args.mb * 1e6), *extra)
            print(f"{kind}: {count} rows, {json_bytes / 1e6:.0f} MB of JSON, {path.stat().st_size / 1e6:.0f} MB "
                  f"file, in {time.perf_counter() - start:.1f} s", file=sys.stderr)
            result[kind] = {"rows": count, **run_import(path, json_bytes, tmp)}
            if not args.no_baseline:
                base_s, base_rss = measure([sys.executable, "-c", BASELINE, str(path)])
                result[kind].update(baseline_seconds=round(base_s, 2), baseline_peak_rss_gb=round(base_rss / 2**30, 3),
                                    memory_ratio=round(base_rss / (result[kind]["peak_rss_gb"] * 2**30), 2))
            print(json.dumps({kind: result[kind]}), file=sys.stderr)
            path.unlink()
    result["target_met"] = all(part["peak_rss_gb"] < 1 for part in result.values())
    print(json.dumps(result))


if __name__ == "__main__":
    main()
