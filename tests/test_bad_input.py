"""The bad-input corpus: every kind of bad input a user has typed, run through the real CLI.

Each case must end with exit code 2 (or the documented non-zero code), a one-line message naming the file,
option or field, no traceback, and every file that existed before byte-identical afterwards (no output is
ever clobbered, no temporary file left). A full disk is a real small tmpfs (root; CI runs as root).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from typer.testing import CliRunner

from srl_swe.cli import app
from srl_swe.collect import collect_import

ROOT = Path(__file__).parent.parent
EXAMPLES = ROOT / "trajectories" / "examples"
INVENTORY = ROOT / "sandboxes" / "inventory"


@dataclass
class Case:
    argv: list[str]
    names: list[str]
    """What the one-line message must name (all on one line of the output)."""
    code: int = 2
    env: dict[str, str | None] = field(default_factory=dict)


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    """Shared inputs: a canonical JSONL, a step folder built from it, and a stand-in model folder."""
    root = tmp_path_factory.mktemp("inputs")
    collect_import([EXAMPLES / "swe_agent_1x"], root / "good.jsonl", resolved_only=False)
    result = CliRunner().invoke(app, ["steps", str(root / "good.jsonl"), "-o", str(root / "steps"),
                                      "--include-unresolved"])  # an example of unknown resolution
    assert result.exit_code == 0, result.output
    (root / "model").mkdir()
    (root / "model" / "config.json").write_text("{}")  # data errors come before any model loads
    return root


def truncated(source: Path, target: Path) -> Path:
    target.write_bytes(source.read_bytes()[: source.stat().st_size // 2])
    return target


def train_config(tmp: Path, inputs: Path, **changes) -> Path:
    raw = {"method": "srl", "model": {"path": str(inputs / "model")}, "data": {"path": str(inputs / "steps"),
           "validation_trajectories": 0}, "output_dir": str(tmp / "run"), "use_cpu": True,
           "srl": {"batch_size": 4, "num_generations": 2, "per_device_batch_size": 8}}
    path = tmp / "train.yaml"
    path.write_text(json.dumps({**raw, **changes}))
    return path


def broken_steps(tmp: Path, data: Path, name: str) -> Path:
    folder = tmp / "broken"
    shutil.copytree(data / "steps", folder)
    truncated(data / "steps" / name, folder / name)
    return folder


def task_rows(tmp: Path) -> Path:
    rows = [json.loads(line) for line in (INVENTORY / "tasks.jsonl").read_text().splitlines()[:2]]
    del rows[1]["problem_statement"]
    path = tmp / "tasks.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def live(tmp: Path, *extra: str) -> list[str]:
    return ["collect", "--tasks", str(INVENTORY), "--sandbox", "local", "-o", str(tmp / "out.jsonl"), *extra]


def imported(tmp: Path, *inputs: Path | str) -> list[str]:
    return ["collect", *[arg for path in inputs for arg in ("--import", str(path))], "-o", str(tmp / "out.jsonl")]


def _write(path: Path, content: bytes | str) -> Path:
    path.write_bytes(content) if isinstance(content, bytes) else path.write_text(content)
    return path


def folder_with(folder: Path, name: str) -> Path:
    folder.mkdir()
    _write(folder / name, "the user's own file")
    return folder


OFFLINE = {"HF_HUB_OFFLINE": "1", "HTTPS_PROXY": None, "https_proxy": None}
UNREACHABLE = {"HF_HUB_OFFLINE": None, "TRANSFORMERS_OFFLINE": None, "HF_ENDPOINT": "http://127.0.0.1:9",
               "HTTPS_PROXY": None, "https_proxy": None}
CASES: dict[str, Callable[[Path, Path], Case]] = {
    # collect --import: inputs checked before anything is written; nothing read or kept → output untouched
    "import-missing-input": lambda t, d: Case(imported(t, t / "typo-nope.jsonl"), ["--import", "typo-nope.jsonl"]),
    "import-empty-input": lambda t, d: Case(imported(t, _write(t / "empty.jsonl", "")),
                                            ["empty.jsonl", "nothing could be read", "left as it was"]),
    "import-binary-input": lambda t, d: Case(imported(t, _write(t / "noise.jsonl", b"\x00\xff\xfe" * 1000)),
                                             ["noise.jsonl", "nothing could be read"]),
    "import-truncated-traj": lambda t, d: Case(imported(t, truncated(EXAMPLES / "swe_agent_0x.traj", t / "cut.traj")),
                                               ["cut.traj", "nothing could be read"]),
    "import-truncated-parquet": lambda t, d: Case(imported(t, truncated(d / "steps" / "sft.parquet",
                                                                        t / "cut.parquet")),
                                                  ["cut.parquet", "nothing could be read"]),
    "import-folder-without-dumps": lambda t, d: Case(imported(t, folder_with(t / "docs", "README.md")),
                                                     ["nothing could be read", "docs"]),
    "import-nothing-kept": lambda t, d: Case(imported(t, EXAMPLES / "swe_agent_0x.traj"),
                                             ["no trajectory was kept", "out.jsonl was left as it was"], code=1),
    "import-out-is-a-folder": lambda t, d: Case(["collect", "--import", str(d / "good.jsonl"), "-o", str(t)],
                                                ["'-o' / '--out'", "is a folder"]),
    # steps: -o must be new, empty or a step folder; nothing read → the old folder stays
    "steps-out-is-a-file": lambda t, d: Case(["steps", str(d / "good.jsonl"), "-o", str(t / "out.jsonl")],
                                             ["'-o' / '--out'", "out.jsonl is a file"]),
    "steps-out-is-a-foreign-folder": lambda t, d: Case(
        ["steps", str(d / "good.jsonl"), "-o", str(folder_with(t / "mine", "notes.txt"))],
        ["'-o' / '--out'", "not a step folder", "notes.txt"]),
    "steps-nothing-read": lambda t, d: Case(["steps", str(_write(t / "empty.jsonl", "")), "-o", str(t / "steps")],
                                            ["no trajectory could be read", "steps was left as it was"]),
    "steps-missing-input": lambda t, d: Case(["steps", str(t / "nope.jsonl"), "-o", str(t / "steps")],
                                             ["no such file", "nope.jsonl"]),
    # collect --tasks: selection options, task rows, model specs
    "filter-bad-regex": lambda t, d: Case(live(t, "--filter", "("), ["--filter '('", "regular expression"]),
    "slice-not-numbers": lambda t, d: Case(live(t, "--slice", "a:b"), ["--slice 'a:b'", "START:STOP"]),
    "task-row-missing-field": lambda t, d: Case(
        ["collect", "--tasks", str(task_rows(t)), "--sandbox", "local", "-o", str(t / "out.jsonl")],
        ["tasks.jsonl:2: field problem_statement: missing"]),
    "replay-is-an-object": lambda t, d: Case(live(t, "--expert", f"replay:{_write(t / 'r.json', '{}')}"),
                                             ["r.json", "expected a JSON list", "JSON object"]),
    "replay-missing": lambda t, d: Case(live(t, "--expert", f"replay:{t / 'nope.json'}"),
                                        ["replay:", "nope.json", "cannot read"]),
    "hf-offline": lambda t, d: Case(live(t, "--expert", "hf:nope/model"), ["hf:nope/model", "HF_HUB_OFFLINE"],
                                    env=OFFLINE),
    "hf-hub-unreachable": lambda t, d: Case(live(t, "--expert", "hf:nope/model"),
                                            ["hf:nope/model", "cannot be reached"], env=UNREACHABLE),
    # train: config text, overrides, data files, output_dir
    "train-binary-config": lambda t, d: Case(["train", "--config", str(_write(t / "bin.yaml", b"\x00\xff\xfe" * 9))],
                                             ["bin.yaml", "not a YAML text file"]),
    "train-malformed-config": lambda t, d: Case(["train", "--config", str(_write(t / "bad.yaml", "a: [1\nb: 2\n"))],
                                                ["bad.yaml:", "not valid YAML"]),
    "train-bad-override": lambda t, d: Case(["train", "--config", str(train_config(t, d)), "-c", "x=[oops"],
                                            ["override 'x=[oops'", "not valid YAML"]),
    "train-truncated-steps": lambda t, d: Case(
        ["train", "--config", str(train_config(t, d, data={"path": str(broken_steps(t, d, "steps.parquet")),
                                                            "validation_trajectories": 0}))],
        ["broken/steps.parquet", "not a readable Parquet file"]),
    "train-truncated-sft": lambda t, d: Case(
        ["train", "--config", str(train_config(t, d, method="sft", data={
            "path": str(broken_steps(t, d, "sft.parquet")), "validation_trajectories": 0}))],
        ["broken/sft.parquet", "not a readable Parquet file"]),
    "train-output-dir-is-a-file": lambda t, d: Case(
        ["train", "--config", str(train_config(t, d, output_dir=str(_write(t / "out.jsonl", "x"))))],
        ["output_dir", "out.jsonl is a file"]),
    # sandbox build: the root must hold sandbox folders
    "sandbox-root-missing": lambda t, d: Case(["sandbox", "build", "--root", str(t / "nope")], ["'--root'", "nope"]),
    "sandbox-root-empty": lambda t, d: Case(["sandbox", "build", "--root", str(t)], ["'--root'", "no sandbox folder"]),
}


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def assert_clean_failure(result, case: Case, before: dict[str, bytes], root: Path) -> None:
    output = result.output
    assert result.exit_code == case.code, output
    assert "Traceback" not in output and (result.exception is None or isinstance(result.exception, SystemExit)), (
        output)
    assert any(all(name in line for name in case.names) for line in output.splitlines()), (case.names, output)
    after = snapshot(root)
    changed = [name for name, content in before.items() if after.get(name) != content]
    assert not changed, f"clobbered or removed: {changed}"
    assert not [name for name in after if name.split("/")[-1].startswith(".")], f"temporary files left: {after}"


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_is_one_clear_line_and_changes_nothing(name, data, tmp_path):
    _write(tmp_path / "out.jsonl", (data / "good.jsonl").read_bytes())  # the output a typo must not clobber
    shutil.copytree(data / "steps", tmp_path / "steps")
    case = CASES[name](tmp_path, data)
    before = snapshot(tmp_path)
    started = time.monotonic()
    result = CliRunner().invoke(app, case.argv, env={"COLUMNS": "400", **case.env})
    assert_clean_failure(result, case, before, tmp_path)
    assert time.monotonic() - started < 60, "a bad input is reported at once"


def test_an_unreachable_hub_is_said_within_seconds(data, tmp_path):
    started = time.monotonic()
    result = CliRunner().invoke(app, live(tmp_path, "--expert", "hf:nope/model"), env={"COLUMNS": "400",
                                                                                       **UNREACHABLE})
    assert result.exit_code == 2 and "cannot be reached" in result.output, result.output
    assert time.monotonic() - started < 10


def test_steps_replace_a_step_folder_as_one_unit(data, tmp_path):
    out = tmp_path / "steps"
    runner = CliRunner()
    for _ in range(2):
        result = runner.invoke(app, ["steps", str(data / "good.jsonl"), "-o", str(out), "--history", "all",
                                     "--include-unresolved"])
        assert result.exit_code == 0, result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["steps"], "no temporary or old folder left beside it"
    assert json.loads((out / "manifest.json").read_text())["options"]["history"] == "all"


# A full disk: a real tmpfs


@pytest.fixture
def small_disk(tmp_path):
    """A 256 KiB tmpfs mounted under tmp_path, unmounted after; skipped where it cannot be mounted (not
    root), a failure under CI=true."""
    disk = tmp_path / "disk"
    disk.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(disk)], capture_output=True,
                          text=True)
    if done.returncode:
        if os.environ.get("CI"):
            pytest.fail(f"CI=true but no tmpfs can be mounted: {done.stderr.strip()}")
        pytest.skip(f"cannot mount a tmpfs: {done.stderr.strip()}")
    try:
        yield disk
    finally:
        busy = subprocess.run(["umount", str(disk)], capture_output=True, text=True)
        if busy.returncode:  # a file left open on it: detach it anyway, and say so
            subprocess.run(["umount", "--lazy", str(disk)], check=True)
            pytest.fail(f"a file was left open on the full disk: {busy.stderr.strip()}")


def fill(disk: Path, leave: int = 0) -> None:
    """Take the free space of ``disk`` but ``leave`` bytes."""
    remaining = shutil.disk_usage(disk).free - leave
    with open(disk / "filler", "wb", buffering=0) as handle:
        while remaining > 0:
            try:
                remaining -= handle.write(b"\0" * min(remaining, 1 << 16))
            except OSError:  # full
                break


def test_import_into_a_full_disk_leaves_the_old_output(data, small_disk):
    out = small_disk / "out.jsonl"
    shutil.copy(data / "good.jsonl", out)
    fill(small_disk)
    case = Case(["collect", "--import", str(EXAMPLES), "--all", "-o", str(out)],
                ["cannot write", "out.jsonl", "No space left on device", "left as it was"])
    before = snapshot(small_disk)
    result = CliRunner().invoke(app, case.argv, env={"COLUMNS": "400"})
    assert_clean_failure(result, case, before, small_disk)


def test_steps_on_a_disk_too_small_for_the_new_data_leave_the_old_folder(data, small_disk, tmp_path):
    bigger = tmp_path / "all.jsonl"
    collect_import([EXAMPLES], bigger, resolved_only=False)
    reference = tmp_path / "reference"
    assert CliRunner().invoke(app, ["steps", str(bigger), "-o", str(reference), "--include-unresolved"]).exit_code == 0
    out = small_disk / "steps"
    shutil.copytree(data / "steps", out)
    # room for one of the two new Parquet files, not both: the run fails after one file is complete
    fill(small_disk, leave=(reference / "steps.parquet").stat().st_size + 4096)
    case = Case(["steps", str(bigger), "-o", str(out), "--include-unresolved"],
                ["cannot write", "steps", "No space left on device"])
    before = snapshot(small_disk)
    result = CliRunner().invoke(app, case.argv, env={"COLUMNS": "400"})
    assert_clean_failure(result, case, before, small_disk)
    assert sorted(p.name for p in small_disk.iterdir()) == ["filler", "steps"]
