"""Execute a plan: nox sessions as child process groups, a deadline, Ctrl-C, a log.

Phases run in order. Within a phase, up to ``plan.concurrency`` sessions run at
once, started in plan order (one session, hence one benchmark, per core); a benchmark
never runs beside a session that spreads over every core (R3, R4). A failing
session does not stop the others: its evidence is then missing, and the gates
reject with the reason.
Every line a child prints goes to ``pipeline.log`` with a timestamp and the
session's name; the terminal gets progress lines (and the children's output
with ``--verbose``).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess  # nosec B404  # runs nox sessions from a fixed plan, no shell
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from pipeline.plan import PHASES, Plan, Step

POLL_SECONDS = 0.1
TERMINATE_GRACE_SECONDS = 10.0


class PipelineTimeout(Exception):
    """The plan's deadline passed; every child has been stopped."""


class PipelineInterrupted(Exception):
    """Ctrl-C (SIGINT) or SIGTERM; every child has been stopped."""


@dataclass
class StepResult:
    step: Step
    status: str = "pending"  # pending | running | ok | failed | timeout | interrupted
    returncode: int | None = None
    started: float | None = None
    seconds: float | None = None


@dataclass
class Outcome:
    results: list[StepResult]
    seconds: float
    concurrency: int
    stopped: str | None = None  # "timeout" | "interrupted" | None
    stage_seconds: dict[str, float] = field(default_factory=dict)


class Log:
    """``pipeline.log`` plus the terminal; thread-safe, line-buffered."""

    def __init__(self, path: Path, *, verbose: bool, terminal: IO[str] = sys.stderr) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = path.open("a", encoding="utf-8")
        self._verbose = verbose
        self._terminal = terminal
        self._lock = threading.Lock()
        self._start = time.monotonic()

    def elapsed(self) -> float:
        return time.monotonic() - self._start

    def progress(self, message: str) -> None:
        line = f"[{self.elapsed():7.1f}s] {message}"
        with self._lock:
            self._file.write(f"{_stamp()} pipeline: {message}\n")
            self._file.flush()
            print(line, file=self._terminal, flush=True)

    def child(self, session: str, text: str) -> None:
        with self._lock:
            self._file.write(f"{_stamp()} {session}: {text}")
            self._file.flush()
            if self._verbose:
                print(f"  {session} | {text}", end="", file=self._terminal, flush=True)

    def close(self) -> None:
        self._file.close()


def _stamp() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime())


CommandFor = Callable[[Step], list[str]]


def nox_command(step: Step) -> list[str]:
    return step.command()


