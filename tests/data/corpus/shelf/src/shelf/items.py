"""Catalogue entries."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Item:
    """A catalogue entry describing one product that can be stocked and sold.

    Items are immutable; a new price makes a new item.
    """

    sku: str
    title: str
    unit_price_cents: int

    def with_price(self, cents: int) -> Item:
        """Return a copy carrying another price while keeping every remaining attribute."""
        return Item(self.sku, self.title, cents)


def normalise_sku(raw: str) -> str:
    """Bring a stock keeping code into canonical upper case form without surrounding spaces."""
    cleaned = raw.strip().upper()
    if not cleaned:
        raise ValueError("empty code")
    return cleaned


def split_sku(code: str) -> tuple[str, int]:
    """Separate the alphabetic family prefix from the numeric serial part of a code."""
    prefix = code.rstrip("0123456789")
    serial = code[len(prefix) :]
    return prefix, int(serial or 0)
