"""Reservations hold back stock for an order until it is fulfilled, released or expires."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta

from .errors import InsufficientStockError, ReservationError
from .warehouse import Warehouse, _positive

ACTIVE = "active"
RELEASED = "released"
FULFILLED = "fulfilled"
EXPIRED = "expired"


@dataclasses.dataclass
class Reservation:
    """Units of one SKU held back in a warehouse; ``ttl`` of ``None`` means it never expires."""

    id: str
    sku: str
    quantity: int
    created_at: datetime
    ttl: timedelta | None = None
    reference: str = ""
    status: str = ACTIVE

    @property
    def expires_at(self) -> datetime | None:
        if self.ttl is None:
            return None
        return self.created_at + self.ttl

    def is_expired(self, now: datetime) -> bool:
        return now >= self.created_at + self.ttl


class ReservationBook:
    """The reservations of one warehouse."""

    def __init__(self, warehouse: Warehouse) -> None:
        self.warehouse = warehouse
        self._reservations: dict[str, Reservation] = {}
        self._next_number = 1

    def reserve(
        self,
        sku: str,
        quantity: int,
        *,
        ttl: timedelta | None = None,
        reference: str = "",
        now: datetime | None = None,
    ) -> Reservation:
        """Hold back ``quantity`` available units of ``sku``."""
        item = self.warehouse.catalog.get(sku)
        quantity = _positive(quantity)
        if ttl is not None and ttl <= timedelta(0):
            raise ValueError("ttl must be positive")
        available = self.warehouse.available(item.sku)
        if quantity > available:
            raise InsufficientStockError(item.sku, quantity, available)
        reservation = Reservation(
            id=f"R{self._next_number:05d}",
            sku=item.sku,
            quantity=quantity,
            created_at=now or datetime.now(),
            ttl=ttl,
            reference=reference,
        )
        self._next_number += 1
        self.warehouse._adjust_reserved(item.sku, quantity)
        self._reservations[reservation.id] = reservation
        return reservation

    def get(self, reservation_id: str) -> Reservation:
        try:
            return self._reservations[reservation_id]
        except KeyError:
            raise ReservationError(f"no reservation {reservation_id}") from None

    def release(self, reservation_id: str) -> Reservation:
        """Cancel a reservation, making its units available again."""
        reservation = self.get(reservation_id)
        self.warehouse._adjust_reserved(reservation.sku, -reservation.quantity)
        reservation.status = RELEASED
        return reservation

    def fulfil(self, reservation_id: str, *, when: datetime | None = None) -> Reservation:
        """Ship a reservation: its units leave the warehouse."""
        reservation = self.get(reservation_id)
        if reservation.status != ACTIVE:
            raise ReservationError(f"reservation {reservation_id} is {reservation.status}")
        self.warehouse._adjust_reserved(reservation.sku, -reservation.quantity)
        self.warehouse.remove_stock(reservation.sku, reservation.quantity, reason=f"fulfil {reservation.id}", when=when)
        reservation.status = FULFILLED
        return reservation

    def active(self) -> list[Reservation]:
        return [reservation for reservation in self._reservations.values() if reservation.status == ACTIVE]

    def expire_stale(self, now: datetime | None = None) -> list[Reservation]:
        """Expire every active reservation whose time-to-live has run out; return them."""
        now = now or datetime.now()
        expired = [reservation for reservation in self.active() if reservation.is_expired(now)]
        for reservation in expired:
            self.warehouse._adjust_reserved(reservation.sku, -reservation.quantity)
            reservation.status = EXPIRED
        return expired

    def by_reference(self, reference: str) -> list[Reservation]:
        return [reservation for reservation in self._reservations.values() if reservation.reference == reference]
