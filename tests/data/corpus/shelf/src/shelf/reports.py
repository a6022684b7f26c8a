"""Plain-text reports."""

from __future__ import annotations

from shelf.storage import Warehouse


def stock_report(warehouse: Warehouse, codes: list[str]) -> str:
    """Produce a printable table showing current quantities held for several products."""
    lines = [f"Stock at {warehouse.name}"]
    for code in codes:
        lines.append(f"{code:<12}{warehouse._levels.get(code, 0):>6}")
    return "\n".join(lines)


class ReportBuilder:
    """Collects named sections and joins them into one document separated by blank lines."""

    def __init__(self) -> None:
        self.sections: list[str] = []

    def add(self, title: str, body: str) -> None:
        self.sections.append(f"{title}\n{body}")

    def build(self) -> str:
        return "\n\n".join(self.sections)
