"""The Docker backend: one container per rollout, driven through the docker SDK and the local engine.

Defaults (``DockerLimits``): network ``none``, memory limit = memory+swap, CPU and pids limits,
``no-new-privileges``, every capability dropped, ``docker-init`` as PID 1 (reaps orphans), the image's
own user (the bundled images use an unprivileged one). Commands run in one persistent bash (``exec``
attached to a socket, so a command costs no ``docker exec``); at a timeout the keeper — the container's
main process, listening on its stdin — SIGKILLs every process but itself, PID 1 and the shell (killing a
docker client never stops an exec'd process).
Containers carry labels (``srl-swe.run``, ``srl-swe.owner`` = host and PID) and are removed on close,
on errors, at interpreter exit and on SIGINT/SIGTERM; ``prune_orphans`` removes those whose owner is gone.
"""

from __future__ import annotations

import atexit
import base64
import os
import shlex
import signal
import socket
import struct
import sys
import threading
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass

from srl_swe.sandbox.base import (
    DEFAULT_MAX_OUTPUT,
    DEFAULT_TIMEOUT_S,
    HARNESS_TIMEOUT_S,
    MAX_PATCH_BYTES,
    CommandResult,
    SandboxError,
    git_diff,
    hide_future_history,
    in_workdir,
)
from srl_swe.sandbox.shell import KILL_GRACE_S, ShellSession, readable

LABEL = "srl-swe"
STATE_DIR = "/tmp/.srl-swe"
MAX_FILE_BYTES = 64_000_000
SHELL_INIT = "[ -f ~/.bashrc ] && . ~/.bashrc >/dev/null 2>&1"
"""SWE-bench images activate their conda environment in ~/.bashrc; a non-interactive bash would not."""
KEEPER = r"""
while IFS= read -r spare; do
  round=0
  while [ $round -lt 200 ]; do
    killed=0
    for p in /proc/[0-9]*; do
      p=${p#/proc/}
      case " 1 $$ $spare " in *" $p "*) ;; *) kill -9 "$p" 2>/dev/null && killed=$((killed + 1));; esac
    done
    [ $killed -eq 0 ] && break
    round=$((round + 1))
  done
  echo killed
done
"""
"""The container's main process: it waits for kill requests on its stdin and uses only shell builtins,
so it can empty the container even when a fork bomb holds every pid the limit allows."""
_live: dict[str, DockerSandbox] = {}
_live_lock = threading.Lock()


@dataclass(frozen=True)
class DockerLimits:
    memory: str = "2g"
    cpus: float = 1.0
    pids: int = 256
    network: str = "none"
    user: str | None = None
    """None: the image's own user (the bundled images run as the unprivileged ``agent``)."""


def owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class _SocketStream:
    """A process's stdin/stdout over an attached exec socket (docker's 8-byte frame headers removed).

    ``handle`` is what docker-py returned; the stream keeps it for its whole life and closes it at the
    end, so the socket is released exactly once, by its owner, and never behind the stream's back.
    With ``split_stderr`` the process's stderr frames go to ``self.stderr`` (its first 64 KB) instead."""

    def __init__(self, handle, split_stderr: bool = False):
        self.handle = handle
        self.sock = getattr(handle, "_sock", handle)
        self.buffer = b""
        self.stderr = bytearray() if split_stderr else None

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def recv(self, timeout: float) -> bytes | None:
        while True:
            frame = self._frame()
            if frame is not None and self.stderr is not None and frame[0] == 2:
                self.stderr += frame[1][: max(0, 65536 - len(self.stderr))]
                continue
            if frame is not None:
                return frame[1]
            if self.sock.fileno() == -1:  # poll would raise ValueError: say what it is
                raise ConnectionError("the connection to the container was closed")
            if not readable(self.sock, timeout):
                return None
            data = self.sock.recv(1 << 16)
            if not data:
                return b""
            self.buffer += data

    def _frame(self) -> tuple[int, bytes] | None:
        """(stream number: 1 stdout, 2 stderr; payload) of the next whole frame in the buffer."""
        if len(self.buffer) < 8:
            return None
        size = struct.unpack(">I", self.buffer[4:8])[0]
        if len(self.buffer) < 8 + size:
            return None
        stream, payload, self.buffer = self.buffer[0], self.buffer[8 : 8 + size], self.buffer[8 + size :]
        return stream, payload

    def close(self) -> None:
        for part in (self.handle, self.sock):
            try:
                part.close()
            except OSError:
                pass


def _read_until_end(stream: _SocketStream, deadline: float, max_output: int) -> bytes | None:
    """What the process writes until it ends (at most ``max_output + 1`` bytes); None past ``deadline``."""
    output = bytearray()
    while len(output) <= max_output:
        chunk = stream.recv(max(0.0, deadline - time.monotonic()))
        if chunk is None:
            return None
        if chunk == b"":
            break
        output += chunk
    return bytes(output[: max_output + 1])


