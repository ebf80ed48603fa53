import pytest

from inventory import CapacityExceededError, InsufficientStockError, Item, UnknownItemError, Warehouse


def test_add_and_remove_stock(warehouse):
    assert warehouse.on_hand("SAW-01") == 3
    assert warehouse.add_stock("SAW-01", 2) == 5
    assert warehouse.remove_stock("SAW-01", 4) == 1
    assert warehouse.available("SAW-01") == 1


def test_remove_more_than_available(warehouse):
    with pytest.raises(InsufficientStockError) as info:
        warehouse.remove_stock("GLUE-50", 13)
    assert info.value.available == 12
    assert warehouse.on_hand("GLUE-50") == 12


@pytest.mark.parametrize("quantity", [0, -3, 1.5, True], ids=["zero", "negative", "float", "bool"])
def test_quantities_must_be_positive_integers(warehouse, quantity):
    with pytest.raises(ValueError):
        warehouse.add_stock("SAW-01", quantity)


def test_unknown_sku(warehouse):
    with pytest.raises(UnknownItemError):
        warehouse.add_stock("DRILL-9", 1)


def test_capacity_is_enforced(catalog):
    small = Warehouse("SMALL", catalog, capacity=10)
    small.add_stock("SAW-01", 8)
    with pytest.raises(CapacityExceededError):
        small.add_stock("GLUE-50", 3)
    assert small.total_units() == 8


def test_transfer_moves_stock(warehouse, catalog):
    shop = Warehouse("SHOP", catalog)
    warehouse.transfer("BOLT-M6", 100, shop)
    assert warehouse.on_hand("BOLT-M6") == 400
    assert shop.on_hand("BOLT-M6") == 100
    reasons = [movement.reason for movement in shop.ledger.for_sku("BOLT-M6")]
    assert reasons == ["transfer from MAIN"]


def test_transfer_needs_enough_stock(warehouse, catalog):
    shop = Warehouse("SHOP", catalog)
    with pytest.raises(InsufficientStockError):
        warehouse.transfer("SAW-01", 4, shop)
    assert warehouse.on_hand("SAW-01") == 3
    assert shop.on_hand("SAW-01") == 0


def test_count_adjusts_and_logs(warehouse):
    assert warehouse.count("GLUE-50", 9) == -3
    assert warehouse.on_hand("GLUE-50") == 9
    assert warehouse.ledger.net_change("GLUE-50") == 9
    assert warehouse.count("GLUE-50", 9) == 0


def test_skus_lists_items_with_stock(catalog):
    catalog.add(Item("TAPE-1", "Tape", 1))
    wh = Warehouse("W", catalog)
    wh.add_stock("TAPE-1", 1)
    wh.add_stock("NUT-M6", 2)
    assert wh.skus() == ["NUT-M6", "TAPE-1"]
