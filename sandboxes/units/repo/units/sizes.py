"""Byte sizes: ``"1.5 MiB"`` ⇄ a number of bytes.

Decimal units (``kB``, ``MB``, ``GB``, ``TB``, ``PB``) are powers of 1000, binary units (``KiB``, ``MiB``,
``GiB``, ``TiB``, ``PiB``) powers of 1024. Parsing ignores case and accepts a few common spellings
(``K``, ``KB``, ``M``, ``bytes`` …); formatting always uses the canonical symbols.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from units._numbers import format_number
from units.errors import UnitError

DECIMAL_UNITS = ("B", "kB", "MB", "GB", "TB", "PB")
BINARY_UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB")

_FACTORS: dict[str, int] = {"b": 1, "byte": 1, "bytes": 1}
for _power, (_dec, _bin) in enumerate(zip(DECIMAL_UNITS, BINARY_UNITS, strict=True)):
    if _power:
        _letter = _dec[0].lower()
        _FACTORS[_dec.lower()] = 1000**_power
        _FACTORS[_letter] = 1000**_power
        _FACTORS[_bin.lower()] = 1024**_power
        _FACTORS[_letter + "i"] = 1024**_power

_SIZE = re.compile(r"\s*([0-9][0-9_]*(?:\.[0-9]+)?|\.[0-9]+)\s*([A-Za-z]*)\s*")


def parse_size(text: str | int) -> int:
    """The number of bytes in ``text``, rounded half up to a whole byte; a bare number is bytes.

    >>> parse_size("1.5 MiB")
    1572864
    """
    if isinstance(text, int) and not isinstance(text, bool):
        if text < 0:
            raise UnitError(f"negative size: {text}")
        return text
    if not isinstance(text, str):
        raise UnitError(f"not a size: {text!r}")
    match = _SIZE.fullmatch(text)
    if match is None:
        raise UnitError(f"invalid size {text!r}")
    number, unit = match.groups()
    factor = _FACTORS.get(unit.lower() or "b")
    if factor is None:
        raise UnitError(f"unknown size unit {unit!r} in {text!r}")
    try:
        amount = Decimal(number.replace("_", "")) * factor
    except InvalidOperation:
        raise UnitError(f"invalid size {text!r}") from None
    return int(amount.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def format_size(size: int, *, binary: bool = True, precision: int = 1) -> str:
    """``size`` bytes in the largest unit that keeps the number at or above 1, e.g. ``"1.5 MiB"``.

    The number is rounded to ``precision`` decimals and trailing zeros are dropped (``"2 KiB"``, not
    ``"2.0 KiB"``); sizes below one kilobyte are whole bytes (``"512 B"``). ``binary=False`` uses the
    decimal units (``"1.6 MB"``).
    """
    if isinstance(size, bool) or not isinstance(size, int):
        raise UnitError(f"not a byte count: {size!r}")
    if size < 0:
        raise UnitError(f"negative size: {size}")
    base = 1024 if binary else 1000
    units = BINARY_UNITS if binary else DECIMAL_UNITS
    if size < base:
        return f"{size} B"
    power = 0
    while power + 1 < len(units) and size >= base ** (power + 1):
        power += 1
    return f"{format_number(size / base**power, precision)} {units[power]}"


def convert_size(size: str | int, unit: str) -> float:
    """``size`` (bytes or a size text) expressed in ``unit``: ``convert_size("1 GiB", "MiB")`` is ``1024.0``."""
    factor = _FACTORS.get(unit.lower())
    if factor is None:
        raise UnitError(f"unknown size unit {unit!r}")
    return parse_size(size) / factor
