"""The sequential monitor of a variant's timed trials, and the level of a stopped run.

After each look (``benchmarks.looks``) the monitor computes every gated timed
comparison of the variant, exactly as the analysis will (the cluster t of
:mod:`analysis.calibrated` on question clusters), and decides each with the
group-sequential design of :mod:`analysis.sequential`: Lan-DeMets
O'Brien-Fleming efficacy boundaries at the family's one-sided level ``alpha /
m``, over the looks actually taken, and non-binding beta-spending futility.

The variant stops as soon as its timed verdict is known: every comparison
established (non-inferiority at every budget, and a performance variant's
promise), or one of them futile (it cannot pass its gates; futility is
non-binding, so the error rate never depended on obeying it). The last planned
look ends the run whatever it shows.

The rule the gates rely on is not the monitor's: the analysis judges a stopped
run with the repeated confidence interval of its last look
(:func:`look_level`), valid at any look however the run came to stop (Jennison
& Turnbull 2000, ch. 9). So a monitor that stops too early or too late costs
power, never error rate.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

import numpy as np

from analysis.artifacts import AA_SECOND_ARM, ArmTrials, Machine, PairedUnits, pair_arms
from analysis.calibrated import LogRatio, cluster_t
from analysis.errors import AnalysisInputError
from analysis.sequential import (
    Comparison,
    LookEstimate,
    SequentialDecision,
    SequentialDesign,
    decide,
    plan_design,
)
from analysis.spending import group_sequential_boundaries
from benchmarks.artifact import Artifact
from benchmarks.looks import SEQUENTIAL, LookData, MonitorVerdict
from contracts.family import POOLED, UPPER, gated_bounds
from contracts.names import budget_label
from contracts.thresholds import LATENCY_MEAN, PEAK_MEMORY, GateThresholds
from packrepo.registry import Registry

# What the timed trials measure; the QA and recall bounds come from the quality stage.
TIMED_METRICS = (LATENCY_MEAN, PEAK_MEMORY)
_SHORT = {LATENCY_MEAN: "latency", PEAK_MEMORY: "memory"}


@dataclass(frozen=True)
class TimedBound:
    """One gated bound the timed trials decide: ``metric`` at ``budget`` (or pooled)."""

    metric: str
    budget: str
    comparison: Comparison

    @property
    def label(self) -> str:
        return bound_label(self.metric, self.budget)


def bound_label(metric: str, budget: str) -> str:
    """How ``futile_bounds`` and the monitor's reasons name a timed bound: "latency 50k"."""
    return f"{_SHORT[metric]} {budget}"


def timed_bounds(
    registry: Registry, thresholds: GateThresholds, variant: str
) -> tuple[TimedBound, ...]:
    """The variant's gated bounds on timed metrics, with what each must establish."""
    bounds = []
    for bound in gated_bounds(registry, thresholds, registry.budgets):
        if bound.variant != variant or bound.metric not in TIMED_METRICS:
            continue
        if bound.side != UPPER:  # every timed bound is an upper one: smaller is better
            raise AnalysisInputError(f"{bound.label}: a timed bound must be an upper bound")
        threshold = 0.0 if bound.budget == POOLED else thresholds.performance_regression
        bounds.append(TimedBound(bound.metric, bound.budget, Comparison(threshold, "upper")))
    return tuple(bounds)


@cache
def design_for(alpha_bound: float, power: float, looks: int) -> SequentialDesign:
    """The planned design of every timed bound: one-sided ``alpha / m``, ``looks`` equal looks."""
    return plan_design(alpha_bound, power, looks=looks)


def look_level(alpha_bound: float, fractions: Sequence[float], *, final: bool) -> float:
    """The two-sided level of the repeated confidence interval at the last of ``fractions``:
    each bound one-sided at that look's nominal level (efficacy spending only, since
    futility is non-binding). A single final look gives ``1 - 2 alpha / m``, the fixed level."""
    bounds = group_sequential_boundaries(alpha_bound, fractions, final=final)
    return 1.0 - 2.0 * bounds.nominal_levels[-1]


def _estimate(paired: PairedUnits, bound: TimedBound) -> LookEstimate | None:
    if bound.budget == POOLED:
        cell = paired
    else:
        labels = np.array([budget_label(int(b)) for b in paired.budgets])
        cell = paired.select(labels == bound.budget)
    baseline, variant = cell.baseline, cell.variant
    if bound.metric == LATENCY_MEAN:
        ratio = LogRatio.mean_ratio(variant.latency_ms, baseline.latency_ms, bound.metric)
    else:
        if not (np.all(np.isfinite(baseline.peak_rss_mib)) and cell.n_paired):
            return None
        ratio = LogRatio.mean_ratio(variant.peak_rss_mib, baseline.peak_rss_mib, bound.metric)
    if len(set(cell.questions)) < 2:
        return None  # no interval yet (an empty budget, or every trial of it failed): open
    try:
        interval = cluster_t(ratio, cell.questions, 0.5)  # the level does not change L or se
    except (AnalysisInputError, ValueError):
        return None
    return LookEstimate(interval.log_estimate, interval.standard_error, interval.n_clusters - 1)


