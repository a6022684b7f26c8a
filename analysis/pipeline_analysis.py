"""Benchmark runs and quality scores -> results: every candidate against the baseline (T1).

A pure function, :func:`analyse`, from loaded runs (:mod:`analysis.artifacts`)
and quality scores (:mod:`analysis.quality_input`) to typed results;
:mod:`analysis.documents` writes them as JSON. Methods:

* **Two sources.** Latency (mean, p95) and peak memory come from the timed,
  paired, ABBA-interleaved trials: each candidate is paired by ``unit_id`` with
  the baseline arm of its own run (same machine); the A/A run pairs
  ``baseline`` with ``baseline-2`` and is analysed exactly like a variant.
  QA/100k and recall come from the quality stage (``quality.json``): every
  question of the pool, deterministic scores, no timing.
* **Intervals.** Each comparison has a gated interval, the cluster t of
  :mod:`analysis.cells` with the *question* as the cluster (the claim: these
  pinned repositories); a repository-level interval (the claim: repositories
  like them), reported; and a descriptive BCa interval. Rows are per budget and
  pooled over budgets (a question carries its budgets together).
* **One alpha, the registry's family.** ``alpha`` is the one-sided family-wise
  error rate; ``m`` is the number of gated bounds the registry's candidates
  bring (:mod:`contracts.family`), whatever ``--variants`` selected. Every
  interval is at ``1 - 2 alpha / m`` two-sided, so each bound is one-sided at
  ``1 - alpha / m`` (Bonferroni). The A/A rows use the same level.
* **Power.** Design-stage power of each gated bound for its gate's target
  (QA ``qa_improvement``, recall ``recall_margin``, latency and memory the
  ``performance_regression`` margin), noncentral t on ``G - 1`` degrees of
  freedom at ``alpha / m``: the test the gate runs.
* **A/A verdict.** ``environment.stable`` is false when a pooled A/A interval
  of mean latency or peak memory excludes 0 with a change of at least
  ``aa_tolerance``, or when there is no usable A/A run; every A/A cell whose
  interval excludes 0 is listed in ``aa_significant``.
* **Seeds.** The descriptive bootstrap of cell ``c`` draws from
  ``SeedSequence([seed, source, c])``: equal inputs give equal numbers.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from analysis.artifacts import (
    AA_SECOND_ARM,
    ArmTrials,
    BenchmarkInputError,
    PairedUnits,
    RunFile,
    RunSet,
    arm_trials,
    machine_of,
    pair_arms,
    restricted,
)
from analysis.bootstrap import FloatArray
from analysis.calibrated import TPower
from analysis.cells import (
    CellResult,
    Descriptive,
    Gated,
    Metric,
    compare_cell,
    mean_metric,
    qa_metric,
    quantile_metric,
)
from analysis.effects import EffectSize, cohens_dz
from analysis.errors import AnalysisInputError
from analysis.monitor import RunDesign, run_design
from analysis.quality_input import QualityRuns
from benchmarks.artifact import Artifact
from contracts.family import two_sided_level
from contracts.names import budget_label
from contracts.thresholds import GateThresholds
from packrepo.registry import Registry

__all__ = [
    "LATENCY_MEAN",
    "LATENCY_P95",
    "METRICS",
    "PEAK_MEMORY",
    "POOLED",
    "QA",
    "RECALL",
    "AnalysisResult",
    "CellDistribution",
    "EnvironmentResult",
    "Row",
    "Settings",
    "VariantRun",
    "analyse",
    "budget_label",
]

QA = "qa_per_100k"
RECALL = "recall_mean"
LATENCY_MEAN = "latency_mean"
LATENCY_P95 = "latency_p95"
PEAK_MEMORY = "peak_memory_mean"
METRICS = (QA, RECALL, LATENCY_MEAN, LATENCY_P95, PEAK_MEMORY)
TIMED_METRICS = (LATENCY_MEAN, LATENCY_P95, PEAK_MEMORY)
UNITS = {
    QA: "QA per 100k tokens",
    RECALL: "fraction of gold lines",
    LATENCY_MEAN: "ms",
    LATENCY_P95: "ms",
    PEAK_MEMORY: "MiB",
}
POOLED = "pooled"
LATENCY_QUANTILES = (("p5", 0.05), ("p25", 0.25), ("p50", 0.5), ("p75", 0.75), ("p95", 0.95))
# Seed streams of the descriptive bootstrap.
_TIMED, _QUALITY = 0, 1

PairWith = Literal["run", "aa"]


@dataclass(frozen=True)
class Settings:
    """What the analysis needs from the registry and the command line."""

    alpha: float  # one-sided, family-wise
    family_size: int  # the registry's gated bounds (contracts.family)
    n_resamples: int
    seed: int
    target_power: float
    qa_target: float
    performance_margin: float
    recall_margin: float
    # The registry's thresholds, to judge a sequential run's last look again as its
    # monitor did (analysis.monitor.run_design).
    thresholds: GateThresholds
    pair_with: PairWith = "run"
    qa_margin: float = 0.10  # the per-budget QA guard's margin: its rows are powered for it
    aa_tolerance: float = 0.01  # |A/A change| below this never marks the machine unstable

    @property
    def level(self) -> float:
        """Two-sided level of every interval; each bound is one-sided at 1 - alpha / m."""
        return two_sided_level(self.alpha, self.family_size)

    @property
    def alpha_bound(self) -> float:
        return self.alpha / self.family_size


@dataclass(frozen=True)
class PowerSummary:
    """Design-stage power of the row's gated bound for its gate's target."""

    target_effect: float
    achieved: float
    mde_80: float
    units_for_80: int | None
    resampled_for_80: int | None  # in clusters (questions)
    underpowered: bool
    alpha: float  # one-sided level of the bound


@dataclass(frozen=True)
class Row:
    """One variant x budget x metric comparison (``aa``: the baseline against itself)."""

    variant: str
    budget: str
    metric: str
    aa: bool
    n_units: int
    baseline_value: float
    variant_value: float
    relative_change: float | None
    family_size: int
    confidence_level: float
    interval: Gated | None  # what the gates read
    repository: Gated | None  # "repositories like them", reported
    descriptive: Descriptive | None  # BCa (percentile for p95)
    problem: str | None  # why there is no gated interval
    repository_problem: str | None
    p_value_adjusted: float | None  # Bonferroni, min(1, m p)
    effect: EffectSize | None
    power: PowerSummary | None


@dataclass(frozen=True)
class VariantRun:
    """How a variant's run went: counts of trials, failures, and its error."""

    name: str
    intent: str
    artifact: str
    machine: str | None
    n_units: int
    n_paired: int
    n_trials: int
    n_failed: int
    n_failed_by_arm: Mapping[str, int]
    error: str | None
    quality_error: str | None = None  # the quality stage's verdict on this arm's bytes
    resumed: str | None = None  # how its run was resumed after an interruption, if it was
    design: RunDesign | None = None  # a sequential run's looks; None: the fixed design


