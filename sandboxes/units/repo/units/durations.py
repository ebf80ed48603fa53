"""Durations: ``"1h30m"`` ⇄ seconds.

The compact form is a sequence of ``<number><unit>`` parts with the units ``w`` (week), ``d``, ``h``, ``m``,
``s`` and ``ms``, largest first, each at most once: ``"2d4h"``, ``"1m30s"``, ``"1.5h"``, ``"250ms"``. A leading
sign applies to the whole duration. Clock forms (``"1:30"`` is one minute thirty, ``"1:30:00"`` one hour
thirty) and bare numbers of seconds are accepted as well.
"""

from __future__ import annotations

import re
from datetime import timedelta

from units._numbers import parse_number
from units.errors import UnitError

UNIT_SECONDS = {"w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1, "ms": 0.001}
"""Seconds per unit, largest unit first."""
_ORDER = tuple(UNIT_SECONDS)
_UNIT_MS = {unit: round(seconds * 1000) for unit, seconds in UNIT_SECONDS.items()}

_PART = re.compile(r"\s*(\d+(?:\.\d+)?)\s*(w|d|h|m|ms|s)")
_CLOCK = re.compile(r"(?:(\d+):)?(\d+):(\d{2}(?:\.\d+)?)")


def _as_seconds(value: float | int | timedelta) -> float:
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise UnitError(f"not a duration: {value!r}")
    return float(value)


def parse_duration(text: str | float | int | timedelta) -> float:
    """The number of seconds in ``text``; numbers and ``timedelta`` objects are passed through as seconds.

    >>> parse_duration("1h30m")
    5400.0
    """
    if not isinstance(text, str):
        return _as_seconds(text)
    original = text
    text = text.strip()
    sign = 1.0
    if text[:1] in ("+", "-"):
        sign = -1.0 if text[0] == "-" else 1.0
        text = text[1:].lstrip()
    if not text or text[0] in "+-":
        raise UnitError(f"invalid duration {original!r}")
    try:
        return sign * parse_number(text)
    except ValueError:
        pass
    clock = _CLOCK.fullmatch(text)
    if clock:
        return sign * _clock_seconds(clock, original)
    total, last_rank, pos = 0.0, -1, 0
    while pos < len(text):
        part = _PART.match(text, pos)
        if part is None:
            raise UnitError(f"invalid duration {original!r}")
        unit = part.group(2)
        rank = _ORDER.index(unit)
        if rank == last_rank:
            raise UnitError(f"unit {unit!r} repeated in duration {original!r}")
        if rank < last_rank:
            raise UnitError(f"units out of order in duration {original!r}: largest unit first")
        total += float(part.group(1)) * UNIT_SECONDS[unit]
        last_rank, pos = rank, part.end()
    return sign * total


def _clock_seconds(clock: re.Match[str], original: str) -> float:
    hours, minutes, seconds = clock.group(1), int(clock.group(2)), float(clock.group(3))
    if seconds >= 60 or (hours is not None and minutes >= 60):
        raise UnitError(f"invalid clock duration {original!r}")
    return (int(hours) if hours else 0) * 3600 + minutes * 60 + seconds


def to_timedelta(text: str | float | int | timedelta) -> timedelta:
    """:func:`parse_duration` as a ``timedelta``."""
    return timedelta(seconds=parse_duration(text))


def format_duration(value: float | int | timedelta, *, largest: str = "w") -> str:
    """The compact form of ``value`` (seconds or a ``timedelta``), rounded to the millisecond.

    Zero parts are left out and ``largest`` caps the biggest unit used: ``format_duration(90000)`` is
    ``"1d1h"``, ``format_duration(90000, largest="h")`` is ``"25h"``. Zero is ``"0s"``; negative durations get
    a leading ``-``.
    """
    if largest not in UNIT_SECONDS:
        raise UnitError(f"unknown duration unit {largest!r}")
    total_ms = round(_as_seconds(value) * 1000)
    if total_ms == 0:
        return "0s"
    sign = "-" if total_ms < 0 else ""
    parts = []
    for unit in _ORDER[_ORDER.index(largest):]:
        count, total_ms = divmod(total_ms, _UNIT_MS[unit])
        if count:
            parts.append(f"{count}{unit}")
    return sign + "".join(parts)


def format_clock(value: float | int | timedelta) -> str:
    """``value`` as ``H:MM:SS`` rounded to the second, hours unbounded: ``5400`` → ``"1:30:00"``."""
    seconds = round(_as_seconds(value))
    sign = "-" if seconds < 0 else ""
    minutes, secs = divmod(abs(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{sign}{hours}:{minutes:02d}:{secs:02d}"
