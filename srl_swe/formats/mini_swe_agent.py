"""mini-swe-agent ``.traj.json`` files.

Generations: the first format (no ``trajectory_format``), ``mini-swe-agent-1`` (both: bash commands in
a ```bash fence of the assistant text, observations as user turns) and ``mini-swe-agent-1.1`` (v2:
OpenAI ``tool_calls`` answered by ``tool`` messages, or text mode with ```mswea_bash_command fences, and
a final ``exit`` message). mini-swe-agent does not grade runs: ``resolved`` stays unknown.

mini's own rules decide what is an expert action:

- A text turn is run only if its content holds exactly one match of the run's ``action_regex`` (from
  ``info.config``, else mini's default fences). A turn with none or several was *rejected*: mini answered it
  with its format-error note and ran nothing, so it gives no step and the note is no observation (1.x keeps
  such turns in ``messages``; 2.x never records them).
- The run submits when a command's output starts with the sentinel line; that ends the run with the
  exit status ``Submitted``. So only the last call of a ``Submitted`` run is a ``submit`` (its command may
  be prefixed: ``cd /testbed && echo COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT && …``); a sentinel command
  that did not end the run, or one in a run that ended otherwise, ran as ``bash``.
- Limit and error exits (``LimitsExceeded``, ``TimeExceeded``, ``RepeatedFormatError``, an exception's
  name such as ``TimeoutError``) are the ``exit`` message or the run's status, never a step: they go to
  ``outcome.exit_status``, and the ``submission`` (then an error text) is not a patch.

:func:`mini_chat_steps` is shared with :mod:`srl_swe.formats.mini_chat` (datasets of mini-style chats).
"""

from __future__ import annotations

import json
import re
from typing import Any

from pydantic import ValidationError

from srl_swe.actions import tool_action
from srl_swe.formats.common import (
    MINI_SENTINEL,
    BadRecord,
    extract_issue,
    file_stem,
    is_mini_submission,
    markup_steps,
    require,
    swe_trajectory,
    walk_chat,
)
from srl_swe.trajectory import Step

NAME = "mini-swe-agent"
DEFAULT_ACTION_REGEX = re.compile(r"```(?:bash|mswea_bash_command)\s*\n(.*?)\n```", re.DOTALL)
"""mini 1.x's ``action_regex`` (```bash) and 2.x text mode's (```mswea_bash_command)."""


def detect(record: dict[str, Any]) -> bool:
    info = record.get("info")
    if not isinstance(record.get("messages"), list) or not isinstance(info, dict):
        return False
    return str(record.get("trajectory_format", "")).startswith("mini-swe-agent") or "exit_status" in info


def convert(record: dict[str, Any], source: str) -> Any:
    messages, info = require(record, "messages", "info")
    if not isinstance(info, dict):
        raise BadRecord("malformed field", f"'info' is a {type(info).__name__}, not an object")
    exit_status = str(info.get("exit_status") or "")
    task_text, steps = mini_chat_steps(messages, action_regex(info), exit_status)
    instance_id = record.get("instance_id") or file_stem(source)
    task = {"instance_id": instance_id, "problem_statement": extract_issue(task_text)}
    patch = info.get("submission") if exit_status == "Submitted" else ""
    outcome = {"patch": patch or "", "exit_status": exit_status}
    model = (((info.get("config") or {}).get("model") or {}) or {}).get("model_name", "")
    return swe_trajectory(NAME, source, steps, task, outcome, teacher=model)


def action_regex(info: dict[str, Any]) -> re.Pattern:
    """The run's ``action_regex`` (1.x: ``config.agent``, 2.x text mode: ``config.model``), else the default;
    a configured one that does not compile or has no group falls back to the default."""
    config = info.get("config") if isinstance(info.get("config"), dict) else {}
    for part in ("agent", "model"):
        pattern = (config.get(part) or {}).get("action_regex") if isinstance(config.get(part), dict) else None
        if isinstance(pattern, str) and pattern:
            try:
                compiled = re.compile(pattern, re.DOTALL)
            except re.error:
                continue
            if compiled.groups >= 1:
                return compiled
    return DEFAULT_ACTION_REGEX


