"""PackRepo: pack a code repository into one text that fits an LLM token budget.

``import packrepo`` stays light: the packer (and with it the
tokenizer) loads on first use of ``pack``/``pack_to``/``PackResult``/``Flags``
(PEP 562), and nothing here imports numpy or scipy. That keeps
``packrepo.registry`` importable from a bare interpreter that only has nox
and invoke, which is where ``invoke promote`` reads the registry.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from packrepo.budget import parse_budget
from packrepo.errors import BudgetError, FlagError, PackError

# The one version source: pyproject.toml reads it ([tool.hatch.version]), so do the
# built distributions, `packrepo --version` and a release tag's check.
__version__ = "0.1.0"

if TYPE_CHECKING:
    from packrepo.flags import Flags
    from packrepo.packer import PackResult, pack, pack_to

_LAZY = {
    "Flags": "packrepo.flags",
    "PackResult": "packrepo.packer",
    "pack": "packrepo.packer",
    "pack_to": "packrepo.packer",
}

__all__ = [
    "BudgetError",
    "FlagError",
    "Flags",
    "PackError",
    "PackResult",
    "__version__",
    "pack",
    "pack_to",
    "parse_budget",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'packrepo' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
