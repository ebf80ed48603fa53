"""What every importer shares: the skip exception, message helpers, and trajectory assembly.

An importer is a module with ``NAME``, ``detect(record) -> bool`` (content-based, cheap, on one decoded
JSON object) and ``convert(record, source) -> Trajectory`` that raises :class:`BadRecord` for input it
must skip. ``source`` is ``file:line`` or ``file:row N``; it ends up in the trajectory's provenance.
"""

from __future__ import annotations

import hashlib
import json
import re
import shlex
from collections.abc import Callable
from pathlib import PurePath
from typing import Any

from pydantic import ValidationError

from srl_swe.actions import FormatError, canonical_tool, find_calls, tool_action
from srl_swe.trajectory import MathTask, Outcome, Provenance, Step, SweTask, Trajectory


class BadRecord(ValueError):
    """A record that cannot become a trajectory. ``kind`` is the short reason counted in summaries."""

    def __init__(self, kind: str, detail: str = ""):
        super().__init__(f"{kind}: {detail}" if detail else kind)
        self.kind = kind


def require(record: dict, *keys: str) -> list[Any]:
    """The values of ``keys`` in ``record``; BadRecord naming the first one that is missing."""
    missing = [key for key in keys if record.get(key) is None]
    if missing:
        raise BadRecord("missing field", f"{missing[0]!r} is missing")
    return [record[key] for key in keys]


