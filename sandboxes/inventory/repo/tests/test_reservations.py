from datetime import datetime, timedelta

import pytest

from inventory import InsufficientStockError, ReservationBook, ReservationError

NOW = datetime(2024, 3, 2, 12, 0)


@pytest.fixture
def book(warehouse):
    return ReservationBook(warehouse)


def test_reserve_holds_back_stock(book, warehouse):
    reservation = book.reserve("GLUE-50", 5, reference="order-1", now=NOW)
    assert reservation.id == "R00001"
    assert reservation.status == "active"
    assert warehouse.on_hand("GLUE-50") == 12
    assert warehouse.reserved("GLUE-50") == 5
    assert warehouse.available("GLUE-50") == 7


def test_reserve_more_than_available(book):
    book.reserve("SAW-01", 2, now=NOW)
    with pytest.raises(InsufficientStockError):
        book.reserve("SAW-01", 2, now=NOW)


def test_reserved_stock_cannot_be_issued(book, warehouse):
    book.reserve("SAW-01", 3, now=NOW)
    with pytest.raises(InsufficientStockError):
        warehouse.remove_stock("SAW-01", 1)


def test_release_makes_stock_available(book, warehouse):
    reservation = book.reserve("GLUE-50", 5, now=NOW)
    book.release(reservation.id)
    assert reservation.status == "released"
    assert warehouse.available("GLUE-50") == 12
    assert book.active() == []


def test_fulfil_issues_stock(book, warehouse):
    reservation = book.reserve("GLUE-50", 5, now=NOW)
    book.fulfil(reservation.id, when=NOW)
    assert reservation.status == "fulfilled"
    assert warehouse.on_hand("GLUE-50") == 7
    assert warehouse.reserved("GLUE-50") == 0
    assert warehouse.ledger.for_sku("GLUE-50")[-1].reason == "fulfil R00001"


def test_fulfil_twice_raises(book, warehouse):
    reservation = book.reserve("GLUE-50", 5, now=NOW)
    book.fulfil(reservation.id)
    with pytest.raises(ReservationError):
        book.fulfil(reservation.id)
    assert warehouse.on_hand("GLUE-50") == 7


def test_unknown_reservation(book):
    with pytest.raises(ReservationError):
        book.get("R99999")


def test_expire_stale_releases_expired_reservations(book, warehouse):
    short = book.reserve("BOLT-M6", 50, ttl=timedelta(hours=1), now=NOW)
    long = book.reserve("BOLT-M6", 20, ttl=timedelta(days=2), now=NOW)
    expired = book.expire_stale(NOW + timedelta(hours=3))
    assert expired == [short]
    assert short.status == "expired"
    assert long.status == "active"
    assert warehouse.reserved("BOLT-M6") == 20


def test_by_reference(book):
    first = book.reserve("NUT-M6", 10, reference="order-7", now=NOW)
    book.reserve("NUT-M6", 10, reference="order-8", now=NOW)
    second = book.reserve("BOLT-M6", 10, reference="order-7", now=NOW)
    assert book.by_reference("order-7") == [first, second]
