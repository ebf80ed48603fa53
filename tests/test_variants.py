"""Renamed variants of expert trajectories (srl_swe.variants), on the example dumps of real agents."""

import os
import re
import subprocess
import sys
from pathlib import Path

from srl_swe.collect import import_files
from srl_swe.steps import StepOptions, build_step_dataset
from srl_swe.train.config import DataSettings
from srl_swe.train.data import held_out_tasks
from srl_swe.trajectory import read_trajectories, write_trajectories
from srl_swe.variants import renamed, repository_names, write_renamed_variants

EXAMPLES = Path(__file__).parent.parent / "trajectories" / "examples"


def texts(trajectory) -> str:
    steps = " ".join(f"{s.thought} {s.action.raw} {s.observation or ''}" for s in trajectory.steps)
    return f"{trajectory.task.problem_statement} {steps} {trajectory.outcome.patch}"


def test_a_variant_renames_the_repositorys_names_everywhere_and_keeps_the_run():
    original = next(iter(import_files([EXAMPLES / "swe_agent_1x"], resolved_only=False)))
    names = repository_names(original)
    assert {"calc", "ops"} <= names and not names & {"tests", "json", "os", "sys", "re"}
    variant = renamed(original, 1)
    assert (variant.id, variant.task.instance_id) == (f"{original.id}~v1", original.task.instance_id)
    assert (variant.task.repo, variant.task.image, variant.task.base_commit) == (
        original.task.repo, original.task.image, original.task.base_commit)
    assert [s.action.tool for s in variant.steps] == [s.action.tool for s in original.steps]
    for name in names:
        assert re.search(rf"(?<![A-Za-z0-9]){name}(?![A-Za-z0-9])", texts(original))
        assert not re.search(rf"(?<![A-Za-z0-9]){name}(?![A-Za-z0-9])", texts(variant)), name
    assert "import" in texts(variant) and texts(variant) != texts(original)
    assert renamed(original, 1) == variant and renamed(original, 2) != variant  # seeded by the variant's id


def test_variants_keep_every_task_and_so_the_held_out_split(tmp_path):
    runs = list(import_files([EXAMPLES], resolved_only=False))
    swe = [run for run in runs if run.task.track == "swe"]
    write_trajectories(tmp_path / "runs.jsonl", swe)
    write_trajectories(tmp_path / "with-math.jsonl", runs)
    assert write_renamed_variants(tmp_path / "with-math.jsonl", tmp_path / "variants.jsonl", 3) == 3 * len(swe) < \
        3 * len(runs)  # math runs have none
    assert sorted(v.task.instance_id for v in read_trajectories(tmp_path / "variants.jsonl")) == sorted(
        3 * [run.task.instance_id for run in swe])
    for name in ("runs", "variants"):
        build_step_dataset([tmp_path / f"{name}.jsonl"], tmp_path / f"steps-{name}",
                           StepOptions(include_unresolved=True))
    assert len({run.task.instance_id for run in swe}) > 5
    split = {name: held_out_tasks(DataSettings(path=tmp_path / f"steps-{name}", validation_trajectories=3))
             for name in ("runs", "variants")}
    assert split["runs"] == split["variants"] and len(split["runs"]) == 3


def test_variants_are_the_same_in_every_process():
    # its names calc and file are as long: the invented names are drawn in their order, which string hashing
    # must not decide
    script = ("from srl_swe.collect import import_files; from srl_swe.variants import renamed; import sys; "
              "from pathlib import Path; run = next(iter(import_files([Path(sys.argv[1])], resolved_only=False))); "
              "print(renamed(run, 1).model_dump_json())")
    outputs = {subprocess.run([sys.executable, "-c", script, str(EXAMPLES / "swe_smith_tool.jsonl")], check=True,
                              capture_output=True, text=True, env={**os.environ, "PYTHONHASHSEED": seed}).stdout
               for seed in ("1", "2", "3")}
    assert len(outputs) == 1 and "~v1" in outputs.pop()
