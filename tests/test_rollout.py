"""Live collection: `srl-swe collect --tasks … --expert …` for real, resumable, with errors contained."""

import json
import signal
import subprocess
import sys
import time

import pytest
from conftest import default_sigint
from typer.testing import CliRunner

from srl_swe.cli import app
from srl_swe.trajectory import read_trajectories


def task_folder(tmp_path, calc_task, count=3, image=""):
    """A sandbox folder like sandboxes/NAME: repo/ plus tasks.jsonl (the same task under several ids)."""
    import shutil

    pristine, task = calc_task
    folder = tmp_path / "tasks"
    shutil.copytree(pristine, folder / "repo")
    rows = [task.model_copy(update={"instance_id": f"acme__calc-{i}", "image": image}).model_dump(by_alias=True)
            for i in range(count)]
    (folder / "tasks.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return folder


def test_local_collection_resolves_every_task_and_resumes(tmp_path, calc_task):
    folder, out = task_folder(tmp_path, calc_task), tmp_path / "run.jsonl"
    runner = CliRunner()
    args = ["collect", "--tasks", str(folder), "--expert", "oracle", "--sandbox", "local", "-w", "2", "-o", str(out)]
    result = runner.invoke(app, args, env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "3/3 resolved" in result.output
    trajectories = list(read_trajectories(out))
    assert sorted(t.task.instance_id for t in trajectories) == ["acme__calc-0", "acme__calc-1", "acme__calc-2"]
    assert all(t.outcome.resolved and t.outcome.exit_status == "submitted" for t in trajectories)
    assert all(t.outcome.grade_reason == "" for t in trajectories), "a resolved run has no reason against it"
    assert (tmp_path / "run.jsonl.logs" / "acme__calc-0.json").exists()
    again = runner.invoke(app, args, env={"COLUMNS": "200"})
    assert "3 already done" in again.output and len(list(read_trajectories(out))) == 3


def test_a_run_that_submits_nothing_is_written_unresolved_with_the_graders_reason(tmp_path, calc_task):
    from srl_swe.actions import render_completion, tool_action

    folder, out = task_folder(tmp_path, calc_task, count=1), tmp_path / "run.jsonl"
    replay = tmp_path / "nothing.json"
    replay.write_text(json.dumps([render_completion("done", tool_action("submit", {}))]))
    result = CliRunner().invoke(app, ["collect", "--tasks", str(folder), "--expert", f"replay:{replay}", "--sandbox",
                                      "local", "-o", str(out)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "1 unresolved run(s) kept with the grader's reason" in result.output
    [record] = [json.loads(line) for line in out.read_text().splitlines()]
    assert record["outcome"]["resolved"] is False and record["outcome"]["grade_reason"]
    grade = json.loads((tmp_path / "run.jsonl.logs" / "acme__calc-0.grade.json").read_text())
    assert record["outcome"]["grade_reason"] == grade["reason"]


def test_a_killed_collection_resumes_without_loss_or_duplicates(tmp_path, calc_task):
    folder, out = task_folder(tmp_path, calc_task, count=6), tmp_path / "run.jsonl"
    command = [sys.executable, "-m", "srl_swe", "collect", "--tasks", str(folder), "--expert", "oracle",
               "--sandbox", "local", "-w", "1", "-o", str(out)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, preexec_fn=default_sigint)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and (not out.exists() or len(out.read_text().splitlines()) < 2):
        time.sleep(0.1)
    process.send_signal(signal.SIGINT)
    interrupted = time.monotonic()
    process.wait(timeout=60)
    assert time.monotonic() - interrupted < 15, "Ctrl-C cancels the queued tasks instead of running them"
    partial = len(list(read_trajectories(out)))
    assert 2 <= partial < 6
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    ids = [t.task.instance_id for t in read_trajectories(out)]
    assert sorted(ids) == [f"acme__calc-{i}" for i in range(6)], "nothing lost, nothing duplicated"


def test_a_task_whose_sandbox_fails_is_an_error_and_the_rest_goes_on(tmp_path, calc_task):
    folder, out = task_folder(tmp_path, calc_task, count=2), tmp_path / "run.jsonl"
    rows = [json.loads(line) for line in (folder / "tasks.jsonl").read_text().splitlines()]
    rows[0]["base_commit"] = "0" * 40  # a commit that does not exist: the sandbox cannot start there
    (folder / "tasks.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    result = CliRunner().invoke(app, ["collect", "--tasks", str(folder), "--sandbox", "local", "-o", str(out)],
                                env={"COLUMNS": "200"})
    assert result.exit_code == 1 and "acme__calc-0" in result.output and "1/1 resolved" in result.output
    assert [t.task.instance_id for t in read_trajectories(out)] == ["acme__calc-1"]
    assert (tmp_path / "run.jsonl.logs" / "acme__calc-0.error.txt").exists()


@pytest.mark.docker
def test_docker_collection_with_the_oracle(tmp_path, calc_task, docker_client, base_image):
    folder = task_folder(tmp_path, calc_task, count=2, image="srl-swe-test/calc:latest")
    (folder / "Dockerfile").write_text(
        f"FROM {base_image}\nCOPY --chown=agent:agent repo/ /testbed/\n"
        "ENV GIT_AUTHOR_DATE=2025-01-01T00:00:00+00:00 GIT_COMMITTER_DATE=2025-01-01T00:00:00+00:00\n"
        "RUN git init -q -b main && git add -A && git -c user.name=srl-swe -c user.email=srl-swe@localhost "
        "commit -q -m base\n")
    docker_client.images.build(path=str(folder), tag="srl-swe-test/calc:latest", rm=True)
    out = tmp_path / "run.jsonl"
    result = CliRunner().invoke(app, ["collect", "--tasks", str(folder), "-w", "2", "-o", str(out)],
                                env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert all(t.outcome.resolved for t in read_trajectories(out)) and len(list(read_trajectories(out))) == 2
    from srl_swe.sandbox.docker import LABEL, owner

    # this process's containers only: another run on the same engine (a second checkout's tests) is not ours
    assert not docker_client.containers.list(all=True, filters={"label": f"{LABEL}.owner={owner()}"})


def test_task_rows_of_the_public_datasets():
    from srl_swe.tasks.rows import task_from_row

    row = {"instance_id": "django__django-11099", "repo": "django/django", "base_commit": "abc",
           "problem_statement": "x", "FAIL_TO_PASS": '["t1"]', "PASS_TO_PASS": "[]", "version": "3.0"}
    assert task_from_row(row).image == "swebench/sweb.eval.x86_64.django_1776_django-11099:latest"
    assert task_from_row(row, "swe-gym").image == "xingyaoww/sweb.eval.x86_64.django_s_django-11099:latest"
    assert task_from_row({**row, "image": "mine:1"}).image == "mine:1"
    assert task_from_row({**row, "image_name": "swesmith.x86_64.a__b.1234"}).image == "swesmith.x86_64.a__b.1234"
    assert task_from_row(row).fail_to_pass == ["t1"]


def test_slices_and_filters(tmp_path, calc_task):
    from srl_swe.tasks.rows import load_tasks

    folder = task_folder(tmp_path, calc_task, count=5)
    assert [r.task.instance_id for r in load_tasks(folder, "1:3")] == ["acme__calc-1", "acme__calc-2"]
    assert [r.task.instance_id for r in load_tasks(folder, pattern="-[04]$")] == ["acme__calc-0", "acme__calc-4"]
    assert load_tasks(folder)[0].repo_dir == folder / "repo"


def test_appending_after_a_torn_line_keeps_the_new_trajectory(tmp_path, calc_task):
    from srl_swe.actions import tool_action
    from srl_swe.trajectory import Provenance, Step, Trajectory, append_trajectory

    _, task = calc_task
    def make(iid):
        return Trajectory(id=iid, task=task.model_copy(update={"instance_id": iid}),
                          steps=[Step(action=tool_action("submit", {}))], provenance=Provenance(source_format="t"))

    out = tmp_path / "run.jsonl"
    append_trajectory(out, make("a"))
    with open(out, "a") as handle:
        handle.write('{"schema_version": 1, "id": "tor')  # a crash in the middle of a line
    append_trajectory(out, make("b"))
    skipped = []
    assert [t.id for t in read_trajectories(out, lambda w, r: skipped.append(w))] == ["a", "b"]
    assert skipped == [f"{out}:2"]
