import io
from decimal import Decimal

import pytest

from inventory import Catalog, ImportFormatError, Item, Warehouse
from inventory.csvio import export_items, export_stock, import_items, import_stock

ITEMS_CSV = """sku,name,unit_price,reorder_level,unit,tags
tape-19,Masking tape 19 mm,2.5,20,roll,paint;consumables
BRUSH-2,"Brush, 2 inch",4,5,each,paint
"""


def test_import_items():
    catalog = import_items(io.StringIO(ITEMS_CSV))
    assert [item.sku for item in catalog] == ["BRUSH-2", "TAPE-19"]
    tape = catalog.get("TAPE-19")
    assert tape.unit_price == Decimal("2.5")
    assert tape.reorder_level == 20
    assert tape.unit == "roll"
    assert tape.tags == frozenset({"paint", "consumables"})
    assert catalog.get("BRUSH-2").name == "Brush, 2 inch"


def test_import_items_optional_columns():
    catalog = import_items(io.StringIO("sku,name,unit_price\nAB-1,Widget,10\n"))
    item = catalog.get("AB-1")
    assert (item.reorder_level, item.unit, item.tags) == (0, "each", frozenset())


def test_import_items_missing_column():
    with pytest.raises(ImportFormatError) as info:
        import_items(io.StringIO("sku,name\nAB-1,Widget\n"))
    assert info.value.line == 1
    assert "unit_price" in str(info.value)


def test_import_items_bad_price_reports_line():
    with pytest.raises(ImportFormatError) as info:
        import_items(io.StringIO("sku,name,unit_price\nAB-1,Widget,1\nAB-2,Gadget,cheap\n"))
    assert info.value.line == 3


def test_import_items_duplicates():
    existing = Catalog([Item("AB-1", "Old widget", 1)])
    data = "sku,name,unit_price\nAB-1,New widget,2\n"
    with pytest.raises(ImportFormatError):
        import_items(io.StringIO(data), existing)
    import_items(io.StringIO(data), existing, on_duplicate="skip")
    assert existing.get("AB-1").name == "Old widget"
    import_items(io.StringIO(data), existing, on_duplicate="replace")
    assert existing.get("AB-1").name == "New widget"


def test_export_then_import_round_trip(catalog):
    buffer = io.StringIO()
    assert export_items(catalog, buffer) == 4
    first_line = buffer.getvalue().splitlines()[0]
    assert first_line == "sku,name,unit_price,reorder_level,unit,tags"
    buffer.seek(0)
    again = import_items(buffer)
    assert [(item.sku, item.name, item.reorder_level, item.tags) for item in again] == [
        (item.sku, item.name, item.reorder_level, item.tags) for item in catalog
    ]


def test_stock_round_trip(warehouse, catalog):
    buffer = io.StringIO()
    assert export_stock(warehouse, buffer) == 4
    buffer.seek(0)
    other = Warehouse("COPY", catalog)
    assert import_stock(buffer, other) == 665
    assert other.on_hand("BOLT-M6") == 500


def test_import_stock_checks_whole_file_first(catalog):
    wh = Warehouse("W", catalog)
    with pytest.raises(ImportFormatError) as info:
        import_stock(io.StringIO("sku,quantity\nSAW-01,2\nDRILL-9,1\n"), wh)
    assert info.value.line == 3
    assert wh.total_units() == 0
