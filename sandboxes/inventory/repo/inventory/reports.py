"""Reports over the stock of a warehouse."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal

from .warehouse import Warehouse

CENT = Decimal("0.01")


@dataclasses.dataclass(frozen=True)
class LowStockLine:
    sku: str
    name: str
    available: int
    reorder_level: int

    @property
    def shortfall(self) -> int:
        """Units to order to get back above the reorder level."""
        return self.reorder_level - self.available + 1


def low_stock(warehouse: Warehouse) -> list[LowStockLine]:
    """Items whose available quantity is at or below their reorder level.

    Items with a reorder level of 0 are never reported. The biggest shortfall comes first,
    ties by SKU.
    """
    lines = []
    for item in warehouse.catalog:
        if not item.reorder_level:
            continue
        available = warehouse.available(item.sku)
        if available < item.reorder_level:
            lines.append(LowStockLine(item.sku, item.name, available, item.reorder_level))
    lines.sort(key=lambda line: (-line.shortfall, line.sku))
    return lines


def valuation(warehouse: Warehouse) -> Decimal:
    """The value of the stock on hand at unit prices, rounded half-up to the cent."""
    total = sum(
        (item.unit_price * warehouse.on_hand(item.sku) for item in warehouse.catalog),
        start=Decimal("0"),
    )
    return total.quantize(CENT, rounding=ROUND_HALF_UP)


def valuation_by_tag(warehouse: Warehouse) -> dict[str, Decimal]:
    """Stock value per tag; an item with several tags counts towards each, untagged items under ``""``."""
    totals: dict[str, Decimal] = {}
    for item in warehouse.catalog:
        value = item.unit_price * warehouse.on_hand(item.sku)
        for tag in sorted(item.tags) or [""]:
            totals[tag] = totals.get(tag, Decimal("0")) + value
    return {tag: value.quantize(CENT, rounding=ROUND_HALF_UP) for tag, value in sorted(totals.items())}


def format_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A plain-text table: numbers right-aligned, everything else left-aligned."""
    cells = [[str(value) for value in row] for row in rows]
    widths = [len(header) for header in headers]
    for row in cells:
        if len(row) != len(headers):
            raise ValueError("every row needs one value per header")
        widths = [max(width, len(cell)) for width, cell in zip(widths, row, strict=True)]
    numeric = [
        bool(rows) and all(isinstance(row[index], (int, Decimal)) for row in rows) for index in range(len(headers))
    ]

    def line(values: Sequence[str]) -> str:
        parts = [
            value.rjust(width) if is_number else value.ljust(width)
            for value, width, is_number in zip(values, widths, numeric, strict=True)
        ]
        return "  ".join(parts).rstrip()

    out = [line(headers), line(["-" * width for width in widths])]
    out.extend(line(row) for row in cells)
    return "\n".join(out)


def stock_summary(warehouse: Warehouse) -> str:
    """A table of every item with its quantities and value, followed by the total value."""
    rows = []
    for item in warehouse.catalog:
        on_hand = warehouse.on_hand(item.sku)
        rows.append(
            (
                item.sku,
                item.name,
                on_hand,
                warehouse.reserved(item.sku),
                (item.unit_price * on_hand).quantize(CENT, rounding=ROUND_HALF_UP),
            )
        )
    table = format_table(("SKU", "Name", "On hand", "Reserved", "Value"), rows)
    return f"{table}\n\nTotal value: {valuation(warehouse)}"
