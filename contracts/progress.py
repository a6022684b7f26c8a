"""Progress of a stage, told to the orchestrator in lines of a versioned format.

A stage (a benchmark, R2, R4, ...) runs as a nox session whose output the
orchestrator reads line by line. When the orchestrator sets ``$PACKREPO_PROGRESS``
to this format's version, a stage writes, on stderr, lines such as::

    @packrepo-progress 1 {"what":"trials","done":12,"total":240}

``what`` names the unit of work counted (trials, mutants, requests, ...), ``done``
of ``total`` are done. The orchestrator shows them (elapsed time, ETA) and keeps
them out of ``pipeline.log``; a line of another version is passed through as
ordinary output. Without the variable (a stage run by hand) nothing is written,
and the stage's own progress bar is the only one.
"""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import dataclass
from typing import IO

PROGRESS_ENV = "PACKREPO_PROGRESS"
PROGRESS_VERSION = 1
PREFIX = "@packrepo-progress"
_EVERY_SECONDS = 1.0  # at most one line a second, and always the last


@dataclass(frozen=True)
class ProgressEvent:
    what: str
    done: int
    total: int


def format_event(event: ProgressEvent) -> str:
    payload = json.dumps(
        {"what": event.what, "done": event.done, "total": event.total}, separators=(",", ":")
    )
    return f"{PREFIX} {PROGRESS_VERSION} {payload}"


def parse_event(line: str) -> ProgressEvent | None:
    """The event a line carries, or None for any other line (other versions included)."""
    text = line.strip()
    if not text.startswith(PREFIX + " "):
        return None
    version, _, payload = text[len(PREFIX) + 1 :].partition(" ")
    if version != str(PROGRESS_VERSION):
        return None
    try:
        fields = json.loads(payload)
    except ValueError:
        return None
    if not isinstance(fields, dict):
        return None
    what, done, total = fields.get("what"), _count(fields.get("done")), _count(fields.get("total"))
    if not isinstance(what, str) or done is None or total is None:
        return None
    return ProgressEvent(what, done, total)


def _count(value: object) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    return None


class ProgressReporter:
    """What a stage calls as work gets done; writes lines only when asked to.

    ``reporter.update(done)`` is cheap: it writes at most one line a second, plus
    the first and the last (``done == total``).
    """

    def __init__(self, what: str, total: int, *, stream: IO[str] | None = None) -> None:
        self.what, self.total = what, total
        self._stream = stream if stream is not None else sys.stderr
        self._enabled = stream is not None or os.environ.get(PROGRESS_ENV) == str(PROGRESS_VERSION)
        self._last = float("-inf")
        self.update(0)

    def update(self, done: int) -> None:
        if not self._enabled:
            return
        now = time.monotonic()
        if done < self.total and now - self._last < _EVERY_SECONDS and done > 0:
            return
        self._last = now
        event = ProgressEvent(self.what, min(done, self.total), self.total)
        print(format_event(event), file=self._stream, flush=True)
