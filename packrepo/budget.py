"""Token budgets written the way people write them: ``120k``, ``1.5M``, ``50000``."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from packrepo.errors import BudgetError

_BUDGET = re.compile(r"\s*(?P<number>\d+(?:\.\d+)?)\s*(?P<unit>[kKmM]?)\s*")
_UNITS = {"": 1, "k": 1_000, "m": 1_000_000}


def parse_budget(budget: int | str) -> int:
    """Return the budget as a positive whole number of tokens.

    ``k`` means thousand and ``M`` million (case-insensitive); a fractional result such as
    ``1.0005k`` is refused rather than rounded, because a budget is a hard limit.
    """
    if isinstance(budget, bool):
        raise BudgetError(f"budget must be a number of tokens, got {budget!r}")
    if isinstance(budget, int):
        tokens = budget
    elif isinstance(budget, str):
        tokens = _parse_text(budget)
    else:
        raise BudgetError(f"budget must be an int or a string like '120k', got {budget!r}")
    if tokens <= 0:
        raise BudgetError(f"budget must be a positive number of tokens, got {budget!r}")
    return tokens


def _parse_text(text: str) -> int:
    match = _BUDGET.fullmatch(text)
    if match is None:
        raise BudgetError(f"budget must look like 120k, 1.5M or 50000, got {text!r}")
    try:
        value = Decimal(match["number"]) * _UNITS[match["unit"].lower()]
    except InvalidOperation:  # pragma: no cover - the regex admits only decimals
        raise BudgetError(f"budget {text!r} is not a number") from None
    if value != value.to_integral_value():
        raise BudgetError(f"budget {text!r} is not a whole number of tokens")
    return int(value)
