"""The action text format: tool calls in function-call markup, and model completions.

A tool call is rendered the way SWE-Gym/OpenHands, SWE-smith (xml) and R2E-Gym write it, one parameter
per line::

    <function=bash>
    <parameter=command>find /testbed -name "*.py"</parameter>
    </function>

Parameter values are raw text (no escaping): ``<``, ``>`` and newlines are kept as they are. A value ends
at the first ``</parameter>`` that is followed (after optional whitespace) by ``<parameter=NAME>`` or
``</function>``. The one text that cannot round-trip is a value that itself contains that delimiter
sequence; ``render_call`` refuses it with a ValueError instead of writing ambiguous markup.

A completion is ``<think>THOUGHT</think>`` followed by exactly one action, optionally wrapped in
``<solution>…</solution>``. For the SWE track the action must be exactly one tool call (whitespace
around it allowed, nothing else); for math it is the non-empty text.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from srl_swe.trajectory import Action

NAME = r"[A-Za-z0-9_.:\-]+"
_FUNCTION_OPEN = re.compile(rf"<function=({NAME})>")
_PARAMETER_OPEN = re.compile(rf"<parameter=({NAME})>")
_VALUE_END = re.compile(rf"</parameter>(?=\s*(?:<parameter={NAME}>|</function>))")
_FUNCTION_CLOSE = "</function>"


TOOL_ALIASES = {"execute_bash": "bash", "file_editor": "str_replace_editor", "finish": "submit"}
"""Other scaffolds' names for the canonical tools bash, str_replace_editor and submit."""


def canonical_tool(name: str) -> str:
    return TOOL_ALIASES.get(name, name)


class FormatError(ValueError):
    """A completion or markup that does not follow the action format; the message says why."""


@dataclass(frozen=True)
class Completion:
    thought: str
    action: Action


def render_call(tool: str, arguments: dict[str, Any]) -> str:
    """Render one tool call in function markup. Non-string argument values are written as JSON."""
    if not re.fullmatch(NAME, tool):
        raise ValueError(f"tool name {tool!r} cannot be written in function markup")
    args = {key: argument_text(value) for key, value in arguments.items()}
    lines = [f"<function={tool}>"]
    for key, value in args.items():
        if not re.fullmatch(NAME, key):
            raise ValueError(f"parameter name {key!r} cannot be written in function markup")
        lines.append(f"<parameter={key}>{value}</parameter>")
    lines.append(_FUNCTION_CLOSE)
    text = "\n".join(lines)
    # Only a value holding the closing tag can be ambiguous; check those by parsing the result back.
    if any("</parameter>" in value for value in args.values()) and parse_call(text) != (tool, args):
        raise ValueError(f"an argument of {tool} contains the markup delimiter '</parameter>' before a tag")
    return text


def argument_text(value: Any) -> str:
    """The text form of an argument value: strings as they are, anything else as JSON."""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def parse_call(text: str) -> tuple[str, dict[str, str]]:
    """Parse text that is exactly one tool call (surrounding whitespace allowed)."""
    stripped = text.strip()
    match = _FUNCTION_OPEN.match(stripped)
    if match is None:
        raise FormatError("the action is not a tool call: it must start with <function=NAME>")
    arguments, end = _parse_parameters(stripped, match.end())
    if stripped[end:].strip():
        raise FormatError("text after </function>: exactly one tool call is allowed")
    return match.group(1), arguments


def find_calls(text: str) -> tuple[str, list[tuple[str, dict[str, str], str]]]:
    """Split assistant text into prose and the tool calls it contains, in order.

    Returns ``(prose, [(tool, arguments, raw_markup), …])``; prose is the text outside the calls,
    stripped. Raises FormatError when a ``<function=…>`` block cannot be parsed.
    """
    calls, prose, position = [], [], 0
    for match in _FUNCTION_OPEN.finditer(text):
        if match.start() < position:
            continue
        arguments, end = _parse_parameters(text, match.end())
        prose.append(text[position : match.start()])
        calls.append((match.group(1), arguments, text[match.start() : end]))
        position = end
    prose.append(text[position:])
    return "\n".join(part.strip() for part in prose if part.strip()), calls


