"""Order pricing."""

from __future__ import annotations

from shelf.items import Item

BULK_THRESHOLD = 100
BULK_RATE = 0.9


def order_total(item: Item, quantity: int) -> int:
    """Compute what a customer pays, granting a volume discount above a fixed threshold."""
    total = item.unit_price_cents * quantity
    if quantity >= BULK_THRESHOLD:
        total = int(total * BULK_RATE)
    return total


def format_cents(cents: int) -> str:
    """Render an amount of money as a human readable string with two decimal places."""
    return f"{cents // 100}.{cents % 100:02d}"


def tax(cents: int, rate: float) -> int:
    return round(cents * rate)
