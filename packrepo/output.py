"""Where ``-o`` and ``--manifest`` go, respecting what is already there.

Content is staged first and committed only when every output of the run has been
produced, so a failed run (a bad ``--manifest`` directory, SIGTERM) leaves nothing behind:

* a regular file or a new path: staged in a temporary file beside it and moved over it
  with ``os.replace`` (atomic on POSIX), as before;
* a character or block device, a FIFO or a socket: staged in an anonymous temporary file
  and written *into* it at commit. Renaming over it would destroy it: run as root,
  ``-o /dev/null`` once replaced the machine's ``/dev/null`` with a regular file;
* a symlink: resolved, and its target treated as above (replaced if regular, written into
  if special); the link itself is left alone;
* a directory: refused.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import socket
import stat
import tempfile
from dataclasses import dataclass
from typing import BinaryIO

_WRITE_FLAGS = os.O_WRONLY | os.O_NOCTTY | os.O_CLOEXEC


@dataclass
class StagedOutput:
    """An output being written; nothing is visible at ``target`` before :meth:`commit`."""

    target: str
    handle: BinaryIO
    temporary: str | None  # the file beside a regular target; None for a special one
    mode: int  # the target's type bits (0 when it does not exist yet)

    def commit(self) -> None:
        self.handle.flush()
        if self.temporary is not None:
            self.handle.close()
            os.chmod(self.temporary, 0o666 & ~_umask())  # mkstemp makes 0600
            os.replace(self.temporary, self.target)
            self.temporary = None
            return
        self.handle.seek(0)
        if stat.S_ISSOCK(self.mode):
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
                connection.connect(self.target)
                connection.sendfile(self.handle)
        else:
            # No O_CREAT, no O_TRUNC, no rename: the device or FIFO stays what it is.
            with os.fdopen(os.open(self.target, _WRITE_FLAGS), "wb") as special:
                shutil.copyfileobj(self.handle, special)
        self.handle.close()

    def discard(self) -> None:
        self.handle.close()
        if self.temporary is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.temporary)
            self.temporary = None


def stage(path: str) -> StagedOutput:
    """Prepare ``path`` for writing; raises OSError for a directory or an unwritable place."""
    target = os.path.realpath(path)  # a symlink's target, never the link itself
    try:
        mode = os.stat(target).st_mode
    except FileNotFoundError:
        mode = 0
    if stat.S_ISDIR(mode):
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), path)
    if mode and not stat.S_ISREG(mode):
        return StagedOutput(target, tempfile.TemporaryFile("w+b"), None, mode)
    try:
        descriptor, temporary = tempfile.mkstemp(dir=os.path.dirname(target), prefix=".packrepo-")
    except OSError as error:  # name the path the user gave, not the temporary one
        raise OSError(error.errno, error.strerror, path) from None
    return StagedOutput(target, os.fdopen(descriptor, "w+b"), temporary, mode)


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current
