"""Read and write the catalog and stock levels as CSV."""

from __future__ import annotations

import csv
from decimal import Decimal
from typing import TextIO

from .errors import DuplicateItemError, ImportFormatError, UnknownItemError
from .models import Catalog, Item
from .warehouse import Warehouse

ITEM_FIELDS = ("sku", "name", "unit_price", "reorder_level", "unit", "tags")
STOCK_FIELDS = ("sku", "quantity")
TAG_SEPARATOR = ";"


def export_items(catalog: Catalog, fp: TextIO) -> int:
    """Write every item of ``catalog`` to ``fp``; return the number of rows written."""
    writer = csv.DictWriter(fp, fieldnames=ITEM_FIELDS, lineterminator="\n")
    writer.writeheader()
    rows = 0
    for item in catalog:
        writer.writerow(
            {
                "sku": item.sku,
                "name": item.name,
                "unit_price": str(item.unit_price),
                "reorder_level": item.reorder_level,
                "unit": item.unit,
                "tags": TAG_SEPARATOR.join(sorted(item.tags)),
            }
        )
        rows += 1
    return rows


def _check_header(fieldnames: list[str] | None, required: tuple[str, ...]) -> None:
    if fieldnames is None:
        raise ImportFormatError("empty file", line=1)
    missing = [name for name in required if name not in fieldnames]
    if missing:
        raise ImportFormatError(f"missing column(s): {', '.join(missing)}", line=1)


def _parse_int(value: str | None, column: str, line: int) -> int:
    try:
        return int((value or "").strip())
    except ValueError:
        raise ImportFormatError(f"{column} is not a whole number: {value!r}", line=line) from None


def import_items(fp: TextIO, catalog: Catalog | None = None, *, on_duplicate: str = "error") -> Catalog:
    """Read items from ``fp`` into ``catalog`` (a new one if not given) and return it.

    Only ``sku``, ``name`` and ``unit_price`` are required columns. ``on_duplicate`` says what to do
    with a SKU that is already in the catalog: ``"error"``, ``"replace"`` or ``"skip"``.
    """
    if on_duplicate not in ("error", "replace", "skip"):
        raise ValueError(f"on_duplicate must be 'error', 'replace' or 'skip', not {on_duplicate!r}")
    catalog = Catalog() if catalog is None else catalog
    reader = csv.DictReader(fp)
    _check_header(reader.fieldnames, ("sku", "name", "unit_price"))
    for line, row in enumerate(reader, start=2):
        try:
            price = Decimal(float(row["unit_price"]))
        except (TypeError, ValueError):
            raise ImportFormatError(f"unit_price is not a number: {row['unit_price']!r}", line=line) from None
        level = row.get("reorder_level") or "0"
        tags = (row.get("tags") or "").split(TAG_SEPARATOR)
        try:
            item = Item(
                sku=row["sku"] or "",
                name=row["name"] or "",
                unit_price=price,
                reorder_level=_parse_int(level, "reorder_level", line),
                unit=(row.get("unit") or "each").strip(),
                tags=frozenset(tags),
            )
        except ValueError as error:
            raise ImportFormatError(str(error), line=line) from None
        if item.sku in catalog:
            if on_duplicate == "error":
                raise ImportFormatError(f"duplicate SKU {item.sku}", line=line)
            if on_duplicate == "skip":
                continue
            catalog.replace(item)
        else:
            try:
                catalog.add(item)
            except DuplicateItemError as error:
                raise ImportFormatError(str(error), line=line) from None
    return catalog


def export_stock(warehouse: Warehouse, fp: TextIO) -> int:
    """Write the quantity on hand of every SKU with stock; return the number of rows."""
    writer = csv.writer(fp, lineterminator="\n")
    writer.writerow(STOCK_FIELDS)
    skus = warehouse.skus()
    for sku in skus:
        writer.writerow((sku, warehouse.on_hand(sku)))
    return len(skus)


def import_stock(fp: TextIO, warehouse: Warehouse) -> int:
    """Receive the quantities listed in ``fp`` into ``warehouse``; return the units received.

    The whole file is checked before any stock changes.
    """
    reader = csv.DictReader(fp)
    _check_header(reader.fieldnames, STOCK_FIELDS)
    receipts = []
    for line, row in enumerate(reader, start=2):
        quantity = _parse_int(row["quantity"], "quantity", line)
        if quantity < 0:
            raise ImportFormatError(f"negative quantity {quantity}", line=line)
        try:
            item = warehouse.catalog.get((row["sku"] or "").strip().upper())
        except UnknownItemError as error:
            raise ImportFormatError(str(error), line=line) from None
        if quantity:
            receipts.append((item.sku, quantity))
    total = sum(quantity for _, quantity in receipts)
    for sku, quantity in receipts:
        warehouse.add_stock(sku, quantity, reason="import")
    return total
