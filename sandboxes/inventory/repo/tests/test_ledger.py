from datetime import date, datetime

import pytest

from inventory import Ledger, Movement


@pytest.fixture
def ledger():
    log = Ledger()
    log.record(Movement("AB-1", 10, "receipt", datetime(2024, 5, 1, 8, 0)))
    log.record(Movement("AB-1", -4, "sale", datetime(2024, 5, 2, 14, 30)))
    log.record(Movement("CD-2", 7, "receipt", datetime(2024, 5, 3, 9, 15)))
    log.record(Movement("AB-1", -1, "transfer to SHOP", datetime(2024, 5, 4, 17, 45)))
    return log


def test_net_change(ledger):
    assert ledger.net_change("AB-1") == 5
    assert ledger.net_change("CD-2") == 7
    assert ledger.net_change("ZZ-9") == 0


def test_zero_movement_rejected():
    with pytest.raises(ValueError):
        Ledger().record(Movement("AB-1", 0, "receipt", datetime(2024, 5, 1)))


def test_between_datetimes_is_inclusive(ledger):
    found = ledger.between(datetime(2024, 5, 2, 14, 30), datetime(2024, 5, 3, 9, 15))
    assert [movement.quantity for movement in found] == [-4, 7]


def test_between_from_a_date(ledger):
    found = ledger.between(date(2024, 5, 3), datetime(2024, 5, 31))
    assert [movement.sku for movement in found] == ["CD-2", "AB-1"]


def test_between_rejects_reversed_range(ledger):
    with pytest.raises(ValueError):
        ledger.between(datetime(2024, 5, 3), datetime(2024, 5, 1))


def test_totals_by_reason(ledger):
    assert ledger.totals_by_reason() == {"receipt": 17, "sale": 4, "transfer": 1}


def test_warehouse_logs_every_change(warehouse):
    kinds = [(movement.sku, movement.quantity) for movement in warehouse.ledger]
    assert kinds == [("BOLT-M6", 500), ("NUT-M6", 150), ("GLUE-50", 12), ("SAW-01", 3)]
    assert all(movement.warehouse == "MAIN" for movement in warehouse.ledger)
