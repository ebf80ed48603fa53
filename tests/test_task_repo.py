"""`srl-swe sandbox export`: the bundled tasks as a swebench task repo, checked and compiled by swebench's own
command line, read back by our reader; and the property that makes the export worth having: our grader and
swebench's official harness give the same verdict on every bundled task, for its gold patch, an empty patch and a
wrong patch (another task's gold patch from the same repository, which fixes a different bug)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from typer.testing import CliRunner

from srl_swe.cli import app
from srl_swe.tasks.export import harness_image, rows_jsonl, swebench_row
from srl_swe.tasks.rows import bundled_tasks, load_tasks

REPO = Path(__file__).parent.parent
SANDBOXES = REPO / "sandboxes"
SWEBENCH = Path(sys.executable).with_name("swebench")
COLUMNS = ("instance_id", "FAIL_TO_PASS", "PASS_TO_PASS", "eval_script", "log_parser", "patch", "test_patch")
KINDS = ("gold", "empty", "wrong")


@pytest.fixture(scope="module")
def bundled():
    tasks = [ref.task for ref in bundled_tasks(SANDBOXES)]
    assert len({task.repo for task in tasks}) == 3 and len(tasks) >= 12
    return tasks


@pytest.fixture(scope="module")
def images(docker_client, base_image):
    from srl_swe.sandbox.images import build_images

    return build_images(SANDBOXES, docker_client)  # cached: quick when they exist


def export(out: Path, *options: str):
    result = CliRunner().invoke(app, ["sandbox", "export", str(out), "--root", str(SANDBOXES), *options])
    return result


def swebench_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(SWEBENCH), *args], capture_output=True, text=True, timeout=300, check=False)


def test_the_exported_task_repo_is_checked_built_and_read_back_by_swebench_and_us(bundled, tmp_path):
    out, data = tmp_path / "repo", tmp_path / "data"
    result = export(out, "--no-tag")
    assert result.exit_code == 0, result.output
    assert f"wrote {len(bundled)} task(s)" in result.output
    for command in (f"swebench dataset check {out}", f"swebench dataset build {out} -o DATA",
                    f"srl-swe eval --benchmark {out} --model oracle -o RUN"):
        assert command in result.output, result.output
    assert sorted(p.name for p in (out / "tasks").iterdir()) == sorted(t.instance_id for t in bundled)

    checked = swebench_cli("dataset", "check", str(out))
    assert checked.returncode == 0 and "looks well formed" in checked.stdout, checked.stdout + checked.stderr
    assert "error" not in checked.stdout and "warning" not in checked.stdout, checked.stdout

    built = swebench_cli("dataset", "build", str(out), "-o", str(data))
    assert built.returncode == 0, built.stdout + built.stderr
    assert (data / "bundled" / "test.parquet").is_file(), built.stdout

    from swebench.harness.utils import load_swebench_dataset

    rows = {row["instance_id"]: dict(row) for row in load_swebench_dataset(str(data / "bundled"), "test")}
    assert sorted(rows) == sorted(t.instance_id for t in bundled)
    for task in bundled:
        ours, theirs = swebench_row(task), rows[task.instance_id]
        for column in COLUMNS:
            assert theirs[column] == ours[column], (task.instance_id, column)
        # the published image is the name the harness derives, which `--tag` gives the task's own image
        assert theirs["image"] == harness_image(task.instance_id)

    compiled = [ref.task.instance_id for ref in load_tasks(Path(f"swebench:{data / 'bundled'}"))]  # collect reads it
    assert sorted(compiled) == sorted(t.instance_id for t in bundled)

    back = {ref.task.instance_id: ref.task for ref in load_tasks(out)}
    assert sorted(back) == sorted(t.instance_id for t in bundled)
    for task in bundled:
        again = back[task.instance_id]
        assert (again.eval_script, again.log_parser, again.eval_type) == (task.eval_script, task.log_parser,
                                                                          task.eval_type)
        assert (again.fail_to_pass, again.pass_to_pass) == (task.fail_to_pass, task.pass_to_pass)
        assert (again.patch, again.test_patch, again.base_commit) == (task.patch, task.test_patch, task.base_commit)
        assert again.image == harness_image(task.instance_id)


def test_export_refuses_a_source_that_is_not_tasks(tmp_path):
    result = export(tmp_path / "repo", "--tasks", str(tmp_path / "absent.jsonl"), "--no-tag")
    assert result.exit_code == 2 and "Traceback" not in result.output, result.output
    assert not (tmp_path / "repo").exists()


@pytest.mark.docker
def test_export_with_an_image_missing_is_a_one_line_error(bundled, docker_client, tmp_path):
    task = bundled[0].model_copy(update={"image": f"srl-swe-test/absent-{uuid.uuid4().hex[:8]}:latest"})
    rows_jsonl([task], tmp_path / "rows.jsonl")
    result = export(tmp_path / "repo", "--tasks", str(tmp_path / "rows.jsonl"))
    assert result.exit_code == 1, result.output
    lines = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and task.image in lines[0] and "srl-swe sandbox build" in lines[0], result.output


# --- the property: our grader and the official harness agree --------------------------------------------------

def patches(tasks) -> dict[str, dict[str, str]]:
    """{kind: {instance_id: patch}}: the gold patch, an empty one, and the next task's gold patch of the same
    repository (each gold patch applies alone on base and fixes only its own task's bug)."""
    by_repo: dict[str, list] = {}
    for task in tasks:
        by_repo.setdefault(task.repo, []).append(task)
    wrong = {}
    for group in by_repo.values():
        assert len(group) >= 2
        for i, task in enumerate(group):
            wrong[task.instance_id] = group[(i + 1) % len(group)].patch
    return {"gold": {t.instance_id: t.patch for t in tasks}, "empty": {t.instance_id: "" for t in tasks},
            "wrong": wrong}


@pytest.mark.docker
def test_our_grader_and_the_official_harness_agree_on_every_bundled_task(bundled, images, docker_client, tmp_path):
    from srl_swe.agent import grade_patch
    from srl_swe.grading.harness import grade_with_harness
    from srl_swe.rollout import sandbox_factory
    from srl_swe.tasks.rows import TaskRef

    started = time.monotonic()
    tag = uuid.uuid4().hex[:8]
    ours_run = f"agree-{tag}"
    factory = sandbox_factory("docker", run_id=ours_run)
    by_kind = patches(bundled)
    rows = rows_jsonl(bundled, tmp_path / "rows.jsonl")  # images: the tasks' own srl-swe/<repo>:latest
    ids = sorted(t.instance_id for t in bundled)

    def ours(job):
        kind, task = job
        grade = grade_patch(task, by_kind[kind][task.instance_id], lambda: factory(TaskRef(task)))
        return (task.instance_id, kind), grade

    def harness(kind):
        out = tmp_path / kind
        out.mkdir()
        with open(out / "predictions.jsonl", "w", encoding="utf-8") as handle:
            for iid in ids:
                handle.write(json.dumps({"instance_id": iid, "model_name_or_path": "oracle",
                                         "model_patch": by_kind[kind][iid]}) + "\n")
        run_id = f"agree-{kind}-{tag}"
        verdicts = grade_with_harness(out, "oracle", run_id, (str(rows), "test"), ids, workers=4, timeout=300)
        return kind, run_id, verdicts, {iid: status for iid, (status, _) in verdicts.items()}

    jobs = [(kind, task) for kind in KINDS for task in bundled]
    with ThreadPoolExecutor(3) as pool:
        graded = dict(pool.map(ours, jobs))
    ours_done = time.monotonic()
    # one harness run at a time, after our grader: four workers already fill two cores
    official = {kind: (run_id, verdicts, statuses) for kind, run_id, verdicts, statuses in map(harness, KINDS)}
    elapsed = time.monotonic() - started

    table = ["| task | kind | ours | harness |", "|---|---|---|---|"]
    disagreements = []
    for kind, task in jobs:
        iid = task.instance_id
        grade = graded[(iid, kind)]
        run_id, verdicts, statuses = official[kind]
        mine = "resolved" if grade.resolved else "unresolved"
        theirs = statuses.get(iid, "missing")
        table.append(f"| {iid} | {kind} | {mine} | {theirs} |")
        if grade.resolved != (theirs == "resolved") or theirs in ("error", "missing"):
            disagreements.append(f"{iid} {kind}: ours {mine} ({grade.reason[:200]!r}), harness {theirs} "
                                 f"({verdicts.get(iid, ('', ''))[1][:300]!r}; logs/run_evaluation/{run_id}/)")
    print("\n".join(table))
    print(f"{len(jobs)} verdicts each side in {elapsed:.1f} s (ours {ours_done - started:.1f} s, harness "
          f"{elapsed - (ours_done - started):.1f} s)")
    assert not disagreements, "\n".join(disagreements)
    # and both say what the patches are: gold resolves, empty and wrong do not; the harness skips an empty patch
    for kind, task in jobs:
        expected = {"gold": "resolved", "empty": "empty_patch", "wrong": "unresolved"}[kind]
        assert official[kind][2][task.instance_id] == expected, (task.instance_id, kind)
        assert graded[(task.instance_id, kind)].resolved is (kind == "gold"), (task.instance_id, kind)
    assert not docker_client.containers.list(all=True, filters={"label": f"srl-swe.run={ours_run}"})
    for run_id, _, _ in official.values():
        assert not docker_client.containers.list(all=True, filters={"name": run_id})


@pytest.mark.docker
def test_eval_on_an_exported_task_repo_goes_through_the_harness(images, docker_client, tmp_path):
    out, run = tmp_path / "repo", tmp_path / "run"
    result = export(out)  # --tag is the default
    assert result.exit_code == 0, result.output
    run_id = f"repo-{uuid.uuid4().hex[:8]}"
    result = CliRunner().invoke(app, ["eval", "--benchmark", str(out), "--model", "oracle", "--mode", "oracle-files",
                                      "-w", "2", "-o", str(run), "--slice", "0:2", "--run-id", run_id])
    assert result.exit_code == 0, result.output
    report = json.loads((run / "report.json").read_text())
    assert (report["resolved"], report["total"]) == (2, 2), report
    summary = json.loads((run / f"oracle.{run_id}.json").read_text())  # swebench's own summary of the run
    assert sorted(summary["resolved_ids"]) == sorted(report["instances"])
    assert (run / "logs" / "run_evaluation" / run_id).is_dir()
    assert not docker_client.containers.list(all=True, filters={"label": f"srl-swe.run={run_id}"})
    assert not docker_client.containers.list(all=True, filters={"name": run_id})
