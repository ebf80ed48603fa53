"""Stream raw records out of input files: JSONL, JSON (one object or a list), Parquet, and folders.

Each yielded item is ``(source, record)`` where ``source`` names the place (``file:line`` for JSONL,
``file:row N`` for JSON lists and Parquet, the file name for a single JSON object) and ``record`` is the
decoded object, or a :class:`BadRecord` when that place could not be decoded — the caller counts it and
goes on. JSONL and Parquet are streamed (constant memory; Parquet through a buffered stream, so even one
huge row group stays far below its size); a JSON file is read whole, which suits ``.traj`` files (one
trajectory each). A JSON list whose items are all chat messages (``role``) or all OpenHands events is one
record, ``{"messages": [...]}`` or ``{"events": [...]}``: a bare chat or a saved trajectory, not N records.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from srl_swe.formats.common import BadRecord

JSONL_SUFFIXES = {".jsonl", ".ndjson"}
JSON_SUFFIXES = {".json", ".traj"}
PARQUET_SUFFIXES = {".parquet"}
READABLE = JSONL_SUFFIXES | JSON_SUFFIXES | PARQUET_SUFFIXES

Item = tuple[str, "dict[str, Any] | BadRecord"]


def read_rows(path: Path, parse: Callable[[dict[str, Any]], Any] | None = None) -> list[Any]:
    """Every record of one file, each passed through ``parse`` when given; ValueError naming the place
    (``file:line``, ``file:row N``) of the first one that cannot be decoded or that ``parse`` rejects with
    a ValueError (for task and benchmark files, where a bad row must stop the run rather than be skipped)."""
    rows = []
    for where, record in read_records(path):
        if isinstance(record, Exception):
            raise ValueError(f"{where}: {record}")
        try:
            rows.append(parse(record) if parse else record)
        except ValueError as exc:
            raise ValueError(f"{where}: {exc}") from None
    return rows


def input_files(paths: list[Path]) -> Iterator[Path]:
    """The files to read: folders are walked (sorted) for JSONL/JSON/.traj/Parquet files and other
    suffixes in them are ignored; a file named explicitly is always read (its content decides)."""
    for path in paths:
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in READABLE)
        else:
            yield path


def read_records(path: Path) -> Iterator[Item]:
    """Yield the records of one file (see module docstring)."""
    if not path.exists():
        yield str(path), BadRecord("unreadable file", "no such file")
        return
    suffix = path.suffix.lower()  # compressed files (.gz) are not read: decompress them first
    try:
        if suffix in PARQUET_SUFFIXES:
            yield from _parquet_records(path)
        elif suffix in JSONL_SUFFIXES:
            yield from _jsonl_records(path)
        else:
            yield from _json_or_jsonl_records(path)
    except OSError as exc:  # no permission, an I/O error: the rest of the file is one skip
        yield str(path), BadRecord("unreadable file", exc.strerror or str(exc))


def _jsonl_records(path: Path) -> Iterator[Item]:
    with open(path, "rb") as handle:
        for number, line in enumerate(handle, start=1):
            if line.strip():
                yield f"{path}:{number}", _decode(line.removeprefix(BOM) if number == 1 else line)


BOM = b"\xef\xbb\xbf"


def _loads(data: bytes) -> Any:
    """json.loads that reports every failure as BadRecord (bad UTF-8, syntax, absurd nesting or numbers)."""
    try:
        return json.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise BadRecord("not UTF-8", f"invalid byte at offset {exc.start}") from None
    except json.JSONDecodeError as exc:
        raise BadRecord("malformed JSON", f"{exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except (ValueError, RecursionError) as exc:
        raise BadRecord("malformed JSON", str(exc)[:200]) from None


def _decode(data: bytes) -> dict[str, Any] | BadRecord:
    try:
        value = _loads(data)
    except BadRecord as error:
        return error
    if not isinstance(value, dict):
        return BadRecord("malformed JSON", f"expected an object, got {type(value).__name__}")
    return value


def _json_or_jsonl_records(path: Path) -> Iterator[Item]:
    """A ``.json``/``.traj`` file: one object, a list of objects, or (misnamed) JSON lines."""
    data = path.read_bytes().removeprefix(BOM)
    try:
        value = _loads(data)
    except BadRecord as error:
        if error.kind == "malformed JSON" and _looks_like_jsonl(data):
            yield from _jsonl_records(path)
        else:  # e.g. a truncated .traj: one message for the file, not one per line
            yield str(path), error
        return
    if isinstance(value, dict):
        yield str(path), value
    elif _is_message_list(value):  # a bare chat (mini-swe-agent can save one): one trajectory, not N records
        yield str(path), {"messages": value}
    elif _is_event_list(value):  # an OpenHands saved trajectory (its replay format): one trajectory too
        yield str(path), {"events": value}
    elif isinstance(value, list):
        for row, item in enumerate(value):
            ok = isinstance(item, dict)
            yield f"{path}:row {row}", item if ok else BadRecord("malformed JSON", "list item is not an object")
    else:
        yield str(path), BadRecord("malformed JSON", f"top level is a {type(value).__name__}")


def _is_message_list(value: Any) -> bool:
    """A JSON list that is one chat's messages (every item an object with a ``role``), not a list of records."""
    return isinstance(value, list) and bool(value) and all(isinstance(m, dict) and "role" in m for m in value)


def _is_event_list(value: Any) -> bool:
    """A JSON list of OpenHands events (every item one, by ``srl_swe.formats.openhands.is_event``)."""
    from srl_swe.formats.openhands import is_event

    return isinstance(value, list) and bool(value) and all(is_event(item) for item in value)


def _looks_like_jsonl(data: bytes) -> bool:
    first = next((line for line in data.splitlines() if line.strip()), b"")
    return isinstance(_decode(first), dict)


def _parquet_records(path: Path, batch_size: int = 256) -> Iterator[Item]:
    import pyarrow.parquet as pq

    try:
        reader = pq.ParquetFile(path, buffer_size=1 << 20, pre_buffer=False)
    except Exception as exc:  # pyarrow raises several types for a corrupt file
        yield str(path), BadRecord("unreadable file", f"not a Parquet file ({exc})")
        return
    row = 0
    try:
        for batch in reader.iter_batches(batch_size=batch_size):
            for record in batch.to_pylist():
                yield f"{path}:row {row}", record
                row += 1
    except Exception as exc:  # corrupt data pages surface only while reading
        yield f"{path}:row {row}", BadRecord("unreadable file", f"Parquet data from row {row} on: {exc}")
