"""`srl-swe eval` and `srl-swe report`: the local benchmark end to end in Docker, runs after a crash or a
fault (kill -9, every instance failing, a full disk, a typo), the SWE-bench adapter against our own image,
the math protocol's arithmetic, and the report."""

from __future__ import annotations

import json
import resource
import signal
import socket
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from srl_swe.actions import render_completion, tool_action
from srl_swe.agent import AgentLimits
from srl_swe.cli import app
from srl_swe.eval.math import ModelSampler, evaluate_benchmark, write_math_report
from srl_swe.eval.swe import SweRun, run_swe_eval, summarise, write_predictions
from srl_swe.eval.swe import write_report as write_swe_report
from srl_swe.grading.harness import grade_with_harness
from srl_swe.sandbox.images import build_images
from srl_swe.tasks.export import swebench_row
from srl_swe.tasks.rows import load_tasks
from srl_swe.trajectory import Outcome, Provenance, Trajectory

REPO = Path(__file__).parent.parent
SANDBOXES = REPO / "sandboxes"
INVENTORY = SANDBOXES / "inventory"


@pytest.fixture(scope="module")
def inventory_image(docker_client, base_image):
    assert "srl-swe/inventory:latest" in build_images(SANDBOXES, docker_client)  # the base, then the repos
    return "srl-swe/inventory:latest"


def leftover_containers(docker_client, run_id: str) -> list:
    return docker_client.containers.list(all=True, filters={"label": f"srl-swe.run={run_id}"}, ignore_removed=True)


# --- local benchmark, end to end in Docker -----------------------------------------------------------

@pytest.mark.docker
@pytest.mark.parametrize("mode", ["agent", "oracle-files"])
def test_oracle_resolves_every_local_task_and_a_rerun_redoes_nothing(mode, inventory_image, docker_client, tmp_path):
    run = SweRun(f"local:{INVENTORY}", "oracle", tmp_path / mode, mode=mode, workers=4, run_id=f"t-{mode}")
    report = run_swe_eval(run)
    assert (report["resolved"], report["total"], report["resolve_rate"]) == (7, 7, 1.0)
    assert not leftover_containers(docker_client, f"t-{mode}")
    predictions = [json.loads(line) for line in (tmp_path / mode / "predictions.jsonl").read_text().splitlines()]
    assert len(predictions) == 7 and all(p["model_patch"].startswith("diff --git") for p in predictions)
    redone = []
    again = run_swe_eval(run, on_done=lambda iid, status: redone.append(iid))
    assert redone == [] and again["resolved"] == 7
    with pytest.raises(ValueError, match="holds a run with another model"):
        run_swe_eval(SweRun(run.benchmark, "hf:other", run.out, mode=mode))


def replay(path: Path, completions: list[str]) -> str:
    path.write_text(json.dumps(completions))
    return f"replay:{path}"


@pytest.mark.docker
def test_an_agent_that_submits_nothing_scores_zero(inventory_image, tmp_path):
    model = replay(tmp_path / "nothing.json", [render_completion("done", tool_action("submit", {}))])
    report = run_swe_eval(SweRun(f"local:{INVENTORY}", model, tmp_path / "run", slice_="0:3", workers=3))
    assert report["resolved"] == 0 and report["counts"]["empty_patch"] == 3


@pytest.mark.docker
def test_editing_the_tests_is_not_credited(inventory_image, tmp_path):
    """The replayed agent rewrites the failing test file so that it passes; the grader restores tests."""
    task = load_tasks(INVENTORY, slice_="0:1")[0].task
    test_file = task.fail_to_pass[0].split("::")[0]
    rewrite = f"printf 'def test_anything():\\n    assert True\\n' > /testbed/{test_file}"
    cheat = tool_action("bash", {"command": rewrite})
    model = replay(tmp_path / "cheat.json", [render_completion("make the tests pass", cheat),
                                             render_completion("done", tool_action("submit", {}))])
    report = run_swe_eval(SweRun(f"local:{INVENTORY}", model, tmp_path / "run", slice_="0:1"))
    entry = report["instances"][task.instance_id]
    trajectory = json.loads((tmp_path / "run" / "trajectories.jsonl").read_text())
    assert test_file in trajectory["outcome"]["patch"]  # the agent did rewrite the tests …
    assert entry["status"] == "unresolved" and report["resolved"] == 0  # … and is not credited
    assert entry["reason"]  # the grader says why


