"""Exceptions raised by the inventory package; all derive from :class:`InventoryError`."""


class InventoryError(Exception):
    """Base class of every error this package raises on purpose."""


class UnknownItemError(InventoryError, KeyError):
    """A SKU that is not in the catalog."""

    def __init__(self, sku: str) -> None:
        super().__init__(sku)
        self.sku = sku

    def __str__(self) -> str:
        return f"unknown item: {self.sku}"


class DuplicateItemError(InventoryError):
    """An item whose SKU is already in the catalog."""


class InsufficientStockError(InventoryError):
    """More units were requested than are available."""

    def __init__(self, sku: str, requested: int, available: int) -> None:
        super().__init__(f"{sku}: requested {requested}, only {available} available")
        self.sku = sku
        self.requested = requested
        self.available = available


class CapacityExceededError(InventoryError):
    """A warehouse would hold more units than its capacity."""


class ReservationError(InventoryError):
    """A reservation that does not exist or cannot change state."""


class ImportFormatError(InventoryError):
    """A malformed row or header in an imported CSV file."""

    def __init__(self, message: str, line: int | None = None) -> None:
        prefix = f"line {line}: " if line is not None else ""
        super().__init__(prefix + message)
        self.line = line