def _parse_parameters(text: str, position: int) -> tuple[dict[str, str], int]:
    """Parse ``<parameter=K>V</parameter>…</function>`` from ``position``; returns (arguments, end)."""
    arguments: dict[str, str] = {}
    while True:
        position = _skip_space(text, position)
        if text.startswith(_FUNCTION_CLOSE, position):
            return arguments, position + len(_FUNCTION_CLOSE)
        opening = _PARAMETER_OPEN.match(text, position)
        if opening is None:
            found = text[position : position + 30] or "end of text"
            raise FormatError(f"expected <parameter=NAME> or </function>, found {found!r}")
        key = opening.group(1)
        closing = _VALUE_END.search(text, opening.end())
        if closing is None:
            raise FormatError(f"parameter {key!r} is not closed by </parameter> before </function>")
        if key in arguments:
            raise FormatError(f"parameter {key!r} is given twice")
        arguments[key] = text[opening.end() : closing.start()]
        position = closing.end()


def _skip_space(text: str, position: int) -> int:
    while position < len(text) and text[position].isspace():
        position += 1
    return position


def action_text(action: Action) -> str:
    """The canonical text of an action: the training target and what the reward compares."""
    return render_call(action.tool, action.arguments) if action.is_tool_call else action.text


def tool_action(tool: str, arguments: dict[str, Any], raw: str = "") -> Action:
    """Build a tool-call Action, storing argument values as text."""
    args = {key: argument_text(value) for key, value in arguments.items()}
    return Action(tool=tool, arguments=args, raw=raw or render_call(tool, args))  # Action checks writability


def render_completion(thought: str, action: Action | str) -> str:
    """The completion a policy should write for this step: its thought, then the action (an Action or its
    canonical text)."""
    text = action if isinstance(action, str) else action_text(action)
    return f"<think>\n{thought.strip()}\n</think>\n{text}"


def parse_completion(completion: str, track: str = "swe", think_prefilled: bool = False) -> Completion:
    """Split a model completion into its thought and its one action; FormatError if malformed.

    Format (the reward's -1 condition): ``<think>`` at the start, the thought, the first ``</think>``,
    then one non-empty action, optionally inside ``<solution>…</solution>``. The thought may be empty
    (expert steps after the first call of a turn have none); the reward never looks at it. A math action
    may not hold another think tag; a SWE action is exactly one tool call, whose argument values may
    contain any text. ``think_prefilled``: the chat template already opened ``<think>`` in the prompt
    (Qwen3 thinking templates), so the completion starts inside the thought.
    """
    text = ("<think>" if think_prefilled else "") + completion.lstrip()
    if not text.startswith("<think>"):
        raise FormatError("the completion must start with <think>")
    thought, closed, rest = text[len("<think>") :].partition("</think>")
    if not closed:
        raise FormatError("the <think> block is not closed by </think>")
    if "<think>" in thought:
        raise FormatError("exactly one <think>…</think> block is allowed")
    body = _unwrap_solution(rest.strip())
    if not body:
        raise FormatError("no action after </think>")
    if track == "math":
        if "<think>" in body or "</think>" in body:
            raise FormatError("exactly one <think>…</think> block is allowed")
        return Completion(thought.strip(), Action(text=body, raw=body))
    tool, arguments = parse_call(body)
    return Completion(thought.strip(), Action(tool=tool, arguments=arguments, raw=body))


def _unwrap_solution(text: str) -> str:
    if not text.startswith("<solution>"):
        return text
    if not text.endswith("</solution>"):
        raise FormatError("a <solution> wrapper must enclose the whole action")
    return text[len("<solution>") : -len("</solution>")].strip()
