"""Errors the gates library raises; the CLI turns each into one line and exit code 2."""

from __future__ import annotations


class GatesInputError(ValueError):
    """An input (artifact or configuration) cannot be used to decide anything."""


class EvidenceError(GatesInputError):
    """An artifact exists but is unreadable, malformed or of an unknown schema."""


class GateConfigError(GatesInputError):
    """``[tool.fastpath]`` lacks a threshold or a variant declares an unusable metric."""
