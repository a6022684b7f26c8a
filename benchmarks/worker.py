"""The trial worker: one long-lived process per arm, packing on request.

Run as ``python -m benchmarks.worker``. The runner starts it with exactly its
arm's ``FASTPATH_*`` flags in the environment and nothing else of the kind, so
``packrepo.pack(..., flags=None)`` reads that arm's flags and no other.

Protocol (JSON lines): on start-up the worker writes one ``ready`` line with
its pid, its own ``FASTPATH_*`` environment and the flags packrepo parsed from
it (the runner checks both against the arm). Then for every request line::

    {"op": "pack", "tree": ..., "budget": 120000, "query": ..., "gold": {...}}

it writes one response line: ``ok``, ``qa_score``, ``pack_tokens``,
``latency_ns``, ``peak_rss_bytes``, ``memory_method`` and the evidence counts,
or ``ok: false`` and ``error``. ``{"op": "exit"}`` or end of input stops it.

Measurement: latency is ``time.perf_counter_ns()`` around the ``pack`` call
alone. On Linux, peak memory is how far this process's resident set size rose
during the call above the RSS the worker had when it became ready (``packrepo``
imported, nothing packed yet; the ready line reports it as ``rss_ready_bytes``):
the peak is reset before the call by writing ``5`` to ``/proc/self/clear_refs``
and ``VmHWM`` is read from ``/proc/self/status`` after it
(``linux-vmhwm-above-ready``). Elsewhere ``ru_maxrss``, the whole process's peak
since it started, is all there is (``ru-maxrss-since-start``). Either way the
memory of child processes (V2's pool) is not included.

Why above the ready RSS: two workers of one arm start with different resident
sizes (their environments and address-space layouts differ), and that offset
was in every trial of one arm: a first run on a fresh machine measured the
baseline 1.1% apart from itself and rejected every variant. Measured from its
own start, a worker still carries everything its packs keep (caches, kept
trees, the allocator's retained heap), which is the arm's cost, but not what it
held before its first pack. What remains between two workers of one arm is
small: on the 2-core machine nine A/A runs put them -0.15% to +0.29% apart
(``aa_tolerance`` is 1%). The base is smaller than the whole process (about 55
MiB instead of 80 for the standard profile), so a relative memory change reads
larger than it did when measured on the whole process.

Why no worker writes bytecode (``PYTHONDONTWRITEBYTECODE``, set by
``benchmarks.arms``): in a new virtualenv nothing is compiled yet, and the first
worker of a run compiled every module the second then loaded from its ``.pyc``.
The compiler's freed memory stayed in the first worker's ready RSS, about 0.8
MiB, so its peaks read low: a first pipeline on a fresh clone rejected every
variant on an A/A memory change of +1.1%. Now both workers of a run import from
the same files.
"""

from __future__ import annotations

import gc
import os
import sys
import time
import traceback
from pathlib import Path
from typing import IO, Any

import orjson

from benchmarks.oracle import GoldSpan, score_evidence

CLEAR_REFS = Path("/proc/self/clear_refs")
STATUS = Path("/proc/self/status")


def _reset_peak_rss() -> bool:
    """Reset this process's peak RSS to its current RSS; False where Linux does not allow it."""
    try:
        CLEAR_REFS.write_text("5")
    except OSError:
        return False
    return True


def _status_bytes(field: str) -> int | None:
    """A size field of /proc/self/status (``VmHWM``, ``VmRSS``) in bytes, or None."""
    try:
        for line in STATUS.read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def _ru_maxrss_bytes() -> int | None:
    try:
        import resource
    except ImportError:  # pragma: no cover - not on POSIX
        return None
    scale = 1 if sys.platform == "darwin" else 1024  # bytes on macOS, KiB on Linux
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * scale


class _Worker:
    def __init__(self) -> None:
        import packrepo  # imported before the first trial, so no trial pays for it

        self.packrepo = packrepo
        self.file_lines: dict[tuple[str, str], list[str]] = {}
        # Read last, once everything the worker keeps for itself is loaded.
        self.rss_ready = _status_bytes("VmRSS")
        self.can_reset_peak = (
            self.rss_ready is not None and _reset_peak_rss() and _status_bytes("VmHWM") is not None
        )
        self.memory_method = (
            "linux-vmhwm-above-ready" if self.can_reset_peak else "ru-maxrss-since-start"
        )

    def ready(self) -> dict[str, Any]:
        fastpath_env = {k: v for k, v in os.environ.items() if k.startswith("FASTPATH_")}
        flags = self.packrepo.Flags.from_environ(os.environ).to_manifest()
        return {
            "event": "ready",
            "pid": os.getpid(),
            "fastpath_env": fastpath_env,
            "effective_flags": flags,
            "memory_method": self.memory_method,
            "rss_ready_bytes": self.rss_ready,
            "python": sys.version.split()[0],
        }

    def lines_of(self, tree: str, path: str) -> list[str]:
        key = (tree, path)
        if key not in self.file_lines:
            self.file_lines[key] = (Path(tree) / path).read_text(encoding="utf-8").split("\n")
        return self.file_lines[key]

    def pack(self, request: dict[str, Any]) -> dict[str, Any]:
        gold = GoldSpan(**request["gold"])
        file_lines = self.lines_of(request["tree"], gold.path)
        gc.collect()  # outside the timed call: no arm pays for the previous one's garbage
        if self.can_reset_peak:
            _reset_peak_rss()
        started = time.perf_counter_ns()
        result = self.packrepo.pack(request["tree"], request["budget"], request["query"])
        latency_ns = time.perf_counter_ns() - started
        if self.can_reset_peak and self.rss_ready is not None:
            peak = _status_bytes("VmHWM")
            # RSS can in principle fall below the ready RSS (pages returned): never negative.
            peak = None if peak is None else max(0, peak - self.rss_ready)
        else:
            peak = _ru_maxrss_bytes()
        evidence = score_evidence(gold, file_lines, result.manifest["items"], result.text)
        return {
            "ok": True,
            "error": None,
            "qa_score": evidence.score,
            "pack_tokens": int(result.tokens),
            "latency_ns": latency_ns,
            "peak_rss_bytes": peak,
            "memory_method": self.memory_method,
            "gold_lines": evidence.gold_lines,
            "present_lines": evidence.present_lines,
            "unverified_lines": evidence.unverified_lines,
        }


def _emit(stream: IO[bytes], message: dict[str, Any]) -> None:
    stream.write(orjson.dumps(message) + b"\n")
    stream.flush()


def _failure(exc: BaseException) -> dict[str, Any]:
    return {"ok": False, "error": f"{type(exc).__name__}: {exc}".strip().rstrip(":")}


def serve(requests: IO[bytes], responses: IO[bytes]) -> None:
    try:
        worker = _Worker()
        ready = worker.ready()
    except Exception as exc:  # the runner reports a worker that cannot start (bad flags, ...)
        _emit(responses, {"event": "failed", "error": _failure(exc)["error"]})
        return
    _emit(responses, ready)
    for line in requests:
        request = orjson.loads(line)
        if request.get("op") == "exit":
            break
        try:
            _emit(responses, worker.pack(request))
        except Exception as exc:  # a failed trial is recorded, never dropped
            traceback.print_exc(file=sys.stderr)
            _emit(responses, _failure(exc))


def main() -> None:
    # The protocol owns the real stdout; anything else that prints goes to stderr.
    responses = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    sys.stdout = sys.stderr
    serve(sys.stdin.buffer, responses)


if __name__ == "__main__":
    main()
