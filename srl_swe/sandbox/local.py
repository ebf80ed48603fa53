"""The local backend: bash in a temporary copy of the repository, for users without Docker.

NO ISOLATION: commands run as you, on your machine, with your network. Use it only with trusted models
and experts; a warning says so whenever one starts. It keeps the other promises: the same persistent
shell, the same timeouts (every descendant of the shell and every process of its session is SIGKILLed;
a process that left the session with ``setsid`` is beyond its reach), the same output caps.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

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
from srl_swe.sandbox.shell import ShellSession, readable

BASE_COMMIT_ENV = {
    "GIT_AUTHOR_NAME": "srl-swe", "GIT_AUTHOR_EMAIL": "srl-swe@localhost",
    "GIT_COMMITTER_NAME": "srl-swe", "GIT_COMMITTER_EMAIL": "srl-swe@localhost",
    "GIT_AUTHOR_DATE": "2025-01-01T00:00:00+00:00", "GIT_COMMITTER_DATE": "2025-01-01T00:00:00+00:00",
}
"""The bundled repositories' base commit recipe (sandboxes/README.md): same files → same hash."""
KILL_ROUNDS = 100


def commit_base(path: Path) -> str:
    """Make ``path`` a git repository with one commit "base" of all its files; returns the hash."""
    env = {**os.environ, **BASE_COMMIT_ENV}
    for command in (["git", "init", "-q", "-b", "main"], ["git", "add", "-A"], ["git", "commit", "-q", "-m", "base"]):
        subprocess.run(command, cwd=path, env=env, check=True, capture_output=True)
    return subprocess.run(["git", "rev-parse", "HEAD"], cwd=path, check=True, capture_output=True,
                          text=True).stdout.strip()


class _PipeStream:
    def __init__(self, process: subprocess.Popen):
        self.process = process
        os.set_blocking(process.stdout.fileno(), False)

    def send(self, data: bytes) -> None:
        self.process.stdin.write(data)
        self.process.stdin.flush()

    def recv(self, timeout: float) -> bytes | None:
        if not readable(self.process.stdout, timeout):
            return None
        return os.read(self.process.stdout.fileno(), 1 << 16)

    def close(self) -> None:
        for stream in (self.process.stdin, self.process.stdout):
            try:
                stream.close()
            except OSError:
                pass
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()


class LocalSandbox:
    """A temporary copy of ``repo`` (a folder; made a git repo at a base commit if it is not one)."""

    def __init__(self, repo: str | Path, base_commit: str | None = None):
        warnings.warn("the local sandbox does not isolate anything: commands run as you, with your network",
                      stacklevel=2)
        self.root = Path(tempfile.mkdtemp(prefix="srl-swe-"))
        self.workdir, self.python = str(self.root / "repo"), sys.executable
        junk = shutil.ignore_patterns("__pycache__", ".pytest_cache")
        shutil.copytree(repo, self.workdir, symlinks=True, ignore=junk)
        head = commit_base(Path(self.workdir)) if not (Path(self.workdir) / ".git").exists() else None
        self.base_commit = base_commit or head
        self.scratch = str(self.root / "state")
        self.shell = ShellSession(self._open_shell, self._kill_tree, self.scratch)
        if base_commit:
            hide_future_history(self, base_commit)

    def _open_shell(self) -> _PipeStream:
        process = subprocess.Popen(["bash", "--noprofile", "--norc"], cwd=self.workdir, stdin=subprocess.PIPE,
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
                                   env={**os.environ, "PAGER": "cat", "GIT_PAGER": "cat"})
        return _PipeStream(process)

    def _kill_tree(self, shell_pid: int, include_shell: bool) -> None:
        """SIGKILL the shell's processes, scanning again until none is left: a process forked while one
        scan ran would otherwise escape it (as the Docker keeper does, at most ``KILL_ROUNDS`` scans)."""
        for _ in range(KILL_ROUNDS):
            pids = _descendants(shell_pid)
            if not pids:
                break
            for pid in pids:
                _kill(pid)
            time.sleep(0.02)  # a loaded machine takes a moment to end a SIGKILLed process
        if include_shell:
            _kill(shell_pid)

    def run(self, command: str, timeout: float = DEFAULT_TIMEOUT_S,
            max_output: int = DEFAULT_MAX_OUTPUT) -> CommandResult:
        try:
            return self.shell.run(command, timeout, max_output)
        except OSError as exc:  # the pipe to bash broke: the sandbox failed, not the command
            raise SandboxError(f"the sandbox's shell failed: {exc}") from None

    def read_file(self, path: str) -> str:
        return Path(in_workdir(self.workdir, path)).read_bytes().decode("utf-8", errors="replace")

    def write_file(self, path: str, content: str) -> None:
        target = Path(in_workdir(self.workdir, path))
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content, encoding="utf-8")

    def git(self, args: list[str], timeout: float = HARNESS_TIMEOUT_S,
            max_output: int = MAX_PATCH_BYTES) -> tuple[int, bytes]:
        """git in a process of its own, killed at ``timeout``; its output goes through a temporary file so
        at most ``max_output + 1`` bytes are ever held in memory (stderr is added when git fails)."""
        with tempfile.TemporaryFile() as output:
            try:
                done = subprocess.run(["git", "-C", self.workdir, *args], stdout=output, stderr=subprocess.PIPE,
                                      timeout=timeout)
            except subprocess.TimeoutExpired:
                raise SandboxError(f"git {' '.join(args)[:200]} did not finish within {timeout:g} s") from None
            output.seek(0)
            stdout = output.read(max_output + 1)
        return done.returncode, stdout if done.returncode == 0 else stdout + done.stderr[-65536:]

    def diff(self) -> str:
        self._kill_tree(self.shell.pid, False)  # the agent's background processes end with its episode
        return git_diff(self, self.base_commit)

    def close(self) -> None:
        self.shell.close()
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> LocalSandbox:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _descendants(pid: int) -> list[int]:
    """Every descendant of ``pid`` and every process of its session (Linux /proc): double forks that
    were reparented are still in the shell's session, only ``setsid`` escapes."""
    children: dict[int, list[int]] = {}
    session: list[int] = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            if fields[0] == "Z":  # already dead, waiting to be reaped
                continue
            children.setdefault(int(fields[1]), []).append(int(entry.name))
            if int(fields[3]) == pid and int(entry.name) != pid:
                session.append(int(entry.name))
    found, queue = [], [pid]
    while queue:
        for child in children.get(queue.pop(), []):
            found.append(child)
            queue.append(child)
    return sorted(set(found) | set(session))
