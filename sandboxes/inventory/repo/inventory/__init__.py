"""Stock keeping for small shops: a catalog of items, warehouses, reservations, CSV files and reports."""

from .errors import (
    CapacityExceededError,
    DuplicateItemError,
    ImportFormatError,
    InsufficientStockError,
    InventoryError,
    ReservationError,
    UnknownItemError,
)
from .ledger import Ledger, Movement
from .models import Catalog, Item, normalize_sku
from .reservations import Reservation, ReservationBook
from .warehouse import Warehouse

__version__ = "0.4.0"

__all__ = [
    "CapacityExceededError",
    "Catalog",
    "DuplicateItemError",
    "ImportFormatError",
    "InsufficientStockError",
    "InventoryError",
    "Item",
    "Ledger",
    "Movement",
    "Reservation",
    "ReservationBook",
    "ReservationError",
    "UnknownItemError",
    "Warehouse",
    "normalize_sku",
]
