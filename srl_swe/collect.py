"""Collect expert trajectories into the canonical JSONL: import public dumps (live collection in
containers slots in beside it).

Contract of :func:`import_files`: every input record either becomes a trajectory, is *filtered* (a valid
trajectory the user asked to leave out, e.g. unresolved ones under ``resolved_only``), or is *skipped*
with a message ``source: reason`` — never a crash. The :class:`Tally` counts all three per format.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from srl_swe.formats import importer
from srl_swe.formats.common import BadRecord
from srl_swe.formats.sources import input_files, read_records
from srl_swe.trajectory import Trajectory, atomic_output

UNKNOWN = "?"


@dataclass
class Tally:
    """Per-format counts of what an import kept, filtered and skipped, with every skip message."""

    kept: Counter = field(default_factory=Counter)
    steps: Counter = field(default_factory=Counter)
    filtered: Counter = field(default_factory=Counter)
    skipped: Counter = field(default_factory=Counter)
    messages: list[str] = field(default_factory=list)
    records: int = 0
    """Records decoded from the inputs (0: nothing at all could be read)."""
    written: int = 0
    """Trajectories written to the output (0: the output was left as it was)."""

    def skip(self, fmt: str, source: str, error: BadRecord) -> None:
        self.skipped[(fmt, error.kind)] += 1
        self.messages.append(f"{source}: {error}")

    @property
    def total_skipped(self) -> int:
        return sum(self.skipped.values())

    def formats(self) -> list[str]:
        names = set(self.kept) | {f for f, _ in self.filtered} | {f for f, _ in self.skipped}
        return sorted(names)


def load_report(path: Path) -> dict[str, bool]:
    """instance_id → resolved from SWE-bench evaluation results, in every shape the tools write:

    - a run summary — swebench ``run_evaluation``'s ``MODEL.RUN_ID.json``, sb-cli's ``SUBSET__SPLIT__RUN.json``:
      ``resolved_ids`` are True; ``unresolved_ids``, ``error_ids``, ``empty_patch_ids`` False;
    - the experiments repositories' ``results/results.json``: ids in ``resolved`` are True, ids in any other
      list False (``no_generation``, ``no_logs``; before v2 also ``generated``, ``applied``, ``test_errored`` …,
      which include the resolved ones), also per repository (``{repo: {category: [ids]}}``);
    - per-instance reports ``{instance_id: {"resolved": bool, …}}`` — swebench's
      ``logs/run_evaluation/RUN/MODEL/ID/report.json``, the experiments' ``per_instance_details.json``;
    - a folder: every ``report.json`` under it, merged.

    Instances a file does not name stay unknown (a v2 ``results.json`` names only resolved ones and the two
    failure kinds; incomplete runs are not graded). ValueError naming the file for anything else."""
    path = Path(path)
    if not path.is_dir():
        return _report_verdicts(path, _read_report(path))
    verdicts: dict[str, bool] = {}
    reports = sorted(path.rglob("report.json"))
    if not reports:
        raise ValueError(f"{path}: a report folder needs per-instance report.json files under it; none found")
    for report in reports:
        verdicts.update(_report_verdicts(report, _read_report(report)))
    return verdicts


_REPORT_SHAPES = ("expected a run summary ('resolved_ids': [...]), an experiments results.json "
                  "('resolved': [...]) or per-instance reports ({instance_id: {'resolved': true}})")


def _read_report(path: Path) -> object:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: not a readable JSON report ({exc})") from None


def _report_verdicts(path: Path, report: object) -> dict[str, bool]:
    """The verdicts of one decoded report file, by its shape (see :func:`load_report`)."""
    if not isinstance(report, dict) or not report:
        raise ValueError(f"{path}: not a SWE-bench report: {_REPORT_SHAPES}")
    if "resolved_ids" in report:
        lists = {key: _ids(path, report, key) for key in ("unresolved_ids", "error_ids", "empty_patch_ids")}
        return _verdicts(_ids(path, report, "resolved_ids"), *lists.values())
    if "resolved" in report:
        return _category_verdicts(path, report)
    entries = list(report.values())
    if all(isinstance(entry, dict) and isinstance(entry.get("resolved"), list) for entry in entries):
        verdicts: dict[str, bool] = {}
        for repo, categories in report.items():
            verdicts.update(_category_verdicts(path, categories, f"{repo}."))
        return verdicts
    if all(isinstance(entry, dict) and "resolved" in entry for entry in entries):
        return {str(iid): _instance_verdict(path, iid, entry["resolved"]) for iid, entry in report.items()}
    raise ValueError(f"{path}: not a SWE-bench report: {_REPORT_SHAPES}")


def _category_verdicts(path: Path, report: dict, where: str = "") -> dict[str, bool]:
    others = [_ids(path, report, key, where) for key, value in report.items()
              if key != "resolved" and isinstance(value, list)]
    return _verdicts(_ids(path, report, "resolved", where), *others)


def _verdicts(resolved: list[str], *failed: list[str]) -> dict[str, bool]:
    verdicts = {iid: False for ids in failed for iid in ids}
    verdicts.update(dict.fromkeys(resolved, True))
    return verdicts


def _ids(path: Path, report: dict, key: str, where: str = "") -> list[str]:
    value = report.get(key)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(iid, str) for iid in value):
        raise ValueError(f"{path}: '{where}{key}' should be a list of instance ids")
    return value


def _instance_verdict(path: Path, instance_id: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{path}: 'resolved' of {instance_id} should be true or false, got {str(value)[:40]!r}")
    return value


def keep_reason(trajectory: Trajectory, resolved_only: bool) -> str | None:
    """Why a valid trajectory is filtered out, or None to keep it."""
    if not resolved_only or trajectory.outcome.resolved is True:
        return None
    if trajectory.outcome.resolved is False:
        return "not resolved"
    return "resolution unknown (use --all to keep)"


def import_files(
    paths: list[Path],
    fmt: str = "auto",
    resolved_only: bool = True,
    tally: Tally | None = None,
    on_file: Callable[[Path], None] | None = None,
    verdicts: dict[str, bool] | None = None,
) -> Iterator[Trajectory]:
    """Stream trajectories from every record of every input file (see module docstring). ``verdicts``
    (from :func:`load_report`) sets ``resolved`` for the instances it names."""
    tally = tally if tally is not None else Tally()
    for path in input_files(paths):
        if on_file is not None:
            on_file(path)
        empty = True
        for source, record in read_records(path):
            empty = False
            tally.records += not isinstance(record, BadRecord)
            trajectory = _convert(source, record, fmt, tally)
            if trajectory is None:
                continue
            if verdicts and trajectory.task.instance_id in verdicts:
                resolved = verdicts[trajectory.task.instance_id]
                trajectory.outcome = trajectory.outcome.model_copy(update={"resolved": resolved})
            name = trajectory.provenance.source_format
            reason = keep_reason(trajectory, resolved_only)
            if reason:
                tally.filtered[(name, reason)] += 1
                continue
            tally.kept[name] += 1
            tally.steps[name] += len(trajectory.steps)
            yield trajectory
        if empty:
            tally.skip(UNKNOWN, str(path), BadRecord("empty file"))


def _convert(source: str, record, fmt: str, tally: Tally) -> Trajectory | None:
    if isinstance(record, BadRecord):
        tally.skip(UNKNOWN, source, record)
        return None
    name = UNKNOWN
    try:
        module = importer(record, fmt)
        name = module.NAME
        return module.convert(record, source)
    except BadRecord as error:
        tally.skip(name, source, error)
    except Exception as error:  # noqa: BLE001 - a wrong type deep inside a record: report it, never crash the run
        tally.skip(name, source, _malformed(error))
    return None


def _malformed(error: Exception) -> BadRecord:
    detail = " ".join(str(error).split())[:300]
    return BadRecord("malformed record", f"{type(error).__name__}: {detail}")


def collect_import(
    paths: list[Path], out: Path, fmt: str = "auto", resolved_only: bool = True, strict: bool = False,
    on_file: Callable[[Path], None] | None = None, verdicts: dict[str, bool] | None = None,
) -> Tally:
    """Import ``paths`` into ``out`` atomically. ``out`` is replaced only by a complete, non-empty result:
    when nothing is kept (``tally.written == 0``), or under ``strict`` any record is skipped, ``out`` is
    left as it was (every problem is still reported) and the caller exits non-zero. OSError (a full disk)
    also leaves ``out`` as it was."""
    tally = Tally()
    try:
        with atomic_output(out) as handle:
            for trajectory in import_files(paths, fmt, resolved_only, tally, on_file, verdicts):
                try:
                    line = trajectory.model_dump_json(by_alias=True)
                except ValueError as error:  # text JSON cannot carry it (a lone surrogate): skip, keep going
                    _unkeep(tally, trajectory, error)
                    continue
                handle.write(line + "\n")
                tally.written += 1
            if not tally.written or (strict and tally.total_skipped):
                raise _Rejection  # aborts the atomic write: the temporary file is removed
    except _Rejection:
        tally.written = 0
    return tally


def _unkeep(tally: Tally, trajectory: Trajectory, error: Exception) -> None:
    name = trajectory.provenance.source_format
    tally.kept[name] -= 1
    tally.steps[name] -= len(trajectory.steps)
    tally.skip(name, trajectory.provenance.source, _malformed(error))


class _Rejection(Exception):
    pass
