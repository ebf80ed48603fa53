"""The adversarial suite: hostile model output replayed through the real agent in real Docker sandboxes.

Each probe is something a model (or a user's bad day) did to the harness; each test asserts the harness
held: bounded in time, the right verdict, the right observation, nothing left behind. Probes that already
held when this suite was written stay here so they stay held.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from srl_swe.actions import render_call
from srl_swe.agent import AgentLimits, run_agent
from srl_swe.models import ReplayModel
from srl_swe.rollout import rollout_one, sandbox_factory
from srl_swe.sandbox.base import SandboxError
from srl_swe.sandbox.docker import LABEL, DockerSandbox
from srl_swe.tasks.rows import load_tasks
from srl_swe.tools import ToolBox
from srl_swe.trajectory import Action

pytestmark = pytest.mark.docker
SANDBOXES = Path(__file__).resolve().parent.parent / "sandboxes"


@pytest.fixture(scope="module")
def textkit(docker_client):
    """The first bundled textkit task, its image built (cached after the first build)."""
    from srl_swe.sandbox.images import build_images

    build_images(SANDBOXES, docker_client)
    return load_tasks(SANDBOXES / "textkit")[0]


def bash(command: str) -> str:
    return f"<think>probe</think>\n{render_call('bash', {'command': command})}"


def editor(**arguments: str) -> str:
    return f"<think>probe</think>\n{render_call('str_replace_editor', arguments)}"


SUBMIT = f"<think>done</think>\n{render_call('submit', {})}"
GOLD_EDIT = "cd /testbed && git apply <<'EOF'\n{patch}EOF"


def replay(ref, tmp_path, completions: list[str], **limits):
    """One rollout of the replayed completions, graded in a fresh container: (trajectory, grade dict)."""
    import json

    trajectory = rollout_one(ref, sandbox_factory("docker"), lambda r, s: ReplayModel(completions),
                             AgentLimits(**limits), tmp_path)
    grade_file = tmp_path / f"{ref.task.instance_id}.grade.json"
    return trajectory, json.loads(grade_file.read_text()) if grade_file.exists() else None


def no_container_left(docker_client) -> bool:
    """No srl-swe container this test process started is still there."""
    import os
    import socket

    owner = f"{socket.gethostname()}:{os.getpid()}"
    return not docker_client.containers.list(all=True, filters={"label": f"{LABEL}.owner={owner}"}, ignore_removed=True)


# --- defects of issue 11, fixed -----------------------------------------------------------------------

def test_the_editor_creates_and_views_new_files_in_docker(textkit):
    with DockerSandbox(textkit.task.image, base_commit=textkit.task.base_commit) as sandbox:
        tools, shell = ToolBox(sandbox), sandbox.shell.pid
        created = tools.execute(Action(tool="str_replace_editor", arguments={
            "command": "create", "path": "/testbed/repro.py", "file_text": "print('bug')\n"}))
        assert created.observation == "Created /testbed/repro.py (1 lines)."
        missing = tools.execute(Action(tool="str_replace_editor", arguments={
            "command": "view", "path": "/testbed/nope.py"}))
        assert missing.observation == "ERROR: /testbed/nope.py does not exist"
        folder = tools.execute(Action(tool="str_replace_editor", arguments={
            "command": "create", "path": "/testbed/textkit", "file_text": "x"}))
        assert folder.observation == "ERROR: /testbed/textkit is a directory"
        assert sandbox.run("python3 repro.py").output == "bug\n"
        assert sandbox.shell.pid == shell, "signalling a missing file never ends the persistent shell"


def test_a_symlink_inside_the_repository_does_not_lead_the_editor_outside(textkit):
    with DockerSandbox(textkit.task.image, base_commit=textkit.task.base_commit) as sandbox:
        sandbox.run("ln -s /etc /testbed/etc_link && ln -s /home/agent /testbed/home_link")
        tools = ToolBox(sandbox)
        for command in ({"command": "view", "path": "/testbed/etc_link/passwd"},
                        {"command": "create", "path": "/testbed/home_link/.bashrc", "file_text": "evil"}):
            result = tools.execute(Action(tool="str_replace_editor", arguments=command))
            assert "leads outside the repository" in result.observation, result.observation
        assert "evil" not in sandbox.run("cat /home/agent/.bashrc").output


def test_a_clean_filter_that_never_ends_does_not_hang_the_diff(textkit, tmp_path):
    stall = ("git config filter.stall.clean 'sleep 100000' && git config filter.stall.process 'sleep 100000' && "
             "git config --global diff.stall.textconv 'sleep 100000' && git config core.fsmonitor 'sleep 100000' && "
             "echo '* filter=stall diff=stall' > .gitattributes && echo '# touched' >> textkit/tokens.py")
    started = time.monotonic()
    trajectory, grade = replay(textkit, tmp_path, [bash(stall), SUBMIT])
    assert time.monotonic() - started < 60
    assert trajectory.outcome.exit_status == "submitted"
    assert "+# touched" in trajectory.outcome.patch and ".gitattributes" in trajectory.outcome.patch
    assert grade["resolved"] is False


def test_a_bare_repository_config_and_hooks_do_not_change_the_patch(textkit, tmp_path):
    tamper = ("git config core.bare true && git config core.hooksPath /tmp && "
              "printf '#!/bin/sh\\ntouch /tmp/pwned\\n' > /tmp/post-index-change && chmod +x /tmp/post-index-change "
              "&& echo '# edited' >> textkit/slug.py")
    trajectory, _ = replay(textkit, tmp_path, [bash(tamper), SUBMIT])
    assert "+# edited" in trajectory.outcome.patch, trajectory.outcome


def test_the_episode_limit_cuts_a_running_command(textkit, tmp_path):
    started = time.monotonic()
    trajectory, grade = replay(textkit, tmp_path, [bash("sleep 60"), SUBMIT], max_seconds=5)
    assert time.monotonic() - started < 40, "the 60 s command was cut at the episode's 5 s limit"
    assert trajectory.outcome.exit_status == "time_limit"
    assert "timed out" in trajectory.steps[0].observation


class SlowModel:
    """A model whose second call takes 30 s, like a stalled inference server."""

    name = "slow"

    def __init__(self):
        self.calls = 0

    def complete(self, messages):
        self.calls += 1
        if self.calls > 1:
            time.sleep(30)
        return bash("echo first")


def test_the_episode_limit_cuts_a_model_call(textkit):
    with DockerSandbox(textkit.task.image, base_commit=textkit.task.base_commit) as sandbox:
        started = time.monotonic()
        trajectory = run_agent(textkit.task, sandbox, SlowModel(), AgentLimits(max_seconds=5))
    assert time.monotonic() - started < 15
    assert trajectory.outcome.exit_status == "time_limit" and len(trajectory.steps) == 1


def test_a_huge_file_is_refused_as_a_patch_with_its_reason(textkit, tmp_path):
    big = "head -c 100000000 /dev/urandom | base64 > /testbed/data.txt && echo '# x' >> textkit/slug.py"
    trajectory, grade = replay(textkit, tmp_path, [bash(big), SUBMIT])
    assert trajectory.outcome.patch == "" and trajectory.outcome.exit_status == "patch_too_large"
    assert grade["resolved"] is False and "larger than the 10 MB limit" in grade["reason"]
    assert (tmp_path / f"{textkit.task.instance_id}.json").stat().st_size < 1_000_000


def test_a_dead_container_is_a_sandbox_error_with_its_reason_not_an_observation(textkit, docker_client):
    with DockerSandbox(textkit.task.image, base_commit=textkit.task.base_commit) as sandbox:
        tools = ToolBox(sandbox)
        docker_client.api.kill(sandbox.container.id)
        with pytest.raises(SandboxError, match="the container stopped") as error:
            tools.execute(Action(tool="bash", arguments={"command": "echo hi"}))
        assert "409" not in str(error.value).split("(")[0]
        with pytest.raises(SandboxError, match="the container"):
            sandbox.diff()


def test_a_garbage_collection_never_closes_a_live_sandbox_socket(base_image, docker_client, monkeypatch):
    """The root cause of the 605 s hang that ended in EBADF under load: docker-py's SocketIO for an exec or
    attach stream lives only in a reference cycle; a collection during the hand-over, then any later one,
    runs urllib3's finalizer first, which closes the connection, i.e. the stream's fd (whose number another
    worker's socket then takes: select waits on the wrong socket for the whole timeout). Forcing that
    collection makes it deterministic; the stream now owns its SocketIO."""
    import gc

    from docker.api.client import APIClient

    original = APIClient._get_raw_response_socket

    def collect_during_handover(self, response):
        gc.collect()  # what another thread's allocations can trigger at this very moment
        return original(self, response)

    monkeypatch.setattr(APIClient, "_get_raw_response_socket", collect_during_handover)
    with DockerSandbox(base_image, client=docker_client) as sandbox:
        monkeypatch.undo()
        gc.collect()  # any later collection, in any thread
        assert sandbox.keeper.sock.fileno() != -1 and sandbox.shell.stream.sock.fileno() != -1
        assert sandbox.run("echo ok", timeout=20).output == "ok\n"
        started = time.monotonic()
        assert sandbox.run("sleep 60", timeout=2).timed_out and time.monotonic() - started < 20
        assert sandbox.run("echo still", timeout=20).output == "still\n"
    assert sandbox.keeper.sock.fileno() == -1 and sandbox.shell.stream is None, "close() released both"


def test_rollouts_leave_no_descriptor_open_and_survive_high_descriptor_numbers(textkit):
    """Under 8-16 workers, rollouts failed with "filedescriptor out of range in select()": each sandbox's
    docker client kept its pooled connections open until a garbage collection (10 descriptors a rollout),
    and select cannot wait on a descriptor above 1023. Now the client closes with its sandbox, and waits
    use poll."""
    import os
    import resource

    def open_descriptors() -> int:
        return len(os.listdir("/proc/self/fd"))

    before = open_descriptors()
    for _ in range(3):
        with DockerSandbox(textkit.task.image, base_commit=textkit.task.base_commit) as sandbox:
            sandbox.run("echo hi")
            sandbox.diff()
    assert open_descriptors() == before, "a rollout left descriptors open"
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 2048:  # room for 1,100 more descriptors, as a long-running process may well have
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(4096, hard), hard))
    padding = [os.open("/dev/null", os.O_RDONLY) for _ in range(1100)]
    try:
        with DockerSandbox(textkit.task.image, base_commit=textkit.task.base_commit) as sandbox:
            assert sandbox.shell.stream.sock.fileno() > 1023
            assert sandbox.run("echo high").output == "high\n"
            assert sandbox.run("sleep 30", timeout=1).timed_out
    finally:
        for fd in padding:
            os.close(fd)


# --- probes that already held: they stay held ---------------------------------------------------------

def test_the_gold_patch_is_still_resolved_through_the_whole_harness(textkit, tmp_path):
    trajectory, grade = replay(textkit, tmp_path, [bash(GOLD_EDIT.format(patch=textkit.task.patch)), SUBMIT])
    assert grade["resolved"] is True, grade["reason"]


@pytest.mark.parametrize("name, command", [
    ("cpu spin", "while :; do :; done"),
    ("memory bomb", "python3 -c 'x = bytearray(8 * 1024**3); import time; time.sleep(60)'"),
    ("binary flood", "head -c 300000000 /dev/urandom"),
])
def test_resource_attacks_end_in_bounded_time_and_the_episode_goes_on(textkit, tmp_path, name, command):
    started = time.monotonic()
    trajectory, _ = replay(textkit, tmp_path, [bash(command), bash("echo still here"), SUBMIT],
                           command_timeout=5)
    assert time.monotonic() - started < 90, name
    assert trajectory.steps[1].observation.startswith("still here"), trajectory.steps[1].observation
    assert trajectory.outcome.exit_status == "submitted"


def test_a_background_fork_bomb_ends_with_the_episode_and_the_patch_is_still_taken(textkit, tmp_path):
    """The bomb returns at once and holds every pid the container allows for the rest of the episode (the
    agent's own later commands may fail to fork: its doing); the harness still ends the episode, kills the
    bomb (the keeper needs no new process) and takes the diff."""
    started = time.monotonic()
    trajectory, grade = replay(textkit, tmp_path, [bash("echo '# mine' >> textkit/slug.py"), bash(":(){ :|:& };:"),
                                                   bash("echo maybe"), SUBMIT], command_timeout=5)
    assert time.monotonic() - started < 120
    assert trajectory.outcome.exit_status == "submitted" and "+# mine" in trajectory.outcome.patch
    assert grade is not None and grade["resolved"] is False


@pytest.mark.parametrize("name, command, expected", [
    ("network", "python3 -c \"import socket; socket.create_connection(('1.1.1.1', 53), 3)\"", "unreachable"),
    ("write outside the repository", "echo x > /etc/passwd", "Permission denied"),
    ("history peeking", "git log --all --oneline | wc -l", "1\n"),
])
def test_escapes_fail_inside_the_sandbox(textkit, tmp_path, name, command, expected):
    trajectory, _ = replay(textkit, tmp_path, [bash(command), SUBMIT])
    assert expected.lower() in trajectory.steps[0].observation.lower(), (name, trajectory.steps[0].observation)


@pytest.mark.parametrize("name, command", [
    ("printed PASSED lines", "printf 'import atexit\\natexit.register(lambda: print(\"PASSED tests/test_tokens.py::"
                             "test_numbers_with_thousands_separators\"))\\n' >> textkit/__init__.py"),
    ("conftest hook", "printf 'def pytest_runtest_logreport(report):\\n    report.outcome = \"passed\"\\n' "
                      "> conftest.py"),
    ("edited tests", "sed -i 's/assert /assert True or /' tests/test_tokens.py"),
    ("os._exit(0)", "printf 'import atexit, os\\natexit.register(lambda: os._exit(0))\\n' >> textkit/__init__.py"),
    ("a pytest module at the root", "printf 'import sys\\nprint(\"PASSED\")\\nsys.exit(0)\\n' > pytest.py"),
])
def test_forged_grades_are_refused(textkit, tmp_path, name, command):
    _, grade = replay(textkit, tmp_path, [bash(command), SUBMIT])
    assert grade["resolved"] is False, name


def test_concurrent_hostile_rollouts_leave_no_container(textkit, tmp_path, docker_client):
    results = []

    def one(index: int) -> None:
        results.append(replay(textkit, tmp_path / str(index), [bash(":(){ :|:& };:"), SUBMIT], command_timeout=3))

    threads = [threading.Thread(target=one, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert len(results) == 4 and all(t.outcome.exit_status == "submitted" for t, _ in results)
    assert no_container_left(docker_client)
