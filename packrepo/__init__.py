"""PackRepo: pack a code repository into one text that fits an LLM token budget.

``import packrepo`` stays light: the tokenizer loads on the first pack, and nothing here
imports numpy or scipy.
"""

from __future__ import annotations

from packrepo.budget import parse_budget
from packrepo.errors import BudgetError, FlagError, PackError
from packrepo.flags import Flags
from packrepo.packer import PackResult, pack, pack_to

__all__ = [
    "BudgetError",
    "FlagError",
    "Flags",
    "PackError",
    "PackResult",
    "pack",
    "pack_to",
    "parse_budget",
]
