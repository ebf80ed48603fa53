"""The sandbox interface every backend implements, and what a command returns.

A sandbox is one isolated copy of a repository at its base commit, for one rollout. Contract:
- ``run(command, timeout)`` runs a bash command in a persistent shell (``cd`` and exported variables
  carry over to the next command), bounded by ``timeout`` seconds: at the timeout the command's whole
  process tree is killed and the shell goes on (or is restarted with the working directory and
  environment it had). Output is stdout and stderr interleaved, capped head + tail with a marker, and
  decoded bytes-safely (invalid UTF-8 becomes U+FFFD).
- ``read_file``/``write_file`` move text in and out (paths absolute or relative to the repo root).
- ``diff()`` ends the episode: it kills every process the agent left running (not the shell), then
  returns ``git diff`` of the working tree against the base commit, new files included, at most
  ``MAX_PATCH_BYTES`` (else :class:`PatchTooLarge`).
- ``git(args, timeout, max_output)`` runs git in a process of its own, bounded in time (SandboxError when
  it runs past ``timeout``) and in output (at most ``max_output + 1`` bytes come back).
- ``close()`` releases everything; sandboxes are context managers.

Every git command the harness runs in a sandbox (the final diff, history hiding, patch application) goes
through :func:`harness_git` or :data:`SAFE_GIT_FUNCTION`: time-bounded, and with the settings an agent could
use to run code or stall git (hooks, fsmonitor, filter and diff drivers, attribute files, replace refs,
a bare or moved work tree) overridden on the command line, which wins over every config file.
"""

from __future__ import annotations

import os
import shlex
from dataclasses import dataclass
from typing import Protocol

DEFAULT_TIMEOUT_S = 120.0
DEFAULT_MAX_OUTPUT = 100_000
HARNESS_TIMEOUT_S = 300.0
"""Bound on each git command the harness runs in a sandbox (diff, history hiding, patch application)."""
MAX_PATCH_BYTES = 10_000_000
"""A patch larger than this is refused (PatchTooLarge): SWE-bench fixes are kilobytes; megabytes mean the
agent added data or build output, which would only be held in memory and written out again."""
DRIVER_KEYS = r"^(filter|diff)\..*\.(clean|smudge|process|command|textconv)$"
"""Config keys that make git run a command of the repository's choosing while diffing or adding."""
GIT_GUARDS = ("--git-dir=.git", "--work-tree=.", "-c", "core.hooksPath=/dev/null",
              "-c", "core.attributesFile=/dev/null", "-c", "core.fsmonitor=false", "--no-replace-objects")
"""Run from the repository root: its own .git and work tree (whatever core.bare or core.worktree say), and
no hooks, fsmonitor command, attribute file or replace refs."""


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

    def git(self, args: list[str], timeout: float = HARNESS_TIMEOUT_S,
            max_output: int = MAX_PATCH_BYTES) -> tuple[int, bytes]:
        """Run git on the repository in a process of its own: (exit code, at most ``max_output + 1`` bytes
        of output). SandboxError when it runs past ``timeout`` seconds (it is killed)."""

    def close(self) -> None: ...

    def __enter__(self) -> Sandbox: ...

    def __exit__(self, *exc) -> None: ...


class SandboxError(RuntimeError):
    """The sandbox itself failed (could not start, engine gone): the rollout is an error, not a result."""


class PatchTooLarge(ValueError):
    """The working tree's diff is over ``MAX_PATCH_BYTES``: the run has no patch, with this reason."""

    def __init__(self, limit: int = MAX_PATCH_BYTES):
        super().__init__(f"the patch is larger than the {limit / 1e6:g} MB limit (files of data or build output "
                         f"in the repository?)")


def in_workdir(workdir: str, path: str) -> str:
    """``path`` made absolute against the repository root, normalised."""
    return os.path.normpath(path if path.startswith("/") else os.path.join(workdir, path))


def harness_git(sandbox: Sandbox, args: list[str], timeout: float = HARNESS_TIMEOUT_S,
                max_output: int = MAX_PATCH_BYTES) -> tuple[int, bytes]:
    """``sandbox.git(args)`` with :data:`GIT_GUARDS` and every filter or diff driver the repository's or
    user's config defines switched off (an agent can write both): no command of the agent's runs, and the
    call ends within ``timeout`` seconds (SandboxError otherwise)."""
    _, names = sandbox.git(["config", "--name-only", "--get-regexp", DRIVER_KEYS], timeout, 1_000_000)
    keys = names.decode("utf-8", errors="replace").split()
    drivers = {key.rsplit(".", 1)[0] for key in keys if key.startswith("filter.")}
    overrides = [part for key in keys for part in ("-c", f"{key}=")]
    overrides += [part for driver in sorted(drivers) for part in ("-c", f"{driver}.required=false")]
    return sandbox.git([*GIT_GUARDS, *overrides, *args], timeout, max_output)


