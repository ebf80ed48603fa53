"""Temperatures in Celsius, Fahrenheit and Kelvin.

A :class:`Temperature` is a value on one scale. Two temperatures compare by the physical temperature they
stand for, whatever their scales: ``Temperature(0, "C") == Temperature(32, "F")``.
"""

from __future__ import annotations

import functools
import math
import re

from units._numbers import NUMBER, format_number
from units.errors import UnitError

SCALES = ("C", "F", "K")
ABSOLUTE_ZERO_C = -273.15

_ALIASES = {
    "c": "C", "°c": "C", "celsius": "C",
    "f": "F", "°f": "F", "fahrenheit": "F",
    "k": "K", "kelvin": "K",
}
_TEXT = re.compile(rf"\s*({NUMBER})\s*(°?\s*[A-Za-z]+)\s*")


def scale_of(name: str) -> str:
    """The scale symbol (``"C"``, ``"F"`` or ``"K"``) for ``name``, e.g. ``"celsius"`` or ``"°F"``."""
    scale = _ALIASES.get(name.strip().replace(" ", "").lower())
    if scale is None:
        raise UnitError(f"unknown temperature scale {name!r}")
    return scale


def _to_kelvin(value: float, scale: str) -> float:
    if scale == "C":
        return value - ABSOLUTE_ZERO_C
    if scale == "F":
        return (value - 32) * 5 / 9 - ABSOLUTE_ZERO_C
    return value


def _from_kelvin(kelvin: float, scale: str) -> float:
    if scale == "C":
        return kelvin + ABSOLUTE_ZERO_C
    if scale == "F":
        return (kelvin + ABSOLUTE_ZERO_C) * 9 / 5 + 32
    return kelvin


@functools.total_ordering
class Temperature:
    """A temperature ``value`` on ``scale``; below absolute zero is an error."""

    __slots__ = ("value", "scale")

    def __init__(self, value: float, scale: str = "C"):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise UnitError(f"not a temperature value: {value!r}")
        self.value = float(value)
        self.scale = scale_of(scale)
        if self.kelvin < -1e-9:
            raise UnitError(f"{self} is below absolute zero")

    @property
    def kelvin(self) -> float:
        return _to_kelvin(self.value, self.scale)

    def to(self, scale: str) -> Temperature:
        """The same temperature on another scale."""
        target = scale_of(scale)
        if target == self.scale:
            return self
        return Temperature(max(_from_kelvin(self.kelvin, target), _from_kelvin(0.0, target)), target)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Temperature):
            return NotImplemented
        return math.isclose(self.kelvin, other.kelvin, rel_tol=0, abs_tol=1e-9)

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Temperature):
            return NotImplemented
        return self.value < other.value and self != other

    def __hash__(self) -> int:
        return hash(round(self.kelvin, 6))

    def format(self, precision: int = 1) -> str:
        """``"21.5 °C"``, ``"70 °F"``, ``"300 K"`` (Kelvin has no degree sign)."""
        sign = "" if self.scale == "K" else "°"
        return f"{format_number(self.value, precision)} {sign}{self.scale}"

    __str__ = format

    def __repr__(self) -> str:
        return f"Temperature({self.value!r}, {self.scale!r})"


def parse_temperature(text: str) -> Temperature:
    """``"21.5°C"``, ``"70 F"``, ``"-40 fahrenheit"``, ``"300K"`` → :class:`Temperature`."""
    match = _TEXT.fullmatch(text)
    if match is None:
        raise UnitError(f"invalid temperature {text!r}")
    return Temperature(float(match.group(1)), match.group(2))


def convert_temperature(value: float, from_scale: str, to_scale: str) -> float:
    """``value`` on ``from_scale`` as a number on ``to_scale``: ``convert_temperature(100, "C", "F")`` is 212."""
    return Temperature(value, from_scale).to(to_scale).value
