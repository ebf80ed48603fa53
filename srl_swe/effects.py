"""What a tool call does, for the ``action_effect`` reward: two calls that make the same change, or run the same
command, in other words score 1.0; calls with different effects are compared by what differs.

- A different tool (after aliases) scores 0.
- ``str_replace_editor``: a different ``command`` or ``path`` (normalised: repeated and trailing slashes, ``.``
  and ``..``) scores 0. ``str_replace`` compares the minimal change — ``old_str`` and ``new_str`` with the lines
  common to both at their start and end stripped — so edits anchored with more or less context score 1.0;
  ``create`` compares ``file_text``; ``insert`` the line and ``new_str``; ``view`` the overlap of the line
  ranges (intersection over union; no range, or an end of -1, reaches OPEN_END_LINES past the furthest line
  either names: the file's length is not known);
  ``undo_edit`` of the same file is 1.0.
- ``bash``: both commands are parsed with tree-sitter-bash and normalised — quotes removed where nothing
  expands inside them, ``python3``/``python3.X`` → ``python``, clusters of single-letter flags split and the
  order of adjacent ones sorted (``-rn`` = ``-n -r``; not for ``find``, whose flags are words), leading
  ``cd DIR &&`` dropped, whitespace and redirection spacing squashed — then compared with the paper's ratio.
- ``submit`` against ``submit`` is 1.0; any other tool: the paper's ratio on the canonical call.

Whatever cannot be parsed (a command with a syntax error, an expert action that is not one call, a view range
that is not two integers) falls back to the paper's ratio on the call's text; nothing here raises. The
expert's normal form is cached (the same expert action is scored against every rollout of its group).
"""

from __future__ import annotations

import json
import posixpath
import re
from functools import lru_cache

from srl_swe.actions import FormatError, canonical_tool, parse_call, render_call

_FLAG_CLUSTER = re.compile(r"-[A-Za-z]{2,}")
_FLAG = re.compile(r"-[A-Za-z]")
_PYTHON = re.compile(r"python3(\.\d+)?")
WORD_FLAG_COMMANDS = {"find"}
"""Commands whose single-dash options are words (``-name``), not clusters of letters."""
OPEN_END_LINES = 100
"""How far past the furthest named line an open view range is taken to reach (the file's length is unknown)."""
_SEPARATORS = {"&&", "||", ";", "|", "&", "|&"}


def effect_similarity(tool: str, arguments: dict[str, str], expert: str) -> float:
    """The ``action_effect`` score of a parsed call against the expert's action text (see the module
    docstring); in [0, 1]."""
    from srl_swe.rewards import similarity

    try:
        expert_tool, expert_args = _expert_call(expert)
        if canonical_tool(tool) != canonical_tool(expert_tool):
            return 0.0
        kind = canonical_tool(tool)
        if kind == "bash":
            return similarity(normal_command(arguments.get("command", "")),
                              normal_command(expert_args.get("command", "")))
        if kind == "str_replace_editor":
            return _editor_effect(arguments, expert_args)
        if kind == "submit":
            return 1.0
    except (FormatError, ValueError, TypeError, RecursionError):
        pass  # not a call we can read: the paper's ratio below
    try:
        return similarity(render_call(tool, arguments), expert)
    except ValueError:  # an argument that cannot be rendered back into markup
        return similarity(json.dumps([tool, arguments], sort_keys=True), expert)


@lru_cache(maxsize=4096)
def _expert_call(expert: str) -> tuple[str, dict[str, str]]:
    return parse_call(expert)


# --- the editor ------------------------------------------------------------------------------------------


def _editor_effect(mine: dict[str, str], expert: dict[str, str]) -> float:
    from srl_swe.rewards import similarity

    command = expert.get("command", "").strip()
    if mine.get("command", "").strip() != command or _path(mine) != _path(expert):
        return 0.0
    if command == "str_replace":
        return similarity(minimal_change(mine.get("old_str", ""), mine.get("new_str", "")),
                          minimal_change(expert.get("old_str", ""), expert.get("new_str", "")))
    if command == "create":
        return similarity(mine.get("file_text", ""), expert.get("file_text", ""))
    if command == "insert":
        return similarity(f"{mine.get('insert_line', '').strip()}\n{mine.get('new_str', '')}",
                          f"{expert.get('insert_line', '').strip()}\n{expert.get('new_str', '')}")
    if command == "view":
        return range_overlap(mine.get("view_range"), expert.get("view_range"))
    return 1.0


def _path(arguments: dict[str, str]) -> str:
    path = arguments.get("path", "").strip()
    return posixpath.normpath(path) if path else ""


def common_ends(before: list[str], after: list[str]) -> tuple[int, int]:
    """(head, tail): how many lines the two sides of an edit share at their start, then at their end (never
    overlapping the head)."""
    head = 0
    while head < min(len(before), len(after)) and before[head] == after[head]:
        head += 1
    tail = 0
    while tail < min(len(before), len(after)) - head and before[-1 - tail] == after[-1 - tail]:
        tail += 1
    return head, tail


