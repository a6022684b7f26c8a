"""Reading a scanned file through one file descriptor, so that what is read is what was scanned.

Between the scan and the read a hostile tree can swap a file for a symlink (to
``/etc/passwd``), a FIFO (which blocks a plain ``open``) or a bigger file. Every read
therefore opens with ``O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC`` (no link followed at the last
component, no blocking on a FIFO or a device, no descriptor leaked to the V2 workers),
checks with ``fstat`` on that descriptor that it is a regular file with the device and
inode the scan recorded (which also catches a swapped parent directory: the inode would
be another file's), and reads at most the size limit plus one byte, so a file that grew
past the limit is recognised without reading it all.
"""

from __future__ import annotations

import errno
import os
import stat
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # scan reads .gitignore files through this module
    from packrepo.scan import ScannedFile

_OPEN_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
_CHUNK = 1 << 16


class FileSkipped(Exception):
    """The file cannot be packed as scanned; ``reason`` is the manifest's skip reason."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def read_scanned(scanned: ScannedFile, limit: int) -> bytes:
    """The bytes of the very file the scan saw, at most ``limit`` of them.

    Raises :class:`FileSkipped` with ``changed_after_scan`` (another file, a link, a FIFO or
    a device in its place), ``oversize`` (it grew past ``limit``) or ``unreadable``.
    """
    try:
        descriptor = os.open(scanned.abspath, _OPEN_FLAGS)
    except OSError as error:
        # ELOOP: the last component became a symlink; ENXIO: a socket or a FIFO.
        raise FileSkipped(_open_failure(error)) from None
    try:
        info = os.fstat(descriptor)
        if not stat.S_ISREG(info.st_mode) or (info.st_dev, info.st_ino) != (
            scanned.device,
            scanned.inode,
        ):
            raise FileSkipped("changed_after_scan")
        data = _read_at_most(descriptor, limit + 1)
    except OSError:
        raise FileSkipped("unreadable") from None
    finally:
        os.close(descriptor)
    if len(data) > limit:
        raise FileSkipped("oversize")
    return data


def read_small_regular(path: str, limit: int) -> bytes | None:
    """A regular file's first ``limit`` bytes (a ``.gitignore``), or None: never a link,
    never blocking, never a device."""
    try:
        descriptor = os.open(path, _OPEN_FLAGS)
    except OSError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):
            return None
        return _read_at_most(descriptor, limit)
    except OSError:
        return None
    finally:
        os.close(descriptor)


def _read_at_most(descriptor: int, limit: int) -> bytes:
    parts = []
    remaining = limit
    while remaining > 0:
        part = os.read(descriptor, min(_CHUNK, remaining))
        if not part:
            break
        parts.append(part)
        remaining -= len(part)
    return b"".join(parts)


def _open_failure(error: OSError) -> str:
    if error.errno in (errno.ELOOP, errno.ENXIO, errno.EISDIR, errno.ENOTDIR):
        return "changed_after_scan"
    return "unreadable"
