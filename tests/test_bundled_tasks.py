"""The bundled sandbox repositories (sandboxes/): their tasks are sound and the oracle solves them all."""

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from srl_swe.cli import app
from srl_swe.sandbox.local import commit_base
from srl_swe.tasks.rows import bundled_tasks, load_tasks
from srl_swe.trajectory import read_trajectories

SANDBOXES = Path(__file__).parent.parent / "sandboxes"
REPOS = sorted(p.parent.name for p in SANDBOXES.glob("*/tasks.jsonl"))


def test_three_repositories_one_of_them_tested_without_pytest():
    assert len(REPOS) >= 3
    for name in REPOS:
        tasks = [ref.task for ref in bundled_tasks(SANDBOXES) if ref.repo_dir.parent.name == name]
        assert len(tasks) >= 4 and all(t.fail_to_pass and t.patch and t.test_patch for t in tasks)
        assert all(t.image == f"srl-swe/{name}:latest" for t in tasks)
    units = [ref.task for ref in bundled_tasks(SANDBOXES) if ref.repo_dir.parent.name == "units"]
    assert {(t.test_source, t.log_parser) for t in units} == {("row", "parse_log_sympy")}
    assert all("bin/test" in t.eval_script and "pytest" not in t.eval_script for t in units)


def test_the_sandboxes_folder_is_a_task_source_of_every_repository():
    every = load_tasks(SANDBOXES, pattern="-(1|2)$")
    assert sorted(ref.task.instance_id for ref in every) == sorted(f"srl-swe__{n}-{i}" for n in REPOS for i in (1, 2))
    assert {ref.repo_dir for ref in every} == {SANDBOXES / name / "repo" for name in REPOS}  # the local backend's copy


@pytest.mark.parametrize("name", REPOS)
def test_base_commit_is_the_recipe_hash(tmp_path, name):
    shutil.copytree(SANDBOXES / name / "repo", tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
    commit = commit_base(tmp_path / name)
    assert {ref.task.base_commit for ref in bundled_tasks(SANDBOXES) if ref.repo_dir.parent.name == name} == {commit}


@pytest.fixture(scope="module")
def images(docker_client, base_image):
    from srl_swe.sandbox.images import build_images

    return build_images(SANDBOXES, docker_client)


@pytest.mark.docker
def test_every_bundled_task_validates_in_docker(images):
    result = CliRunner().invoke(app, ["sandbox", "validate", "-w", "2"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    total = len(bundled_tasks(SANDBOXES))
    assert f"{total}/{total} tasks valid" in result.output


@pytest.mark.docker
@pytest.mark.parametrize("name", REPOS)
def test_the_oracle_resolves_every_bundled_task_in_docker(images, tmp_path, name, docker_client):
    out = tmp_path / f"{name}.jsonl"
    result = CliRunner().invoke(app, ["collect", "--tasks", str(SANDBOXES / name), "--expert", "oracle", "-w", "4",
                                      "-o", str(out)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    trajectories = list(read_trajectories(out))
    assert len(trajectories) >= 4 and all(t.outcome.resolved for t in trajectories)
    from srl_swe.sandbox.docker import LABEL, owner

    # this process's containers only: another run on the same engine (a second checkout's tests) is not ours
    assert not docker_client.containers.list(all=True, filters={"label": f"{LABEL}.owner={owner()}"})


def test_the_oracle_resolves_bundled_tasks_in_the_local_sandbox(tmp_path):
    out = tmp_path / "local.jsonl"
    result = CliRunner().invoke(app, ["collect", "--tasks", str(SANDBOXES / REPOS[0]), "--sandbox", "local",
                                      "-w", "2", "-o", str(out)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert all(t.outcome.resolved for t in read_trajectories(out))
