"""shelf: a tiny inventory library (handmade test fixture)."""

from shelf.items import Item
from shelf.storage import Warehouse

__all__ = ["Item", "Warehouse"]
