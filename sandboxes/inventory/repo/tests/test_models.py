from decimal import Decimal

import pytest

from inventory import Catalog, DuplicateItemError, Item, UnknownItemError, normalize_sku


def test_normalize_sku_strips_and_uppercases():
    assert normalize_sku("  bolt-m6 ") == "BOLT-M6"


@pytest.mark.parametrize(
    "raw", ["", "-AB", "A", "AB CD", "X" * 33], ids=["empty", "leading-dash", "too-short", "space", "too-long"]
)
def test_normalize_sku_rejects_bad_values(raw):
    with pytest.raises(ValueError):
        normalize_sku(raw)


def test_item_normalises_fields():
    item = Item(" ab-1 ", "  Widget ", "2.50", tags={"Blue", " ", "small "})
    assert item.sku == "AB-1"
    assert item.name == "Widget"
    assert item.unit_price == Decimal("2.50")
    assert item.tags == frozenset({"blue", "small"})


def test_item_price_from_float_is_exact():
    assert Item("AB-1", "Widget", 19.99).unit_price == Decimal("19.99")


@pytest.mark.parametrize("price", ["-1", "abc", "NaN"])
def test_item_rejects_bad_price(price):
    with pytest.raises(ValueError):
        Item("AB-1", "Widget", price)


def test_item_rejects_negative_reorder_level():
    with pytest.raises(ValueError):
        Item("AB-1", "Widget", 1, reorder_level=-5)


def test_with_price_returns_copy():
    item = Item("AB-1", "Widget", 1)
    cheaper = item.with_price("0.80")
    assert cheaper.unit_price == Decimal("0.80")
    assert item.unit_price == Decimal("1")


def test_catalog_add_get_and_iterate_sorted():
    catalog = Catalog([Item("ZZ-1", "Last", 1), Item("AA-1", "First", 1)])
    assert [item.sku for item in catalog] == ["AA-1", "ZZ-1"]
    assert catalog.get("ZZ-1").name == "Last"
    assert "AA-1" in catalog
    assert len(catalog) == 2


def test_catalog_rejects_duplicates():
    catalog = Catalog([Item("AA-1", "First", 1)])
    with pytest.raises(DuplicateItemError):
        catalog.add(Item("aa-1", "Again", 2))


def test_catalog_unknown_sku():
    with pytest.raises(UnknownItemError) as info:
        Catalog().get("NOPE-1")
    assert "NOPE-1" in str(info.value)


def test_catalog_find_by_tag_and_text(catalog):
    assert [item.sku for item in catalog.find(tag="wood")] == ["GLUE-50", "SAW-01"]
    assert [item.sku for item in catalog.find(text="hex")] == ["BOLT-M6", "NUT-M6"]
    assert [item.sku for item in catalog.find(tag="hardware", text="nut")] == ["NUT-M6"]


def test_catalog_update_price_and_remove(catalog):
    catalog.update_price("SAW-01", "21.00")
    assert catalog.get("SAW-01").unit_price == Decimal("21.00")
    removed = catalog.remove("SAW-01")
    assert removed.sku == "SAW-01"
    assert "SAW-01" not in catalog
