"""Sandboxes for real: the Docker backend in containers (marker `docker`) and the local backend."""

import os
import subprocess
import time
from pathlib import Path

import pytest
from conftest import default_sigint

from srl_swe.sandbox.base import SandboxError
from srl_swe.sandbox.docker import LABEL, DockerSandbox, prune_orphans
from srl_swe.sandbox.local import LocalSandbox, commit_base
from srl_swe.sandbox.shell import OutputCap


def wait_until(condition, seconds: float) -> bool:
    """Whether ``condition()`` became true within ``seconds``."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True

docker_only = pytest.mark.docker


def test_output_cap_keeps_head_and_tail():
    cap = OutputCap(10)
    for piece in (b"abc", b"defghij", b"klmnop\xff"):
        cap.feed(piece)
    assert cap.text() == "abcde\n[… 7 bytes of output truncated …]\nmnop\ufffd"


@pytest.fixture
def repo(tmp_path):
    (tmp_path / "repo").mkdir()
    (tmp_path / "repo" / "calc.py").write_text("def add(a, b):\n    return a - b\n")
    return tmp_path / "repo"


def shared_behaviour(sandbox):
    """What every backend promises, checked the same way."""
    assert sandbox.run("cd /tmp && export SRL_X=42").exit_code == 0
    state = sandbox.run("pwd; echo $SRL_X; false")
    assert state.output == "/tmp\n42\n" and state.exit_code == 1
    assert "a new one was started" in sandbox.run("exit 3").output
    assert sandbox.run("pwd; echo $SRL_X").output == "/tmp\n42\n", "`exit` costs the shell, not its state"
    started = time.monotonic()
    hung = sandbox.run("echo before; sleep 60", timeout=1)
    assert hung.timed_out and hung.exit_code == 124 and hung.output.startswith("before\n")
    assert time.monotonic() - started < 10
    assert sandbox.run("pwd; echo $SRL_X").output == "/tmp\n42\n", "the shell went on with its state"
    busy = sandbox.run("while :; do :; done", timeout=1)
    assert busy.timed_out
    assert sandbox.run("pwd; echo $SRL_X").output == "/tmp\n42\n", "a restarted shell keeps cwd and env"
    big = sandbox.run("head -c 30000000 /dev/zero | tr '\\0' x; printf '\\377\\376 end'", max_output=2000)
    assert big.truncated and big.exit_code == 0 and len(big.output) < 2200 and big.output.endswith("\ufffd\ufffd end")
    sandbox.write_file("notes/new.txt", "héllo\n")
    assert sandbox.read_file("notes/new.txt") == "héllo\n"
    sandbox.write_file("calc.py", "def add(a, b):\n    return a + b\n")
    diff = sandbox.diff()
    assert "-    return a - b" in diff and "+    return a + b" in diff and "notes/new.txt" in diff
    sandbox.run(f"printf 'caf\\351\\n' > {sandbox.workdir}/latin1.txt && git() {{ echo fake; }}")  # not UTF-8
    latin = sandbox.diff()
    assert "latin1.txt" in latin and "GIT binary patch" in latin and "fake" not in latin


def test_local_sandbox_keeps_every_promise(repo):
    with pytest.warns(UserWarning, match="does not isolate"):
        sandbox = LocalSandbox(repo)
    with sandbox:
        shared_behaviour(sandbox)
        mark = f"300.{os.getpid()}{time.monotonic_ns() % 10**6}"  # this run's sleeps only, not another's
        sandbox.run(f"(sleep {mark} &) ; sleep {mark} & sleep {mark}", timeout=1)

        def leftovers() -> list[str]:
            return subprocess.run(["pgrep", "-f", f"sleep {mark}"], capture_output=True, text=True).stdout.split()

        # SIGKILL is sent at once, but a starved machine may take a moment to end the processes: poll briefly
        assert wait_until(lambda: not leftovers(), 10), f"the command's process tree was killed: {leftovers()}"
    assert not sandbox.root.exists()


def test_base_commit_recipe_is_reproducible(repo, tmp_path):
    import shutil

    other = tmp_path / "copy"
    shutil.copytree(repo, other)
    assert commit_base(repo) == commit_base(other)


@docker_only
def test_docker_sandbox_keeps_every_promise(docker_client, base_image, repo, tmp_path):
    with DockerSandbox(base_image, workdir="/testbed", client=docker_client) as sandbox:
        sandbox.run("git init -q -b main . && git add -A && git -c user.name=a -c user.email=a@b commit -qm base",
                    timeout=30)
        for name in ("calc.py",):
            sandbox.write_file(name, (repo / name).read_text())
        sandbox.run("git add -A && git -c user.name=a -c user.email=a@b commit -qm base", timeout=30)
        sandbox.base_commit = sandbox.run("git rev-parse HEAD").output.strip()
        shared_behaviour(sandbox)
        assert sandbox.run("id -un").output.strip() == "agent", "a non-root user where the image has one"
        sandbox.run("echo 'export FROM_BASHRC=yes SRL_X=bashrc' > ~/.bashrc && exit")  # a new shell reads it
        assert sandbox.run("echo $FROM_BASHRC $SRL_X").output == "yes 42\n", "saved state wins over ~/.bashrc"
        sandbox.run("cd /testbed && printf '#!/bin/sh\\necho run\\n' > run.sh && chmod 755 run.sh")
        sandbox.write_file("run.sh", "#!/bin/sh\necho edited\n")
        assert sandbox.run("./run.sh && stat -c '%U %a' run.sh").output == "edited\nagent 755\n"
        container_id = sandbox.container.id
    assert not docker_client.containers.list(all=True, filters={"id": container_id})


@docker_only
def test_docker_limits_contain_hostile_commands(docker_client, base_image):
    with DockerSandbox(base_image, client=docker_client) as sandbox:
        host_before = len(list(Path("/proc").glob("[0-9]*")))
        bomb = sandbox.run(":(){ :|:& };:; sleep 5", timeout=3)
        assert bomb.timed_out or bomb.exit_code != 0
        assert len(list(Path("/proc").glob("[0-9]*"))) < host_before + 50, "the pids limit held it"
        assert sandbox.run("ls /proc | grep -c '^[0-9]'").exit_code == 0, "the bomb was emptied"
        assert sandbox.run("echo alive").output == "alive\n"
        memory = sandbox.run("python3 -c 'x = bytearray(8 * 1024**3)'", timeout=60)
        assert memory.exit_code != 0, "the memory limit stopped an 8 GB allocation"
        network = sandbox.run("python3 -c \"import socket; socket.create_connection(('1.1.1.1', 53), 3)\"",
                              timeout=30)
        assert network.exit_code != 0 and "unreachable" in network.output.lower()
        started = time.monotonic()
        flood = sandbox.run("head -c 1000000000 /dev/urandom; echo end", timeout=120, max_output=10_000)
        assert flood.exit_code == 0 and flood.truncated and len(flood.output) < 11_000
        assert flood.output.endswith("end\n")
        assert time.monotonic() - started < 60, "a gigabyte of binary output streams through, capped"
        escaped = sandbox.run("setsid sleep 300 & (sleep 301 &) ; sleep 302", timeout=1)
        assert escaped.timed_out
        # SIGKILL is sent at once, but a starved machine may take a moment to end the processes: poll briefly
        assert wait_until(lambda: "sleep 30" not in sandbox.run("cat /proc/[0-9]*/cmdline 2>/dev/null | "
                                                                "tr '\\0' ' '").output, 10)


@docker_only
def test_future_history_is_unreachable(docker_client, base_image):
    with DockerSandbox(base_image, client=docker_client) as sandbox:
        git = "git -c user.name=a -c user.email=a@b"
        sandbox.run(f"git init -q -b main . && echo 1 > f && git add f && {git} commit -qm base", timeout=30)
        base = sandbox.run("git rev-parse HEAD").output.strip()
        sandbox.run(f"echo 2 > f && {git} commit -qam fix && git tag v1 && git rev-parse HEAD > /tmp/future")
        future = sandbox.run("cat /tmp/future").output.strip()
        from srl_swe.sandbox.base import hide_future_history

        hide_future_history(sandbox, base)
        assert sandbox.run("git log --all --format=%H").output.split() == [base]
        assert sandbox.run(f"git cat-file -e {future}").exit_code != 0
        assert sandbox.run("cat f").output == "1\n"


@docker_only
def test_a_missing_image_is_a_sandbox_error(docker_client):
    with pytest.raises(SandboxError, match="could not start"):
        DockerSandbox("srl-swe/no-such-image:latest", client=docker_client)


@docker_only
def test_orphans_of_dead_owners_are_pruned(docker_client, base_image):
    import socket

    labels = {LABEL: "1", f"{LABEL}.owner": f"{socket.gethostname()}:999999"}
    container = docker_client.containers.run(base_image, ["sleep", "infinity"], detach=True, labels=labels)
    try:
        assert container.id in prune_orphans(docker_client)
    finally:
        try:
            container.remove(force=True)
        except Exception:
            pass
    assert not docker_client.containers.list(all=True, filters={"id": container.id})


LINGER = """
import sys, time
from srl_swe.sandbox.docker import DockerSandbox
sandbox = DockerSandbox(sys.argv[1])
print(sandbox.container.id, flush=True)
time.sleep(120)
"""


@docker_only
@pytest.mark.parametrize("how", ["SIGINT", "SIGTERM", "SIGKILL"])
def test_no_container_survives_an_interrupted_run(docker_client, base_image, how):
    import signal
    import sys

    process = subprocess.Popen([sys.executable, "-c", LINGER, base_image], stdout=subprocess.PIPE, text=True,
                               preexec_fn=default_sigint)
    container_id = process.stdout.readline().strip()
    assert docker_client.containers.list(filters={"id": container_id})
    process.send_signal(getattr(signal, how))
    process.wait(timeout=60)
    if how == "SIGKILL":  # nothing runs in a killed process: the start-up sweep of the next run cleans up
        assert container_id in prune_orphans(docker_client)
    assert not docker_client.containers.list(all=True, filters={"id": container_id})


@docker_only
def test_prune_leaves_other_hosts_and_live_owners_alone(docker_client, base_image):
    import os
    import socket

    mine_alive = {LABEL: "1", f"{LABEL}.owner": f"{socket.gethostname()}:{os.getpid()}"}
    other_host = {LABEL: "1", f"{LABEL}.owner": "another-machine:1"}
    kept = [docker_client.containers.run(base_image, ["sleep", "infinity"], detach=True, labels=labels)
            for labels in (mine_alive, other_host)]
    try:
        removed = prune_orphans(docker_client)
        assert not {c.id for c in kept} & set(removed)
    finally:
        for container in kept:
            container.remove(force=True)
