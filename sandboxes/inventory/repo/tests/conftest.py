from datetime import datetime
from decimal import Decimal

import pytest

from inventory import Catalog, Item, Warehouse

T0 = datetime(2024, 3, 1, 9, 0)


@pytest.fixture
def catalog():
    return Catalog(
        [
            Item("BOLT-M6", "Hex bolt M6", Decimal("0.12"), reorder_level=200, unit="each", tags={"hardware"}),
            Item("NUT-M6", "Hex nut M6", Decimal("0.05"), reorder_level=200, tags={"hardware"}),
            Item("GLUE-50", "Wood glue 50 ml", Decimal("3.40"), reorder_level=10, tags={"adhesives", "wood"}),
            Item("SAW-01", "Hand saw", Decimal("18.90"), tags={"tools", "wood"}),
        ]
    )


@pytest.fixture
def warehouse(catalog):
    wh = Warehouse("MAIN", catalog)
    wh.add_stock("BOLT-M6", 500, when=T0)
    wh.add_stock("NUT-M6", 150, when=T0)
    wh.add_stock("GLUE-50", 12, when=T0)
    wh.add_stock("SAW-01", 3, when=T0)
    return wh
