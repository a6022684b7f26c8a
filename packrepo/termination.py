"""SIGTERM as an exception that unwinds the pack, except where unwinding would break a child.

The command line turns SIGTERM into :class:`Terminated`, which unwinds like any error: the
V2 pool is shut down and staged outputs and cache temporaries are removed. Raised while a
worker is being spawned, it would cut the spawn data the child is reading and the child
would die with a traceback; such sections run inside :func:`deferred`, and the signal
takes effect as they end.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator


class Terminated(BaseException):
    """SIGTERM arrived (a BaseException, so ``except Exception`` never swallows it)."""


_depth = 0
_pending = False


def terminate() -> None:
    """Raise :class:`Terminated` now, or as the current deferred section ends."""
    global _pending
    if _depth:
        _pending = True
        return
    raise Terminated


@contextlib.contextmanager
def deferred() -> Iterator[None]:
    global _depth, _pending
    _depth += 1
    try:
        yield
    finally:
        _depth -= 1
        if not _depth and _pending:
            _pending = False
            raise Terminated
