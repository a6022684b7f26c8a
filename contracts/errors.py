"""Errors every stage raises for input it cannot use; each CLI edge turns one into
a single line on stderr and exit code 2 (:data:`contracts.exitcodes.ExitCode.BAD_INPUT`)."""

from __future__ import annotations


class InputError(ValueError):
    """An input (artifact, argument or configuration) cannot be used to decide anything."""


class EvidenceError(InputError):
    """An artifact exists but is unreadable, malformed, implausible or of an unknown schema."""


class BrokenChainError(EvidenceError):
    """A link of the chain of custody is broken: an artifact does not match what was
    recorded about it (digest, commit, run), or was not made by the pipeline at all."""


class ConfigError(InputError):
    """``[tool.fastpath]`` lacks a threshold or a variant declares an unusable metric."""