class _Child:
    def __init__(
        self, result: StepResult, log: Log, env: dict[str, str], command_for: CommandFor
    ) -> None:
        self.result = result
        self.process = subprocess.Popen(  # nosec B603  # fixed argument list from the plan
            command_for(result.step),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
            errors="replace",
            env=env,
            # Its own process group: we stop the whole tree (nox, its venv's python,
            # benchmark workers) with one signal, and a terminal Ctrl-C reaches only us.
            start_new_session=True,
        )
        self._reader = threading.Thread(target=self._pump, args=(log,), daemon=True)
        self._reader.start()

    def _pump(self, log: Log) -> None:
        if self.process.stdout is None:  # always a pipe (see __init__); for the type checker
            return
        with self.process.stdout as output:
            for line in output:
                log.child(self.result.step.session, line)

    def poll(self) -> int | None:
        return self.process.poll()

    def stop(self) -> None:
        """SIGTERM the process group, then SIGKILL whatever outlives the grace period."""
        if self.process.poll() is not None:
            return
        _signal_group(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(TERMINATE_GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            _signal_group(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def join(self) -> None:
        self._reader.join(timeout=5)


def _signal_group(pid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signum)


def execute(
    plan: Plan,
    log: Log,
    *,
    env: dict[str, str] | None = None,
    before_phase: Callable[[str, list[StepResult]], None] | None = None,
    command_for: CommandFor = nox_command,
) -> Outcome:
    """Run the plan to the end, or until the deadline or an interrupt.

    ``before_phase(phase, results_so_far)`` is called before each phase starts
    (the orchestrator writes ``timings.json`` before evaluating).
    ``command_for`` maps a step to its argv: nox by default; tests substitute
    simulated sessions.
    """
    deadline = time.monotonic() + plan.options.timeout_seconds
    results = [StepResult(step) for step in plan.steps]
    child_env = dict(os.environ if env is None else env)
    running: list[_Child] = []
    started = time.monotonic()
    stopped: str | None = None
    previous = _install_sigterm_handler()
    try:
        for phase in PHASES:
            pending = [result for result in results if result.step.phase == phase]
            if not pending:
                continue
            if before_phase is not None:
                before_phase(phase, results)
            # Every phase gets the plan's concurrency: the building sessions (boot, lint,
            # smoke) are independent too; tracking and evaluating are one session each.
            _run_phase(pending, plan.concurrency, deadline, log, child_env, running, command_for)
    except PipelineTimeout:
        stopped = "timeout"
        _stop_all(running, "timeout", log)
    except (KeyboardInterrupt, PipelineInterrupted):
        stopped = "interrupted"
        _stop_all(running, "interrupted", log)
    finally:
        signal.signal(signal.SIGTERM, previous)
    return Outcome(
        results=results,
        seconds=time.monotonic() - started,
        concurrency=plan.concurrency,
        stopped=stopped,
        stage_seconds={
            result.step.session: round(result.seconds, 3)
            for result in results
            if result.seconds is not None
        },
    )


def _run_phase(
    pending: list[StepResult],
    limit: int,
    deadline: float,
    log: Log,
    env: dict[str, str],
    running: list[_Child],
    command_for: CommandFor,
) -> None:
    queue = list(pending)
    while queue or running:
        while queue and len(running) < limit and may_start(queue[0].step, _steps(running)):
            result = queue.pop(0)
            result.status, result.started = "running", time.monotonic()
            log.progress(f"▶ {result.step.stage} {result.step.session}")
            running.append(_Child(result, log, env, command_for))
        if time.monotonic() > deadline:
            raise PipelineTimeout
        time.sleep(POLL_SECONDS)
        for child in [child for child in running if child.poll() is not None]:
            running.remove(child)
            child.join()
            _finish(child, log)


def _steps(running: list[_Child]) -> list[Step]:
    return [child.result.step for child in running]


def may_start(step: Step, others: Sequence[Step]) -> bool:
    """A benchmark and a session that spreads over every core never run side by side
    (the queue waits, in order, rather than skip ahead)."""
    if step.uses_every_core:
        return not any(other.is_benchmark for other in others)
    if step.is_benchmark:
        return not any(other.uses_every_core for other in others)
    return True


def _finish(child: _Child, log: Log) -> None:
    result = child.result
    result.returncode = child.process.returncode
    result.seconds = time.monotonic() - (result.started or time.monotonic())
    result.status = "ok" if result.returncode == 0 else "failed"
    mark = "✔" if result.status == "ok" else "✘"
    detail = "" if result.status == "ok" else f", exit {result.returncode}, see pipeline.log"
    step = result.step
    log.progress(f"{mark} {step.stage} {step.session} ({result.seconds:.1f} s{detail})")


def _stop_all(running: list[_Child], status: str, log: Log) -> None:
    log.progress(f"stopping {len(running)} running session(s): {status}")
    for child in running:
        child.stop()
        child.join()
        result = child.result
        result.status, result.returncode = status, child.process.returncode
        result.seconds = time.monotonic() - (result.started or time.monotonic())
    running.clear()


def _install_sigterm_handler() -> signal.Handlers | Callable[..., object] | int | None:
    def on_sigterm(signum: int, frame: object) -> None:
        raise PipelineInterrupted

    return signal.signal(signal.SIGTERM, on_sigterm)
