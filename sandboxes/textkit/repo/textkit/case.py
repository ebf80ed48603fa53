"""Convert identifiers between snake_case, kebab-case, camelCase, PascalCase and Title Case."""

from __future__ import annotations

import re

_BOUNDARY_RE = re.compile(r"([a-z0-9])([A-Z])")
_SEPARATOR_RE = re.compile(r"[^A-Za-z0-9]+")


def split_words(name: str) -> list[str]:
    """Split an identifier or phrase into its lower-case words.

    Case changes, spaces, dashes, underscores and other punctuation separate words; a run of
    capitals is an acronym and stays one word (``"parseHTTPResponse"`` → ``parse``, ``http``,
    ``response``).
    """
    spaced = _BOUNDARY_RE.sub(r"\1 \2", name)
    return [word.lower() for word in _SEPARATOR_RE.split(spaced) if word]


def to_snake(name: str) -> str:
    return "_".join(split_words(name))


def to_kebab(name: str) -> str:
    return "-".join(split_words(name))


def to_camel(name: str) -> str:
    first, *rest = split_words(name) or [""]
    return first + "".join(word.capitalize() for word in rest)


def to_pascal(name: str) -> str:
    return "".join(word.capitalize() for word in split_words(name))


def to_title(name: str) -> str:
    """Words separated by spaces, each capitalised, except short joining words after the first."""
    small = {"a", "an", "and", "as", "at", "by", "for", "in", "of", "on", "or", "the", "to"}
    parts = split_words(name)
    return " ".join(word if index and word in small else word.capitalize() for index, word in enumerate(parts))
