"""Benchmark runs -> results: every variant against its paired baseline (T1).

A pure function, :func:`analyse`, from loaded runs (:mod:`analysis.artifacts`)
to typed results; :mod:`analysis.documents` writes them as JSON. Methods:

* **Pairing.** Each candidate is paired by ``unit_id`` with the baseline arm
  of its own run (same machine, interleaved ABBA); the A/A run pairs
  ``baseline`` with ``baseline-2`` and is analysed exactly like a variant.
  Only units where both arms succeeded are paired; failed trials are counted
  (``n_failed``) and left out.
* **Statistics.** Relative change of QA per 100k tokens (ratio of sums),
  mean latency, p95 latency and mean peak memory, per budget and pooled over
  budgets, with BCa intervals (Efron 1987) from :mod:`analysis.batch`; p95
  uses the engine's documented percentile interval. In a pooled cell the
  resampling unit is the *question* (repository x question, carrying its
  budgets together, since one question's budgets are not independent).
* **Sensitivity.** The same statistics with repositories resampled (the
  cluster bootstrap, Davison & Hinkley 1997, sec. 3.8) beside each row.
* **Multiplicity.** The family of a (metric, budget) cell is the set of
  candidate variants requested (``m``; a variant whose run crashed stays in
  the family, so a crash never narrows the others' intervals). Intervals are
  at ``1 - alpha / m`` for both corrections; p-values (inverted BCa
  intervals) are adjusted by Bonferroni or Holm (1979). The A/A rows use the
  same level and Bonferroni p-values.
* **Effect and power.** Cohen's ``d_z`` of per-unit differences with its
  label (Cohen 1988); power for the gate's target effect at ``alpha / m``
  (:func:`analysis.power.power_analysis`): QA rows ``qa_improvement``, other
  rows the ``performance_regression`` margin (the non-inferiority margin,
  and the size of improvement a performance variant must be able to show).
* **A/A verdict.** The A/A rows are computed like a variant's (same level).
  ``environment.stable`` is false when a *pooled* A/A interval excludes 0 on
  any metric (QA, mean and p95 latency, memory) with a change of at least the
  registry's ``aa_tolerance`` (1%: identical worker processes differ by ~0.3%
  in peak RSS, reproducibly), or when there is no usable
  A/A run; ``aa_significant`` lists every A/A cell whose interval excludes 0,
  per-budget cells included (the gates show them as "raw"). Judging every
  cell would raise false alarms: in 300 simulated true-null A/A runs each
  (``analysis.fixtures``, 3 questions x 3 budgets, m = 5) at least one of
  the 16 cells excluded 0 in 11% of runs with 8 repositories (23% with 4),
  against 2% (5%) for the pooled cells; a false alarm blocks every candidate.
* **Seeds.** The bootstrap of cell ``c`` with resampling ``r`` draws from
  ``SeedSequence([seed, c, r])`` for every variant: variants with the same
  paired units see the same resamples (the engine's shared draw), and equal
  inputs give equal numbers.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

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
)
from analysis.batch import MeanRatio, QuantileRatio, RatioOfSums, RelativeChange
from analysis.batch import bca_relative_change as _bca_relative_change
from analysis.bootstrap import FloatArray
from analysis.effects import Correction, EffectSize, bonferroni_p_values, cohens_dz, holm
from analysis.errors import AnalysisInputError, DegenerateIntervalWarning
from analysis.power import power_analysis
from packrepo.registry import Registry

__all__ = [
    "LATENCY_MEAN",
    "LATENCY_P95",
    "METRICS",
    "PEAK_MEMORY",
    "POOLED",
    "QA",
    "AnalysisResult",
    "BootstrapSummary",
    "CellDistribution",
    "EnvironmentResult",
    "Interval",
    "PowerSummary",
    "Row",
    "Settings",
    "VariantRun",
    "analyse",
    "budget_label",
]

QA = "qa_per_100k"
LATENCY_MEAN = "latency_mean"
LATENCY_P95 = "latency_p95"
PEAK_MEMORY = "peak_memory_mean"
METRICS = (QA, LATENCY_MEAN, LATENCY_P95, PEAK_MEMORY)
UNITS = {QA: "QA per 100k tokens", LATENCY_MEAN: "ms", LATENCY_P95: "ms", PEAK_MEMORY: "MiB"}
POOLED = "pooled"
QA_SCALE = 100_000.0
DISTRIBUTION_LEVELS = (0.005, 0.025, 0.05, 0.25, 0.5, 0.75, 0.95, 0.975, 0.995)
LATENCY_QUANTILES = (("p5", 0.05), ("p25", 0.25), ("p50", 0.5), ("p75", 0.75), ("p95", 0.95))
# Resampling kinds, in seed order.
UNIT, QUESTION, REPOSITORY = "unit", "question", "repository"

PairWith = Literal["run", "aa"]


@dataclass(frozen=True)
class Settings:
    """What the analysis needs from the registry and the command line."""

    alpha: float
    correction: Correction
    n_resamples: int
    seed: int
    target_power: float
    qa_target: float
    performance_margin: float
    confidence_level: float  # the unadjusted level, reported only
    pair_with: PairWith = "run"
    aa_tolerance: float = 0.01  # |A/A change| below this never marks the machine unstable


@dataclass(frozen=True)
class BootstrapSummary:
    """The bootstrap distribution in brief: mean, sd and quantiles."""

    mean: float
    sd: float
    quantiles: tuple[tuple[float, float], ...]


@dataclass(frozen=True)
class Interval:
    """One bootstrap interval of a relative change, with what explains it."""

    resampling: str  # "unit", "question" (pooled unit level) or "repository"
    n_resampled: int
    estimate: float
    low: float
    high: float
    confidence_level: float
    method: str
    z0: float
    acceleration: float
    standard_error: float
    n_resamples: int
    mc_se_low: float
    mc_se_high: float
    p_value: float
    distribution: BootstrapSummary

    @property
    def excludes_zero(self) -> bool:
        return self.low > 0.0 or self.high < 0.0


@dataclass(frozen=True)
class PowerSummary:
    """Power for the gate's target; unit counts are paired units like ``n_units``."""

    target_effect: float
    achieved: float
    mde_80: float
    units_for_80: int | None
    resampled_for_80: int | None  # in resampling units (questions for pooled rows)
    underpowered: bool
    alpha: float


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
    unit: Interval | None
    cluster: Interval | None
    problem: str | None  # why there is no unit-level interval
    cluster_problem: str | None
    p_value_adjusted: float | None
    significant: bool | None
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
class AnalysisResult:
    settings: Settings
    family_size: int
    budgets: tuple[str, ...]
    variants: tuple[VariantRun, ...]  # the baseline (A/A run) first, then registry order
    rows: tuple[Row, ...]
    environment: EnvironmentResult
    distributions: Mapping[str, Mapping[str, CellDistribution]]


