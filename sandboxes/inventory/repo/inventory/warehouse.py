"""Quantities on hand and reserved, per warehouse."""

from __future__ import annotations

from datetime import datetime

from .errors import CapacityExceededError, InsufficientStockError
from .ledger import Ledger, Movement
from .models import Catalog


def _positive(quantity: int) -> int:
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity <= 0:
        raise ValueError(f"quantity must be a positive integer, not {quantity!r}")
    return quantity


class Warehouse:
    """A place that holds stock of the items of a catalog.

    ``capacity`` is the most units (of all items together) the warehouse can hold; ``None`` means
    unlimited. Every change of the quantity on hand is recorded in :attr:`ledger`.
    """

    def __init__(self, code: str, catalog: Catalog, capacity: int | None = None) -> None:
        if capacity is not None and capacity < 0:
            raise ValueError("capacity must not be negative")
        self.code = code
        self.catalog = catalog
        self.capacity = capacity
        self.ledger = Ledger()
        self._on_hand: dict[str, int] = {}
        self._reserved: dict[str, int] = {}

    # -- queries -----------------------------------------------------------------------------

    def on_hand(self, sku: str) -> int:
        return self._on_hand.get(self.catalog.get(sku).sku, 0)

    def reserved(self, sku: str) -> int:
        return self._reserved.get(self.catalog.get(sku).sku, 0)

    def available(self, sku: str) -> int:
        """Units on hand that are not reserved."""
        return self.on_hand(sku) - self.reserved(sku)

    def total_units(self) -> int:
        return sum(self._on_hand.values())

    def skus(self) -> list[str]:
        """SKUs with stock on hand, sorted."""
        return sorted(sku for sku, quantity in self._on_hand.items() if quantity > 0)

    # -- changes -----------------------------------------------------------------------------

    def add_stock(self, sku: str, quantity: int, *, reason: str = "receipt", when: datetime | None = None) -> int:
        """Receive ``quantity`` units; return the new quantity on hand."""
        item = self.catalog.get(sku)
        quantity = _positive(quantity)
        if self.capacity is not None and self.total_units() + quantity > self.capacity:
            raise CapacityExceededError(
                f"{self.code}: {quantity} more units would exceed the capacity of {self.capacity}"
            )
        self._on_hand[item.sku] = self._on_hand.get(item.sku, 0) + quantity
        self._log(item.sku, quantity, reason, when)
        return self._on_hand[item.sku]

    def remove_stock(self, sku: str, quantity: int, *, reason: str = "issue", when: datetime | None = None) -> int:
        """Issue ``quantity`` unreserved units; return the new quantity on hand."""
        item = self.catalog.get(sku)
        quantity = _positive(quantity)
        available = self.available(item.sku)
        if quantity > available:
            raise InsufficientStockError(item.sku, quantity, available)
        self._on_hand[item.sku] -= quantity
        self._log(item.sku, -quantity, reason, when)
        return self._on_hand[item.sku]

    def transfer(self, sku: str, quantity: int, destination: Warehouse, *, when: datetime | None = None) -> None:
        """Move ``quantity`` units to ``destination``; either both sides change or neither does."""
        if destination is self:
            raise ValueError("cannot transfer stock to the same warehouse")
        self.remove_stock(sku, quantity, reason=f"transfer to {destination.code}", when=when)
        destination.add_stock(sku, quantity, reason=f"transfer from {self.code}", when=when)

    def count(self, sku: str, counted: int, *, when: datetime | None = None) -> int:
        """Record a stock count, adjusting the quantity on hand; return the adjustment."""
        item = self.catalog.get(sku)
        if isinstance(counted, bool) or not isinstance(counted, int) or counted < 0:
            raise ValueError(f"counted quantity must be a non-negative integer, not {counted!r}")
        difference = counted - self._on_hand.get(item.sku, 0)
        if difference:
            self._on_hand[item.sku] = counted
            self._log(item.sku, difference, "count", when)
        return difference

    # -- used by reservations ----------------------------------------------------------------

    def _adjust_reserved(self, sku: str, delta: int) -> None:
        self._reserved[sku] = self._reserved.get(sku, 0) + delta

    def _log(self, sku: str, quantity: int, reason: str, when: datetime | None) -> None:
        self.ledger.record(Movement(sku, quantity, reason, when or datetime.now(), self.code))
