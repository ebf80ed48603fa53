"""A small template language: ``{{ name }}``, dotted paths and filters.

Syntax::

    Hello {{ user.name|title }}, you have {{ count }} new {{ noun|default:messages }}.

An expression is a dotted path followed by filters separated by ``|``, applied left to right. A filter
may take one argument after a colon. ``{{{{`` and ``}}}}`` produce literal ``{{`` and ``}}``.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Mapping
from typing import Any

_EXPRESSION_RE = re.compile(r"\{\{\{\{|\}\}\}\}|\{\{(.*?)\}\}", re.DOTALL)
_PATH_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*$")


class TemplateError(Exception):
    """A template that cannot be parsed or rendered."""


class UndefinedError(TemplateError):
    """A variable that is not in the context (only raised by strict templates)."""


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


def _truncate(value: str, argument: str | None) -> str:
    if argument is None or not argument.isdigit():
        raise TemplateError("truncate needs a length, for example truncate:20")
    limit = int(argument)
    return value if len(value) <= limit else value[:limit].rstrip() + "…"


def _default(value: Any, argument: str | None) -> Any:
    return (argument or "") if value is MISSING or value is None or value == "" else value


def _join(value: Any, argument: str | None) -> str:
    separator = ", " if argument is None else argument
    return separator.join(str(part) for part in value)


FILTERS: dict[str, Callable[[Any, str | None], Any]] = {
    "upper": lambda value, _: str(value).upper(),
    "lower": lambda value, _: str(value).lower(),
    "title": lambda value, _: str(value).title(),
    "capitalize": lambda value, _: str(value).capitalize(),
    "strip": lambda value, _: str(value).strip(),
    "escape": lambda value, _: html.escape(str(value)),
    "length": lambda value, _: len(value),
    "truncate": lambda value, argument: _truncate(str(value), argument),
    "default": _default,
    "join": _join,
}


class Template:
    """A parsed template; ``strict`` templates raise :class:`UndefinedError` for missing variables,
    others render them as empty strings."""

    def __init__(
        self,
        source: str,
        *,
        strict: bool = True,
        filters: Mapping[str, Callable[[Any, str | None], Any]] | None = None,
    ) -> None:
        self.source = source
        self.strict = strict
        self.filters = {**FILTERS, **(filters or {})}
        self._parts = self._parse(source)

    def _parse(self, source: str) -> list[str | tuple[str, list[tuple[str, str | None]]]]:
        parts: list[str | tuple[str, list[tuple[str, str | None]]]] = []
        position = 0
        for match in _EXPRESSION_RE.finditer(source):
            parts.append(source[position : match.start()])
            position = match.end()
            if match.group(1) is None:
                parts.append(match.group()[:2])
                continue
            path, *filter_specs = [piece.strip() for piece in match.group(1).split("|")]
            if not _PATH_RE.match(path):
                raise TemplateError(f"bad expression {match.group()!r} at offset {match.start()}")
            filters = []
            for spec in filter_specs:
                name, _, argument = spec.partition(":")
                name = name.strip()
                if name not in self.filters:
                    raise TemplateError(f"unknown filter {name!r} in {match.group()!r}")
                filters.append((name, argument.strip() if _ else None))
            parts.append((path, filters))
        parts.append(source[position:])
        return [part for part in parts if part != ""]

    def variables(self) -> set[str]:
        """The top-level names the template uses."""
        return {part[0].split(".")[0] for part in self._parts if isinstance(part, tuple)}

    def render(self, context: Mapping[str, Any] | None = None, **values: Any) -> str:
        scope = {**(context or {}), **values}
        out = []
        for part in self._parts:
            if isinstance(part, str):
                out.append(part)
                continue
            path, filters = part
            value = self._lookup(path, scope)
            pending = list(filters)
            while pending:
                name, argument = pending.pop()
                if value is MISSING and name != "default":
                    continue
                value = self.filters[name](value, argument)
            if value is MISSING:
                if self.strict:
                    raise UndefinedError(f"{path} is undefined")
                value = ""
            out.append(str(value))
        return "".join(out)

    @staticmethod
    def _lookup(path: str, scope: Mapping[str, Any]) -> Any:
        head, *rest = path.split(".")
        if head not in scope:
            return MISSING
        value = scope[head]
        for name in rest:
            try:
                value = getattr(value, name)
            except AttributeError:
                return MISSING
        return value


def render(source: str, context: Mapping[str, Any] | None = None, **values: Any) -> str:
    """Render ``source`` once with a strict template."""
    return Template(source).render(context, **values)