class DockerSandbox:
    """A container started from ``image`` with the repository at ``workdir`` (see module docstring)."""

    def __init__(self, image: str, workdir: str = "/testbed", base_commit: str | None = None,
                 run_id: str | None = None, limits: DockerLimits = DockerLimits(), client=None):
        import docker

        exit_on_sigterm()
        self.client = client or docker.from_env(timeout=120)
        self.own_client = client is None
        """Closed with the sandbox: left to the garbage collector, each client's pooled connections pile up
        (10 descriptors a rollout) faster than it collects them under load."""
        self.workdir, self.base_commit, self.python, self.scratch = workdir, base_commit, "python3", STATE_DIR
        self.run_id = run_id or uuid.uuid4().hex[:12]
        try:
            self.container = self.client.containers.run(
                image, ["sh", "-c", KEEPER], detach=True, init=True, stdin_open=True, working_dir=workdir,
                user=limits.user or "", labels={LABEL: "1", f"{LABEL}.run": self.run_id, f"{LABEL}.owner": owner()},
                network_mode=limits.network, mem_limit=limits.memory, memswap_limit=limits.memory,
                nano_cpus=int(limits.cpus * 1e9), pids_limit=limits.pids, cap_drop=["ALL"],
                security_opt=["no-new-privileges"], environment={"PAGER": "cat", "GIT_PAGER": "cat"},
            )
        except docker.errors.DockerException as exc:
            if self.own_client:
                self.client.close()
            raise SandboxError(f"could not start a container from {image!r}: {exc}") from exc
        with _live_lock:
            _live[self.container.id] = self
        try:
            self.user = limits.user or ""
            with self._engine("starting the sandbox"):
                self.keeper = _SocketStream(self._attach_keeper())
                self.shell = ShellSession(self._open_shell, self._kill_tree, STATE_DIR, SHELL_INIT)
            if base_commit:
                hide_future_history(self, base_commit)
        except BaseException:
            self.close()
            raise

    def _attach_keeper(self):
        return self.client.api.attach_socket(self.container.id, params={"stdin": 1, "stdout": 1, "stream": 1})

    def _open_shell(self) -> _SocketStream:
        exec_id = self.client.api.exec_create(self.container.id, ["bash", "--noprofile", "--norc"], stdin=True,
                                              stdout=True, stderr=True, tty=False, user=self.user,
                                              workdir=self.workdir)["Id"]
        return _SocketStream(self.client.api.exec_start(exec_id, socket=True, tty=False))

    def _kill_tree(self, shell_pid: int, include_shell: bool) -> None:
        """Ask the keeper (PID 1's child, already running: no process has to be created, which a fork
        bomb at the pids limit would prevent) to SIGKILL everything but itself, PID 1 and the shell."""
        self.keeper.send(f"{'' if include_shell else shell_pid}\n".encode())
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            reply = self.keeper.recv(deadline - time.monotonic())
            if not reply or b"killed" in reply:
                return

    def run(self, command: str, timeout: float = DEFAULT_TIMEOUT_S,
            max_output: int = DEFAULT_MAX_OUTPUT) -> CommandResult:
        with self._engine("running a command"):
            return self.shell.run(command, timeout, max_output)

    def read_file(self, path: str) -> str:
        """The file's text (bytes decoded with U+FFFD for invalid UTF-8), read as the sandbox user."""
        target = shlex.quote(in_workdir(self.workdir, path))
        # `(exit N)` sets the status in a subshell: the persistent shell itself must never exit to signal
        result = self.run(f"if [ -d {target} ]; then (exit 21); elif [ ! -f {target} ]; then (exit 2); "
                          f"else base64 -w0 < {target}; fi", timeout=120, max_output=MAX_FILE_BYTES)
        if result.exit_code == 21:
            raise IsADirectoryError(path)
        if result.exit_code == 2:
            raise FileNotFoundError(path)
        if result.exit_code != 0 or result.truncated:
            raise OSError(f"could not read {path}: {result.output[-300:]}")
        return base64.b64decode(result.output).decode("utf-8", errors="replace")

    def write_file(self, path: str, content: str) -> None:
        """Write text as the sandbox user; an existing file keeps its owner and mode."""
        target = in_workdir(self.workdir, path)
        end = f"__SRL_FILE_{uuid.uuid4().hex}"
        data = base64.encodebytes(content.encode("utf-8")).decode()
        result = self.run(f"mkdir -p -- {shlex.quote(os.path.dirname(target))} && "
                          f"base64 -d > {shlex.quote(target)} <<'{end}'\n{data}{end}", timeout=120)
        if result.exit_code != 0:
            raise OSError(f"could not write {path}: {result.output[-300:]}")

    def git(self, args: list[str], timeout: float = HARNESS_TIMEOUT_S,
            max_output: int = MAX_PATCH_BYTES) -> tuple[int, bytes]:
        """Run git on the repository in a process of its own (not the agent's shell), as the sandbox user,
        killed inside the container at ``timeout`` (and given up on here shortly after, should the
        container's ``timeout`` itself be hostile); at most ``max_output + 1`` bytes of output are read."""
        command = ["timeout", "-s", "KILL", f"{timeout:g}", "git", "-C", self.workdir, *args]
        with self._engine(f"git {args[0] if args else ''}"):
            exec_id = self.client.api.exec_create(self.container.id, command, stdout=True, stderr=True,
                                                  user=self.user)["Id"]
            stream = _SocketStream(self.client.api.exec_start(exec_id, socket=True), split_stderr=True)
            try:
                output = _read_until_end(stream, time.monotonic() + timeout + KILL_GRACE_S, max_output)
            finally:
                stream.close()
            if output is None:
                raise SandboxError(f"git {' '.join(args)[:200]} did not finish within {timeout:g} s")
            code = self._exit_code(exec_id) if len(output) <= max_output else -1
        if code == 137:
            raise SandboxError(f"git {' '.join(args)[:200]} was killed after {timeout:g} s")
        return code, output if code == 0 else output + bytes(stream.stderr)

    def _exit_code(self, exec_id: str, seconds: float = 30.0) -> int:
        """An ended exec's exit code (a loaded engine may take a while to record it); -1 if it never does."""
        deadline = time.monotonic() + seconds
        while True:
            state = self.client.api.exec_inspect(exec_id)
            if not state.get("Running"):
                return int(state.get("ExitCode") or 0)
            if time.monotonic() > deadline:
                return -1
            time.sleep(0.02)

    @contextmanager
    def _engine(self, doing: str):
        """Turn the engine's and the connection's errors into a SandboxError that says what happened to the
        container (stopped, killed for memory, removed), so no rollout sees a raw HTTP or socket error."""
        import docker
        import requests

        try:
            yield
        except SandboxError:
            raise
        except (docker.errors.DockerException, requests.exceptions.RequestException, OSError) as exc:
            raise SandboxError(f"{doing}: {self.state()} ({type(exc).__name__}: {str(exc)[:200]})") from None

    def state(self) -> str:
        """The container's state in words, for error messages."""
        try:
            state = self.client.api.inspect_container(self.container.id)["State"]
        except Exception:  # noqa: BLE001 - the engine itself may be gone: say so
            return "the container is gone (removed, or the Docker engine stopped)"
        if state.get("Running"):
            return "the container is running"
        oom = ", killed for using too much memory" if state.get("OOMKilled") else ""
        return f"the container stopped (status {state.get('Status')}, exit code {state.get('ExitCode')}{oom})"

    def diff(self) -> str:
        with self._engine("ending the agent's processes"):
            self._kill_tree(self.shell.pid, False)  # a background fork bomb would leave git no pid to run in
        return git_diff(self, self.base_commit)

    def close(self) -> None:
        for stream in (getattr(self, "shell", None), getattr(self, "keeper", None)):
            if stream is not None:
                stream.close()
        with _live_lock:
            _live.pop(self.container.id, None)
        try:
            self.container.remove(force=True, v=True)
        except Exception:  # already gone (engine restarted, pruned): nothing left to release
            pass
        if self.own_client:
            self.client.close()

    def __enter__(self) -> DockerSandbox:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def close_all() -> None:
    """Remove every container this process started (interpreter exit, SIGINT, SIGTERM)."""
    with _live_lock:
        live = list(_live.values())
    for sandbox in live:
        sandbox.close()


atexit.register(close_all)


def exit_on_sigterm() -> None:
    """Turn SIGTERM into SystemExit (so context managers and atexit remove containers), unless the
    program installed its own handler or this is not the main thread."""
    if threading.current_thread() is threading.main_thread() and signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
        signal.signal(signal.SIGTERM, lambda number, frame: sys.exit(128 + number))


def prune_orphans(client=None) -> list[str]:
    """Remove labelled containers whose owner process on this host no longer runs; returns their ids.
    Containers owned from other hosts (a daemon shared through DOCKER_HOST) are left alone."""
    import docker

    client = client or docker.from_env()
    removed = []
    # ignore_removed: another run may remove one of them between the listing and its inspection
    for container in client.containers.list(all=True, filters={"label": LABEL}, ignore_removed=True):
        host, _, pid = container.labels.get(f"{LABEL}.owner", ":").partition(":")
        if host != socket.gethostname() or not pid.isdigit() or _alive(int(pid)):
            continue  # another machine's (a shared daemon) or still in use: not ours to judge
        try:
            container.remove(force=True, v=True)
        except docker.errors.NotFound:
            continue
        removed.append(container.id)
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