@pytest.mark.docker
def test_a_missing_image_is_an_error_and_the_run_goes_on(inventory_image, tmp_path):
    rows = [json.loads(line) for line in (INVENTORY / "tasks.jsonl").read_text().splitlines()[:2]]
    rows[0]["image"] = "srl-swe/does-not-exist:latest"
    (tmp_path / "tasks.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    report = run_swe_eval(SweRun(f"local:{tmp_path / 'tasks.jsonl'}", "oracle", tmp_path / "run", workers=2))
    assert report["instances"][rows[0]["instance_id"]]["status"] == "error"
    assert "does-not-exist" in report["instances"][rows[0]["instance_id"]]["reason"]
    assert report["instances"][rows[1]["instance_id"]]["status"] == "resolved"
    assert (report["resolved"], report["total"], report["counts"]["error"]) == (1, 2, 1)


@pytest.mark.docker
def test_an_episode_that_runs_out_of_time_is_unresolved_with_its_reason(inventory_image, tmp_path):
    """A time limit is the model's result (kept, not retried, as swebench counts a timeout unresolved): were it an
    error, every rerun of the finished run would exit 1."""
    run = SweRun(f"local:{INVENTORY}", "oracle", tmp_path / "run", slice_="0:1", limits=AgentLimits(max_seconds=0))
    (entry,) = run_swe_eval(run)["instances"].values()
    assert entry["status"] == "unresolved" and "time limit" in entry["reason"]


# --- after a crash, faults, bad input ------------------------------------------------------------------

def srl_swe(*args: str, **kwargs) -> subprocess.CompletedProcess:
    """The real command line in a process of its own."""
    return subprocess.run([sys.executable, "-m", "srl_swe", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=900, **kwargs)


def owned_by(docker_client, pid: int) -> list:
    owner = f"srl-swe.owner={socket.gethostname()}:{pid}"  # ignore_removed: a run may remove one meanwhile
    return docker_client.containers.list(all=True, filters={"label": owner}, ignore_removed=True)


@pytest.mark.docker
def test_a_rerun_after_kill_9_finishes_and_removes_the_killed_runs_containers(inventory_image, docker_client,
                                                                              tmp_path):
    model = replay(tmp_path / "model.json", [render_completion("wait", tool_action("bash", {"command": "sleep 100"}))])
    command = ["eval", "--benchmark", f"local:{INVENTORY}", "--model", model, "--slice", "0:4", "-w", "4",
               "-o", str(tmp_path / "run")]
    killed = subprocess.Popen([sys.executable, "-m", "srl_swe", *command], cwd=REPO, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while len(owned_by(docker_client, killed.pid)) < 4 and killed.poll() is None and time.monotonic() < deadline:
        time.sleep(0.5)
    assert len(owned_by(docker_client, killed.pid)) == 4, "the run never had its 4 sandboxes"
    killed.send_signal(signal.SIGKILL)
    killed.wait()
    assert len(owned_by(docker_client, killed.pid)) == 4  # nothing of the killed run removed them

    replay(tmp_path / "model.json", [render_completion("done", tool_action("submit", {}))])  # same spec, quick
    rerun = srl_swe(*command)
    assert rerun.returncode == 0, rerun.stderr
    assert not owned_by(docker_client, killed.pid)
    report = json.loads((tmp_path / "run" / "report.json").read_text())
    assert (report["total"], report["counts"]["empty_patch"]) == (4, 4)


@pytest.mark.docker
def test_a_run_where_every_instance_errs_writes_its_report_and_exits_1(inventory_image, tmp_path):
    rows = [json.loads(line) for line in (INVENTORY / "tasks.jsonl").read_text().splitlines()[:2]]
    (tmp_path / "tasks.jsonl").write_text("".join(json.dumps({**row, "image": "srl-swe/does-not-exist:latest"})
                                                  + "\n" for row in rows))
    result = CliRunner().invoke(app, ["eval", "--benchmark", f"local:{tmp_path / 'tasks.jsonl'}", "--model", "oracle",
                                      "-w", "2", "-o", str(tmp_path / "run")])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit), result.output  # not a crash
    report = json.loads((tmp_path / "run" / "report.json").read_text())
    assert (report["total"], report["counts"]["error"]) == (2, 2)
    assert all("does-not-exist" in entry["reason"] for entry in report["instances"].values())
    table = (tmp_path / "run" / "report.md").read_text()
    assert all(f"| {row['instance_id']} | error |" in table for row in rows)


def test_a_typo_in_the_model_leaves_the_folder_to_the_right_model(tmp_path):
    out = tmp_path / "run"
    for typo in ("oracel", f"replay:{tmp_path / 'nope.json'}"):
        result = CliRunner().invoke(app, ["eval", "--benchmark", f"local:{INVENTORY}", "--model", typo,
                                          "--sandbox", "local", "--slice", "0:1", "-o", str(out)])
        assert result.exit_code == 2 and "Traceback" not in result.output, result.output
        assert not (out / "run.json").exists()
    result = CliRunner().invoke(app, ["eval", "--benchmark", f"local:{INVENTORY}", "--model", "oracle",
                                      "--sandbox", "local", "--slice", "0:1", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert json.loads((out / "run.json").read_text())["model"] == "oracle"
    assert json.loads((out / "report.json").read_text())["resolved"] == 1


def test_eval_in_docker_without_an_engine_is_a_one_line_error(tmp_path):
    result = CliRunner().invoke(app, ["eval", "--benchmark", f"local:{INVENTORY}", "--model", "oracle",
                                      "-o", str(tmp_path / "run")], env={"DOCKER_HOST": f"unix://{tmp_path}/no.sock"})
    assert result.exit_code == 2 and "no Docker engine answers" in result.output, result.output
    assert not (tmp_path / "run").exists()


def test_a_reason_with_line_breaks_and_pipes_stays_one_table_row(tmp_path):
    run = SweRun("local:x", "oracle", tmp_path)
    instances = {"a|1": {"status": "error", "reason": "Traceback:\n  line 1\r\nValueError: x | y"},
                 "b": {"status": "unresolved", "reason": "tests failed\u2028| a | b |"},
                 "c": {"status": "resolved", "exit_status": "submitted"}}
    write_swe_report(tmp_path, summarise(run, "r", instances))
    rows = [line for line in (tmp_path / "report.md").read_text().splitlines() if line.startswith("|")][2:]
    assert rows == ["| a\\|1 | error | Traceback:   line 1 ValueError: x \\| y |",
                    "| b | unresolved | tests failed \\| a \\| b \\| |", "| c | resolved | submitted |"]
    assert json.loads((tmp_path / "report.json").read_text())["instances"] == instances  # kept as it was


def test_collect_goes_on_when_error_logs_cannot_be_written(tmp_path):
    """Disk full (/dev/full) under the error logs: the errors are still reported, the failure once."""
    rows = [json.loads(line) for line in (INVENTORY / "tasks.jsonl").read_text().splitlines()[:2]]
    (tmp_path / "tasks.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    logs = tmp_path / "out.jsonl.logs"
    logs.mkdir()
    for row in rows:
        (logs / f"{row['instance_id']}.error.txt").symlink_to("/dev/full")
    # a JSONL task has no bundled repository, so the local sandbox refuses every one: all fail
    result = CliRunner().invoke(app, ["collect", "--tasks", str(tmp_path / "tasks.jsonl"), "--sandbox", "local",
                                      "-o", str(tmp_path / "out.jsonl")])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit), result.output
    assert all(f"error {row['instance_id']}: ValueError" in result.output for row in rows)
    assert result.output.count("could not write logs") == 1 and "No space left on device" in result.output


def test_collect_stops_with_one_line_when_a_trajectory_cannot_be_appended(tmp_path):
    """The output file at the size limit (RLIMIT_FSIZE: EFBIG, as a full disk gives ENOSPC): exit 2, one line
    naming the file, the output untouched."""
    task = load_tasks(INVENTORY, slice_="1:2")[0].task
    filler = Trajectory(id="f", task=task.model_copy(update={"instance_id": "filler"}), steps=[],
                        provenance=Provenance(source_format="test"), outcome=Outcome(patch="x" * 2_000_000))
    out = tmp_path / "out.jsonl"
    out.write_text(filler.model_dump_json(by_alias=True) + "\n")
    before = out.read_bytes()
    limit = len(before)

    def at_limit() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    result = srl_swe("collect", "--tasks", str(INVENTORY), "--slice", "0:1", "--sandbox", "local",
                     "-o", str(out), preexec_fn=at_limit)
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert f"could not append the trajectory of srl-swe__inventory-1 to {out}" in result.stderr
    assert out.read_bytes() == before


# --- the SWE-bench adapter, with our own image ---------------------------------------------------------

@pytest.mark.docker
def test_swebench_grades_a_row_of_our_own_image_from_saved_logs(inventory_image, tmp_path):
    from swebench.harness.grading import get_eval_report
    from swebench.harness.utils import get_predictions_from_file, load_swebench_dataset, make_test_spec

    from srl_swe.sandbox.docker import DockerSandbox

    task = load_tasks(INVENTORY, slice_="0:1")[0].task
    (tmp_path / "rows.jsonl").write_text(json.dumps(swebench_row(task)) + "\n")
    (row,) = load_swebench_dataset(str(tmp_path / "rows.jsonl"), "test")
    spec = make_test_spec(row)
    assert spec.image == inventory_image and spec.log_parser == "parse_log_pytest"

    gold = Trajectory(id="g", task=task, steps=[], provenance=Provenance(source_format="test"),
                      outcome=Outcome(patch=task.patch))
    write_predictions(tmp_path / "predictions.jsonl", "gold-model", {task.instance_id: gold})
    (prediction,) = get_predictions_from_file(str(tmp_path / "predictions.jsonl"), str(tmp_path / "rows.jsonl"),
                                              "test")
    assert prediction["model_patch"] == task.patch

    def graded(patch: str) -> dict:
        with DockerSandbox(spec.image, base_commit=task.base_commit) as sandbox:
            if patch:
                sandbox.write_file("/tmp/fix.patch", patch)
                assert sandbox.run("cd /testbed && git apply /tmp/fix.patch").exit_code == 0
            sandbox.write_file("/tmp/eval.sh", spec.eval_script)
            log = sandbox.run("bash /tmp/eval.sh 2>&1", timeout=600).output
        (tmp_path / "test_output.txt").write_text(log)
        return get_eval_report(spec, {**prediction, "model_patch": patch}, str(tmp_path / "test_output.txt"),
                               True)[task.instance_id]

    assert graded(task.patch)["resolved"] is True
    unfixed = graded("")
    assert unfixed["resolved"] is False
    assert sorted(unfixed["tests_status"]["FAIL_TO_PASS"]["failure"]) == sorted(task.fail_to_pass)


@pytest.mark.docker
def test_the_official_harness_grades_our_predictions_in_our_image(inventory_image, docker_client, tmp_path):
    """`swebench:PATH` goes through swebench's run_evaluation (a subprocess) — offline, on our image."""
    rows = [swebench_row(ref.task) for ref in load_tasks(INVENTORY, slice_="0:2")]
    (tmp_path / "rows.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    run = SweRun(f"swebench:{tmp_path / 'rows.jsonl'}", "oracle", tmp_path / "run", workers=2, run_id="harness-t")
    report = run_swe_eval(run)
    assert (report["resolved"], report["total"]) == (2, 2)
    summary = json.loads((tmp_path / "run" / "oracle.harness-t.json").read_text())
    assert sorted(summary["resolved_ids"]) == sorted(row["instance_id"] for row in rows)
    assert not docker_client.containers.list(all=True, filters={"name": "sweb.eval"})
    assert not leftover_containers(docker_client, "harness-t")


@pytest.mark.parametrize("column", ["image", "eval_script"])
def test_a_swebench_row_without_a_harness_column_is_a_one_line_error_before_any_rollout(column, tmp_path):
    rows = [swebench_row(ref.task) for ref in load_tasks(INVENTORY, slice_="0:2")]
    del rows[1][column]
    (tmp_path / "rows.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    result = CliRunner().invoke(app, ["eval", "--benchmark", f"swebench:{tmp_path / 'rows.jsonl'}", "--model",
                                      "oracle", "--sandbox", "local", "-o", str(tmp_path / "run")])
    assert result.exit_code == 2 and "Traceback" not in result.output, result.output
    said = " ".join(result.output.replace("│", " ").split())
    assert f"row 2 ({rows[1]['instance_id']}) lacks {column}" in said and "swebench_row" in said, result.output
    assert not (tmp_path / "run").exists()  # nothing rolled out, no run.json


@pytest.mark.docker
def test_a_harness_error_carries_the_harness_own_message(inventory_image, docker_client, tmp_path):
    """The harness times one instance's tests out (its eval script sleeps past --timeout): that instance is an
    error whose reason quotes the harness; the other is graded; exit 1."""
    rows = [swebench_row(ref.task) for ref in load_tasks(INVENTORY, slice_="0:2")]
    rows[0]["eval_script"] = rows[0]["eval_script"].replace("set -uxo pipefail", "set -uxo pipefail\nsleep 60", 1)
    (tmp_path / "rows.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    run = SweRun(f"swebench:{tmp_path / 'rows.jsonl'}", "oracle", tmp_path / "run", workers=2, run_id="harness-e",
                 harness_timeout=5)
    report = run_swe_eval(run)
    slow, quick = (report["instances"][row["instance_id"]] for row in rows)
    assert slow["status"] == "error" and "Test timed out after 5 seconds" in slow["reason"], slow
    assert "\n" not in slow["reason"] and len(slow["reason"]) < 500
    assert quick["status"] == "resolved"
    assert not leftover_containers(docker_client, "harness-e")


@pytest.mark.docker
def test_a_harness_that_crashes_before_any_instance_is_an_error_with_its_traceback(inventory_image, tmp_path):
    """The real harness on a row without ``image`` (what the column check now refuses up front) dies before any
    instance runs: every instance is an error quoting harness.log's last lines."""
    (task,) = [ref.task for ref in load_tasks(INVENTORY, slice_="0:1")]
    row = swebench_row(task)
    del row["image"]
    (tmp_path / "rows.jsonl").write_text(json.dumps(row) + "\n")
    gold = Trajectory(id="g", task=task, steps=[], provenance=Provenance(source_format="test"),
                      outcome=Outcome(patch=task.patch))
    write_predictions(tmp_path / "predictions.jsonl", "oracle", {task.instance_id: gold})
    verdicts = grade_with_harness(tmp_path, "oracle", "crash-t", (str(tmp_path / "rows.jsonl"), "test"),
                                  [task.instance_id], timeout=60)
    status, reason = verdicts[task.instance_id]
    assert status == "error" and "no result" in reason and "KeyError: 'image'" in reason, reason
    assert "\n" not in reason and len(reason) < 500


def test_eval_help_names_every_benchmark():
    from srl_swe.eval.names import MATH_BENCHMARK_NAMES
    from srl_swe.tasks.names import SOURCE_FORMS as BENCHMARK_FORMS

    result = CliRunner().invoke(app, ["eval", "--help"], env={"COLUMNS": "400", "TERMINAL_WIDTH": "400"})
    assert result.exit_code == 0, result.output
    said = " ".join(result.output.replace("│", " ").split())
    assert {"swe-bench-verified", "swe-bench-lite", "swe-bench", "swe-gym", "swe-smith", "swebench:PATH", "local:PATH",
            "TASK_REPO"} <= set(BENCHMARK_FORMS)
    for name in (*BENCHMARK_FORMS, *MATH_BENCHMARK_NAMES, "math:PATH"):
        assert name in said, name


# --- math ----------------------------------------------------------------------------------------------

class ScriptedMath:
    """Greedy: right on the questions in ``greedy_right``. Sampling: right on every question's calls
    whose count is a multiple of ``every`` (so avg@k = 1/every), except ``always_right`` ones."""

    name = "scripted"

    def __init__(self, greedy_right: set[str], always_right: set[str], every: int):
        self.temperature, self.calls = 0.0, {}
        self.greedy_right, self.always_right, self.every = greedy_right, always_right, every

    def complete(self, messages):
        question = messages[-1]["content"]
        answer = question.split()[-1].rstrip("?")  # "What is the number 7?" → 7
        if self.temperature == 0:
            right = question in self.greedy_right
        else:
            count = self.calls[question] = self.calls.get(question, -1) + 1
            right = question in self.always_right or count % self.every == 0
        return f"<think>hm</think> The answer is \\boxed{{{answer if right else 'nope'}}}."


def math_file(path: Path, count: int = 4) -> tuple[Path, list[str]]:
    questions = [f"What is the number {n}?" for n in range(count)]
    path.write_text("".join(json.dumps({"question": q, "answer": str(n)}) + "\n" for n, q in enumerate(questions)))
    return path, questions


def test_greedy_and_avg_at_k_arithmetic(tmp_path):
    path, questions = math_file(tmp_path / "bench.jsonl")
    model = ScriptedMath(greedy_right=set(questions[:2]), always_right={questions[0]}, every=4)
    result = evaluate_benchmark(f"math:{path}", ModelSampler(model), tmp_path / "run", samples=8, batch=3)
    assert result["greedy"] == pytest.approx(50.0)
    assert result["avg"] == pytest.approx(100 * (1 + 0.25 * 3) / 4)  # 43.75
    assert result["k"] == 8 and result["questions"] == 4

    class Broken:
        name, temperature = "broken", 0.0

        def complete(self, messages):
            raise AssertionError("a finished question was asked again")

    assert evaluate_benchmark(f"math:{path}", ModelSampler(Broken()), tmp_path / "run", samples=8) == result


def test_math_eval_command_with_a_real_checkpoint(tmp_path):
    from srl_swe.train.tiny_model import init_tiny_model

    init_tiny_model(tmp_path / "model")
    path, _ = math_file(tmp_path / "bench.jsonl", count=2)
    result = CliRunner().invoke(app, ["eval", "--benchmark", f"math:{path}", "--model", f"hf:{tmp_path / 'model'}",
                                      "--samples", "2", "--max-new-tokens", "4", "-o", str(tmp_path / "run")])
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "run" / "report.json").read_text())
    bench = report["benchmarks"]["bench"]
    assert bench["questions"] == 2 and bench["k"] == 2 and 0 <= bench["greedy"] <= 100


# --- report --------------------------------------------------------------------------------------------

def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def test_report_compares_runs_with_the_paper_and_draws_plots(tmp_path):
    swe = tmp_path / "swe-run"
    swe.mkdir()
    run = SweRun("local:sandboxes/inventory", "hf:ckpt", swe, mode="oracle-files")
    instances = {"a": {"status": "resolved"}, "b": {"status": "unresolved"}, "c": {"status": "error", "reason": "x"}}
    write_swe_report(swe, summarise(run, "r1", instances))
    path, questions = math_file(tmp_path / "amc.jsonl")
    model = ScriptedMath(greedy_right=set(questions[:1]), always_right=set(), every=2)
    result = evaluate_benchmark(f"math:{path}", ModelSampler(model), tmp_path / "math-run", samples=4)
    write_math_report(tmp_path / "math-run", "scripted", {"AMC23": {**result, "name": "AMC23"}})
    train = tmp_path / "train-run" / "checkpoint-4"
    train.mkdir(parents=True)
    history = [{"step": s, "reward": -1 + 0.2 * s} for s in range(1, 5)] + [{"step": 4, "eval_reward": -0.3}]
    (train / "trainer_state.json").write_text(json.dumps({"log_history": history}))

    result = CliRunner().invoke(app, ["report", str(swe), str(tmp_path / "math-run"), str(tmp_path / "train-run"),
                                      "-o", str(tmp_path / "report")])
    assert result.exit_code == 0, result.output
    table = (tmp_path / "report" / "report.md").read_text()
    assert "| swe-run | local:sandboxes/inventory | oracle-files | hf:ckpt | 1/3 | 1 | 33.3 |" in table
    # AMC23: avg@4 = 2 of 4 samples right = 50.0, greedy 1 of 4 = 25.0; the average of the columns present
    assert "| math-run (scripted) | 50.0 | 25.0 | – | – | – | – | – | 37.5 |" in table
    assert "| SRL (paper) | 14.8 | 8.6 |" in table and "SRL → RLVR (paper, quoted)" in table
    for name in ("scores.png", "rewards.png"):
        width, height = png_size(tmp_path / "report" / name)
        assert width > 100 and height > 100


def test_the_harness_summary_maps_to_our_statuses(tmp_path):
    from srl_swe.grading.harness import harness_verdicts

    summary = tmp_path / "oracle.run-1.json"
    summary.write_text(json.dumps({"resolved_ids": ["a"], "unresolved_ids": ["b"], "error_ids": ["c"],
                                   "empty_patch_ids": ["d"], "completed_ids": ["a", "b"]}))
    verdicts = harness_verdicts(summary)
    assert {iid: status for iid, (status, _) in verdicts.items()} == {
        "a": "resolved", "b": "unresolved", "c": "error", "d": "empty_patch"}
    assert "logs/run_evaluation/run-1/" in verdicts["c"][1]
    assert harness_verdicts(tmp_path / "missing.json") == {}


def test_without_a_summary_the_instances_own_reports_still_count(tmp_path):
    """The harness can die in its final report (it inspects every container of the engine, and another run may
    remove one meanwhile): what each instance's report.json says is kept."""
    from srl_swe.grading.harness import instance_verdicts

    instances = tmp_path / "logs" / "run_evaluation" / "r1" / "oracle"
    for iid, report in {"a": {"resolved": True, "patch_successfully_applied": True},
                        "b": {"resolved": False, "patch_successfully_applied": True},
                        "c": {"resolved": False, "patch_successfully_applied": False}}.items():
        (instances / iid).mkdir(parents=True)
        (instances / iid / "report.json").write_text(json.dumps({iid: report}))
    predictions = tmp_path / "predictions.jsonl"
    predictions.write_text("".join(json.dumps({"instance_id": iid, "model_name_or_path": "oracle",
                                               "model_patch": patch}) + "\n" for iid, patch in (("a", "x"), ("d", ""))))
    assert instance_verdicts(instances, predictions) == {"a": ("resolved", ""), "b": ("unresolved", ""),
                                                        "d": ("empty_patch", "")}
