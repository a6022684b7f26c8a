"""What the run is doing now: a live table on a terminal, a heartbeat line elsewhere.

The runner tells the board when a session starts and ends; each session's own
progress (trials, mutants, requests: n of m) arrives as lines of the
:mod:`contracts.progress` format in its output. On a terminal, rich draws a table
of the running sessions with their counts, elapsed time and ETA, redrawn twice
a second. When the output is not a terminal (CI logs, a pipe), the same facts are
printed as one plain line at least every :data:`HEARTBEAT_SECONDS`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, Any

from contracts.progress import ProgressEvent

HEARTBEAT_SECONDS = 20.0  # well within the 30 s a CI log may go without a line


@dataclass
class _Running:
    stage: str
    started: float
    event: ProgressEvent | None = None
    counting_since: tuple[float, int] | None = None  # (time, done) of the first count

    def count(self) -> str:
        if self.event is None:
            return ""
        return f"{self.event.what} {self.event.done}/{self.event.total}"

    def eta(self, now: float) -> float | None:
        """Seconds left at the rate measured since counting began."""
        if self.event is None or self.counting_since is None:
            return None
        since, done_then = self.counting_since
        advanced = self.event.done - done_then
        if advanced <= 0 or now <= since:
            return None
        return (now - since) / advanced * (self.event.total - self.event.done)


def duration(seconds: float) -> str:
    """``45 s``, ``3 min 05 s``, ``1 h 02 min``."""
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


class Board:
    """The running sessions and their counts; thread-safe through the caller's lock."""

    def __init__(
        self,
        terminal: IO[str],
        *,
        total_sessions: int = 0,
        live: bool | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._terminal = terminal
        self._clock = clock
        self._origin = clock()
        self._last_line = self._origin
        self._total = total_sessions
        self._finished = 0
        self.running: dict[str, _Running] = {}
        wants_live = terminal.isatty() if live is None else live
        self._live: Any = _start_live(self, terminal) if wants_live else None

    @property
    def is_live(self) -> bool:
        return self._live is not None

    def started(self, session: str, stage: str) -> None:
        self.running[session] = _Running(stage, self._clock())

    def finished(self, session: str) -> None:
        if self.running.pop(session, None) is not None:
            self._finished += 1

    def update(self, session: str, event: ProgressEvent) -> None:
        running = self.running.get(session)
        if running is None:
            return
        if running.counting_since is None or event.done < (
            running.event.done if running.event else 0
        ):
            running.counting_since = (self._clock(), event.done)
        running.event = event

    def print(self, line: str) -> None:
        """A line above the live table, or a plain line."""
        self._last_line = self._clock()
        if self._live is not None:
            self._live.console.print(line, markup=False, highlight=False)
        else:
            print(line, file=self._terminal, flush=True)

    def heartbeat(self) -> str | None:
        """The status line when none was printed for :data:`HEARTBEAT_SECONDS` (no
        live table only); the caller prints it through :meth:`print`."""
        if self._live is not None or self._clock() - self._last_line < HEARTBEAT_SECONDS:
            return None
        return self.status_line()

    def status_line(self) -> str:
        now = self._clock()
        sessions = f"{self._finished}/{self._total} sessions done" if self._total else ""
        parts = []
        for session, running in list(self.running.items()):
            detail = [running.count(), duration(now - running.started)]
            eta = running.eta(now)
            if eta is not None:
                detail.append(f"ETA {duration(eta)}")
            parts.append(f"{running.stage} {session}: " + ", ".join(d for d in detail if d))
        doing = "running " + "; ".join(parts) if parts else "between sessions"
        return "… " + ", ".join(p for p in (sessions, doing) if p)

    def table(self) -> Any:
        from rich.table import Table

        now = self._clock()
        title = f"{duration(now - self._origin)} elapsed"
        if self._total:
            title += f" · {self._finished}/{self._total} sessions done"
        table = Table(title=title, title_justify="left", expand=False)
        for column in ("stage", "session", "progress", "elapsed", "ETA"):
            table.add_column(column, justify="right" if column in ("elapsed", "ETA") else "left")
        for session, running in list(self.running.items()):
            eta = running.eta(now)
            table.add_row(
                running.stage,
                session,
                running.count() or "…",
                duration(now - running.started),
                "" if eta is None else duration(eta),
            )
        return table

    def close(self) -> None:
        live, self._live = self._live, None
        if live is not None:
            live.stop()


class _Renderable:
    def __init__(self, board: Board) -> None:
        self.board = board

    def __rich__(self) -> Any:
        return self.board.table()


def _start_live(board: Board, terminal: IO[str]) -> Any:
    """A rich live display, or None when rich is not installed here (plain lines then)."""
    try:
        from rich.console import Console
        from rich.live import Live
    except ImportError:
        return None
    live = Live(
        _Renderable(board),
        console=Console(file=terminal),
        refresh_per_second=2,
        transient=True,
        redirect_stdout=False,
        redirect_stderr=False,
    )
    live.start()
    return live
