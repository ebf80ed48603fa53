"""The agent's tools, run inside a sandbox, with the names and parameters of the imported trajectories:
``bash(command)``, ``str_replace_editor(command, path, file_text, old_str, new_str, insert_line,
view_range)`` and ``submit()``.

Contract: :meth:`ToolBox.execute` never raises for anything the model wrote. A bad call — an unknown
tool, a missing parameter, a path outside the repository, an ``old_str`` that is absent or not unique,
a line number out of range — comes back as an observation that says what was wrong, so the model can
correct itself. Only a failing sandbox (SandboxError) propagates.
"""

from __future__ import annotations

import json
import posixpath
import shlex
import time
from dataclasses import dataclass, field

from srl_swe.actions import canonical_tool
from srl_swe.sandbox.base import DEFAULT_TIMEOUT_S, Sandbox
from srl_swe.trajectory import Action

SNIPPET_LINES = 4
MAX_VIEW_CHARS = 40_000


class ToolError(ValueError):
    """A mistake in a tool call; its message becomes the observation."""


@dataclass
class ToolResult:
    observation: str
    submitted: bool = False


@dataclass
class ToolBox:
    sandbox: Sandbox
    command_timeout: float = DEFAULT_TIMEOUT_S
    deadline: float | None = None
    """``time.monotonic()`` past which no command may run (the episode's limit): commands are cut there."""
    history: dict[str, list[str | None]] = field(default_factory=dict)
    """Earlier contents per edited path, for undo_edit (None: the file did not exist)."""
    _root: str | None = None

    def execute(self, action: Action) -> ToolResult:
        tool = canonical_tool(action.tool or "")
        try:
            if tool == "bash":
                return ToolResult(self.bash(_required(action.arguments, "command")))
            if tool == "str_replace_editor":
                return ToolResult(self.editor(action.arguments))
            if tool == "submit":
                return ToolResult("Your changes were submitted.", submitted=True)
            raise ToolError(f"unknown tool {action.tool!r}; the tools are bash, str_replace_editor and submit")
        except ToolError as error:
            return ToolResult(f"ERROR: {error}")
        except OSError as error:  # e.g. a path through a regular file: the model's mistake, not ours
            return ToolResult(f"ERROR: {error}")

    def bash(self, command: str) -> str:
        timeout = self.command_timeout
        if self.deadline is not None:
            timeout = max(0.1, min(timeout, self.deadline - time.monotonic()))
        result = self.sandbox.run(command, timeout=timeout)
        text = result.output if result.output.strip() else "(no output)"
        return text if result.exit_code == 0 or result.timed_out else f"{text.rstrip()}\n[exit code {result.exit_code}]"

    def editor(self, args: dict[str, str]) -> str:
        command, path = _required(args, "command"), self._path(_required(args, "path"))
        handlers = {"view": self._view, "create": self._create, "str_replace": self._str_replace,
                    "insert": self._insert, "undo_edit": self._undo}
        if command not in handlers:
            raise ToolError(f"unknown command {command!r}; use one of {', '.join(handlers)}")
        return handlers[command](path, args)

    def _path(self, path: str) -> str:
        if not path.startswith("/"):
            raise ToolError(f"the path {path!r} must be absolute, e.g. {posixpath.join(self.sandbox.workdir, path)}")
        normal = posixpath.normpath(path)
        root = self.sandbox.workdir.rstrip("/")
        if not _within(normal, root):
            raise ToolError(f"the path {path} is outside the repository {root}")
        self._root = self._root or self._resolve(root)
        if not _within(self._resolve(normal), self._root):
            raise ToolError(f"the path {path} leads outside the repository {root} through a symbolic link")
        return normal

    def _resolve(self, path: str) -> str:
        """``path`` with every symbolic link resolved, as the sandbox sees it (missing parts allowed)."""
        result = self.sandbox.run(f"realpath -m -- {shlex.quote(path)}", timeout=30)
        if result.exit_code != 0:
            raise ToolError(f"cannot resolve {path}: {result.output.strip()[-200:]}")
        return result.output.strip()

    def _read(self, path: str) -> str | None:
        try:
            return self.sandbox.read_file(path)
        except FileNotFoundError:
            return None
        except IsADirectoryError:
            raise ToolError(f"{path} is a directory") from None

    def _view(self, path: str, args: dict[str, str]) -> str:
        listing = self.sandbox.run(f"test -d {shlex.quote(path)} && find {shlex.quote(path)} -maxdepth 2 "
                                   f"-not -path '*/.*' | sort | head -400", timeout=30)
        if listing.exit_code == 0:
            return f"Files and directories up to 2 levels deep in {path}:\n{listing.output}"
        content = self._read(path)
        if content is None:
            raise ToolError(f"{path} does not exist")
        lines = content.split("\n")
        start, end = _view_range(args.get("view_range"), len(lines))
        numbered = "\n".join(f"{n:6}\t{lines[n - 1]}" for n in range(start, end + 1))
        if len(numbered) > MAX_VIEW_CHARS:
            numbered = numbered[:MAX_VIEW_CHARS] + "\n[… file too long: view a smaller view_range …]"
        return f"Here is {path} (lines {start}-{end} of {len(lines)}):\n{numbered}"

    def _write(self, path: str, before: str | None, after: str) -> None:
        self.sandbox.write_file(path, after)
        self.history.setdefault(path, []).append(before)

    def _create(self, path: str, args: dict[str, str]) -> str:
        text = _required(args, "file_text")
        if self._read(path) is not None:
            raise ToolError(f"{path} already exists; edit it with str_replace or insert")
        self._write(path, None, text)
        return f"Created {path} ({len(text.splitlines())} lines)."

    def _str_replace(self, path: str, args: dict[str, str]) -> str:
        old, new = _required(args, "old_str"), args.get("new_str", "")
        content = self._existing(path)
        count = content.count(old)
        if count == 0:
            raise ToolError(f"old_str did not appear verbatim in {path}; view the file and copy it exactly")
        if count > 1:
            lines = [content[: i].count("\n") + 1 for i in _find_all(content, old)]
            raise ToolError(f"old_str appears {count} times in {path} (lines {lines}); include more context")
        updated = content.replace(old, new, 1)
        self._write(path, content, updated)
        first = content[: content.index(old)].count("\n") + 1
        return f"Edited {path}. The region now reads:\n{_snippet(updated, first, new.count(chr(10)) + 1)}"

    def _insert(self, path: str, args: dict[str, str]) -> str:
        text, content = _required(args, "new_str"), self._existing(path)
        lines = content.split("\n")
        try:
            after = int(_required(args, "insert_line"))
        except ValueError:
            raise ToolError("insert_line must be a line number") from None
        if not 0 <= after <= len(lines):
            raise ToolError(f"insert_line {after} is out of range 0-{len(lines)}")
        updated = "\n".join(lines[:after] + text.split("\n") + lines[after:])
        self._write(path, content, updated)
        return f"Inserted into {path}. The region now reads:\n{_snippet(updated, after + 1, text.count(chr(10)) + 1)}"

    def _undo(self, path: str, args: dict[str, str]) -> str:
        if not self.history.get(path):
            raise ToolError(f"there is no edit of {path} to undo")
        previous = self.history[path].pop()
        if previous is None:
            self.sandbox.run(f"rm -f {shlex.quote(path)}", timeout=30)
            return f"Undid the creation of {path}."
        self.sandbox.write_file(path, previous)
        return f"Undid the last edit of {path}."

    def _existing(self, path: str) -> str:
        content = self._read(path)
        if content is None:
            raise ToolError(f"{path} does not exist; create it first")
        return content


def _within(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")


def _required(args: dict[str, str], name: str) -> str:
    if args.get(name) is None:
        raise ToolError(f"the parameter {name!r} is required")
    return args[name]


def _view_range(value: str | None, total: int) -> tuple[int, int]:
    if value is None:
        return 1, total
    try:
        start, end = json.loads(value)
        start, end = int(start), int(end)
    except (ValueError, TypeError):
        raise ToolError(f"view_range must be two line numbers like [1, 40], not {value!r}") from None
    end = total if end == -1 else end
    if not 1 <= start <= end <= total:
        raise ToolError(f"view_range [{start}, {end}] is outside the file's lines 1-{total}")
    return start, end


def _find_all(text: str, part: str) -> list[int]:
    found, start = [], text.find(part)
    while start >= 0:
        found.append(start)
        start = text.find(part, start + 1)
    return found


def _snippet(content: str, first: int, count: int) -> str:
    lines = content.split("\n")
    start, end = max(1, first - SNIPPET_LINES), min(len(lines), first + count - 1 + SNIPPET_LINES)
    return "\n".join(f"{n:6}\t{lines[n - 1]}" for n in range(start, end + 1))
