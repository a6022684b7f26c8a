"""Exit codes of the promotion pipeline, decided here and nowhere else.

The gates CLI returns PROMOTE, REJECT or BAD_INPUT. TIMEOUT and INTERRUPTED
belong to the orchestrator (nox/invoke), which imports them from here so the
whole pipeline speaks one vocabulary. 124 is what coreutils ``timeout`` returns;
130 is the shell's 128 + SIGINT.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """How a pipeline run ended."""

    PROMOTE = 0
    REJECT = 1
    BAD_INPUT = 2
    TIMEOUT = 124
    INTERRUPTED = 130


def for_decision(decision: str) -> ExitCode:
    """The exit code of a gate decision: ``"promote"`` 0; ``"reject"`` and ``"exploratory"``
    (evidence that may report but never promote: the quick profile, a reduced run) 1."""
    if decision == "promote":
        return ExitCode.PROMOTE
    if decision in ("reject", "exploratory"):
        return ExitCode.REJECT
    raise ValueError(f"unknown decision `{decision}`")