def mini_chat_steps(messages: Any, regex: re.Pattern, exit_status: str) -> tuple[str, list[Step]]:
    """``(task_text, steps)`` of a mini-style chat: one bash step per accepted text turn or tool call,
    function-markup turns (datasets that end with ``<function=submit>``) as their calls, rejected turns
    none; then the run's submission marked by :func:`_mark_submission`. ``exit_status`` is the run's
    (``""`` when the source does not say)."""
    task_text, steps = walk_chat(messages, lambda message, text: _turn_steps(message, text, regex))
    return task_text, _mark_submission(steps, exit_status)


def _turn_steps(message: dict, text: str, regex: re.Pattern) -> list[Step]:
    if message.get("tool_calls"):
        return _tool_call_steps(text.strip(), message["tool_calls"])
    actions = regex.findall(text)
    if len(actions) == 1:
        command = actions[0] if isinstance(actions[0], str) else actions[0][0]
        match = regex.search(text)
        prose = (text[: match.start()] + text[match.end() :]).strip()
        if "<function=" in prose:
            raise BadRecord("ambiguous tool call", "an assistant turn holds both a fenced command and <function=…>")
        return [bash_step(prose, command.strip())]
    if not actions and "<function=" in text:
        return markup_steps(text)
    return []  # none or several actions: mini rejected the turn with a format error and ran nothing


def _tool_call_steps(thought: str, tool_calls: Any) -> list[Step]:
    """mini 2.x records only tool calls it accepted: ``bash`` with a ``command`` in JSON arguments."""
    if not isinstance(tool_calls, list):
        raise BadRecord("unparseable tool call", f"tool_calls is a {type(tool_calls).__name__}, not a list")
    steps = []
    for call in tool_calls:
        function = call.get("function") if isinstance(call, dict) else None
        function = function if isinstance(function, dict) else {}
        try:
            arguments = json.loads(function.get("arguments") or "{}")
        except (TypeError, ValueError):
            arguments = function.get("arguments")
        if function.get("name") != "bash" or not isinstance(arguments, dict) or "command" not in arguments:
            raise BadRecord("unparseable tool call", f"a tool call is not bash(command=…): {str(call)[:80]!r}")
        raw = json.dumps(call, ensure_ascii=False)
        steps.append(bash_step(thought if not steps else "", str(arguments["command"]), raw))
    return steps


def bash_step(thought: str, command: str, raw: str = "") -> Step:
    """A ``bash`` step kept as bash even when it echoes the sentinel (whether it submitted is decided
    from the run, see :func:`_mark_submission`); BadRecord if the command cannot be written as markup."""
    try:
        return Step(thought=thought, action=tool_action("bash", {"command": command}, raw or command))
    except (ValidationError, ValueError) as exc:
        raise BadRecord("unparseable tool call", str(exc).splitlines()[0][:200]) from None


def _mark_submission(steps: list[Step], exit_status: str) -> list[Step]:
    """Make the run's last step a ``submit`` when it was mini's submission: the run says ``Submitted``
    and the command names the sentinel, or the source gives no exit status and the command's first
    echo prints the sentinel (:func:`is_mini_submission`)."""
    if not steps or steps[-1].action.tool != "bash":
        return steps
    last, command = steps[-1], steps[-1].action.arguments.get("command", "")
    if exit_status == "Submitted":
        submitted = MINI_SENTINEL.search(command) is not None
    else:
        submitted = not exit_status and is_mini_submission(command)
    if not submitted:
        return steps
    submit = last.model_copy(update={"action": tool_action("submit", {}, last.action.raw)})
    return [*steps[:-1], submit]
