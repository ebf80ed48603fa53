"""Word wrapping and truncation."""

from __future__ import annotations


def wrap(
    text: str,
    width: int = 70,
    *,
    indent: str = "",
    subsequent_indent: str | None = None,
    break_long_words: bool = True,
) -> list[str]:
    """Wrap ``text`` into lines of at most ``width`` characters, indents included.

    Whitespace (newlines too) is collapsed. The first line starts with ``indent``, the others with
    ``subsequent_indent`` (default: ``indent``). A word longer than a line is split across lines
    when ``break_long_words`` is true, otherwise it sits alone on an overlong line.
    """
    if subsequent_indent is None:
        subsequent_indent = indent
    if width <= max(len(indent), len(subsequent_indent)):
        raise ValueError("width must be larger than the indents")
    lines: list[str] = []
    prefix = indent
    current: list[str] = []
    length = len(prefix)

    for word in text.split():
        needed = len(word) + (1 if current else 0)
        if length + needed <= width:
            current.append(word)
            length += needed
            continue
        if current:
            lines.append(prefix + " ".join(current))
            prefix = subsequent_indent
        if break_long_words:
            while len(prefix) + len(word) > width:
                room = width - len(indent)
                lines.append(prefix + word[:room])
                word = word[room:]
                prefix = subsequent_indent
        current = [word]
        length = len(prefix) + len(word)

    if current:
        lines.append(prefix + " ".join(current))
    return lines


def fill(text: str, width: int = 70, **options: object) -> str:
    """Wrap every paragraph of ``text`` (separated by blank lines) and join them with a blank line."""
    paragraphs = [part for part in _paragraphs(text) if part.strip()]
    return "\n\n".join("\n".join(wrap(paragraph, width, **options)) for paragraph in paragraphs)  # type: ignore[arg-type]


def _paragraphs(text: str) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    for line in text.splitlines():
        if line.strip():
            current.append(line)
        elif current:
            parts.append("\n".join(current))
            current = []
    if current:
        parts.append("\n".join(current))
    return parts


def truncate(text: str, width: int, *, placeholder: str = "…") -> str:
    """Shorten ``text`` to at most ``width`` characters, cutting at a word boundary and adding ``placeholder``."""
    text = " ".join(text.split())
    if len(text) <= width:
        return text
    if width <= len(placeholder):
        raise ValueError("width must be larger than the placeholder")
    room = width - len(placeholder)
    cut = text[: room + 1]
    space = cut.rfind(" ")
    head = cut[:space] if space > 0 else text[:room]
    return head.rstrip(" ,;:.") + placeholder
