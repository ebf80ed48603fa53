"""Items and the catalog that holds them."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Iterator
from decimal import Decimal, InvalidOperation

from .errors import DuplicateItemError, UnknownItemError

SKU_PATTERN = re.compile(r"^[A-Z0-9][A-Z0-9-]{1,31}$")


def normalize_sku(raw: str) -> str:
    """Return the canonical form of a SKU: stripped and upper-case.

    Raises ``ValueError`` when the result is not 2 to 32 characters of letters, digits and dashes
    starting with a letter or digit.
    """
    sku = str(raw).strip().upper()
    if not SKU_PATTERN.match(sku):
        raise ValueError(f"invalid SKU: {raw!r}")
    return sku


def to_price(value: object) -> Decimal:
    """Convert ``value`` to a non-negative ``Decimal`` price."""
    if isinstance(value, float):
        value = repr(value)
    try:
        price = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError(f"invalid price: {value!r}") from None
    if not price.is_finite() or price < 0:
        raise ValueError(f"invalid price: {value!r}")
    return price


@dataclasses.dataclass(frozen=True)
class Item:
    """A stock-keeping unit.

    ``sku`` is normalised with :func:`normalize_sku`; ``unit_price`` accepts anything
    :func:`to_price` does; ``reorder_level`` is the quantity at or below which the item
    appears in the low-stock report (0 disables the check).
    """

    sku: str
    name: str
    unit_price: Decimal = Decimal("0")
    reorder_level: int = 0
    unit: str = "each"
    tags: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        object.__setattr__(self, "sku", normalize_sku(self.sku))
        name = self.name.strip()
        if not name:
            raise ValueError("an item needs a name")
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "unit_price", to_price(self.unit_price))
        if isinstance(self.reorder_level, bool) or not isinstance(self.reorder_level, int) or self.reorder_level < 0:
            raise ValueError(f"reorder level must be a non-negative integer, not {self.reorder_level!r}")
        tags = frozenset(tag.strip().lower() for tag in self.tags if tag.strip())
        object.__setattr__(self, "tags", tags)

    def with_price(self, price: object) -> Item:
        """Return a copy of the item with another unit price."""
        return dataclasses.replace(self, unit_price=to_price(price))


class Catalog:
    """The items a business stocks, keyed by SKU."""

    def __init__(self, items: Iterable[Item] = ()) -> None:
        self._items: dict[str, Item] = {}
        for item in items:
            self.add(item)

    def add(self, item: Item) -> Item:
        if item.sku in self._items:
            raise DuplicateItemError(f"duplicate SKU: {item.sku}")
        self._items[item.sku] = item
        return item

    def replace(self, item: Item) -> Item:
        """Add ``item``, overwriting an item with the same SKU if there is one."""
        self._items[item.sku] = item
        return item

    def get(self, sku: str) -> Item:
        try:
            return self._items[sku]
        except KeyError:
            raise UnknownItemError(sku) from None

    def remove(self, sku: str) -> Item:
        try:
            return self._items.pop(sku)
        except KeyError:
            raise UnknownItemError(sku) from None

    def update_price(self, sku: str, price: object) -> Item:
        item = self.get(sku).with_price(price)
        self._items[item.sku] = item
        return item

    def find(self, *, tag: str | None = None, text: str | None = None) -> list[Item]:
        """Items carrying ``tag`` and/or whose name contains ``text`` (case-insensitive), by SKU."""
        found = []
        for item in self:
            if tag is not None and tag.strip().lower() not in item.tags:
                continue
            if text is not None and text.casefold() not in item.name.casefold():
                continue
            found.append(item)
        return found

    def __contains__(self, sku: object) -> bool:
        return sku in self._items

    def __iter__(self) -> Iterator[Item]:
        return iter(sorted(self._items.values(), key=lambda item: item.sku))

    def __len__(self) -> int:
        return len(self._items)