def budget_label(budget: int) -> str:
    """``120000`` -> ``"120k"``, the registry's spelling."""
    return f"{budget // 1000}k" if budget % 1000 == 0 else str(budget)


# ---------------------------------------------------------------------------
# The analysis
# ---------------------------------------------------------------------------


def analyse(runs: RunSet, registry: Registry, settings: Settings) -> AnalysisResult:
    """Every requested candidate and the A/A run against their paired baselines."""
    m = max(1, len(runs.candidates))
    baseline = registry.baseline.name
    pairings = _pairings(runs, baseline, settings.pair_with)
    budgets = _budgets(runs)
    raw: dict[str, list[_Raw]] = {}
    for name, paired in pairings.items():
        if isinstance(paired, PairedUnits) and paired.n_paired > 0:
            raw[name] = _variant_rows(name, paired, budgets, settings, m)
    rows = _adjust(raw, baseline, settings, m)
    variants = tuple(
        _variant_run(name, registry, run, pairings[name])
        for name, run in ((baseline, runs.aa), *runs.candidates.items())
    )
    return AnalysisResult(
        settings=settings,
        family_size=m,
        budgets=tuple(budget_label(b) for b in budgets),
        variants=variants,
        rows=rows,
        environment=_environment(runs, variants, rows, settings.aa_tolerance),
        distributions={
            name: _distributions(paired, budgets)
            for name, paired in pairings.items()
            if name != baseline and isinstance(paired, PairedUnits) and paired.n_paired > 0
        },
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
            base_arm = aa_arm
        paired = pair_arms(base_arm, variant_arm, timing=True)
        pairings[name] = paired if paired.n_paired else _nothing_paired(paired)
    return pairings


def _nothing_paired(paired: PairedUnits) -> str:
    return (
        f"no unit where both arms succeeded ({sum(paired.n_failed.values())} failed trials;"
        f" first: {paired.first_error})"
    )


# --- one variant's rows before the family adjustment ---------------------------


@dataclass(frozen=True, eq=False)
class _Raw:
    variant: str
    budget: str
    metric: str
    n_units: int
    baseline_value: float
    variant_value: float
    relative_change: float | None
    unit: Interval | None
    cluster: Interval | None
    problem: str | None
    cluster_problem: str | None
    effect: EffectSize | None
    pooled_units_per_resample: float


def _variant_rows(
    name: str, paired: PairedUnits, budgets: Sequence[int], settings: Settings, m: int
) -> list[_Raw]:
    level = 1.0 - settings.alpha / m
    rows: list[_Raw] = []
    cells: list[tuple[str, np.ndarray[Any, np.dtype[np.bool_]]]] = [
        (budget_label(b), paired.budgets == b) for b in budgets
    ]
    cells.append((POOLED, np.ones(paired.n_paired, dtype=bool)))
    for index, (label, mask) in enumerate(cells):
        cell = paired.select(mask)
        if cell.n_paired == 0:
            continue
        rows += _cell_rows(name, label, index, cell, settings, level)
    return rows


def _comparisons(cell: PairedUnits) -> list[tuple[str, RelativeChange, float, float]]:
    """(metric, comparison, baseline value, variant value) for one cell."""
    b, v = cell.baseline, cell.variant
    found: list[tuple[str, RelativeChange, float, float]] = [
        (
            QA,
            RatioOfSums(v.qa_score, v.pack_tokens, b.qa_score, b.pack_tokens, label=QA),
            _qa(b.qa_score, b.pack_tokens),
            _qa(v.qa_score, v.pack_tokens),
        ),
        (
            LATENCY_MEAN,
            MeanRatio(v.latency_ms, b.latency_ms, label=LATENCY_MEAN),
            float(b.latency_ms.mean()),
            float(v.latency_ms.mean()),
        ),
        (
            LATENCY_P95,
            QuantileRatio(v.latency_ms, b.latency_ms, q=0.95, label=LATENCY_P95),
            float(np.quantile(b.latency_ms, 0.95)),
            float(np.quantile(v.latency_ms, 0.95)),
        ),
    ]
    # Memory only where every paired trial has a per-trial peak (platform-dependent).
    if np.all(np.isfinite(b.peak_rss_mib)) and np.all(np.isfinite(v.peak_rss_mib)):
        found.append(
            (
                PEAK_MEMORY,
                MeanRatio(v.peak_rss_mib, b.peak_rss_mib, label=PEAK_MEMORY),
                float(b.peak_rss_mib.mean()),
                float(v.peak_rss_mib.mean()),
            )
        )
    return [row for row in found if math.isfinite(row[2]) and math.isfinite(row[3])]


def _qa(scores: FloatArray, tokens: FloatArray) -> float:
    total = float(tokens.sum())
    return QA_SCALE * math.fsum(scores) / total if total > 0 else math.nan


def _cell_rows(
    name: str, budget: str, index: int, cell: PairedUnits, settings: Settings, level: float
) -> list[_Raw]:
    found = _comparisons(cell)
    comparisons = [comparison for _, comparison, _, _ in found]
    pooled = budget == POOLED
    unit = _bootstrap(
        comparisons,
        level,
        settings,
        (index, 0),
        clusters=cell.questions if pooled else None,
        resampling=QUESTION if pooled else UNIT,
    )
    cluster = _bootstrap(
        comparisons, level, settings, (index, 1), clusters=cell.repositories, resampling=REPOSITORY
    )
    per_resample = cell.n_paired / len(set(cell.questions)) if pooled else 1.0
    rows = []
    for (metric, comparison, base_value, variant_value), u, c in zip(
        found, unit, cluster, strict=True
    ):
        rows.append(
            _Raw(
                variant=name,
                budget=budget,
                metric=metric,
                n_units=cell.n_paired,
                baseline_value=base_value,
                variant_value=variant_value,
                relative_change=_relative_change(base_value, variant_value, u),
                unit=u if isinstance(u, Interval) else None,
                cluster=c if isinstance(c, Interval) else None,
                problem=u if isinstance(u, str) else None,
                cluster_problem=c if isinstance(c, str) else None,
                effect=_effect(comparison),
                pooled_units_per_resample=per_resample,
            )
        )
    return rows


def _relative_change(base: float, variant: float, unit: Interval | str) -> float | None:
    if isinstance(unit, Interval):
        return unit.estimate
    return variant / base - 1.0 if base != 0.0 else None


def _effect(comparison: RelativeChange) -> EffectSize | None:
    try:
        return cohens_dz(comparison.unit_differences())
    except AnalysisInputError:
        return None


def _bootstrap(
    comparisons: Sequence[RelativeChange],
    level: float,
    settings: Settings,
    key: tuple[int, int],
    *,
    clusters: Sequence[str] | None,
    resampling: str,
) -> list[Interval | str]:
    """Intervals for the comparisons of one cell, one shared draw; a problem string per failure.

    If the batch fails (a zero baseline, too few units or clusters), each
    comparison is redone alone with the same seed, hence the same draw.
    """
    try:
        return _intervals(comparisons, level, settings, key, clusters, resampling)
    except AnalysisInputError:
        pass
    found: list[Interval | str] = []
    for comparison in comparisons:
        try:
            found += _intervals([comparison], level, settings, key, clusters, resampling)
        except AnalysisInputError as exc:
            found.append(str(exc))
    return found


def _intervals(
    comparisons: Sequence[RelativeChange],
    level: float,
    settings: Settings,
    key: tuple[int, int],
    clusters: Sequence[str] | None,
    resampling: str,
) -> list[Interval | str]:
    with warnings.catch_warnings():
        # The fallbacks are reported per interval in `method`.
        warnings.simplefilter("ignore", DegenerateIntervalWarning)
        batch = _bca_relative_change(
            comparisons,
            confidence_level=level,
            n_resamples=settings.n_resamples,
            seed=np.random.SeedSequence([settings.seed, *key]),
            clusters=None if clusters is None else np.asarray(clusters),
        )
    p_values = batch.p_values(0.0)
    mc_low, mc_high = batch.monte_carlo_se()
    quantiles = np.quantile(batch.bootstrap_distribution, DISTRIBUTION_LEVELS, axis=1)
    intervals: list[Interval | str] = []
    for j in range(len(batch)):
        intervals.append(
            Interval(
                resampling=resampling,
                n_resampled=batch.degrees_of_freedom + 1,
                estimate=float(batch.estimate[j]),
                low=float(batch.low[j]),
                high=float(batch.high[j]),
                confidence_level=float(batch.confidence_level[j]),
                method=batch.method[j],
                z0=float(batch.z0[j]),
                acceleration=float(batch.acceleration[j]),
                standard_error=float(batch.standard_error[j]),
                n_resamples=batch.n_resamples,
                mc_se_low=float(mc_low[j]),
                mc_se_high=float(mc_high[j]),
                p_value=float(p_values[j]),
                distribution=BootstrapSummary(
                    mean=float(batch.bootstrap_distribution[j].mean()),
                    sd=float(batch.standard_error[j]),
                    quantiles=tuple(
                        (level_, float(value))
                        for level_, value in zip(DISTRIBUTION_LEVELS, quantiles[:, j], strict=True)
                    ),
                ),
            )
        )
    return intervals


# --- the family adjustment, significance and power ------------------------------


def _adjust(
    raw: Mapping[str, Sequence[_Raw]], baseline: str, settings: Settings, m: int
) -> tuple[Row, ...]:
    """Adjust p-values within each (metric, budget) family of candidates; add power."""
    adjusted: dict[int, float] = {}
    families: dict[tuple[str, str], list[_Raw]] = {}
    for name, rows in raw.items():
        for row in rows:
            if name != baseline:
                families.setdefault((row.metric, row.budget), []).append(row)
    for members in families.values():
        p_values = [1.0 if r.unit is None else r.unit.p_value for r in members]
        # Members that could not be compared count as p = 1: the family keeps its size m.
        padded = np.array(p_values + [1.0] * (m - len(members)))
        if settings.correction == "holm":
            corrected = holm(padded, settings.alpha).adjusted_p_values
        else:
            corrected = bonferroni_p_values(padded)
        for r, p in zip(members, corrected, strict=False):
            adjusted[id(r)] = float(p)
    result = []
    for name, rows in raw.items():
        for row in rows:
            aa = name == baseline
            p_adjusted = None
            if row.unit is not None:
                p_adjusted = min(1.0, m * row.unit.p_value) if aa else adjusted[id(row)]
            result.append(_row(row, aa, p_adjusted, settings, m))
    return tuple(result)


def _row(raw: _Raw, aa: bool, p_adjusted: float | None, settings: Settings, m: int) -> Row:
    return Row(
        variant=raw.variant,
        budget=raw.budget,
        metric=raw.metric,
        aa=aa,
        n_units=raw.n_units,
        baseline_value=raw.baseline_value,
        variant_value=raw.variant_value,
        relative_change=raw.relative_change,
        family_size=m,
        confidence_level=1.0 - settings.alpha / m,
        unit=raw.unit,
        cluster=raw.cluster,
        problem=raw.problem,
        cluster_problem=raw.cluster_problem,
        p_value_adjusted=p_adjusted,
        significant=None if p_adjusted is None else p_adjusted <= settings.alpha,
        effect=raw.effect,
        power=_power(raw, settings, m),
    )


def _power(raw: _Raw, settings: Settings, m: int) -> PowerSummary | None:
    if raw.unit is None:
        return None
    target = settings.qa_target if raw.metric == QA else settings.performance_margin
    result = power_analysis(
        target,
        raw.unit.standard_error,
        raw.unit.n_resampled,
        alpha=settings.alpha / m,
        target_power=settings.target_power,
    )
    needed = result.units_for_target
    return PowerSummary(
        target_effect=target,
        achieved=result.power,
        mde_80=result.minimum_detectable_effect,
        units_for_80=None
        if needed is None
        else math.ceil(needed * raw.pooled_units_per_resample - 1e-9),
        resampled_for_80=needed,
        underpowered=result.underpowered,
        alpha=result.alpha,
    )


# --- runs, environment, distributions ------------------------------------------------


def _variant_run(
    name: str, registry: Registry, run: RunFile, paired: PairedUnits | str
) -> VariantRun:
    artifact = run.artifact
    n_units = 0 if artifact is None else len(artifact.units)
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
    # Every A/A cell whose interval excludes 0 is listed; the verdict rests on the
    # pooled cells, the ones the gates decide on (see the module docstring).
    flagged = tuple(
        f"{row.metric}/{row.budget}"
        for row in rows
        if row.aa and row.unit is not None and row.unit.excludes_zero
    )
    # A pooled cell decides only if its change is also large enough to matter:
    # two identical worker processes differ reproducibly by a fraction of a percent
    # in peak RSS, which no gate acts on (aa_tolerance in the registry).
    deciding = tuple(
        f"{row.metric}/{row.budget}"
        for row in rows
        if row.aa
        and row.budget == POOLED
        and row.unit is not None
        and row.unit.excludes_zero
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


def _distributions(paired: PairedUnits, budgets: Sequence[int]) -> dict[str, CellDistribution]:
    cells = {}
    for budget in budgets:
        cell = paired.select(paired.budgets == budget)
        if cell.n_paired == 0:
            continue
        b, v = cell.baseline, cell.variant
        cells[budget_label(budget)] = CellDistribution(
            latency_ms=_latency_quantiles(v.latency_ms),
            baseline_latency_ms=_latency_quantiles(b.latency_ms),
            qa_per_100k=_finite_or_none(_qa(v.qa_score, v.pack_tokens)),
            baseline_qa_per_100k=_finite_or_none(_qa(b.qa_score, b.pack_tokens)),
        )
    return cells


def _latency_quantiles(values: FloatArray) -> tuple[tuple[str, float], ...]:
    return tuple((name, float(np.quantile(values, q))) for name, q in LATENCY_QUANTILES)


def _finite_or_none(value: float) -> float | None:
    return value if math.isfinite(value) else None