@dataclass(frozen=True)
class EnvironmentResult:
    """The A/A verdict and the machines behind the trials."""

    stable: bool
    aa_significant: tuple[str, ...]
    reason: str | None
    machines: tuple[str, ...]
    aa_machine: str | None
    without_aa: tuple[str, ...]  # machines of candidate runs with no A/A run on them


@dataclass(frozen=True)
class CellDistribution:
    """What the report plots for one variant and budget."""

    latency_ms: tuple[tuple[str, float], ...]
    baseline_latency_ms: tuple[tuple[str, float], ...]
    qa_per_100k: float | None
    baseline_qa_per_100k: float | None


@dataclass(frozen=True)
class QualitySummary:
    """What the analysis read from the quality stage."""

    file: str
    profile: str
    questions: int
    repositories: int
    problem: str | None  # why there are no QA rows


@dataclass(frozen=True)
class AnalysisResult:
    settings: Settings
    family_size: int
    budgets: tuple[str, ...]
    variants: tuple[VariantRun, ...]  # the baseline (A/A run) first, then registry order
    rows: tuple[Row, ...]
    environment: EnvironmentResult
    distributions: Mapping[str, Mapping[str, CellDistribution]]
    quality: QualitySummary


# ---------------------------------------------------------------------------
# The analysis
# ---------------------------------------------------------------------------


def analyse(
    runs: RunSet, quality: QualityRuns | None, registry: Registry, settings: Settings
) -> AnalysisResult:
    """Every requested candidate and the A/A run against their paired baselines."""
    baseline = registry.baseline.name
    pairings = _pairings(runs, baseline, settings.pair_with)
    budgets = _budgets(runs)
    rows: list[Row] = []
    designs = {
        name: run_design(run.artifact, registry, settings.thresholds, name)
        for name, run in _runs(runs, baseline)
    }
    for name, paired in pairings.items():
        if isinstance(paired, PairedUnits) and paired.n_paired > 0:
            design = designs[name]
            level = settings.level if design is None else design.level(settings.alpha_bound)
            rows += _timed_rows(name, name == baseline, paired, budgets, settings, level)
    if quality is not None:
        for name in runs.candidates:
            rows += _quality_rows(name, baseline, quality, settings)
    variants = tuple(
        _variant_run(name, registry, run, pairings[name], quality, designs[name])
        for name, run in _runs(runs, baseline)
    )
    return AnalysisResult(
        settings=settings,
        family_size=settings.family_size,
        budgets=tuple(budget_label(b) for b in budgets),
        variants=variants,
        rows=tuple(rows),
        environment=_environment(runs, variants, rows, settings.aa_tolerance),
        distributions={
            name: _distributions(paired, budgets, quality, name, baseline)
            for name, paired in pairings.items()
            if name != baseline and isinstance(paired, PairedUnits) and paired.n_paired > 0
        },
        quality=_quality_summary(quality, runs),
    )


