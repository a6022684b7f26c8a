"""Stock levels per warehouse."""

from __future__ import annotations

from collections import defaultdict

from shelf.items import Item


class OutOfStock(Exception):
    """Raised whenever an order asks for more units than the warehouse currently holds."""


class Warehouse:
    """Keeps track of how many units of every product sit on the shelves of one site."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._levels: dict[str, int] = defaultdict(int)

    def receive(self, item: Item, quantity: int) -> None:
        """Add a delivery of goods to the shelves, increasing the recorded stock level."""
        if quantity <= 0:
            raise ValueError("a delivery brings at least one unit")
        self._levels[item.sku] += quantity

    def ship(self, item: Item, quantity: int) -> None:
        """Take units off the shelves for an outgoing order, refusing when too few remain."""
        available = self._levels[item.sku]
        if quantity > available:
            raise OutOfStock(f"{item.sku}: {available} left, {quantity} asked")
        self._levels[item.sku] = available - quantity

    def level(self, item: Item) -> int:
        return self._levels[item.sku]

    def empty_slots(self) -> list[str]:
        """List every product code whose recorded quantity has dropped to nothing at all."""
        return sorted(sku for sku, count in self._levels.items() if count == 0)