def content_text(content: Any) -> str:
    """Message content as text: a string, or OpenAI/Anthropic content parts joined (text parts only)."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(part.get("text", "") if isinstance(part, dict) else str(part) for part in content)
    raise BadRecord("malformed message", f"content of type {type(content).__name__}")


def json_loads_field(value: Any, field: str) -> Any:
    """Decode a field some datasets store as a JSON string (SWE-smith ``messages``, tool arguments)."""
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except json.JSONDecodeError as exc:
        raise BadRecord("malformed JSON field", f"{field!r} is not valid JSON ({exc.msg})") from None


_DROPPED_ARGUMENTS = {"security_risk"}


MINI_SENTINEL = re.compile(r"\b(?:COMPLETE_TASK_AND_SUBMIT|MINI_SWE_AGENT|MICRO_SWE_AGENT)_FINAL_OUTPUT\b")
"""mini-swe-agent submits when the first line of a command's output is this marker (its environment's rule)."""
_SHELL_SEPARATOR = re.compile(r"&&|\|\||[;|\n]")
_ECHO = re.compile(r"(?:echo|printf)\b(?:\s+-\w+)*\s*(.*)", re.DOTALL)


def is_mini_submission(command: str) -> bool:
    """Whether a shell command is mini-swe-agent's submission: its first ``echo``/``printf`` (the first
    command that prints) prints the sentinel, as in ``cd /testbed && echo COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT
    && git diff``. Static: commands before it are assumed silent (``cd``, ``git add``)."""
    for segment in _SHELL_SEPARATOR.split(command):
        echo = _ECHO.fullmatch(segment.strip())
        if echo:
            return MINI_SENTINEL.match(echo.group(1).lstrip("'\"")) is not None
    return False


def canonical_call(tool: str, arguments: dict[str, Any], as_issued: bool = False) -> tuple[str, dict[str, Any]]:
    """Map a source's tool name and arguments onto the canonical tools (bash, str_replace_editor,
    submit): ``execute_bash(cmd=…)`` → ``bash(command=…)``, ``file_editor`` → ``str_replace_editor``,
    ``finish(…)`` and mini-swe-agent's ``echo COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT …`` → ``submit()``;
    OpenHands' ``security_risk`` and a false ``is_input`` are dropped. ``as_issued`` keeps every other
    argument exactly as the model wrote it (``is_input``, ``timeout`` …): only names map."""
    name = canonical_tool(tool)
    if name == "submit" or (name == "bash" and is_mini_submission(str(arguments.get("command", "")))):
        return "submit", {}
    args = {key: value for key, value in arguments.items() if key not in _DROPPED_ARGUMENTS}
    if name == "bash" and not as_issued:
        if "cmd" in args and "command" not in args:
            args = {"command": args.pop("cmd"), **args}
        if str(args.get("is_input", "")).lower() == "false":
            args.pop("is_input")
    return name, args


def call_step(thought: str, tool: str, arguments: dict[str, Any], raw: str = "", as_issued: bool = False) -> Step:
    """A step for one tool call, in canonical form (see ``canonical_call``); BadRecord if it cannot be
    written as markup."""
    name, args = canonical_call(tool, arguments, as_issued)
    try:
        return Step(thought=thought, action=tool_action(name, args, raw))
    except ValidationError as exc:
        raise BadRecord("unparseable tool call", exc.errors()[0]["msg"].removeprefix("Value error, ")) from None
    except ValueError as exc:
        raise BadRecord("unparseable tool call", str(exc)) from None


def markup_steps(text: str, strip_wrapped: bool = True) -> list[Step]:
    """Steps from assistant text holding function-markup calls; prose becomes the first step's thought.

    Several calls in one turn become consecutive steps. ``strip_wrapped`` removes the newline that
    OpenHands-era and SWE-smith writers put on both sides of multi-line values. BadRecord if a call
    cannot be parsed or there is none.
    """
    try:
        prose, calls = find_calls(text)
    except FormatError as exc:
        raise BadRecord("unparseable tool call", str(exc)) from None
    if not calls:
        raise BadRecord("no tool call", "an assistant turn holds no <function=…> call")
    steps = []
    for index, (tool, arguments, raw) in enumerate(calls):
        if strip_wrapped:
            arguments = {key: _unwrap_value(value) for key, value in arguments.items()}
        steps.append(call_step(prose if index == 0 else "", tool, arguments, raw))
    return steps


_CALL_SIGNS = (
    (re.compile(r"<function=[\w.-]+>"), "a <function=…> call"),
    (re.compile(r"```(?:bash|sh|shell|mswea_bash_command)[ \t]*\n"), "a fenced shell command"),
    (re.compile(r"<(?:tool_call|invoke)\b"), "a tool-call tag"),
)


def no_call(message: dict, text: str, importer: str, fences: bool = True) -> list[Step]:
    """No steps for an assistant turn in which an importer found no call of its own syntax, when the turn
    holds none of another syntax either (prose, a question: not an action). BadRecord when it does hold
    one (``tool_calls``, function markup, a fenced shell command), so that no call is dropped silently;
    ``importer`` names the caller, for the message. ``fences=False`` where a fenced command is prose (a
    tool-calling chat's closing summary often shows one)."""
    signs = _CALL_SIGNS if fences else [sign for sign in _CALL_SIGNS if "fenced" not in sign[1]]
    found = "OpenAI tool_calls" if message.get("tool_calls") else ""
    found = found or next((name for pattern, name in signs if pattern.search(text)), "")
    if found:
        raise BadRecord("unread tool call", f"an assistant turn holds {found}, which the {importer} importer "
                        "does not read (force another --format?)")
    return []


def _unwrap_value(value: str) -> str:
    if len(value) >= 2 and value.startswith("\n") and value.endswith("\n"):
        return value[1:-1]
    return value  # indentation is meaningful (old_str, new_str): never strip otherwise


def call_arguments(function: dict, name: str) -> dict:
    """An OpenAI-style call's ``arguments``: a JSON object, or its JSON text; BadRecord otherwise."""
    arguments = function.get("arguments") or {}
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments)
        except ValueError as exc:
            raise BadRecord("unparseable tool call", f"arguments of {name} are not valid JSON ({exc})") from None
    if not isinstance(arguments, dict):
        raise BadRecord("unparseable tool call", f"arguments of {name} are not a JSON object")
    return arguments


def openai_call_steps(thought: str, tool_calls: list[dict]) -> list[Step]:
    """Steps from OpenAI ``tool_calls`` (arguments as a dict or a JSON string); thought on the first."""
    steps = []
    if not isinstance(tool_calls, list):
        raise BadRecord("unparseable tool call", f"tool_calls is a {type(tool_calls).__name__}, not a list")
    for index, call in enumerate(tool_calls):
        function = call.get("function") if isinstance(call, dict) else None
        name = function.get("name") if isinstance(function, dict) else None
        if not name:
            raise BadRecord("unparseable tool call", "a tool call has no function name")
        arguments = call_arguments(function, name)
        raw = json.dumps(call, ensure_ascii=False)
        steps.append(call_step(thought if index == 0 else "", name, arguments, raw))
    return steps


_FENCE = re.compile(r"```[^\n`]*\n(.*?)\n?```", re.DOTALL)