def paired_trials(data: LookData, baseline: str, variant: str) -> PairedUnits:
    """The look's trials paired by unit (one run, one machine: no machine check)."""
    here = Machine("", "", "", None, "")

    def arm(name: str) -> ArmTrials:
        trials = {t.unit_id: t for t in data.trials if t.arm == name and not t.warmup}
        return ArmTrials("the trial stream", name, here, trials)

    return pair_arms(arm(baseline), arm(variant), timing=False)


@dataclass(frozen=True)
class LookVerdict:
    stop: bool
    decisions: tuple[tuple[TimedBound, SequentialDecision | None], ...]
    summary: str


def judge_look(
    data: LookData, bounds: Sequence[TimedBound], design: SequentialDesign, paired: PairedUnits
) -> LookVerdict:
    """Every bound's state after this look, and whether the variant stops."""
    final = data.look == data.looks
    decisions: list[tuple[TimedBound, SequentialDecision | None]] = []
    for bound in bounds:
        estimate = _estimate(paired, bound)
        decision = (
            None
            if estimate is None
            else decide(design, data.fractions, estimate, bound.comparison, final=final)
        )
        decisions.append((bound, decision))
    futile = [b.label for b, d in decisions if d is not None and d.outcome == "futile"]
    open_ = [b.label for b, d in decisions if d is None or d.outcome == "continue"]
    established = [b.label for b, d in decisions if d is not None and d.outcome == "established"]
    if futile:
        summary = f"futile (non-binding): {', '.join(futile)}"
    elif not open_ and len(established) == len(decisions):
        summary = f"every timed bound established ({len(established)})"
    elif final:
        missing = [b.label for b, d in decisions if d is None or d.outcome != "established"]
        summary = f"last look; not established: {', '.join(missing)}"
    else:
        summary = f"{len(established)} of {len(decisions)} established; open: {', '.join(open_)}"
    stop = bool(futile) or (not open_ and len(established) == len(decisions))
    return LookVerdict(stop, tuple(decisions), summary)


def timed_monitor(registry: Registry, thresholds: GateThresholds, variant: str) -> _Monitor:
    """The monitor ``pipeline.monitored`` hands to the runner for ``variant``."""
    return _Monitor(registry, thresholds, variant)


class _Monitor:
    def __init__(self, registry: Registry, thresholds: GateThresholds, variant: str) -> None:
        self.bounds = timed_bounds(registry, thresholds, variant)
        if not self.bounds:
            raise AnalysisInputError(f"{variant} has no gated timed bound to monitor")
        family = len(gated_bounds(registry, thresholds, registry.budgets))
        self.alpha_bound = thresholds.alpha / family
        self.power = thresholds.power
        self.baseline = registry.baseline.name
        self.variant = AA_SECOND_ARM if variant == self.baseline else variant

    def __call__(self, data: LookData) -> MonitorVerdict:
        verdict = self.judge(data)
        return MonitorVerdict(verdict.stop, verdict.summary)

    def judge(self, data: LookData) -> LookVerdict:
        design = design_for(self.alpha_bound, self.power, data.looks)
        return judge_look(
            data, self.bounds, design, paired_trials(data, self.baseline, self.variant)
        )


@dataclass(frozen=True)
class RunDesign:
    """A sequential run as the analysis judges it: the looks it took, and where it stopped."""

    looks: int
    stopped_at_look: int
    fractions: tuple[float, ...]  # measured over planned units, at every look taken
    measured_units: int
    planned_units: int
    reason: str  # the runner's account, reported as it was written
    # The bounds futile at the last look, judged again here from the trials: the gates
    # read this, never the runner's wording.
    futile_bounds: tuple[str, ...] = ()

    @property
    def final(self) -> bool:
        return self.stopped_at_look == self.looks

    def level(self, alpha_bound: float) -> float:
        return look_level(alpha_bound, self.fractions, final=self.final)

    def describe(self) -> str:
        how = "stopped early" if not self.final else "ran every look"
        return (
            f"sequential, {how} at look {self.stopped_at_look} of {self.looks}"
            f" ({self.measured_units} of {self.planned_units} units): {self.reason}"
        )


def run_design(
    artifact: Artifact | None, registry: Registry, thresholds: GateThresholds, variant: str
) -> RunDesign | None:
    """The artifact's sequential design; None for the fixed design (or no artifact).

    The last look is judged again from the artifact's trials, so which bounds were futile
    is the analysis's finding, whatever the runner wrote."""
    if artifact is None or artifact.design.kind != SEQUENTIAL:
        return None
    design, planned = artifact.design, len(artifact.units)
    return RunDesign(
        looks=design.looks,
        stopped_at_look=design.stopped_at_look,
        fractions=tuple(record.units / planned for record in design.taken),
        measured_units=design.taken[-1].units,
        planned_units=planned,
        reason=design.reason,
        futile_bounds=_futile_at_last_look(artifact, registry, thresholds, variant),
    )


def _futile_at_last_look(
    artifact: Artifact, registry: Registry, thresholds: GateThresholds, variant: str
) -> tuple[str, ...]:
    units = [u.unit for u in artifact.units]
    data = LookData(
        look=artifact.design.stopped_at_look,
        looks=artifact.design.looks,
        units=units,
        unit_looks=artifact.unit_looks(),
        trials=[t for t in artifact.trials if not t.warmup],
    )
    verdict = _Monitor(registry, thresholds, variant).judge(data)
    return tuple(b.label for b, d in verdict.decisions if d is not None and d.outcome == "futile")
