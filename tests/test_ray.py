"""`--executor ray`: collect and eval of the bundled tasks on a real local Ray cluster (`ray start --head`, 2 CPUs,
a `docker` resource) and the real Docker engine — the same graded results as the local pool, a worker killed
mid-task retried without a duplicate line or a leftover container, and a clear message without the extra."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest
from conftest import default_sigint
from typer.testing import CliRunner

from srl_swe.cli import app
from srl_swe.cluster import RayOptions
from srl_swe.rollout import model_factory, rollout_all, sandbox_factory
from srl_swe.sandbox.images import build_images
from srl_swe.tasks.rows import bundled_tasks
from srl_swe.trajectory import read_trajectories

try:
    import ray
except ImportError:  # a developer machine without the [ray] extra; CI installs it and must never skip
    if os.environ.get("CI"):
        raise
    pytest.skip("the [ray] extra is not installed", allow_module_level=True)
pytestmark = pytest.mark.docker
SANDBOXES = Path(__file__).parent.parent / "sandboxes"
SUBSET = r"^srl-swe__units-[1-4]$"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def cluster(docker_client):
    """A head node started like a user's (`ray start --head`), 2 CPUs and 2 `docker` units; its address.
    The bundled images are built first. Stopped, with every Ray process of it, at the end."""
    build_images(SANDBOXES, docker_client)
    folder = tempfile.mkdtemp(prefix="ray", dir="/tmp")  # short: Ray's socket paths must stay under 107 bytes
    address = f"127.0.0.1:{_free_port()}"
    ray_bin = str(Path(sys.executable).parent / "ray")
    env = {**os.environ, "RAY_AUTH_MODE": "disabled"}  # a loopback test cluster; the driver joins without a token
    subprocess.run([ray_bin, "start", "--head", "--num-cpus", "2", "--resources", '{"docker": 2}',
                    "--port", address.rsplit(":", 1)[1], "--temp-dir", folder, "--include-dashboard", "false",
                    "--disable-usage-stats"], check=True, capture_output=True, env=env, timeout=180)
    previous = os.environ.get("RAY_AUTH_MODE")
    os.environ["RAY_AUTH_MODE"] = "disabled"
    try:
        yield address
    finally:
        ray.shutdown()
        os.environ.pop("RAY_AUTH_MODE") if previous is None else os.environ.update(RAY_AUTH_MODE=previous)
        subprocess.run([ray_bin, "stop", "--force"], capture_output=True, env=env, timeout=120)
        shutil.rmtree(folder, ignore_errors=True)


def _graded(path: Path) -> dict[str, tuple[bool | None, str]]:
    """instance id → (resolved, patch) of every line, failing on a duplicate line."""
    trajectories = list(read_trajectories(path))
    ids = [t.task.instance_id for t in trajectories]
    assert len(ids) == len(set(ids)), f"duplicate lines in {path}: {ids}"
    return {t.task.instance_id: (t.outcome.resolved, t.outcome.patch) for t in trajectories}


def _labelled(docker_client, run_id: str) -> list:
    return docker_client.containers.list(all=True, filters={"label": f"srl-swe.run={run_id}"})


def test_collect_through_ray_grades_as_the_local_pool(cluster, docker_client, tmp_path):
    args = ["collect", "--tasks", str(SANDBOXES / "units"), "--filter", SUBSET, "-w", "2"]
    local = CliRunner().invoke(app, [*args, "-o", str(tmp_path / "local.jsonl")])
    on_ray = CliRunner().invoke(app, [*args, "-o", str(tmp_path / "ray.jsonl"), "--executor", "ray",
                                      "--ray-address", cluster])
    assert local.exit_code == 0 and on_ray.exit_code == 0, local.output + on_ray.output
    assert "4/4 resolved" in on_ray.output
    assert _graded(tmp_path / "ray.jsonl") == _graded(tmp_path / "local.jsonl")
    # the logs a node wrote came back to the driver
    assert {p.name for p in (tmp_path / "ray.jsonl.logs").iterdir()} == {
        p.name for p in (tmp_path / "local.jsonl.logs").iterdir()}
    again = CliRunner().invoke(app, [*args, "-o", str(tmp_path / "ray.jsonl"), "--executor", "ray",
                                     "--ray-address", cluster])
    assert "0/0 resolved, 4 already done" in again.output and len(_graded(tmp_path / "ray.jsonl")) == 4


def test_eval_through_ray_reports_as_the_local_pool(cluster, tmp_path):
    def report(name: str, *extra: str) -> dict:
        result = CliRunner().invoke(app, ["eval", "--benchmark", f"local:{SANDBOXES / 'units'}", "--model", "oracle",
                                          "--filter", "units-[34]$", "-w", "2", "-o", str(tmp_path / name), *extra])
        assert result.exit_code == 0, result.output
        return json.loads((tmp_path / name / "report.json").read_text())

    local, on_ray = report("local"), report("ray", "--executor", "ray", "--ray-address", cluster)
    assert on_ray["instances"] == local["instances"] and on_ray["resolved"] == 2


class _KilledOnce:
    """The oracle, except that its first call anywhere writes its process id to ``marker`` and waits to be
    killed: the rollout's worker process dies mid-task, with its container open."""

    def __init__(self, inner, marker: Path):
        self.inner, self.marker, self.name = inner, marker, inner.name

    def complete(self, messages: list[dict[str, str]]) -> str:
        try:
            with open(self.marker, "x") as handle:  # exclusive: only one call, of both tasks, is the victim
                handle.write(str(os.getpid()))
        except FileExistsError:
            return self.inner.complete(messages)
        time.sleep(300)
        raise AssertionError("the worker was not killed")


