"""Offline pivot profiling (`srl-swe profile`, srl_swe.pivots): a real model's samples per step, resumable, and
training data restricted to the informative steps."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from srl_swe.actions import tool_action
from srl_swe.cli import app
from srl_swe.pivots import PARTIAL, PROFILE, profile_steps, savings
from srl_swe.steps import StepOptions, build_step_dataset
from srl_swe.train.config import DataSettings
from srl_swe.train.data import DataError, step_datasets
from srl_swe.train.tiny_model import init_tiny_model
from srl_swe.trajectory import Provenance, Step, SweTask, Trajectory, write_trajectories


def trajectory(index: int) -> Trajectory:
    plan = [("look", "bash", {"command": "ls /testbed"}), ("read", "bash", {"command": f"cat /testbed/m{index}.py"}),
            ("done", "submit", {})]
    steps = [Step(thought=thought, action=tool_action(tool, args), observation="ok") for thought, tool, args in plan]
    return Trajectory(id=f"t-{index}", task=SweTask(instance_id=f"t-{index}", problem_statement=f"m{index} fails"),
                      steps=steps, provenance=Provenance(source_format="test"))


@pytest.fixture(scope="module")
def steps_and_model(tmp_path_factory):
    root = tmp_path_factory.mktemp("pivots")
    write_trajectories(root / "t.jsonl", [trajectory(i) for i in range(6)])
    build_step_dataset([root / "t.jsonl"], root / "steps", StepOptions(include_unresolved=True))
    return root / "steps", init_tiny_model(root / "model", root / "steps")


def rows_of(folder):
    return pq.read_table(folder / "steps.parquet", columns=["trajectory_id", "step"]).to_pylist()


def test_a_profile_has_one_row_per_step_from_real_samples_and_resumes(steps_and_model, tmp_path):
    steps, model = steps_and_model
    folder = tmp_path / "steps"
    folder.mkdir()
    (folder / "steps.parquet").write_bytes((steps / "steps.parquet").read_bytes())
    rows = rows_of(folder)
    # a run killed after two steps: their records (and a torn line) are on disk
    finished = [{**rows[i], "reward_mean": 0.5, "reward_std": 0.25, "samples": 3} for i in (0, 1)]
    (folder / PARTIAL).write_text("".join(json.dumps(r) + "\n" for r in finished) + '{"trajectory_id": "t-')
    seen: list[int] = []
    summary = profile_steps(str(model), folder, k=3, temperature=1.0, max_new_tokens=8, on_batch=seen.append)
    profile = pq.read_table(folder / PROFILE).to_pylist()
    assert [(r["trajectory_id"], r["step"]) for r in profile] == [(r["trajectory_id"], r["step"]) for r in rows]
    assert profile[:2] == finished  # not sampled again
    assert all(r["samples"] == 3 and -1.0 <= r["reward_mean"] <= 1.0 and r["reward_std"] >= 0 for r in profile)
    assert seen[0] == 2 and sum(seen) == len(rows) and not (folder / PARTIAL).exists()
    assert summary["steps"] == len(rows) and summary["informative"] == sum(r["reward_std"] > 1e-4 for r in profile)
    assert json.loads((folder / "profile.json").read_text()) == summary


def write_profile(folder, spreads: dict) -> None:
    records = [{**row, "reward_mean": 0.0, "reward_std": spreads.get(row["trajectory_id"], 0.0), "samples": 4}
               for row in rows_of(folder)]
    pq.write_table(pa.Table.from_pylist(records), folder / PROFILE)


def test_training_keeps_only_the_informative_steps_and_weights_them(steps_and_model, tmp_path):
    steps, _ = steps_and_model
    folder = tmp_path / "steps"
    folder.mkdir()
    (folder / "steps.parquet").write_bytes((steps / "steps.parquet").read_bytes())
    (folder / "sft.parquet").write_bytes((steps / "sft.parquet").read_bytes())
    plain = DataSettings(path=folder, validation_trajectories=1)
    train, validation = step_datasets(plain)
    with pytest.raises(DataError, match="srl-swe profile --model M"):
        step_datasets(DataSettings(path=folder, validation_trajectories=1, pivots={"min_std": 0.1}))
    spreads = {"t-0": 0.8, "t-1": 0.2, "t-2": 0.05}
    write_profile(folder, spreads)
    pivots = DataSettings(path=folder, validation_trajectories=1, pivots={"min_std": 0.1})
    kept, same_validation = step_datasets(pivots)
    expected = [row["trajectory_id"] for row in train if spreads.get(row["trajectory_id"], 0) > 0.1]
    assert sorted(kept["trajectory_id"]) == sorted(expected) and 0 < len(kept) < len(train)
    assert len(same_validation) == len(validation)  # validation is never filtered
    weighted = step_datasets(DataSettings(path=folder, validation_trajectories=1,
                                          pivots={"min_std": 0.1, "weight": True}))[0]
    counts = {tid: list(weighted["trajectory_id"]).count(tid) for tid in set(expected)}
    per_step = {tid: counts[tid] // expected.count(tid) for tid in counts}
    # repeats: each step's std over the kept steps' mean std (0.5), rounded, at least 1
    assert per_step == {tid: {"t-0": 2, "t-1": 1}[tid] for tid in per_step}, (per_step, expected)
    write_profile(folder, {})
    with pytest.raises(DataError, match="no training step has a profiled reward std above 0.1"):
        step_datasets(pivots)


def test_the_command_reports_the_generations_it_saves(steps_and_model, tmp_path):
    steps, model = steps_and_model
    folder = tmp_path / "steps"
    folder.mkdir()
    (folder / "steps.parquet").write_bytes((steps / "steps.parquet").read_bytes())
    result = CliRunner().invoke(app, ["profile", "--model", str(model), "--steps", str(folder), "-k", "2",
                                      "--max-new-tokens", "4", "--num-generations", "8", "--epochs", "10"])
    assert result.exit_code == 0, result.output
    summary = json.loads((folder / "profile.json").read_text())
    cost = savings(summary, 8, 10)
    assert cost["online"] == summary["steps"] * 80 and f"online dynamic sampling {cost['online']:,}" in result.output
    bad = CliRunner().invoke(app, ["profile", "--model", str(model), "--steps", str(tmp_path / "none"), "-k", "2"])
    assert bad.exit_code == 2 and "steps`" in bad.output  # the message says how to build the steps