def fenced_command(text: str, language: str | None = None) -> tuple[str, str] | None:
    """``(prose, command)`` for the last fenced block of text (optionally of one language), or None."""
    blocks = [m for m in _FENCE.finditer(text) if language is None or _fence_language(m) == language]
    if not blocks:
        return None
    last = blocks[-1]
    prose = (text[: last.start()] + text[last.end() :]).strip()
    prose = re.sub(r"^DISCUSSION\s*", "", prose)
    return prose, last.group(1)


def _fence_language(match: re.Match) -> str:
    return match.group(0)[3 : match.group(0).index("\n")].strip()


def cli_step(thought: str, command: str) -> Step:
    """A step for a SWE-agent command line: ``submit`` and ``str_replace_editor …`` become those tools
    (flags parsed with shell quoting); anything else is a bash command."""
    command = command.strip("\n")
    if command.strip() == "submit":
        return call_step(thought, "submit", {}, command)
    head = command.split(maxsplit=1)[0] if command.strip() else ""
    if head == "str_replace_editor":
        arguments = _editor_cli_arguments(command)
        if arguments is not None:
            return call_step(thought, "str_replace_editor", arguments, command)
    return call_step(thought, "bash", {"command": command}, command)


_EDITOR_FLAGS = {"--file_text", "--old_str", "--new_str", "--insert_line", "--view_range"}


def _editor_cli_arguments(command: str) -> dict[str, str] | None:
    """``str_replace_editor CMD PATH [--flag value…]`` → arguments; None if it does not parse."""
    try:
        words = shlex.split(command)
    except ValueError:
        return None
    if len(words) < 3:
        return None
    arguments = {"command": words[1], "path": words[2]}
    rest = words[3:]
    while rest:
        flag = rest.pop(0)
        if flag not in _EDITOR_FLAGS:
            return None
        values = []
        while rest and rest[0] not in _EDITOR_FLAGS:
            values.append(rest.pop(0))
        key = flag[2:]
        if key == "view_range" and not all(v.lstrip("-").isdigit() for v in values):
            return None
        arguments[key] = json.dumps([int(v) for v in values]) if key == "view_range" else " ".join(values)
    return arguments


_ISSUE_PATTERNS = [
    re.compile(r"<pr_description>\s*(?:Consider the following PR description:\s*)?(.*?)\s*</pr_description>", re.S),
    re.compile(r"<issue_description>\s*(.*?)\s*</issue_description>", re.S),
    re.compile(r"<github_issue>\s*(.*?)\s*</github_issue>", re.S),
    re.compile(r"<issue>\s*(.*?)\s*</issue>", re.S),
    re.compile(r"\[ISSUE\]\s*(.*?)\s*\[/ISSUE\]", re.S),
    re.compile(r"ISSUE:\n(.*?)\n\nINSTRUCTIONS:", re.S),
    re.compile(r"Please solve this issue:\s*(.*?)(?:\n\nYou can execute bash commands|\Z)", re.S),
]


def extract_issue(text: str) -> str:
    """The issue text inside a scaffold's task prompt (``<pr_description>``, ``ISSUE:`` …), or the
    whole prompt when no known wrapper is found."""
    for pattern in _ISSUE_PATTERNS:
        match = pattern.search(text)
        if match and match.group(1).strip():
            return match.group(1).strip()
    return text.strip()


_OBSERVATION_PREFIX = re.compile(
    r"^(?:OBSERVATION:\s*\n|Observation: |EXECUTION RESULT of \[[^\]]*\]:\n|Execution output of \[[^\]]*\]:\n)",
    re.IGNORECASE,
)


def clean_observation(text: str) -> str:
    """Tool output without the scaffold's label (``OBSERVATION:``, ``EXECUTION RESULT of [t]:`` …);
    our prompts add their own."""
    return _OBSERVATION_PREFIX.sub("", text, count=1)


