"""The design of a run's timed trials: fixed, or sequential in looks (issue #14).

A sequential run measures look by look (``benchmarks.schedule.unit_looks``) and,
after each look, asks a *monitor* whether to go on. The monitor is statistics, so
it lives downstream (``analysis.monitor``) and is handed to the runner by the
orchestrator (``pipeline.monitored``); this module holds only what the runner and
the artifact need: the record of the design and of every look, and the type of a
monitor. The stopping rule never has to be trusted: the analysis judges a stopped
run with repeated confidence intervals, valid at whatever look it stopped.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from benchmarks.schedule import ScheduledTrial, Unit, unit_looks

if TYPE_CHECKING:  # the artifact module imports this one for Design
    from benchmarks.artifact import Trial

FIXED = "fixed"
SEQUENTIAL = "sequential"
DESIGN_KINDS = (FIXED, SEQUENTIAL)


@dataclass(frozen=True)
class LookRecord:
    """What the monitor said after one look: the measured units so far, stop or go on."""

    look: int  # 1-based
    units: int  # measured units through this look (cumulative)
    stop: bool
    summary: str  # the monitor's one-line account, for the report


@dataclass(frozen=True)
class Design:
    """How the run was sized: ``looks`` planned, the last one taken, and why it stopped."""

    kind: str  # FIXED or SEQUENTIAL
    looks: int  # planned looks; 1 for the fixed design
    stopped_at_look: int  # the last look taken
    reason: str
    taken: tuple[LookRecord, ...]  # one per look taken (empty for the fixed design)

    @property
    def stopped_early(self) -> bool:
        return self.stopped_at_look < self.looks


FIXED_DESIGN = Design(FIXED, 1, 1, "the fixed design measures every unit", ())


def design_kind(looks: int) -> str:
    """The design of a run planned in ``looks`` looks, monitor or not. One look is the
    fixed design: it is the last look, so it measures every unit and is judged at the
    final level whatever a monitor would say. The stream header and the artifact's record
    both name the design by this rule, so a one-look run resumes with or without one."""
    return SEQUENTIAL if looks > 1 else FIXED


@dataclass(frozen=True)
class LookData:
    """What a monitor sees at a look: the units measured so far and their trials."""

    look: int
    looks: int
    units: Sequence[Unit]  # every planned unit
    unit_looks: Sequence[int]  # the look of each planned unit
    trials: Sequence[Trial]  # measured through this look (no warm-ups)

    @property
    def measured_units(self) -> int:
        return sum(1 for k in self.unit_looks if k <= self.look)

    @property
    def fractions(self) -> tuple[float, ...]:
        """The information fraction of every look so far: measured units over planned."""
        total = len(self.unit_looks)
        return tuple(
            sum(1 for k in self.unit_looks if k <= look) / total for look in range(1, self.look + 1)
        )


@dataclass(frozen=True)
class MonitorVerdict:
    stop: bool
    summary: str


Monitor = Callable[[LookData], MonitorVerdict]


class LookError(ValueError):
    """A sequential run that cannot be run or continued as planned."""


def look_ends(
    schedule: Sequence[ScheduledTrial] | Sequence[Trial], units: Sequence[Unit], looks: int
) -> list[int]:
    """Where each look ends in the schedule, or in a run's trials in schedule order (warm-ups
    first); every look an even number of pairs, so the ABBA counterbalancing holds in it."""
    warmup_trials = sum(1 for s in schedule if s.warmup)
    assigned = unit_looks(units, looks)
    sizes = [sum(1 for k in assigned if k == look) for look in range(1, looks + 1)]
    if looks > 1 and any(size == 0 or size % 2 for size in sizes):
        raise LookError(
            f"the looks hold {sizes} pairs: a sequential run needs an even, non-zero number"
            " of pairs in every look (a profile with more questions, or --fixed)"
        )
    return [warmup_trials + 2 * sum(sizes[:look]) for look in range(1, looks + 1)]


def measure_in_looks(
    monitor: Monitor,
    units: Sequence[Unit],
    ends: Sequence[int],
    measured: Sequence[Trial],
    measure: Callable[[int, int], list[Trial]],
) -> tuple[list[Trial], Design]:
    """Measure the schedule up to each look's end (``measure(start, end)``) and ask the
    monitor after each. A resumed run's ``measured`` trials are asked about again, look
    by look, so it takes the same looks; trials past the look that stops are refused.
    A single look is the fixed design (:func:`design_kind`): the monitor is not asked."""
    looks = len(ends)
    if design_kind(looks) == FIXED:
        return list(measured) + measure(len(measured), ends[-1]), FIXED_DESIGN
    assigned = unit_looks(units, looks)
    trials = list(measured)
    taken: list[LookRecord] = []
    for look, end in enumerate(ends, start=1):
        if len(trials) < end:
            trials += measure(len(trials), end)
        data = LookData(look, looks, units, assigned, [t for t in trials[:end] if not t.warmup])
        verdict = monitor(data)
        taken.append(LookRecord(look, data.measured_units, verdict.stop, verdict.summary))
        if verdict.stop or look == looks:
            if len(trials) > end:
                raise LookError(
                    f"the stream holds trials past look {look}, where the monitor stops the"
                    " run: it is not this design's stream"
                )
            reason = f"look {look}: {verdict.summary}" if verdict.stop else "the last planned look"
            return trials, Design(SEQUENTIAL, looks, look, reason, tuple(taken))
    raise AssertionError("unreachable: the last look always stops")