def _runs(runs: RunSet, baseline: str) -> tuple[tuple[str, RunFile], ...]:
    """The A/A run first, then the candidates, in registry order."""
    return ((baseline, runs.aa), *runs.candidates.items())


def _quality_summary(quality: QualityRuns | None, runs: RunSet) -> QualitySummary:
    if quality is None:
        return QualitySummary("quality.json", "", 0, 0, "quality.json is missing (R1q not run)")
    return QualitySummary(
        file=quality.path.name,
        profile=quality.profile,
        questions=len(quality.questions),
        repositories=len(set(quality.repositories)),
        problem=None,
    )


def _budgets(runs: RunSet) -> tuple[int, ...]:
    for run in (runs.aa, *runs.candidates.values()):
        if run.artifact is not None:
            return tuple(sorted(run.artifact.budgets))
    return ()


def _pairings(runs: RunSet, baseline: str, pair_with: PairWith) -> dict[str, PairedUnits | str]:
    """Each run's paired units, or the run's error."""
    pairings: dict[str, PairedUnits | str] = {}
    aa_arm: ArmTrials | None = None
    if runs.aa.artifact is not None:
        aa_arm = arm_trials(runs.aa.artifact, str(runs.aa.path), baseline)
    for name, run in ((baseline, runs.aa), *runs.candidates.items()):
        if run.artifact is None or run.error is not None:
            pairings[name] = run.error or f"{run.path} could not be read"
            continue
        second = AA_SECOND_ARM if name == baseline else name
        variant_arm = arm_trials(run.artifact, str(run.path), second)
        base_arm = arm_trials(run.artifact, str(run.path), baseline)
        if pair_with == "aa" and name != baseline:
            if aa_arm is None:
                raise BenchmarkInputError(
                    f"--pair-with aa needs the A/A run, but {runs.aa.path} is not usable"
                )
            base_arm = restricted(aa_arm, variant_arm.trials)  # a sequential run's looks
        paired = pair_arms(base_arm, variant_arm, timing=True)
        pairings[name] = paired if paired.n_paired else _nothing_paired(paired)
    return pairings


def _nothing_paired(paired: PairedUnits) -> str:
    return (
        f"no unit where both arms succeeded ({sum(paired.n_failed.values())} failed trials;"
        f" first: {paired.first_error})"
    )


# --- rows ------------------------------------------------------------------------------


def _timed_rows(
    name: str,
    aa: bool,
    paired: PairedUnits,
    budgets: Sequence[int],
    settings: Settings,
    level: float,
) -> list[Row]:
    """Latency and memory rows; ``level`` is the fixed one, or the repeated confidence
    interval's at the look a sequential run stopped (:mod:`analysis.monitor`)."""
    cells = [(budget_label(b), paired.budgets == b) for b in budgets]
    cells.append((POOLED, np.ones(paired.n_paired, dtype=bool)))
    rows: list[Row] = []
    for index, (label, mask) in enumerate(cells):
        cell = paired.select(mask)
        if cell.n_paired == 0:
            continue
        metrics = _timed_metrics(cell, settings.performance_margin)
        results = compare_cell(
            metrics,
            questions=cell.questions,
            repositories=cell.repositories,
            level=level,
            alpha_bound=settings.alpha_bound,
            target_power=settings.target_power,
            n_resamples=settings.n_resamples,
            seed=(settings.seed, _TIMED, index),
            resampling="question",
        )
        per_cluster = cell.n_paired / len(set(cell.questions))
        effects = [_effect(m) for m in metrics]
        rows += [
            _row(name, label, aa, cell.n_paired, r, e, per_cluster, settings, level)
            for r, e in zip(results, effects, strict=True)
        ]
    return rows