def walk_chat(
    messages: list[dict], assistant_steps: Callable[[dict, str], list[Step]], text_key: str = "content",
    assistant_roles: tuple[str, ...] = ("assistant",),
) -> tuple[str, list[Step]]:
    """``(task_text, steps)`` from a chat: the first user turn is the task; each assistant turn gives
    its steps through ``assistant_steps(message, text)``; a user or tool turn answers a step of the
    assistant turn just before it — the one whose call id it names (``tool_call_id``, SWE-agent's
    ``tool_call_ids``), else the first one still unanswered. User turns that answer nothing (format-error
    notes, nudges) are not context of any step and are dropped."""
    if not isinstance(messages, list):
        raise BadRecord("malformed record", f"messages are a {type(messages).__name__}, not a list")
    task_text, steps, turn, ids = "", [], [], {}
    for message in messages:
        if not isinstance(message, dict):
            raise BadRecord("malformed message", f"a message is a {type(message).__name__}, not an object")
        role, text = message.get("role"), content_text(message.get(text_key))
        if role in assistant_roles:
            new = assistant_steps(message, text)
            turn = list(range(len(steps), len(steps) + len(new)))
            ids = _call_ids(message, turn)
            steps.extend(new)
        elif role in ("user", "tool") and not task_text and not steps:
            task_text = text
        elif role in ("user", "tool"):
            index = _answered_step(message, turn, ids, steps)
            if index is not None:
                steps[index] = with_observation(steps[index], clean_observation(text))
    return task_text, steps


def _call_ids(message: dict, turn: list[int]) -> dict[str, int]:
    calls = message.get("tool_calls")
    if not isinstance(calls, list) or len(calls) != len(turn):
        return {}
    return {str(call["id"]): index for call, index in zip(calls, turn, strict=True)
            if isinstance(call, dict) and call.get("id")}


def _answered_step(message: dict, turn: list[int], ids: dict[str, int], steps: list[Step]) -> int | None:
    named = message.get("tool_call_ids")
    named = [message.get("tool_call_id"), *(named if isinstance(named, list) else [])]
    for call_id in named:
        index = ids.get(str(call_id)) if call_id else None
        if index is not None and steps[index].observation is None:
            return index
    return next((index for index in turn if steps[index].observation is None), None)


def with_observation(step: Step, observation: str) -> Step:
    return step.model_copy(update={"observation": observation})


_TRUE, _FALSE = {"true", "yes", "1", "1.0"}, {"false", "no", "0", "0.0"}


def as_resolved(value: Any, field: str) -> bool | None:
    """A source's resolved flag as True/False/None: bools, 0/1, and the strings true/false/yes/no."""
    if value is None or isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if isinstance(value, int | float | str) and text in _TRUE | _FALSE:
        return text in _TRUE
    raise BadRecord("malformed field", f"{field!r} should be a boolean, got {str(value)[:40]!r}")


def content_id(prefix: str, text: str) -> str:
    """A stable id for sources without one, from the task text."""
    return f"{prefix}-{hashlib.sha1(text.encode('utf-8', 'replace')).hexdigest()[:12]}"


def file_stem(source: str) -> str:
    """``dir/acme__calc-12.traj.json:3`` → ``acme__calc-12``: the instance id scaffolds put in file names."""
    name = PurePath(source.split(":")[0]).name
    for suffix in (".json", ".traj"):
        name = name.removesuffix(suffix)
    return name


def trajectory_id(source_format: str, instance_id: str, source: str) -> str:
    """A stable id: readable instance id plus a short hash of where the record came from."""
    digest = hashlib.sha1(f"{source_format}|{source}".encode("utf-8", "replace")).hexdigest()[:10]
    return f"{instance_id}.{digest}"


def swe_trajectory(
    source_format: str,
    source: str,
    steps: list[Step],
    task: dict[str, Any],
    outcome: dict[str, Any] | None = None,
    teacher: str = "",
) -> Trajectory:
    """Assemble a SWE trajectory; BadRecord if it has no steps or its task lacks a problem statement."""
    if not steps:
        raise BadRecord("no steps", "the trajectory has no tool calls")
    if not (task.get("problem_statement") or "").strip():
        raise BadRecord("missing field", "no problem statement found")
    instance_id = str(task.get("instance_id") or "unknown")
    return Trajectory(
        id=trajectory_id(source_format, instance_id, source),
        task=SweTask(**{**task, "instance_id": instance_id}),
        steps=steps,
        outcome=Outcome(**(outcome or {})),
        provenance=Provenance(source_format=source_format, source=source, teacher=teacher or ""),
    )


def math_trajectory(source_format: str, source: str, task: MathTask, preamble: str, steps: list[Step],
                    resolved: bool | None, teacher: str = "") -> Trajectory:
    """Assemble a math trajectory from its numbered steps."""
    if not steps:
        raise BadRecord("no steps")
    return Trajectory(
        id=trajectory_id(source_format, task.instance_id, source),
        task=task,
        preamble=preamble,
        steps=steps,
        outcome=Outcome(resolved=resolved),
        provenance=Provenance(source_format=source_format, source=source, teacher=teacher),
    )
