"""Small helpers shared by the parsers and formatters."""

from __future__ import annotations

import math
import re

NUMBER = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?"
"""A decimal number as users write it: ``12``, ``-0.5``, ``.25``, ``1e3``."""

_NUMBER_RE = re.compile(NUMBER)


def parse_number(text: str) -> float:
    """``text`` as a float; ``ValueError`` for anything that is not a plain decimal number."""
    text = text.strip().replace("_", "")
    if not _NUMBER_RE.fullmatch(text):
        raise ValueError(f"not a number: {text!r}")
    return float(text)


def format_number(value: float, precision: int = 2) -> str:
    """``value`` rounded to ``precision`` decimals, without trailing zeros: ``1.50`` → ``"1.5"``, ``2.0`` → ``"2"``.

    Negative zero is shown as ``"0"``.
    """
    if precision < 0:
        raise ValueError("precision must be >= 0")
    if not math.isfinite(value):
        raise ValueError(f"cannot format {value!r}")
    text = f"{value:.{precision}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    if text in ("-0", ""):
        text = "0"
    return text
