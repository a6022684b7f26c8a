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

from benchmarks.schedule import Unit

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
