"""`srl-swe selftrain`: rounds of the policy's own rollouts → hindsight steps → SRL, each round's held-out figures
logged; real rollouts (bundled tasks, local sandbox), real TRL training of the tiny model."""

from __future__ import annotations

import json
from itertools import pairwise
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml
from typer.testing import CliRunner

from srl_swe.cli import app
from srl_swe.steps import StepOptions, build_step_dataset
from srl_swe.train.config import DataSettings
from srl_swe.train.data import held_out_tasks
from srl_swe.train.tiny_model import init_tiny_model
from srl_swe.trajectory import read_trajectories

UNITS = Path(__file__).parent.parent / "sandboxes" / "units"


@pytest.fixture(scope="module")
def expert_and_config(tmp_path_factory):
    """The oracle's runs of the units tasks, a tiny model built on them, and a one-step SRL config."""
    root = tmp_path_factory.mktemp("selftrain")
    expert = root / "expert.jsonl"
    result = CliRunner().invoke(app, ["collect", "--tasks", str(UNITS), "--sandbox", "local", "-o", str(expert)])
    assert result.exit_code == 0, result.output
    build_step_dataset([expert], root / "steps", StepOptions(max_observation_chars=300))
    model = init_tiny_model(root / "model", root / "steps")
    config = {"method": "srl", "model": {"path": str(model)}, "use_cpu": True, "output_dir": str(root / "unused"),
              "data": {"path": str(root / "unused"), "validation_trajectories": 1},
              "srl": {"learning_rate": 1e-3, "batch_size": 2, "num_generations": 2, "per_device_batch_size": 4,
                      "max_steps": 1, "max_completion_length": 24, "max_sampling_rounds": 1,
                      "num_generations_eval": 1},
              "logging": {"eval_steps": 1000, "eval_on_start": False}}
    (root / "srl.yaml").write_text(yaml.safe_dump(config))
    held = held_out_tasks(DataSettings(path=root / "steps", validation_trajectories=1))
    return expert, root / "srl.yaml", model, held


def selftrain(expert, config, out, *extra):
    return CliRunner().invoke(app, ["selftrain", "--config", str(config), "--expert", str(expert), "--tasks",
                                    str(UNITS), "-o", str(out), "--sandbox", "local", "--agent-steps", "2",
                                    "--max-observation-chars", "300", "--temperature", "1.0", *extra])


def lines_of(out):
    return [json.loads(line) for line in (out / "rounds.jsonl").read_text().splitlines()]


def test_each_round_rolls_the_policy_out_relabels_its_runs_trains_srl_and_logs_held_out_figures(
        expert_and_config, tmp_path):
    expert, config, model, held = expert_and_config
    out = tmp_path / "self"
    first = selftrain(expert, config, out, "--rounds", "1")
    assert first.exit_code == 0, first.output
    runs = list(read_trajectories(out / "round-1" / "policy.jsonl"))
    trained_on = {t.task.instance_id for t in read_trajectories(expert)} - held
    assert {t.task.instance_id for t in runs} == trained_on  # the held-out task is never rolled out
    assert all(t.id == f"{t.task.instance_id}.hf:{model}" and t.outcome.grade_reason for t in runs)  # graded
    expert_rows = pq.read_table(out / "expert-steps" / "steps.parquet", columns=["goal"]).to_pylist()
    assert {row["goal"] for row in expert_rows} == {"task"}  # the held-out figures: the expert's own steps only
    kept = {"policy": (out / "round-1" / "policy.jsonl").read_text(),
            "srl": (out / "round-1" / "srl" / "result.json").read_text(), "rounds": lines_of(out)}

    second = selftrain(expert, config, out, "--rounds", "2")  # continues: round 1 is reused, not redone
    assert second.exit_code == 0, second.output
    assert (out / "round-1" / "policy.jsonl").read_text() == kept["policy"]
    assert (out / "round-1" / "srl" / "result.json").read_text() == kept["srl"]
    lines = lines_of(out)
    assert lines[:2] == kept["rounds"] and [line["round"] for line in lines] == [0, 1, 2]
    assert lines[0]["model"] == str(model)
    for previous, line in pairwise(lines):
        result = json.loads((out / f"round-{line['round']}" / "srl" / "result.json").read_text())
        assert result["start_model"] == previous["model"] and result["final_model"] == line["model"]
        steps = out / f"round-{line['round']}" / "steps"
        table = pq.read_table(steps / "steps.parquet", columns=["goal", "trajectory_id"]).to_pylist()
        relabeled = [row for row in table if row["goal"] == "hindsight"]
        assert line["examples"] == len(table) and line["hindsight_examples"] == len(relabeled)
        policy = list(read_trajectories(out / f"round-{line['round']}" / "policy.jsonl"))
        assert line["rollouts"] == len(trained_on) and line["resolved"] == sum(t.outcome.resolved for t in policy)
        assert line["changed_repository"] == sum(any(s.diff for s in t.steps) for t in policy)
        assert line["srl_steps"] == 1
    for line in lines:  # the same held-out steps every round: the held-out task's expert steps
        assert line["held_out_steps"] == sum(1 for t in read_trajectories(expert) if t.task.instance_id in held
                                             for _ in t.steps[:-1])
        assert -1.0 <= line["held_out_step_reward"] <= 1.0 and 0 <= line["format_error_rate"] <= 1
    assert "round 2: held-out step reward" in second.output


def test_a_config_that_is_not_srl_or_tasks_without_expert_runs_are_one_line_errors(expert_and_config, tmp_path):
    expert, config, _, _ = expert_and_config
    result = selftrain(expert, config, tmp_path / "a", "-c", "method=sft")
    assert result.exit_code == 2 and "selftrain trains with srl" in result.output
    other = tmp_path / "other.jsonl"
    other.write_text("")
    result = selftrain(other, config, tmp_path / "b")
    assert result.exit_code == 2 and "expert" in result.output.lower()
