"""The official side of grading: swebench's own harness (``run_evaluation``) on a run's predictions, and what
its summary and logs say about each instance."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path


def grade_with_harness(out: Path, model: str, run_id: str, dataset: tuple[str, str], ids: list[str],
                       workers: int = 1, timeout: int = 1800) -> dict[str, tuple[str, str]]:
    """Run swebench's ``run_evaluation`` on ``out/predictions.jsonl`` (a subprocess whose working folder is
    ``out``: its logs land in ``out/logs/``, its output in ``out/harness.log``) for the instances ``ids`` of
    ``dataset`` (name or path, split); {instance_id: (status, reason)}, the reason of an ``error`` ending with
    the last lines of the harness's own log for it (``log_tail``)."""
    if not ids:
        return {}
    name, split = dataset
    command = [sys.executable, "-m", "swebench.harness.run_evaluation", "--dataset_name", name, "--split", split,
               "--predictions_path", str((out / "predictions.jsonl").resolve()), "--max_workers",
               str(workers), "--run_id", run_id, "--timeout", str(timeout),
               "--report_dir", str(out.resolve()), "--instance_ids", *ids]
    # every instance gets --timeout for its tests; images, containers and reports get as long again
    limit = 2 * timeout * -(-len(ids) // max(1, workers)) + 600
    with open(out / "harness.log", "a", encoding="utf-8") as log:
        try:
            subprocess.run(command, cwd=out, stdout=log, stderr=subprocess.STDOUT, check=False, timeout=limit)
        except subprocess.TimeoutExpired:
            return {iid: ("error", f"the harness did not finish within {limit} s (see harness.log)") for iid in ids}
    instances = out / "logs" / "run_evaluation" / run_id / model.replace("/", "__")
    verdicts = harness_verdicts(out / f"{model.replace('/', '__')}.{run_id}.json")
    verdicts.update({iid: verdict for iid, verdict in instance_verdicts(instances, out / "predictions.jsonl").items()
                     if iid in ids and iid not in verdicts})
    verdicts.update({iid: ("error", "the harness reported no result") for iid in ids if iid not in verdicts})
    for iid, (status, reason) in verdicts.items():
        if status == "error":
            log = instances / iid / "run_instance.log"
            said = log_tail(log if log.exists() else out / "harness.log")
            verdicts[iid] = (status, f"{reason}: {said}" if said else reason)
    return verdicts


def instance_verdicts(instances: Path, predictions: Path) -> dict[str, tuple[str, str]]:
    """{instance_id: (status, reason)} from the harness's per-instance ``report.json`` files under ``instances``
    (``logs/run_evaluation/RUN/MODEL``) and the empty patches of ``predictions``: what a run graded even when the
    harness died before its summary (its final report lists every container of the engine and dies when another
    run removes one meanwhile)."""
    verdicts: dict[str, tuple[str, str]] = {}
    for path in sorted(instances.glob("*/report.json")):
        try:
            report = json.loads(path.read_text()).get(path.parent.name, {})
        except (OSError, ValueError):
            continue
        if report.get("resolved") is True:
            verdicts[path.parent.name] = ("resolved", "")
        elif report.get("patch_successfully_applied"):
            verdicts[path.parent.name] = ("unresolved", "")
    if predictions.exists():
        for line in predictions.read_text().splitlines():
            row = json.loads(line) if line.strip() else {}
            if row and not (row.get("model_patch") or "").strip():
                verdicts.setdefault(row["instance_id"], ("empty_patch", ""))
    return verdicts


HARNESS_CHATTER = ("traceback (most recent call last)", "attempting to stop", "attempting to remove",
                   "stopped successfully", "removed successfully", "killed successfully", "forcefully killing",
                   "check (logs/")
LOG_PREFIX = re.compile(r"^\d{4}-\d\d-\d\d [\d:,.]+ - [A-Z]+ - ")  # swebench's logger: "2025-… - INFO - "


def log_tail(path: Path, lines: int = 3, limit: int = 300) -> str:
    """The last ``lines`` meaningful lines of a harness log on one line, at most ``limit`` characters (the
    end kept); "" when there is no such file or line. Meaningful: not blank, not a traceback's indented frames,
    not container clean-up; swebench's logger prefix is dropped."""
    try:
        with open(path, "rb") as handle:
            handle.seek(max(0, handle.seek(0, 2) - 65536))
            text = handle.read().decode("utf-8", "replace")
    except OSError:
        return ""
    kept = [LOG_PREFIX.sub("", line).strip() for line in text.splitlines() if line.strip() and not line[0].isspace()
            and not any(word in line.lower() for word in HARNESS_CHATTER)]
    said = " ⏎ ".join(line for line in kept[-lines:] if line)
    return said if len(said) <= limit else "…" + said[-(limit - 1):]


def harness_verdicts(summary_path: Path) -> dict[str, tuple[str, str]]:
    """{instance_id: (status, reason)} from swebench's summary JSON (missing file → {}): its errors (a
    patch that did not apply, tests that did not run or timed out) become ``error``; an empty patch, which the
    harness does not run, ``empty_patch``."""
    if not summary_path.exists():
        return {}
    summary = json.loads(summary_path.read_text())
    logs = f"see logs/run_evaluation/{summary_path.stem.rsplit('.', 1)[-1]}/"
    verdicts = {iid: ("error", f"the harness could not apply the patch or run the tests ({logs})")
                for iid in summary.get("error_ids", [])}
    verdicts.update({iid: ("empty_patch", "") for iid in summary.get("empty_patch_ids", [])})
    verdicts.update({iid: ("unresolved", "") for iid in summary.get("unresolved_ids", [])})
    verdicts.update({iid: ("resolved", "") for iid in summary.get("resolved_ids", [])})
    return verdicts


