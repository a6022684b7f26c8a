"""Errors the packer raises; only the CLI turns them into one line and exit code 2."""

from __future__ import annotations


class PackError(ValueError):
    """Bad input to the packer: a path, a budget, a flag, or a tree it cannot pack."""


class FlagError(PackError):
    """A FASTPATH_* environment variable is unknown, malformed or contradicts another.

    The message always names the variable, so one line on stderr is enough to fix it.
    """


class BudgetError(PackError):
    """The token budget is malformed or too small for the pack's fixed header."""
