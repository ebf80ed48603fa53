from decimal import Decimal

import pytest

from inventory import Catalog, Item, ReservationBook, Warehouse
from inventory.reports import format_table, low_stock, stock_summary, valuation, valuation_by_tag


def test_low_stock_lists_items_below_reorder_level(warehouse):
    warehouse.remove_stock("GLUE-50", 8)
    lines = low_stock(warehouse)
    assert [(line.sku, line.available, line.shortfall) for line in lines] == [
        ("NUT-M6", 150, 51),
        ("GLUE-50", 4, 7),
    ]


def test_low_stock_counts_reservations(warehouse):
    ReservationBook(warehouse).reserve("BOLT-M6", 400)
    assert [line.sku for line in low_stock(warehouse)] == ["BOLT-M6", "NUT-M6"]


def test_low_stock_ignores_items_without_reorder_level(catalog):
    wh = Warehouse("EMPTY", catalog)
    assert "SAW-01" not in [line.sku for line in low_stock(wh)]


def test_valuation(warehouse):
    # 500 * 0.12 + 150 * 0.05 + 12 * 3.40 + 3 * 18.90
    assert valuation(warehouse) == Decimal("165.00")


def test_valuation_rounds_half_up():
    wh = Warehouse("W", Catalog([Item("AB-1", "Widget", "0.125")]))
    wh.add_stock("AB-1", 1)
    assert valuation(wh) == Decimal("0.13")


def test_valuation_by_tag(warehouse):
    totals = valuation_by_tag(warehouse)
    assert totals == {
        "adhesives": Decimal("40.80"),
        "hardware": Decimal("67.50"),
        "tools": Decimal("56.70"),
        "wood": Decimal("97.50"),
    }


def test_format_table_alignment():
    table = format_table(("Name", "Qty"), [("bolt", 5), ("washer", 120)])
    assert table.splitlines() == [
        "Name    Qty",
        "------  ---",
        "bolt      5",
        "washer  120",
    ]


def test_format_table_rejects_ragged_rows():
    with pytest.raises(ValueError):
        format_table(("A", "B"), [("x",)])


def test_stock_summary(warehouse):
    summary = stock_summary(warehouse)
    assert summary.splitlines()[0].split() == ["SKU", "Name", "On", "hand", "Reserved", "Value"]
    assert "SAW-01   Hand saw" in summary
    assert summary.endswith("Total value: 165.00")
