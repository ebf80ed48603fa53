"""The canonical trajectory record: one versioned JSONL line per expert trajectory.

Every importer converts its format into :class:`Trajectory` at the edge; nothing downstream knows where a
trajectory came from. A line is ``Trajectory.model_dump_json()``; ``schema_version`` is checked on read.

Contracts:
- ``read_trajectories`` streams a file of any size and never raises on a bad line: it reports the line
  (``file:line: reason``) to ``on_skip`` and goes on.
- ``write_trajectories`` writes to a temporary file in the destination folder and renames it, so a reader
  never sees a half-written file. ``append_trajectory`` appends one flushed line (for runs that save after
  every step and resume).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

SCHEMA_VERSION = 1
_UMASK = os.umask(0o022)
os.umask(_UMASK)  # read once at import: os.umask can only be read by setting it


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class SweTask(_Record):
    """A repository task in SWE-bench terms. Fields a source does not carry stay empty."""

    track: Literal["swe"] = "swe"
    instance_id: str
    problem_statement: str
    repo: str = ""
    base_commit: str = ""
    image: str = ""
    fail_to_pass: list[str] = Field(default_factory=list, alias="FAIL_TO_PASS")
    pass_to_pass: list[str] = Field(default_factory=list, alias="PASS_TO_PASS")
    patch: str = ""
    """The gold patch, when the source knows it."""
    test_patch: str = ""
    version: str = ""
    eval_script: str = ""
    """How the task is tested, in SWE-bench 5's shape: bash that resets the test files, applies ``test_patch`` and
    runs the test command between the ``>>>>> Start/End Test Output`` markers (``srl_swe.tasks.testing``)."""
    log_parser: str = ""
    """The name of the parser of that command's output in swebench's ``PARSER_REGISTRY``."""
    eval_type: str = ""
    """``pass_and_fail`` or ``fail_only`` (swebench's ``EvalType``)."""
    test_source: str = ""
    """Where the three fields above came from: ``row`` (the dataset's own), ``swebench:<repo>`` (swebench's parser
    for a repository it knows, with that repository's test command) or ``pytest`` (the default)."""

    @field_validator("fail_to_pass", "pass_to_pass", mode="before")
    @classmethod
    def _json_test_list(cls, value: Any) -> Any:
        """SWE-bench releases store test lists as JSON text in some rows and as lists in others."""
        if value is None or value == "":
            return []
        return json.loads(value) if isinstance(value, str) else value


class MathTask(_Record):
    """A math question with its reference final answer."""

    track: Literal["math"] = "math"
    instance_id: str
    question: str
    answer: str = ""


Task = Annotated[SweTask | MathTask, Field(discriminator="track")]


class Action(_Record):
    """What the expert did at one step: a tool call (SWE) or a text step (math).

    ``arguments`` keeps the call's arguments as text, in the order the expert gave them (non-string
    values are stored as their JSON text). ``raw`` is the text the action was parsed from, kept for audit;
    the training target is ``srl_swe.actions.action_text(action)``, never ``raw``.
    """

    tool: str | None = None
    arguments: dict[str, str] = Field(default_factory=dict)
    text: str = ""
    raw: str = ""

    @model_validator(mode="after")
    def _writable(self) -> Action:
        """A tool call must be writable as function markup (the training target); ValueError if not."""
        if self.tool is not None:
            from srl_swe.actions import render_call  # actions builds on this module

            render_call(self.tool, self.arguments)
        return self

    @property
    def is_tool_call(self) -> bool:
        return self.tool is not None


class Step(_Record):
    thought: str = ""
    action: Action
    observation: str | None = None
    """The environment's answer to the action: context for later steps, never a training target."""
    diff: str | None = None
    """The repository's changes against the base commit after this step (live collection records them; cut to
    ``srl_swe.sandbox.base.MAX_STEP_DIFF_CHARS``); None when not recorded. Hindsight goals come from it."""


class Outcome(_Record):
    resolved: bool | None = None
    """True/False when the source graded the run; None when it does not say."""
    patch: str = ""
    exit_status: str = ""
    grade_reason: str = ""
    """Why the grader did not resolve the run (``srl_swe.grading.Grade.reason``); empty when resolved, ungraded,
    or in files written before this field existed."""


class Provenance(_Record):
    source_format: str
    source: str = ""
    """``file:line`` (JSONL) or ``file:row N`` (JSON lists, Parquet) the trajectory came from."""
    teacher: str = ""


class Trajectory(_Record):
    schema_version: int = SCHEMA_VERSION
    id: str
    task: Task
    preamble: str = ""
    """Expert text before the first step (a math solution's introduction); part of every step's context."""
    steps: list[Step]
    outcome: Outcome = Field(default_factory=Outcome)
    provenance: Provenance

    @property
    def track(self) -> str:
        return self.task.track


SkipHandler = Callable[[str, str], None]
"""Called as ``on_skip(where, reason)`` for every record that is skipped."""


def parse_trajectory_line(line: str | bytes) -> Trajectory:
    """Decode one canonical JSONL line; raises ValueError with a readable reason."""
    try:
        data = json.loads(line)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise ValueError(f"expected a JSON object, got {type(data).__name__}")
    version = data.get("schema_version")
    if version != SCHEMA_VERSION:
        raise ValueError(f"schema_version {version!r} is not supported (this srl-swe reads {SCHEMA_VERSION})")
    try:
        return Trajectory.model_validate(data)
    except ValidationError as exc:
        raise ValueError(validation_reason(exc)) from None


def read_trajectories(path: str | Path, on_skip: SkipHandler | None = None) -> Iterator[Trajectory]:
    """Stream the trajectories of a canonical JSONL file, skipping (and reporting) bad lines."""
    with open(path, "rb") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                yield parse_trajectory_line(line)
            except ValueError as exc:
                if on_skip is not None:
                    on_skip(f"{path}:{number}", str(exc))


@contextmanager
def atomic_output(path: str | Path, mode: str = "w"):
    """Open a temporary file beside ``path``; on success rename it over ``path``, on error delete it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, mode, **({} if "b" in mode else {"encoding": "utf-8"})) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600; give the file the user's usual mode
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@contextmanager
def atomic_folder(path: str | Path):
    """Yield a temporary folder beside ``path``; on success it replaces ``path`` as one unit (the old
    folder is renamed aside, the new one renamed in, the old one removed), on error it is deleted and
    ``path`` is untouched. The caller decides whether an existing ``path`` may be replaced. Limit: a crash
    between the two renames leaves the old folder as ``.NAME.*.old`` beside ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    try:
        yield tmp
        os.chmod(tmp, 0o777 & ~_UMASK)  # mkdtemp makes 0700
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _swap_in(tmp, path)


def _swap_in(new: Path, path: Path) -> None:
    old = new.with_suffix(".old")
    if path.exists():
        os.rename(path, old)
    try:
        os.rename(new, path)
    except BaseException:
        if old.exists():
            os.rename(old, path)
        shutil.rmtree(new, ignore_errors=True)
        raise
    shutil.rmtree(old, ignore_errors=True)


def write_trajectories(path: str | Path, trajectories: Iterable[Trajectory]) -> int:
    """Write trajectories as canonical JSONL, atomically. Returns how many were written."""
    count = 0
    with atomic_output(path) as handle:
        for trajectory in trajectories:
            handle.write(trajectory.model_dump_json(by_alias=True) + "\n")
            count += 1
    return count


def append_trajectory(path: str | Path, trajectory: Trajectory) -> None:
    """Append one trajectory line and flush it to disk (a crash loses at most the line being written).
    A write that fails (disk full) is undone: the file is cut back to its old size and the error raised."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    line = trajectory.model_dump_json(by_alias=True).encode("utf-8") + b"\n"
    # unbuffered: a failed write leaves nothing pending that closing the file would write after the cut
    with open(path, "a+b", buffering=0) as handle:  # appends go to the end whatever the read position
        size = handle.seek(0, os.SEEK_END)
        if size:
            handle.seek(size - 1)
            if handle.read(1) != b"\n":
                line = b"\n" + line  # a line torn by a crash stays a (bad) line of its own
        try:
            rest = memoryview(line)
            while rest:
                rest = rest[handle.write(rest):]
            os.fsync(handle.fileno())
        except OSError:
            _truncate_quietly(handle, size)
            raise


def _truncate_quietly(handle, size: int) -> None:
    try:
        handle.truncate(size)
    except OSError:  # the reader skips a torn last line anyway
        pass


def validation_reason(exc: ValidationError) -> str:
    """The first problem of a pydantic error as one line: ``field a.b: reason (+N more)``."""
    first = exc.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "record"
    more = f" (+{exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    message = "missing" if first["type"] == "missing" else first["msg"].removeprefix("Value error, ")
    return f"field {where}: {message}{more}"
