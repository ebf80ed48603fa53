"""Converting quantities between units of the same dimension.

Linear units (length, mass, time, data) are converted through their factor to the dimension's base unit;
temperatures go through :mod:`units.temperature` because their scales have different zero points.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from units._numbers import NUMBER, format_number
from units.errors import UnitError
from units.temperature import convert_temperature, scale_of

# unit symbol -> (dimension, factor to the dimension's base unit)
LINEAR_UNITS: dict[str, tuple[str, float]] = {
    # length, base metre
    "mm": ("length", 0.001), "cm": ("length", 0.01), "m": ("length", 1.0), "km": ("length", 1000.0),
    "in": ("length", 0.0254), "ft": ("length", 0.3048), "yd": ("length", 0.9144), "mi": ("length", 1609.344),
    # mass, base kilogram
    "mg": ("mass", 1e-6), "g": ("mass", 0.001), "kg": ("mass", 1.0), "t": ("mass", 1000.0),
    "oz": ("mass", 0.028349523125), "lb": ("mass", 0.45359237),
    # time, base second
    "ms": ("time", 0.001), "s": ("time", 1.0), "min": ("time", 60.0), "h": ("time", 3600.0),
    "d": ("time", 86400.0), "wk": ("time", 604800.0),
    # data, base byte
    "B": ("data", 1.0), "kB": ("data", 1e3), "MB": ("data", 1e6), "GB": ("data", 1e9),
    "KiB": ("data", 1024.0), "MiB": ("data", 1024.0**2), "GiB": ("data", 1024.0**3),
}
ALIASES = {
    "metre": "m", "meter": "m", "metres": "m", "meters": "m", "kilometre": "km", "kilometer": "km",
    "inch": "in", "inches": "in", "foot": "ft", "feet": "ft", "mile": "mi", "miles": "mi",
    "gram": "g", "grams": "g", "kilogram": "kg", "kilograms": "kg", "pound": "lb", "pounds": "lb", "lbs": "lb",
    "ounce": "oz", "ounces": "oz", "sec": "s", "second": "s", "seconds": "s", "minute": "min",
    "minutes": "min", "hour": "h", "hours": "h", "hr": "h", "day": "d", "days": "d", "week": "wk",
    "weeks": "wk",
}


class Quantity(NamedTuple):
    value: float
    unit: str

    def to(self, unit: str) -> Quantity:
        return Quantity(convert(self.value, self.unit, unit), canonical_unit(unit))

    def format(self, precision: int = 2) -> str:
        return f"{format_number(self.value, precision)} {self.unit}"


_QUANTITY = re.compile(rf"\s*({NUMBER})\s*(\S.*?)\s*")


def canonical_unit(unit: str) -> str:
    """The symbol this module uses for ``unit`` (``"feet"`` → ``"ft"``, ``"celsius"`` → ``"C"``)."""
    name = unit.strip()
    if name in LINEAR_UNITS:
        return name
    if name.lower() in ALIASES:
        return ALIASES[name.lower()]
    try:
        return scale_of(name)
    except UnitError:
        raise UnitError(f"unknown unit {unit!r}") from None


def dimension(unit: str) -> str:
    """``"length"``, ``"mass"``, ``"time"``, ``"data"`` or ``"temperature"``."""
    symbol = canonical_unit(unit)
    return LINEAR_UNITS[symbol][0] if symbol in LINEAR_UNITS else "temperature"


def convert(value: float, from_unit: str, to_unit: str) -> float:
    """``value`` in ``from_unit`` expressed in ``to_unit``; UnitError across dimensions."""
    source, target = canonical_unit(from_unit), canonical_unit(to_unit)
    if dimension(source) != dimension(target):
        raise UnitError(f"cannot convert {dimension(source)} ({source}) to {dimension(target)} ({target})")
    if dimension(source) == "temperature":
        return convert_temperature(value, source, target)
    return value * LINEAR_UNITS[source][1] / LINEAR_UNITS[target][1]


def parse_quantity(text: str) -> Quantity:
    """``"12.5 km"`` → ``Quantity(12.5, "km")``; the unit is made canonical."""
    match = _QUANTITY.fullmatch(text)
    if match is None:
        raise UnitError(f"invalid quantity {text!r}")
    return Quantity(float(match.group(1)), canonical_unit(match.group(2)))