def minimal_change(old: str, new: str) -> str:
    """The edit ``old`` → ``new`` without the lines common to both at their start and their end, as one
    text (``old`` core, a separator line, ``new`` core)."""
    before, after = old.split("\n"), new.split("\n")
    start, end = common_ends(before, after)
    core = lambda lines: "\n".join(lines[start:len(lines) - end])  # noqa: E731 - two uses, one line
    return f"{core(before)}\n\x00\n{core(after)}"


def range_overlap(mine: str | None, expert: str | None) -> float:
    """Intersection over union of two ``view_range`` values (``[first, last]``, last -1 = to the end; none =
    the whole file); an open end reaches OPEN_END_LINES past the furthest line either range names. ValueError
    when a value is not a list of two integers."""
    ranges = [_range(value) for value in (mine, expert)]
    furthest = max([1] + [n for r in ranges if r for n in r if n > 0]) + OPEN_END_LINES
    (a1, a2), (b1, b2) = ((r[0], furthest if r[1] == -1 else r[1]) if r else (1, furthest) for r in ranges)
    overlap = max(0, min(a2, b2) - max(a1, b1) + 1)
    union = (a2 - a1 + 1) + (b2 - b1 + 1) - overlap
    return overlap / union if union > 0 else 0.0


def _range(value: str | None) -> tuple[int, int] | None:
    if value is None or not str(value).strip():
        return None
    parsed = json.loads(value)
    if (not isinstance(parsed, list) or len(parsed) != 2 or not all(isinstance(n, int) for n in parsed)
            or parsed[0] < 1 or (parsed[1] != -1 and parsed[1] < parsed[0])):
        raise ValueError(f"not a view range: {value!r}")
    return parsed[0], parsed[1]


# --- bash ----------------------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _parser():
    import tree_sitter_bash
    from tree_sitter import Language, Parser

    return Parser(Language(tree_sitter_bash.language()))


@lru_cache(maxsize=65536)
def normal_command(command: str) -> str:
    """The normal form of a shell command (see the module docstring); ValueError when it does not parse."""
    tree = _parser().parse(command.encode())
    if tree.root_node.has_error:
        raise ValueError(f"not a shell command tree-sitter-bash can parse: {command[:80]!r}")
    parts = _drop_leading_cd(_flatten(tree.root_node))
    return " ".join(parts)


def _flatten(node) -> list[str]:
    """Commands and the separators between them, in order, each command already normalised."""
    if node.type in ("program", "list", "pipeline"):
        parts: list[str] = []
        for child in node.children:
            if child.type == "comment":
                continue
            parts.extend([_squash(child.text.decode())] if child.type in _SEPARATORS else _flatten(child))
        return parts
    if node.type == "command":
        return [" ".join(_command_words(node))]
    if node.type == "redirected_statement":  # tree-sitter-bash hangs `a && b 2>&1` on the list: it is b's
        body, *redirects = node.children
        parts = _flatten(body)
        parts[-1] = " ".join([parts[-1], *(re.sub(r"\s+", "", r.text.decode()) for r in redirects)])
        return parts
    return [_squash(node.text.decode())]


def _command_words(node) -> list[str]:
    words = [_word(child) for child in node.children if child.type != "comment"]
    if not words:
        return words
    words[0] = "python" if _PYTHON.fullmatch(words[0]) else words[0]
    return words if words[0] in WORD_FLAG_COMMANDS else _sorted_flags(words)


def _word(node) -> str:
    if node.type == "command_name":
        return _word(node.children[0]) if node.children else ""
    if node.type == "raw_string":
        return node.text.decode()[1:-1]
    if node.type == "string" and all(child.type in ('"', "string_content") for child in node.children):
        return "".join(child.text.decode() for child in node.children if child.type == "string_content")
    if node.type == "concatenation":
        return "".join(_word(child) for child in node.children)
    return node.text.decode()


def _sorted_flags(words: list[str]) -> list[str]:
    """``-rn`` split into ``-r -n``; each run of adjacent single-letter flags sorted."""
    split = [words[0]]
    for word in words[1:]:
        split.extend(f"-{letter}" for letter in word[1:]) if _FLAG_CLUSTER.fullmatch(word) else split.append(word)
    result, run = [], []
    for word in [*split, None]:
        if word is not None and _FLAG.fullmatch(word):
            run.append(word)
            continue
        result.extend(sorted(run))
        run = []
        if word is not None:
            result.append(word)
    return result


def _drop_leading_cd(parts: list[str]) -> list[str]:
    while len(parts) >= 3 and parts[0].split(" ", 1)[0] == "cd" and parts[1] == "&&":
        parts = parts[2:]
    return parts


def _squash(text: str) -> str:
    return " ".join(text.split())
