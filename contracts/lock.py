"""One pipeline run at a time: an exclusive lock on ``artifacts/.pipeline.lock``.

A run takes the lock before it touches anything in ``artifacts/`` (not even
setting earlier outputs aside) and holds it to the end; a second run that finds
it taken leaves ``artifacts/`` as it was and names the holder's pid.

``fcntl.flock`` rather than a pid file: the kernel releases the lock when its
holder dies, however it dies, so a crashed run never leaves a stale lock. The
file itself is kept (never unlinked): removing it while another process has it
open would let two runs each lock a different file of the same name. The pid
written into it is for the message only; the lock is what excludes.

Stdlib only, and imports no stage: ``invoke`` tasks take it from an environment
that has nothing but invoke and nox.
"""

from __future__ import annotations

import fcntl
import os
import stat
import time
from pathlib import Path
from types import TracebackType

from contracts.names import LOCK_FILE

# A holder writes its pid just after taking the lock; a contender that reads the file in
# between finds it empty and waits this long for the pid before calling it unknown.
HOLDER_PID_WAIT_SECONDS = 1.0


class LockHeldError(RuntimeError):
    """Another run holds the lock."""

    def __init__(self, path: Path, holder_pid: int | None) -> None:
        holder = f"pid {holder_pid}" if holder_pid is not None else "pid unknown"
        super().__init__(f"another run holds {path} ({holder}); wait for it to finish")
        self.path = path
        self.holder_pid = holder_pid


class RunLock:
    """The held lock; a context manager that releases it on exit."""

    def __init__(self, path: Path, descriptor: int) -> None:
        self.path = path
        self._descriptor: int | None = descriptor

    def release(self) -> None:
        """Forget the pid, then let go (closing the descriptor drops the flock)."""
        if self._descriptor is None:
            return
        descriptor, self._descriptor = self._descriptor, None
        try:
            os.ftruncate(descriptor, 0)
        except OSError:
            pass  # a full disk must not keep the lock held; the pid is only a hint
        finally:
            os.close(descriptor)

    def __enter__(self) -> RunLock:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.release()


def lock_path(artifacts: Path) -> Path:
    return artifacts / LOCK_FILE


def acquire(path: Path) -> RunLock:
    """Take the lock at ``path`` without waiting, and write this process's pid into it.

    Raises :class:`LockHeldError` when another process holds it, and ``OSError``
    when the file cannot be created or written (an unwritable or full directory),
    or when ``path`` is anything but a regular file: a symlink is not followed
    and a FIFO or device is never written to.
    """
    flags = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
    descriptor = os.open(path, flags, 0o644)
    try:
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):
            raise OSError(f"{path} is not a regular file; will not use it as the run lock")
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise LockHeldError(path, _wait_for_holder_pid(path)) from None
        os.ftruncate(descriptor, 0)
        os.pwrite(descriptor, f"{os.getpid()}\n".encode("ascii"), 0)
    except BaseException:
        os.close(descriptor)
        raise
    return RunLock(path, descriptor)


def holder_pid(path: Path) -> int | None:
    """The pid written in the lock file, or None when it is empty, absent or not a pid."""
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):
            return None
        text = os.read(descriptor, 64).decode("ascii", errors="replace").strip()
    finally:
        os.close(descriptor)
    return int(text) if text.isdecimal() else None


def _wait_for_holder_pid(path: Path) -> int | None:
    deadline = time.monotonic() + HOLDER_PID_WAIT_SECONDS
    while (pid := holder_pid(path)) is None and time.monotonic() < deadline:
        time.sleep(0.02)
    return pid
