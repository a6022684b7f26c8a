"""``pipeline.log`` and the terminal: what the orchestrator and every session said.

Every line a session prints goes to the file with a timestamp and the session's
name; the terminal gets the orchestrator's progress lines, the board of what runs
now (:mod:`pipeline.progress`), the corpus fetch's lines, and with ``--verbose``
every session's output.
"""

from __future__ import annotations

import contextlib
import sys
import threading
import time
from pathlib import Path
from typing import IO

from contracts.progress import parse_event
from pipeline.progress import Board

CORPUS_LINE = "corpus: "  # benchmarks.fetch's progress lines


class Log:
    """``pipeline.log`` plus the terminal; thread-safe, line-buffered.

    The terminal shows the progress lines and the :class:`~pipeline.progress.Board`
    (what runs now, n of m, elapsed, ETA): live on a terminal, a heartbeat line
    otherwise. A session's progress lines (:mod:`contracts.progress`) feed the board
    and stay out of the file.

    A log that can no longer be written (a full disk) is not a reason to stop the
    sessions: the first failure is kept in ``write_error``, the file is dropped and
    the terminal still gets the progress lines.
    """

    def __init__(
        self,
        path: Path,
        *,
        verbose: bool,
        terminal: IO[str] | None = None,
        sessions: int = 0,
        live: bool | None = None,
    ) -> None:
        self._file: IO[str] | None = path.open("a", encoding="utf-8")
        self._verbose = verbose
        terminal = sys.stderr if terminal is None else terminal
        self._lock = threading.Lock()
        self._start = time.monotonic()
        self.write_error: str | None = None
        # Streaming every child's output and redrawing a table would interleave.
        self.board = Board(terminal, total_sessions=sessions, live=False if verbose else live)

    def elapsed(self) -> float:
        return time.monotonic() - self._start

    def progress(self, message: str) -> None:
        with self._lock:
            self._progress(message)

    def _progress(self, message: str) -> None:
        self._write(f"{_stamp()} pipeline: {message}\n")
        self.board.print(f"[{self.elapsed():7.1f}s] {message}")

    def child(self, session: str, text: str) -> None:
        event = parse_event(text)
        with self._lock:
            if event is not None:
                self.board.update(session, event)
                return
            self._write(f"{_stamp()} {session}: {text}")
            # The corpus fetch says what it downloads, from where, and how much: the one
            # network use of a first run, shown even without --verbose.
            if self._verbose or text.startswith(CORPUS_LINE):
                self.board.print(f"  {session} | {text.rstrip()}")

    def started(self, session: str, stage: str) -> None:
        with self._lock:
            self.board.started(session, stage)

    def finished(self, session: str) -> None:
        with self._lock:
            self.board.finished(session)

    def tick(self) -> None:
        """Called as the runner polls: a heartbeat line when one is due."""
        with self._lock:
            line = self.board.heartbeat()
            if line is not None:
                self._progress(line)

    def _write(self, text: str) -> None:
        if self._file is None:
            return
        try:
            self._file.write(text)
            self._file.flush()
        except OSError as exc:
            self.write_error = exc.strerror or str(exc)
            self._drop_file()

    def _drop_file(self) -> None:
        handle, self._file = self._file, None
        if handle is not None:
            with contextlib.suppress(OSError):
                handle.close()

    def close(self) -> None:
        with self._lock:
            self.board.close()
            self._drop_file()


def _stamp() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime())
