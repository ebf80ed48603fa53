"""Parse, format and convert durations, byte sizes, temperatures and everyday units."""

from units.convert import Quantity, canonical_unit, convert, dimension, parse_quantity
from units.durations import format_clock, format_duration, parse_duration, to_timedelta
from units.errors import UnitError
from units.sizes import convert_size, format_size, parse_size
from units.temperature import Temperature, convert_temperature, parse_temperature

__version__ = "1.0.0"

__all__ = [
    "Quantity",
    "Temperature",
    "UnitError",
    "canonical_unit",
    "convert",
    "convert_size",
    "convert_temperature",
    "dimension",
    "format_clock",
    "format_duration",
    "format_size",
    "parse_duration",
    "parse_quantity",
    "parse_size",
    "parse_temperature",
    "to_timedelta",
]
