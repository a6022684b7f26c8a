"""Tests of the fixture itself (never asked about by the oracle: test code is not a target)."""

from shelf.items import Item
from shelf.storage import Warehouse


def test_receive_then_ship():
    """Receiving and then shipping leaves the difference on the shelves of the warehouse."""
    item = Item("AB1", "thing", 100)
    site = Warehouse("north")
    site.receive(item, 5)
    site.ship(item, 2)
    assert site.level(item) == 3