def git_diff(sandbox: Sandbox, base_commit: str | None) -> str:
    """The working tree against the base commit, new files included, as a patch ``git apply`` takes.

    git runs in a process of its own through :func:`harness_git`, so nothing the agent did to its shell
    (functions, ``GIT_DIR``) or to git's config (a clean filter that never ends) changes or stalls the patch.
    Text that is not UTF-8 would not survive as a string: then every file is diffed as binary (base85),
    which still applies exactly. SandboxError if git fails or runs past its time limit; PatchTooLarge
    over ``MAX_PATCH_BYTES``.
    """
    diff = ["diff", "--binary", "--no-ext-diff", "--no-textconv", base_commit or "HEAD"]
    harness_git(sandbox, ["add", "-A", "-N", "."])
    code, patch = harness_git(sandbox, diff)
    if code == 0 and len(patch) <= MAX_PATCH_BYTES:
        try:
            return patch.decode("utf-8")
        except UnicodeDecodeError:
            sandbox.write_file(f"{sandbox.scratch}/all-binary.attributes", "* binary\n")
            code, patch = harness_git(sandbox, ["-c", f"core.attributesFile={sandbox.scratch}/all-binary.attributes",
                                                *diff])
    if len(patch) > MAX_PATCH_BYTES:
        raise PatchTooLarge()
    if code != 0:
        raise SandboxError(f"git diff failed: {patch[-300:].decode('utf-8', errors='replace')}")
    return patch.decode("utf-8", errors="replace")


MAX_STEP_DIFF_CHARS = 100_000


def working_changes(sandbox: Sandbox, base_commit: str | None) -> str:
    """The changes so far, mid-episode, without touching the index the agent sees (``git_diff`` marks new
    files with ``add -N``): the diff of tracked files against the base commit, then one ``new file: PATH`` line
    per untracked file, cut to ``MAX_STEP_DIFF_CHARS`` (head and tail). SandboxError as ``harness_git``."""
    from srl_swe.prompts import truncate_middle

    _, tracked = harness_git(sandbox, ["diff", "--no-ext-diff", "--no-textconv", base_commit or "HEAD"])
    _, untracked = harness_git(sandbox, ["ls-files", "--others", "--exclude-standard"])
    new = "".join(f"new file: {path}\n" for path in untracked.decode("utf-8", errors="replace").splitlines())
    return truncate_middle(tracked.decode("utf-8", errors="replace") + new, MAX_STEP_DIFF_CHARS)


SAFE_GIT_FUNCTION = f'g() {{ timeout -s KILL {HARNESS_TIMEOUT_S:.0f} git {" ".join(GIT_GUARDS)} "$@"; }}'
"""A bash function ``g`` that runs git like :func:`harness_git` minus the driver overrides, for harness
scripts that run before the agent (history hiding) or in a fresh sandbox (patch application)."""


def hide_future_history(sandbox: Sandbox, base_commit: str) -> None:
    """Make every commit after ``base_commit`` unreachable (agents have read the fix with ``git log``):
    check out the base on a fresh ``main``, delete every other ref and remote, expire reflogs, prune.
    Each git command is bounded (``HARNESS_TIMEOUT_S``), the whole script by twice that."""
    commit = shlex.quote(base_commit)
    script = (f"{SAFE_GIT_FUNCTION}\n"
              f"cd {shlex.quote(sandbox.workdir)} && g checkout -q --detach {commit} && "
              f"g for-each-ref --format='%(refname)' | while read -r ref; do g update-ref -d \"$ref\"; done && "
              f"g checkout -q -B main && {{ g remote | while read -r name; do g remote remove \"$name\"; done; }} && "
              f"g reflog expire --expire=now --all && g gc -q --prune=now")
    result = sandbox.run(script, timeout=2 * HARNESS_TIMEOUT_S)  # gc of a large repository on a busy machine
    if result.exit_code != 0:
        raise SandboxError(f"could not hide the history after {base_commit}: {result.output[-500:]}")