def _timed_metrics(cell: PairedUnits, margin: float) -> list[Metric]:
    b, v = cell.baseline, cell.variant
    metrics = [
        mean_metric(LATENCY_MEAN, v.latency_ms, b.latency_ms, margin),
        quantile_metric(LATENCY_P95, v.latency_ms, b.latency_ms, 0.95, margin),
    ]
    # Memory only where every paired trial has a per-trial peak (platform-dependent).
    if np.all(np.isfinite(b.peak_rss_mib)) and np.all(np.isfinite(v.peak_rss_mib)):
        metrics.append(mean_metric(PEAK_MEMORY, v.peak_rss_mib, b.peak_rss_mib, margin))
    return [
        m for m in metrics if math.isfinite(m.baseline_value) and math.isfinite(m.variant_value)
    ]


def _quality_rows(name: str, baseline: str, quality: QualityRuns, settings: Settings) -> list[Row]:
    """QA/100k and recall rows of one candidate, per budget and pooled, from quality.json."""
    base, arm = quality.arms[baseline], quality.arms[name]
    budgets = quality.budgets
    n = len(quality.questions)
    cells: list[tuple[str, list[int]]] = [(budget_label(b), [b]) for b in budgets]
    cells.append((POOLED, list(budgets)))
    rows: list[Row] = []
    for index, (label, chosen) in enumerate(cells):
        sv = np.concatenate([arm.scores[b] for b in chosen])
        tv = np.concatenate([arm.tokens[b] for b in chosen])
        sb = np.concatenate([base.scores[b] for b in chosen])
        tb = np.concatenate([base.tokens[b] for b in chosen])
        # Each row is powered for the bound its gate judges: the pooled QA gain at the
        # registry's target; per budget, the guards' non-inferiority margins.
        qa_target = settings.qa_target if label == POOLED else -settings.qa_margin
        metrics = [
            qa_metric(QA, sv, tv, sb, tb, qa_target),
            mean_metric(RECALL, sv, sb, -settings.recall_margin),
        ]
        results = compare_cell(
            metrics,
            questions=quality.questions * len(chosen),
            repositories=quality.repositories * len(chosen),
            level=settings.level,
            alpha_bound=settings.alpha_bound,
            target_power=settings.target_power,
            n_resamples=settings.n_resamples,
            seed=(settings.seed, _QUALITY, index),
            resampling="question",
        )
        level = settings.level
        rows += [
            _row(name, label, False, n * len(chosen), r, None, len(chosen), settings, level)
            for r in results
        ]
    return rows


def _effect(metric: Metric) -> EffectSize | None:
    try:
        return cohens_dz(metric.bootstrap.unit_differences())
    except AnalysisInputError:
        return None


def _row(
    name: str,
    budget: str,
    aa: bool,
    n_units: int,
    result: CellResult,
    effect: EffectSize | None,
    units_per_cluster: float,
    settings: Settings,
    level: float,
) -> Row:
    metric, gated = result.metric, result.gated
    change: float | None
    if gated is not None:
        change = gated.estimate
    elif metric.baseline_value != 0:
        change = metric.variant_value / metric.baseline_value - 1.0
    else:
        change = None
    m = settings.family_size
    return Row(
        variant=name,
        budget=budget,
        metric=metric.name,
        aa=aa,
        n_units=n_units,
        baseline_value=metric.baseline_value,
        variant_value=metric.variant_value,
        relative_change=change,
        family_size=m,
        confidence_level=level,
        interval=gated,
        repository=result.repository,
        descriptive=result.descriptive,
        problem=result.problem,
        repository_problem=result.repository_problem,
        p_value_adjusted=None if gated is None else min(1.0, m * gated.p_value),
        effect=effect,
        power=_power(result.power, units_per_cluster),
    )


def _power(power: TPower | None, units_per_cluster: float) -> PowerSummary | None:
    if power is None:
        return None
    needed = power.clusters_for_target
    return PowerSummary(
        target_effect=power.target_effect,
        achieved=power.achieved,
        mde_80=power.mde,
        units_for_80=None if needed is None else math.ceil(needed * units_per_cluster - 1e-9),
        resampled_for_80=needed,
        underpowered=power.underpowered,
        alpha=power.alpha,
    )


# --- runs, environment, distributions ------------------------------------------------


