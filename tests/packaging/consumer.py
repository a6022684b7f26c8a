"""A consumer of the installed package, checked with ``mypy --strict`` by ``nox -s package``.

It must type-check against the wheel alone (``py.typed``), not the source tree.
"""

from __future__ import annotations

from pathlib import Path

import packrepo
from packrepo import BudgetError, PackResult, pack, parse_budget


def pack_for(root: Path, budget: str, query: str | None = None) -> tuple[int, str]:
    try:
        tokens = parse_budget(budget)
    except BudgetError as error:
        raise SystemExit(f"bad budget: {error}") from None
    result: PackResult = pack(root, tokens, query=query)
    return result.tokens, result.text


def version() -> str:
    return packrepo.__version__


if __name__ == "__main__":
    used, text = pack_for(Path("."), "2k")
    print(version(), used, len(text))
