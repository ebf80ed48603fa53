"""``python -m units``: the conversions from the command line.

    python -m units convert 5 km mi        3.11 mi
    python -m units duration 5400          1h30m
    python -m units duration 1h30m         5400
    python -m units size 1572864           1.5 MiB
    python -m units size "1.5 MiB"         1572864
"""

from __future__ import annotations

import argparse
import sys

from units._numbers import format_number, parse_number
from units.convert import Quantity
from units.durations import format_duration, parse_duration
from units.errors import UnitError
from units.sizes import format_size, parse_size


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="units", description="Parse, format and convert units.")
    commands = parser.add_subparsers(dest="command", required=True)
    conv = commands.add_parser("convert", help="convert a value from one unit to another")
    conv.add_argument("value")
    conv.add_argument("from_unit")
    conv.add_argument("to_unit")
    conv.add_argument("--precision", type=int, default=2)
    dur = commands.add_parser("duration", help="seconds -> 1h30m, or 1h30m -> seconds")
    dur.add_argument("value")
    size = commands.add_parser("size", help="bytes -> 1.5 MiB, or 1.5 MiB -> bytes")
    size.add_argument("value")
    size.add_argument("--decimal", action="store_true", help="use kB/MB/GB instead of KiB/MiB/GiB")
    return parser


def _is_number(text: str) -> bool:
    try:
        parse_number(text)
    except ValueError:
        return False
    return True


def run(args: argparse.Namespace) -> str:
    if args.command == "convert":
        quantity = Quantity(parse_number(args.value), args.from_unit).to(args.to_unit)
        return quantity.format(args.precision)
    if args.command == "duration":
        if _is_number(args.value):
            return format_duration(parse_number(args.value))
        return format_number(parse_duration(args.value), 3)
    if args.value.strip().isdigit():
        return format_size(int(args.value), binary=not args.decimal)
    return str(parse_size(args.value))


def main(argv: list[str] | None = None) -> int:
    """Run the command line; 0 on success, 2 on a bad value or unit (the message goes to stderr)."""
    args = _parser().parse_args(argv)
    try:
        print(run(args))
    except (UnitError, ValueError) as exc:
        print(f"units: error: {exc}", file=sys.stderr)
        return 2
    return 0