def _variant_run(
    name: str,
    registry: Registry,
    run: RunFile,
    paired: PairedUnits | str,
    quality: QualityRuns | None,
    design: RunDesign | None,
) -> VariantRun:
    artifact = run.artifact
    n_units = 0 if artifact is None else len(artifact.measured_unit_ids())
    failed: Mapping[str, int] = {}
    if artifact is not None:
        failed = {
            arm.name: sum(
                1 for t in artifact.trials if t.arm == arm.name and not t.warmup and not t.ok
            )
            for arm in artifact.arms
        }
    machines = (
        None
        if artifact is None
        else ", ".join(
            sorted({machine_of(artifact.environment, arm.name).label for arm in artifact.arms})
        )
    )
    return VariantRun(
        name=name,
        intent=registry.variant(name).intent,
        artifact=run.path.name,
        machine=machines,
        n_units=n_units,
        n_paired=paired.n_paired if isinstance(paired, PairedUnits) else 0,
        n_trials=0 if artifact is None else n_units * len(artifact.arms),
        n_failed=sum(failed.values()),
        n_failed_by_arm=failed,
        error=paired if isinstance(paired, str) else None,
        quality_error=None if quality is None else quality.arms[name].error,
        resumed=_resumed(artifact),
        design=design,
    )


def _resumed(artifact: Artifact | None) -> str | None:
    """The benchmark's own record of a resumption (``run --resume``), for the report."""
    if artifact is None:
        return None
    info = artifact.timings.get("resumed")
    if not isinstance(info, dict):
        return None
    return (
        f"resumed after {info.get('after_trials')} of {len(artifact.trials)} trials,"
        f" {info.get('dropped_trials')} measured again, at {info.get('at')}"
    )


def _environment(
    runs: RunSet, variants: Sequence[VariantRun], rows: Sequence[Row], tolerance: float
) -> EnvironmentResult:
    aa_run = variants[0]
    machines = sorted({label for v in variants if v.machine for label in v.machine.split(", ")})
    aa_machine = aa_run.machine if runs.aa.artifact is not None else None
    without = sorted({v.machine for v in variants[1:] if v.machine and v.machine != aa_machine})
    if aa_run.error is not None:
        reason = f"no A/A comparison: {aa_run.error}"
        return EnvironmentResult(
            False, (reason,), reason, tuple(machines), aa_machine, tuple(without)
        )
    # Every A/A cell whose interval excludes 0 is listed; the verdict rests on the pooled
    # cells of the calibrated statistics (mean latency, peak memory). p95's percentile
    # interval is not calibrated at this many clusters, so it is listed, never decisive.
    flagged = tuple(
        f"{row.metric}/{row.budget}"
        for row in rows
        if row.aa and row.interval is not None and row.interval.excludes_zero
    )
    # A pooled cell decides only if its change is also large enough to matter:
    # two identical worker processes differ reproducibly by a fraction of a percent
    # in peak RSS, which no gate acts on (aa_tolerance in the registry).
    deciding = tuple(
        f"{row.metric}/{row.budget}"
        for row in rows
        if row.aa
        and row.budget == POOLED
        and row.metric in (LATENCY_MEAN, PEAK_MEMORY)
        and row.interval is not None
        and row.interval.excludes_zero
        and abs(row.relative_change or 0.0) >= tolerance
    )
    unstable: str | None = None
    if deciding:
        unstable = "the baseline differs from itself (pooled A/A interval excludes 0"
        unstable += f" by at least {tolerance:.1%}): "
        unstable += ", ".join(deciding)
    return EnvironmentResult(
        stable=not deciding,
        aa_significant=flagged,
        reason=unstable,
        machines=tuple(machines),
        aa_machine=aa_machine,
        without_aa=tuple(without),
    )


def _distributions(
    paired: PairedUnits,
    budgets: Sequence[int],
    quality: QualityRuns | None,
    name: str,
    baseline: str,
) -> dict[str, CellDistribution]:
    cells = {}
    for budget in budgets:
        cell = paired.select(paired.budgets == budget)
        if cell.n_paired == 0:
            continue
        b, v = cell.baseline, cell.variant
        cells[budget_label(budget)] = CellDistribution(
            latency_ms=_latency_quantiles(v.latency_ms),
            baseline_latency_ms=_latency_quantiles(b.latency_ms),
            qa_per_100k=_quality_qa(quality, name, budget),
            baseline_qa_per_100k=_quality_qa(quality, baseline, budget),
        )
    return cells


def _latency_quantiles(values: FloatArray) -> tuple[tuple[str, float], ...]:
    return tuple((name, float(np.quantile(values, q))) for name, q in LATENCY_QUANTILES)


def _quality_qa(quality: QualityRuns | None, name: str, budget: int) -> float | None:
    """QA/100k of an arm at a budget from the quality stage."""
    if quality is None or budget not in quality.budgets:
        return None
    arm = quality.arms.get(name)
    if arm is None:
        return None
    tokens = float(arm.tokens[budget].sum())
    return 100_000.0 * math.fsum(arm.scores[budget]) / tokens if tokens > 0 else None
