"""Errors every stage raises for input it cannot use; each CLI edge turns one into
a single line on stderr and exit code 2 (:data:`contracts.exitcodes.ExitCode.BAD_INPUT`)."""

from __future__ import annotations

import argparse
from typing import NoReturn


class InputError(ValueError):
    """An input (artifact, argument or configuration) cannot be used to decide anything."""


class EvidenceError(InputError):
    """An artifact exists but is unreadable, malformed, implausible or of an unknown schema."""


class UnreadableError(EvidenceError):
    """The file is there but the operating system would not give its bytes (permissions,
    I/O): the trace of a broken run, not a malformed document."""


class ConfigError(InputError):
    """``[tool.fastpath]`` lacks a threshold or a variant declares an unusable metric."""


class OneLineParser(argparse.ArgumentParser):
    """argparse that raises :attr:`error_type` instead of printing usage and exiting, so
    a CLI edge reports a bad argument as its one line and exit code 2."""

    error_type: type[Exception] = InputError

    def error(self, message: str) -> NoReturn:
        raise self.error_type(message)
