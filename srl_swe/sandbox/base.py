"""The sandbox interface every backend implements, and what a command returns.

A sandbox is one isolated copy of a repository at its base commit, for one rollout. Contract:
- ``run(command, timeout)`` runs a bash command in a persistent shell (``cd`` and exported variables
  carry over to the next command), bounded by ``timeout`` seconds: at the timeout the command's whole
  process tree is killed and the shell goes on (or is restarted with the working directory and
  environment it had). Output is stdout and stderr interleaved, capped head + tail with a marker, and
  decoded bytes-safely (invalid UTF-8 becomes U+FFFD).
- ``read_file``/``write_file`` move text in and out (paths absolute or relative to the repo root).
- ``diff()`` is ``git diff`` of the working tree against the base commit, new files included.
- ``close()`` releases everything; sandboxes are context managers.
"""

from __future__ import annotations

import os
import shlex
from dataclasses import dataclass
from typing import Protocol

DEFAULT_TIMEOUT_S = 120.0
DEFAULT_MAX_OUTPUT = 100_000


@dataclass(frozen=True)
class CommandResult:
    output: str
    exit_code: int
    timed_out: bool = False
    truncated: bool = False


class Sandbox(Protocol):
    workdir: str
    python: str
    """The interpreter that runs the repository's tests inside the sandbox."""
    scratch: str
    """A folder of this sandbox's own, outside the repository, for srl-swe's files (patches, scripts)."""

    def run(self, command: str, timeout: float = DEFAULT_TIMEOUT_S) -> CommandResult: ...

    def read_file(self, path: str) -> str: ...

    def write_file(self, path: str, content: str) -> None: ...

    def diff(self) -> str: ...

    def git(self, args: list[str]) -> tuple[int, bytes]:
        """Run git on the repository in a process of its own: (exit code, output bytes)."""

    def close(self) -> None: ...

    def __enter__(self) -> Sandbox: ...

    def __exit__(self, *exc) -> None: ...


class SandboxError(RuntimeError):
    """The sandbox itself failed (could not start, engine gone): the rollout is an error, not a result."""


def in_workdir(workdir: str, path: str) -> str:
    """``path`` made absolute against the repository root, normalised."""
    return os.path.normpath(path if path.startswith("/") else os.path.join(workdir, path))


def git_diff(sandbox: Sandbox, base_commit: str | None) -> str:
    """The working tree against the base commit, new files included, as a patch ``git apply`` takes.

    git runs in a process of its own, so nothing the agent did to its shell (functions, ``GIT_DIR``)
    changes the patch. Text that is not UTF-8 would not survive as a string: then every file is diffed
    as binary (base85), which still applies exactly. SandboxError if git fails.
    """
    sandbox.git(["add", "-A", "-N", "."])
    code, patch = sandbox.git(["diff", "--binary", base_commit or "HEAD"])
    if code == 0:
        try:
            return patch.decode("utf-8")
        except UnicodeDecodeError:
            sandbox.write_file(f"{sandbox.scratch}/all-binary.attributes", "* binary\n")
            code, patch = sandbox.git(["-c", f"core.attributesFile={sandbox.scratch}/all-binary.attributes",
                                       "diff", "--binary", base_commit or "HEAD"])
    if code != 0:
        raise SandboxError(f"git diff failed: {patch[-300:].decode('utf-8', errors='replace')}")
    return patch.decode("utf-8", errors="replace")


def hide_future_history(sandbox: Sandbox, base_commit: str) -> None:
    """Make every commit after ``base_commit`` unreachable (agents have read the fix with ``git log``):
    check out the base on a fresh ``main``, delete every other ref and remote, expire reflogs, prune."""
    commit = shlex.quote(base_commit)
    script = (f"cd {shlex.quote(sandbox.workdir)} && git checkout -q --detach {commit} && "
              f"git for-each-ref --format='%(refname)' | xargs -r -n1 git update-ref -d && "
              f"git checkout -q -B main && {{ git remote | xargs -r -n1 git remote remove; }} && "
              f"git reflog expire --expire=now --all && git gc -q --prune=now")
    result = sandbox.run(script, timeout=600)
    if result.exit_code != 0:
        raise SandboxError(f"could not hide the history after {base_commit}: {result.output[-500:]}")
