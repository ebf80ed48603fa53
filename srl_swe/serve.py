"""``srl-swe serve CHECKPOINT``: a checkpoint folder behind an OpenAI-compatible API, for agents
(``--model openai:MODEL --base-url URL``).

The server is ``transformers serve`` (the ``serve`` extra, ``transformers[serving]``), pinned to the one
checkpoint: it applies the checkpoint's own chat template (its tokenizer files) and its end-of-turn token,
and honours the ``stop`` the client sends. What this module adds: the checkpoint is checked first (a folder
with a config and a chat template), the server is started with the Hub off (a local folder needs none),
readiness is awaited (``GET /v1/models`` answers: the weights are loaded before the server listens),
and the flags that point an agent at it are printed.

Limits: ``transformers serve`` generates one request at a time (parallel agents queue) and is meant for
CPUs, small models and checks; on GPUs ``vllm serve CHECKPOINT`` is the fast server, and the same client
works against it. The model id is the checkpoint's absolute path (``transformers serve`` has no other name).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

POLL_SECONDS = 0.25


@dataclass(frozen=True)
class Served:
    """A running server: its base URL (``…/v1``), its model id, and its process."""

    base_url: str
    model_id: str
    process: subprocess.Popen

    def agent_flags(self) -> str:
        """The options of ``srl-swe eval`` that send the agent's model calls here (``collect`` takes the same
        spec as ``--expert``)."""
        return f"--model openai:{self.model_id} --base-url {self.base_url}"


def check_checkpoint(path: str | Path) -> Path:
    """The checkpoint folder's absolute path; ValueError saying what is missing when it is not a folder with
    ``config.json`` and a tokenizer that carries a chat template (agents send chat messages)."""
    folder = Path(path).expanduser().resolve()
    if not folder.is_dir():
        raise ValueError(f"{path}: not a checkpoint folder")
    if not (folder / "config.json").is_file():
        raise ValueError(f"{path}: no config.json; give a folder that `save_pretrained` (or srl-swe train) wrote")
    if not has_chat_template(folder):
        raise ValueError(f"{path}: the tokenizer has no chat template, and agents send chat messages; save one "
                         f"with the tokenizer (tokenizer.chat_template = …; tokenizer.save_pretrained)")
    return folder


def has_chat_template(folder: Path) -> bool:
    """Whether the tokenizer files in ``folder`` carry a chat template (a ``chat_template.jinja`` file, or the
    ``chat_template`` key of ``tokenizer_config.json``, where older transformers wrote it)."""
    if (folder / "chat_template.jinja").is_file():
        return True
    try:
        config = json.loads((folder / "tokenizer_config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(config, dict) and bool(config.get("chat_template"))


def check_installed() -> None:
    """RuntimeError naming the extra to install when ``transformers serve``'s own dependencies are missing."""
    from transformers.utils.import_utils import is_serve_available

    if not is_serve_available():
        raise RuntimeError("serving needs the serve extra: pip install 'srl-swe[serve]' "
                           "(that is transformers[serving]: fastapi, uvicorn, openai)")


def server_command(checkpoint: Path, host: str, port: int, device: str) -> list[str]:
    """The ``transformers serve`` command line, run with this Python (the one that has the extra)."""
    return [sys.executable, "-m", "transformers.cli.transformers", "serve", str(checkpoint), "--host", host,
            "--port", str(port), "--device", device]


def url_host(host: str) -> str:
    """The host to put in a URL for a server listening on ``host``: loopback for the any-address (what this
    machine can always reach), IPv6 addresses in brackets."""
    if host in ("", "0.0.0.0", "::"):
        return "127.0.0.1"
    return f"[{host}]" if ":" in host else host


def answers(base_url: str, timeout_s: float = 2.0) -> bool:
    """Whether ``GET {base_url}/models`` answers with a JSON object. The listing itself is not checked: a
    pinned server loads its model before it listens, and some transformers releases (5.13) list their Hub
    cache there, not the pinned model."""
    try:
        with urllib.request.urlopen(f"{base_url}/models", timeout=timeout_s) as response:
            return isinstance(json.loads(response.read()), dict)
    except (OSError, ValueError):  # refused, reset, timed out, an HTTP error, not JSON
        return False


def wait_until_ready(base_url: str, process: subprocess.Popen, timeout_s: float) -> None:
    """Return once the server answers; RuntimeError when its process exits first or ``timeout_s`` passes
    (the caller stops the process)."""
    deadline = time.monotonic() + timeout_s
    while not answers(base_url):
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with code {process.returncode} before answering at {base_url}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"the server did not answer at {base_url} within {timeout_s:g} s")
        time.sleep(POLL_SECONDS)


def stop(process: subprocess.Popen, grace_s: float = 10.0) -> None:
    """End the server: SIGTERM (uvicorn shuts down cleanly), SIGKILL after ``grace_s``; waits for it."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(grace_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextmanager
def serving(checkpoint: str | Path, host: str = "127.0.0.1", port: int = 8000, device: str = "auto",
            startup_timeout_s: float = 600.0, log: IO | None = None) -> Iterator[Served]:
    """Start ``transformers serve`` on ``checkpoint``, yield it once it answers, and always stop it on exit.

    ``log``: a file for the server's output (default: this process's stdout and stderr). ValueError for a
    bad checkpoint, RuntimeError when the extra is missing or the server does not come up."""
    folder = check_checkpoint(checkpoint)
    check_installed()
    # A local folder needs no Hub: offline, the server never waits on an unreachable one, nor on its
    # once-a-day check of PyPI for a newer transformers.
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HUB_DISABLE_UPDATE_CHECK": "1"}
    process = subprocess.Popen(server_command(folder, host, port, device), env=env, stdout=log,
                               stderr=subprocess.STDOUT if log is not None else None)
    try:
        served = Served(f"http://{url_host(host)}:{port}/v1", str(folder), process)
        wait_until_ready(served.base_url, process, startup_timeout_s)
        yield served
    finally:
        stop(process)


def run_server(checkpoint: str | Path, host: str = "127.0.0.1", port: int = 8000, device: str = "auto",
               startup_timeout_s: float = 600.0, announce: Callable[[str], None] = print) -> int:
    """``srl-swe serve``: serve until the server exits or the user interrupts; returns its exit code (0 on an
    interrupt). ``announce`` gets the agent flags once it answers. SIGTERM and SIGHUP end it as an interrupt
    does, server included (their default would leave the server running without its parent)."""
    exit_on_signals(signal.SIGTERM, signal.SIGHUP)
    with serving(checkpoint, host, port, device, startup_timeout_s) as served:
        announce(f"serving {served.model_id} at {served.base_url}; point agents at it with (eval; collect "
                 f"takes --expert):\n  {served.agent_flags()}")
        try:
            return served.process.wait()
        except KeyboardInterrupt:
            return 0


def exit_on_signals(*numbers: int) -> None:
    """Turn these signals into SystemExit (so ``serving`` stops its server), where the program left them at
    their default and this is the main thread (the only one that may set handlers)."""
    if threading.current_thread() is not threading.main_thread():
        return
    for number in numbers:
        if signal.getsignal(number) == signal.SIG_DFL:
            signal.signal(number, lambda received, frame: sys.exit(128 + received))
