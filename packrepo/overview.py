"""The optional directory overview at the top of a pack (``--overview``).

A reader (or a model) sees the shape of the whole tree before the files chosen from it.
The overview is part of the pack's header, so it is counted in the budget like everything
else; it may take at most :data:`OVERVIEW_SHARE` of the budget. The most detailed form that
fits is used: every file, then directories only (with their file counts) at decreasing
depth, then a single line of totals.
"""

from __future__ import annotations

import posixpath
from collections import Counter
from collections.abc import Callable, Sequence

from packrepo.render import header_text

OVERVIEW_SHARE = 0.10


def directory_overview(
    paths: Sequence[str], budget: int, count: Callable[[str], int]
) -> tuple[str, ...]:
    """The overview's lines (indented by depth), the most detailed that fits its share."""
    allowance = int(budget * OVERVIEW_SHARE)
    directories = sorted({parent for path in paths for parent in _parents(path)})
    depth = max((directory.count("/") + 1 for directory in directories), default=0)
    attempts = [_with_files(paths)] + [
        _directories_only(paths, directories, level) for level in range(depth, 0, -1)
    ]
    for lines in attempts:
        if count("\n".join(lines) + "\n") <= allowance:
            return lines
    folders = len(directories)
    return (f"{len(paths)} files in {folders} directories",)


def _parents(path: str) -> list[str]:
    parts = path.split("/")[:-1]
    return ["/".join(parts[: index + 1]) for index in range(len(parts))]


def _with_files(paths: Sequence[str]) -> tuple[str, ...]:
    lines: list[str] = []
    shown: set[str] = set()
    for path in sorted(paths):
        for parent in _parents(path):
            if parent not in shown:
                shown.add(parent)
                lines.append(_indent(parent) + header_text(posixpath.basename(parent)) + "/")
        lines.append(_indent(path) + header_text(posixpath.basename(path)))
    return tuple(lines)


def _directories_only(
    paths: Sequence[str], directories: Sequence[str], level: int
) -> tuple[str, ...]:
    files_below: Counter[str] = Counter()
    for path in paths:
        for parent in _parents(path):
            files_below[parent] += 1
    lines = [f"{len(paths)} files; directories with the files below them:"]
    for directory in directories:
        if directory.count("/") < level:
            name = header_text(posixpath.basename(directory))
            lines.append(f"{_indent(directory)}{name}/ ({files_below[directory]})")
    return tuple(lines)


def _indent(path: str) -> str:
    return "  " * path.count("/")
