"""Command line entry point."""

from __future__ import annotations

import sys

from wordsmith.summary import summarise


def main(argv: list[str] | None = None) -> int:
    """Read prose from standard input and print a short extract made of its best sentences."""
    del argv
    print(summarise(sys.stdin.read()))
    return 0
