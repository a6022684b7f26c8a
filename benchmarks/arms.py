"""Arms and their worker processes, seen from the runner.

An arm is a name and the registry flags its worker runs with. Each arm gets its
own long-lived worker (``python -m benchmarks.worker``) started with
:func:`worker_environment`: a minimal base environment with every ``FASTPATH_*``
variable removed, then exactly the arm's flags, then a fresh
``FASTPATH_CACHE_DIR`` of its own. The worker reports its ``FASTPATH_*``
environment on start-up and :meth:`ArmWorker.start` refuses a worker that sees
anything else, so nothing leaks between arms.
"""

from __future__ import annotations

import contextlib
import os
import select
import subprocess  # nosec B404  # starts this interpreter's workers, no shell
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import orjson

from packrepo.registry import Registry

# What a worker inherits from the runner's environment; everything else is dropped.
BASE_VARIABLES = (
    "PATH",
    "HOME",
    "USER",
    "LANG",
    "LC_ALL",
    "LC_CTYPE",
    "TMPDIR",
    "TZ",
    "VIRTUAL_ENV",
    "PYTHONPATH",
    "SYSTEMROOT",
)
PROJECT_ROOT = Path(__file__).resolve().parent.parent
_START_TIMEOUT_S = 120.0


class WorkerError(RuntimeError):
    """A worker could not start, saw the wrong flags, died or timed out."""


@dataclass(frozen=True)
class Arm:
    name: str  # "baseline", "baseline-2" or the variant's name
    variant: str
    flags: dict[str, str]


def plan_arms(registry: Registry, variant: str) -> tuple[Arm, Arm]:
    """The two arms of a run: baseline against the variant, or baseline against itself (A/A)."""
    baseline = registry.baseline
    chosen = registry.variant(variant)
    first = Arm("baseline", baseline.name, dict(baseline.flags))
    if chosen.is_baseline:
        return first, Arm("baseline-2", baseline.name, dict(baseline.flags))
    return first, Arm(chosen.name, chosen.name, dict(chosen.flags))


def worker_environment(arm: Arm, base: Mapping[str, str], cache_dir: Path) -> dict[str, str]:
    """The whole environment of an arm's worker (pure)."""
    environment = {
        key: value
        for key, value in base.items()
        if key in BASE_VARIABLES and not key.startswith("FASTPATH_")
    }
    # Fixed hash seed: set and dict-of-str orders are the same in every worker and every run.
    environment["PYTHONHASHSEED"] = "0"
    # No worker writes bytecode, so every worker of a run imports from the same files. In a
    # new virtualenv (uv writes no .pyc) the first worker used to compile what the second
    # then loaded, and kept the compiler's garbage in its ready RSS: its peaks, measured
    # above that RSS, read 0.5-1.1% low, and an A/A run failed on memory (issue #14).
    environment["PYTHONDONTWRITEBYTECODE"] = "1"
    environment.update(arm.flags)
    environment["FASTPATH_CACHE_DIR"] = str(cache_dir)
    return environment


def expected_fastpath_env(arm: Arm, cache_dir: Path) -> dict[str, str]:
    return {**arm.flags, "FASTPATH_CACHE_DIR": str(cache_dir)}


class ArmWorker:
    """A running worker for one arm; one request, one response, in order."""

    def __init__(self, arm: Arm, *, scratch: Path, python: str = sys.executable) -> None:
        self.arm = arm
        self.python = python
        self.cache_dir = Path(tempfile.mkdtemp(prefix=f"cache-{arm.name}-", dir=scratch))
        self.log_path = scratch / f"worker-{arm.name}.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.ready: dict[str, Any] = {}

    def start(self, base_environment: Mapping[str, str] | None = None) -> dict[str, Any]:
        """Start the worker and check that it sees exactly its arm's flags."""
        environment = worker_environment(
            self.arm, os.environ if base_environment is None else base_environment, self.cache_dir
        )
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(  # nosec B603  # this interpreter, fixed module
                [self.python, "-m", "benchmarks.worker"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                env=environment,
                cwd=PROJECT_ROOT,
            )
        message = self._receive(_START_TIMEOUT_S)
        if message.get("event") != "ready":
            self.stop()
            raise WorkerError(
                f"worker of arm {self.arm.name} failed to start: {message.get('error')}"
            )
        expected = expected_fastpath_env(self.arm, self.cache_dir)
        if message.get("fastpath_env") != expected:
            self.stop()
            raise WorkerError(
                f"worker of arm {self.arm.name} sees FASTPATH_* = {message.get('fastpath_env')},"
                f" expected {expected}"
            )
        self.ready = message
        return message

    def request(self, payload: Mapping[str, Any], timeout_s: float) -> dict[str, Any]:
        """Send one request; a dead or silent worker raises :class:`WorkerError`."""
        process = self._running()
        if process.stdin is None:
            raise WorkerError(f"worker of arm {self.arm.name} has no input pipe")
        try:
            process.stdin.write(orjson.dumps(payload) + b"\n")
            process.stdin.flush()
        except BrokenPipeError:
            raise WorkerError(self._death_note()) from None
        return self._receive(timeout_s)

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None:
            return
        try:
            if process.poll() is None and process.stdin is not None:
                process.stdin.write(b'{"op": "exit"}\n')
                process.stdin.flush()
            process.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            process.kill()
            process.wait()
        finally:
            _close_pipes(process)

    def log_tail(self, lines: int = 5) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return " | ".join(text.strip().splitlines()[-lines:])

    def _running(self) -> subprocess.Popen[bytes]:
        if self.process is None:
            raise WorkerError(f"worker of arm {self.arm.name} is not running")
        return self.process

    def _receive(self, timeout_s: float) -> dict[str, Any]:
        process = self._running()
        if process.stdout is None:
            raise WorkerError(f"worker of arm {self.arm.name} has no output pipe")
        line = _read_line(process.stdout, timeout_s)
        if line is None:
            process.kill()
            process.wait()
            _close_pipes(process)
            self.process = None
            raise WorkerError(f"worker of arm {self.arm.name} gave no answer in {timeout_s:.0f} s")
        if not line:
            process.wait()
            raise WorkerError(self._death_note())
        message = orjson.loads(line)
        if not isinstance(message, dict):
            raise WorkerError(f"worker of arm {self.arm.name} sent {message!r}")
        return message

    def _death_note(self) -> str:
        process = self._running()
        code = process.poll()
        _close_pipes(process)
        self.process = None
        return f"worker of arm {self.arm.name} died (exit {code}): {self.log_tail()}"


def _close_pipes(process: subprocess.Popen[bytes]) -> None:
    for pipe in (process.stdin, process.stdout):
        if pipe is not None:
            with contextlib.suppress(OSError):  # the worker is gone; unread input is moot
                pipe.close()


def _read_line(stream: IO[bytes], timeout_s: float) -> bytes | None:
    """One line, or None after ``timeout_s``; b"" at end of file. Lines arrive whole."""
    ready, _, _ = select.select([stream], [], [], timeout_s)
    if not ready:
        return None
    return stream.readline()