def _kill_when_written(marker: Path, seconds: float = 300) -> threading.Thread:
    def watch() -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if marker.exists() and marker.read_text().strip():
                os.kill(int(marker.read_text()), signal.SIGKILL)
                return
            time.sleep(0.2)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


def test_a_worker_killed_mid_task_is_retried_without_duplicate_or_leftover_container(cluster, docker_client,
                                                                                      tmp_path):
    from ray import cloudpickle

    cloudpickle.register_pickle_by_value(sys.modules[__name__])  # workers cannot import this test module
    tasks = [ref for ref in bundled_tasks(SANDBOXES) if ref.task.instance_id in
             ("srl-swe__units-1", "srl-swe__units-2")]
    oracle, marker, run_id = model_factory("oracle"), tmp_path / "killed.pid", f"ray-kill-{os.getpid()}"
    watcher = _kill_when_written(marker)
    report = rollout_all(tasks, tmp_path / "out.jsonl", sandbox_factory("docker", run_id=run_id),
                         lambda ref, sandbox: _KilledOnce(oracle(ref, sandbox), marker), workers=2,
                         ray=RayOptions(address=cluster))
    watcher.join(timeout=5)
    assert marker.read_text().strip().isdigit()  # a worker was killed mid-task …
    assert sorted(report.resolved) == ["srl-swe__units-1", "srl-swe__units-2"] and not report.errors  # … and retried
    assert set(_graded(tmp_path / "out.jsonl")) == {"srl-swe__units-1", "srl-swe__units-2"}
    assert not _labelled(docker_client, run_id)  # the killed worker's container was swept


def test_ctrl_c_cancels_the_tasks_in_flight_removes_their_containers_and_the_run_resumes(cluster, docker_client,
                                                                                         tmp_path):
    out = tmp_path / "out.jsonl"
    command = [sys.executable, "-m", "srl_swe", "collect", "--tasks", str(SANDBOXES / "textkit"), "-w", "2",
               "--executor", "ray", "--ray-address", cluster, "-o", str(out)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, preexec_fn=default_sigint)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and (not out.exists() or not out.read_text().strip()):
        time.sleep(0.1)
    process.send_signal(signal.SIGINT)
    interrupted = time.monotonic()
    process.wait(timeout=120)
    assert process.returncode != 0 and time.monotonic() - interrupted < 60
    partial = len(_graded(out))
    total = len((SANDBOXES / "textkit" / "tasks.jsonl").read_text().splitlines())
    assert 1 <= partial < total
    assert not docker_client.containers.list(all=True, filters={"label": "srl-swe"})  # in flight: removed
    done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    assert len(_graded(out)) == total and f"{total - partial}/{total - partial} resolved" in done.stdout + done.stderr


def test_an_instance_that_fails_on_every_try_is_an_error_with_its_reason(cluster, tmp_path):
    tasks = [ref for ref in bundled_tasks(SANDBOXES) if ref.task.instance_id == "srl-swe__units-1"]

    def no_sandbox(ref):
        raise RuntimeError("no image here")

    report = rollout_all(tasks, tmp_path / "out.jsonl", no_sandbox, model_factory("oracle"),
                         ray=RayOptions(address=cluster))
    assert report.errors == {"srl-swe__units-1": "RuntimeError: no image here"} and not report.done
    assert "RuntimeError: no image here" in (tmp_path / "out.jsonl.logs" / "srl-swe__units-1.error.txt").read_text()


def test_without_the_extra_the_executor_names_the_install_command(tmp_path):
    code = "import sys; sys.modules['ray'] = None; from srl_swe.cli import app; app()"
    result = subprocess.run([sys.executable, "-c", code, "collect", "--tasks", str(SANDBOXES), "--executor", "ray",
                             "-o", str(tmp_path / "out.jsonl")], capture_output=True, text=True, timeout=120)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "pip install 'srl-swe[ray]'" in result.stdout + result.stderr and not (tmp_path / "out.jsonl").exists()


def test_an_unknown_executor_is_refused():
    result = CliRunner().invoke(app, ["eval", "--benchmark", "local:x", "--model", "oracle", "-o", "x",
                                      "--executor", "dask"])
    assert result.exit_code == 2 and "unknown executor 'dask'" in result.output
