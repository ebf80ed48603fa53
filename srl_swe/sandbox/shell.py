"""A persistent bash session driven over a byte stream, shared by the Docker and local backends.

Each command is sent as a quoted here-document and run with ``eval`` in the shell itself, so ``cd`` and
``export`` persist; its stdin is /dev/null and stderr joins stdout. After it, the shell saves its working
directory and exported environment (builtins only: no extra process) and prints a sentinel line carrying
a per-session nonce and the exit code. The reader keeps at most ``max_output`` bytes (head + tail).

At the timeout the backend's ``kill_tree`` kills every process the command started; if the shell itself
is stuck (a busy loop in a builtin), the backend restarts it and the saved directory and environment are
restored. The command then reports exit code 124 and ``timed_out``.
"""

from __future__ import annotations

import re
import secrets
import select
import time
from collections.abc import Callable
from typing import Protocol

from srl_swe.sandbox.base import CommandResult, SandboxError

TIMEOUT_EXIT_CODE = 124
KILL_GRACE_S = 3.0


class Stream(Protocol):
    def send(self, data: bytes) -> None: ...

    def recv(self, timeout: float) -> bytes | None:
        """Bytes available within ``timeout`` seconds; None if none came; b"" at end of stream."""

    def close(self) -> None: ...


def readable(source, timeout: float) -> bool:
    """Whether ``source`` (a socket or file, anything with ``fileno()``) has data, or its end, within
    ``timeout`` seconds. poll, not select: a busy process's descriptors go past select's limit of 1023."""
    poller = select.poll()
    poller.register(source, select.POLLIN | select.POLLPRI)
    return bool(poller.poll(max(0.0, timeout) * 1000))


class OutputCap:
    """Keeps the first and last ``limit // 2`` bytes of a stream and counts what it drops."""

    def __init__(self, limit: int):
        self.half = max(1, limit // 2)
        self.head = bytearray()
        self.tail = bytearray()
        self.dropped = 0

    def feed(self, data: bytes) -> None:
        room = self.half - len(self.head)
        if room > 0:
            self.head += data[:room]
            data = data[room:]
        self.tail += data
        if len(self.tail) > self.half:
            excess = len(self.tail) - self.half
            del self.tail[:excess]
            self.dropped += excess

    def text(self) -> str:
        marker = f"\n[… {self.dropped} bytes of output truncated …]\n".encode() if self.dropped else b""
        return bytes(self.head + marker + self.tail).decode("utf-8", errors="replace")


class ShellSession:
    """One bash process reached through ``stream``; see the module docstring."""

    def __init__(self, open_stream: Callable[[], Stream], kill_tree: Callable[[int, bool], None], state_dir: str,
                 init: str = ""):
        """``kill_tree(shell_pid, include_shell)`` kills what the shell started (and the shell itself);
        ``init`` runs first in every new shell (e.g. sourcing ~/.bashrc to activate an environment)."""
        self.open_stream, self.kill_tree, self.state_dir, self.init = open_stream, kill_tree, state_dir, init
        self.nonce = secrets.token_hex(8)
        self.done = re.compile(rb"\n__SRL_DONE_" + self.nonce.encode() + rb"_(-?\d+)__\n")
        self.stream: Stream | None = None
        self.pid = 0
        self._start(restore=False)

    def _start(self, restore: bool) -> None:
        self.stream = self.open_stream()
        setup = f"mkdir -p {self.state_dir}; echo $$"
        if restore:  # after init, so the saved state wins over what ~/.bashrc sets
            setup = (f"cd \"$(cat {self.state_dir}/cwd 2>/dev/null || pwd)\" 2>/dev/null; "
                     f"[ -f {self.state_dir}/env ] && . {self.state_dir}/env 2>/dev/null; " + setup)
        setup = f"{self.init}\n{setup}" if self.init else setup
        cap, code = self._exchange(setup, timeout=30.0, max_output=4096)
        lines = cap.text().split()
        if code is None or not lines or not lines[-1].isdigit():
            raise SandboxError(f"the shell did not start: {cap.text()[-300:]!r}")
        self.pid = int(lines[-1])

    def _script(self, command: str) -> bytes:
        end = f"__SRL_EOF_{self.nonce}"
        return (
            f"IFS= read -r -d '' __srl_cmd <<'{end}'\n{command}\n{end}\n"
            f"eval \"$__srl_cmd\" </dev/null 2>&1; __srl_rc=$?\n"
            f"pwd >{self.state_dir}/cwd; export -p >{self.state_dir}/env\n"
            f"printf '\\n__SRL_DONE_{self.nonce}_%s__\\n' \"$__srl_rc\"\n"
        ).encode()

    def _exchange(self, command: str, timeout: float, max_output: int) -> tuple[OutputCap, int | None]:
        """Send one command and read to its sentinel: (output, exit code), or exit code None when the
        deadline passed first (the output is what came until then)."""
        self.stream.send(self._script(command))
        cap, pending = OutputCap(max_output), b""
        deadline = time.monotonic() + timeout
        while True:
            chunk = self.stream.recv(max(0.0, deadline - time.monotonic()))
            if chunk is None:
                cap.feed(pending)
                return cap, None
            if chunk == b"":
                raise EOFError("the shell exited")
            pending += chunk
            match = self.done.search(pending)
            if match:
                cap.feed(pending[: match.start()])
                return cap, int(match.group(1))
            keep = 96  # longer than the sentinel, so one split across chunks is still found
            cap.feed(pending[:-keep])
            pending = pending[-keep:]

    def run(self, command: str, timeout: float, max_output: int) -> CommandResult:
        try:
            cap, code = self._exchange(command, timeout, max_output)
        except EOFError:  # the command ended the shell (e.g. `exit`): start a new one in the same state
            self._restart()
            return CommandResult("the shell exited; a new one was started", 1)
        if code is not None:
            return CommandResult(cap.text(), code, False, bool(cap.dropped))
        self.kill_tree(self.pid, False)
        if not self._drain(KILL_GRACE_S):
            self._restart()
        note, text = f"[command timed out after {timeout:g} s and was killed]", cap.text()
        return CommandResult(f"{text}\n{note}" if text else note, TIMEOUT_EXIT_CODE, True, bool(cap.dropped))

    def _drain(self, seconds: float) -> bool:
        """Read until the pending sentinel appears (the shell survived the kill)."""
        deadline, pending = time.monotonic() + seconds, b""
        while time.monotonic() < deadline:
            chunk = self.stream.recv(deadline - time.monotonic())
            if not chunk:
                return False
            pending = (pending + chunk)[-4096:]
            if self.done.search(pending):
                return True
        return False

    def _restart(self) -> None:
        self.kill_tree(self.pid, True)
        self.close()
        self._start(restore=True)

    def close(self) -> None:
        if self.stream is not None:
            self.stream.close()
            self.stream = None
