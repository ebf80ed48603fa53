"""An append-only log of stock movements."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import date, datetime, time


@dataclasses.dataclass(frozen=True)
class Movement:
    """One change of the quantity on hand: positive for receipts, negative for issues."""

    sku: str
    quantity: int
    reason: str
    timestamp: datetime
    warehouse: str = ""


def _as_datetime(value: date | datetime) -> datetime:
    if isinstance(value, datetime):
        return value
    return datetime.combine(value, time.min)


class Ledger:
    """Movements in the order they were recorded."""

    def __init__(self) -> None:
        self._movements: list[Movement] = []

    def record(self, movement: Movement) -> Movement:
        if movement.quantity == 0:
            raise ValueError("a movement must change the quantity")
        self._movements.append(movement)
        return movement

    def for_sku(self, sku: str) -> list[Movement]:
        return [movement for movement in self._movements if movement.sku == sku]

    def between(self, start: date | datetime, end: date | datetime) -> list[Movement]:
        """Movements from ``start`` to ``end``, both inclusive.

        Either bound may be a ``date``, which stands for that whole day.
        """
        low = _as_datetime(start)
        high = _as_datetime(end)
        if high < low:
            raise ValueError("end is before start")
        return [movement for movement in self._movements if low <= movement.timestamp <= high]

    def net_change(self, sku: str) -> int:
        return sum(movement.quantity for movement in self.for_sku(sku))

    def totals_by_reason(self) -> dict[str, int]:
        """Units moved per reason (absolute values), for example ``{"receipt": 40, "sale": 12}``."""
        totals: dict[str, int] = {}
        for movement in self._movements:
            key = movement.reason.split(" ", 1)[0]
            totals[key] = totals.get(key, 0) + abs(movement.quantity)
        return totals

    def __iter__(self) -> Iterator[Movement]:
        return iter(list(self._movements))

    def __len__(self) -> int:
        return len(self._movements)
