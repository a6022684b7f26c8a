"""Execute a plan: nox sessions as child process groups, a deadline, Ctrl-C, a log.

Phases run in order. Within a phase, up to ``plan.concurrency`` sessions run at
once, started in plan order (one session per core). A benchmark runs alone: never
beside another benchmark, nor beside a session that spreads over every core (R3,
R4); only R2, on one core, may share the machine with it (:func:`may_start`).
Each step's start and end are recorded (monotonic seconds since the run started)
so ``timings.json`` can show that no two benchmarks overlapped: a step's interval
opens before its process starts and closes after its whole process group is gone.
A failing session does not stop the others: its evidence is then missing, and the
gates reject with the reason.
Every line a child prints goes to ``pipeline.log`` (:mod:`pipeline.log`) with a timestamp and the
session's name; the terminal gets progress lines (and the children's output
with ``--verbose``).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess  # nosec B404  # runs nox sessions from a fixed plan, no shell
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from contracts.exitcodes import ExitCode
from pipeline.log import Log
from pipeline.plan import PHASES, Plan, Step

POLL_SECONDS = 0.1
TERMINATE_GRACE_SECONDS = 10.0


class PipelineTimeout(Exception):
    """The plan's deadline passed; every child has been stopped."""


class PipelineInterrupted(Exception):
    """Ctrl-C (SIGINT) or SIGTERM; every child has been stopped."""


class StopRun(Exception):
    """The orchestrator cannot go on (it cannot write to ``artifacts/``); raised by a
    ``before_phase`` hook, it stops the run like a timeout, with this message."""


@dataclass
class StepResult:
    step: Step
    status: str = "pending"  # pending | running | ok | failed | timeout | interrupted
    returncode: int | None = None
    started: float | None = None  # time.monotonic() when it started
    seconds: float | None = None
    # Its interval in seconds since the run started, on the monotonic clock.
    start_seconds: float | None = None
    end_seconds: float | None = None


@dataclass
class Outcome:
    results: list[StepResult]
    seconds: float
    concurrency: int
    stopped: str | None = None  # "timeout" | "interrupted" | "error" | None
    stage_seconds: dict[str, float] = field(default_factory=dict)
    error: str | None = None  # why the run stopped with "error"


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

    def stop_leftovers(self) -> None:
        """A session is over only when its whole process group is: a worker that
        outlived nox would otherwise run beside the next benchmark."""
        _signal_group(self.process.pid, signal.SIGKILL)

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
    started = time.monotonic()
    deadline = started + plan.options.timeout_seconds
    results = [StepResult(step) for step in plan.steps]
    # Every session inherits the orchestrator's environment (the run id among it, so
    # that every artifact of the run records the same run id).
    child_env = dict(os.environ if env is None else env)
    running: list[_Child] = []
    stopped: str | None = None
    error: str | None = None
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
            _run_phase(
                pending,
                _Schedule(plan.concurrency, started, deadline),
                log,
                child_env,
                running,
                command_for,
            )
    except PipelineTimeout:
        stopped = "timeout"
        _stop_all(running, "timeout", log, started)
    except (KeyboardInterrupt, PipelineInterrupted):
        stopped = "interrupted"
        _stop_all(running, "interrupted", log, started)
    except StopRun as exc:
        stopped, error = "error", str(exc)
        _stop_all(running, "interrupted", log, started)
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
        error=error,
    )


@dataclass(frozen=True)
class _Schedule:
    limit: int  # sessions at once
    origin: float  # time.monotonic() when the run started
    deadline: float


def _run_phase(
    pending: list[StepResult],
    schedule: _Schedule,
    log: Log,
    env: dict[str, str],
    running: list[_Child],
    command_for: CommandFor,
) -> None:
    queue = list(pending)
    while queue or running:
        while queue and len(running) < schedule.limit and may_start(queue[0].step, _steps(running)):
            _start(queue.pop(0), schedule, log, env, running, command_for)
        if time.monotonic() > schedule.deadline:
            raise PipelineTimeout
        time.sleep(POLL_SECONDS)
        log.tick()
        for child in [child for child in running if child.poll() is not None]:
            child.stop_leftovers()
            running.remove(child)
            child.join()
            _finish(child, log, schedule.origin)


def _start(
    result: StepResult,
    schedule: _Schedule,
    log: Log,
    env: dict[str, str],
    running: list[_Child],
    command_for: CommandFor,
) -> None:
    # The interval opens before the process exists, so it contains the whole process.
    result.status, result.started = "running", time.monotonic()
    result.start_seconds = result.started - schedule.origin
    log.progress(f"▶ {result.step.stage} {result.step.session}")
    log.started(result.step.session, result.step.stage)
    try:
        running.append(_Child(result, log, env, command_for))
    except OSError as exc:
        # Not started (no such interpreter, ...): a failed session like any other.
        result.status, result.returncode = "failed", None
        result.end_seconds = time.monotonic() - schedule.origin
        result.seconds = result.end_seconds - result.start_seconds
        log.finished(result.step.session)
        log.progress(f"✘ {result.step.stage} {result.step.session} (cannot start: {exc})")


def _steps(running: list[_Child]) -> list[Step]:
    return [child.result.step for child in running]


def may_start(step: Step, others: Sequence[Step]) -> bool:
    """Whether ``step`` may start while ``others`` run.

    A benchmark runs beside no other benchmark and no session that spreads over
    every core; such a session runs beside no benchmark. The queue waits, in order,
    rather than skip ahead, so the benchmarks follow one another in plan order.
    """
    if step.is_benchmark:
        return not any(other.is_benchmark or other.uses_every_core for other in others)
    if step.uses_every_core:
        return not any(other.is_benchmark for other in others)
    return True


def _finish(child: _Child, log: Log, origin: float) -> None:
    result = child.result
    result.returncode = child.process.returncode
    ended = time.monotonic()
    result.seconds = ended - (result.started or ended)
    result.end_seconds = ended - origin
    result.status = "ok" if result.returncode == 0 else "failed"
    step = result.step
    # The gates exit 1 on reject: a decision reached, not a session that broke.
    rejected = step.session == "gates" and result.returncode == ExitCode.REJECT
    mark = "✔" if result.status == "ok" or rejected else "✘"
    detail = "" if result.status == "ok" else f", exit {result.returncode}, see pipeline.log"
    detail = ", decision: reject" if rejected else detail
    log.finished(step.session)
    log.progress(f"{mark} {step.stage} {step.session} ({result.seconds:.1f} s{detail})")


def _stop_all(running: list[_Child], status: str, log: Log, origin: float) -> None:
    if running:
        log.progress(f"stopping {len(running)} running session(s): {status}")
    for child in running:
        child.stop()
        child.stop_leftovers()
        child.join()
        result = child.result
        result.status, result.returncode = status, child.process.returncode
        ended = time.monotonic()
        result.seconds = ended - (result.started or ended)
        result.end_seconds = ended - origin
        log.finished(result.step.session)
    running.clear()


def _install_sigterm_handler() -> signal.Handlers | Callable[..., object] | int | None:
    def on_sigterm(signum: int, frame: object) -> None:
        raise PipelineInterrupted

    return signal.signal(signal.SIGTERM, on_sigterm)
