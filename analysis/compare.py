"""Families of paired comparisons against the baseline: the numbers a gate reads.

One call analyses every family of one budget cell (same units) with one
shared bootstrap draw (:func:`analysis.batch.bca_relative_change`). For each
comparison it reports the relative change with its BCa interval at the
multiplicity-adjusted level, the p-value that inverts that interval, the
adjusted p-value and decision, Cohen's ``d_z`` with its label, and the power
analysis for the family's target effect.

A *family* is the set of variants compared on one metric (the issue's
"family of variants"); ``m`` is its size. Intervals are at ``1 - alpha / m``
(Bonferroni). Decisions use Bonferroni (``p <= alpha / m``, the same event as
"0 outside the interval") or Holm (1979). Power uses ``alpha / m``.

For the repository-level sensitivity check call :func:`compare` again with
``clusters=`` (repository of each unit): the cluster bootstrap resamples
repositories and power counts repositories instead of units.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from numpy.typing import ArrayLike

from analysis.batch import BCaBatchResult, RelativeChange, bca_relative_change
from analysis.bootstrap import FloatArray, SeedLike
from analysis.effects import (
    CORRECTIONS,
    Correction,
    EffectSize,
    bonferroni,
    bonferroni_p_values,
    cohens_dz,
    holm,
)
from analysis.errors import AnalysisInputError
from analysis.power import Alternative, PowerResult, power_analysis

__all__ = ["ComparisonResult", "Family", "FamilyResult", "compare"]


@dataclass(frozen=True, eq=False)
class Family:
    """Comparisons that share a multiplicity adjustment and a target effect.

    ``target_effect`` is the relative change the gate must be able to detect
    (e.g. ``0.13`` for +13% QA per 100k tokens, ``0.10`` for a 10% latency
    regression); ``alternative`` is the direction used for power.
    """

    name: str
    comparisons: Sequence[RelativeChange]
    target_effect: float
    alternative: Alternative = "two-sided"


@dataclass(frozen=True)
class ComparisonResult:
    """One variant against the paired baseline on one metric.

    ``relative_change``, ``ci_low``, ``ci_high``: estimate and BCa interval at
    ``confidence_level`` (already adjusted). ``p_value`` is unadjusted,
    ``adjusted_p_value`` follows the family's correction and
    ``significant`` is ``adjusted_p_value <= alpha``. ``method`` is
    ``"BCa"``, ``"percentile"`` (by choice for quantile ratios, or the
    fallback when ``z0`` is infinite) or ``"degenerate"``; ``resampling`` is
    ``"unit"`` or ``"cluster"``.

    Two documented fallbacks are not finite: ``z0 = +-inf`` (percentile
    fallback) and ``effect_size.dz = +-inf`` (constant non-zero differences).
    JSON writers must turn them into ``null`` (``gates/INPUTS.md``).
    """

    family: str
    label: str
    relative_change: float
    ci_low: float
    ci_high: float
    confidence_level: float
    p_value: float
    adjusted_p_value: float
    significant: bool
    effect_size: EffectSize
    power: PowerResult
    method: str
    z0: float
    acceleration: float
    standard_error: float
    resampling: str


@dataclass(frozen=True)
class FamilyResult:
    """The comparisons of one family with the adjustment that was applied."""

    name: str
    correction: Correction
    alpha: float
    m: int
    confidence_level: float
    comparisons: tuple[ComparisonResult, ...]


def compare(
    families: Sequence[Family],
    *,
    alpha: float = 0.05,
    correction: Correction = "bonferroni",
    target_power: float = 0.80,
    n_resamples: int = 10_000,
    seed: SeedLike = None,
    clusters: ArrayLike | None = None,
) -> tuple[FamilyResult, ...]:
    """Analyse families of paired comparisons over the same units.

    Parameters
    ----------
    families : sequence of Family
        All comparisons share the same ``n`` paired units.
    alpha : float
        Family-wise error rate.
    correction : {"bonferroni", "holm"}
        Multiplicity correction within each family.
    target_power : float
        Power below which a comparison is flagged ``underpowered``.
    n_resamples, seed, clusters
        As in :func:`analysis.batch.bca_relative_change`.
    """
    if correction not in CORRECTIONS:
        raise AnalysisInputError(f"`correction` must be one of {CORRECTIONS}; got {correction!r}")
    if not isinstance(families, Sequence) or not families:
        raise AnalysisInputError("`families` must be a non-empty sequence of Family")
    for family in families:
        if not isinstance(family, Family) or len(family.comparisons) == 0:
            raise AnalysisInputError("every item of `families` must be a Family with comparisons")
    sizes = [len(family.comparisons) for family in families]
    levels = [1.0 - bonferroni(alpha, m) for m in sizes for _ in range(m)]
    batch = bca_relative_change(
        [comparison for family in families for comparison in family.comparisons],
        confidence_level=levels,
        n_resamples=n_resamples,
        seed=seed,
        clusters=clusters,
    )
    p_values = batch.p_values(0.0)
    results = []
    start = 0
    for family, m in zip(families, sizes, strict=True):
        rows = range(start, start + m)
        start += m
        results.append(
            _family_result(
                family,
                batch,
                rows,
                p_values[rows.start : rows.stop],
                alpha,
                correction,
                target_power,
            )
        )
    return tuple(results)


def _family_result(
    family: Family,
    batch: BCaBatchResult,
    rows: range,
    p_values: FloatArray,
    alpha: float,
    correction: Correction,
    target_power: float,
) -> FamilyResult:
    m = len(rows)
    if correction == "holm":
        decision = holm(p_values, alpha)
        adjusted, significant = decision.adjusted_p_values, decision.reject
    else:
        adjusted = bonferroni_p_values(p_values)
        significant = adjusted <= alpha
    level = bonferroni(alpha, m)
    n_resampled = batch.degrees_of_freedom + 1
    comparisons = []
    for offset, row in enumerate(rows):
        comparison = family.comparisons[offset]
        comparisons.append(
            ComparisonResult(
                family=family.name,
                label=batch.labels[row],
                relative_change=float(batch.estimate[row]),
                ci_low=float(batch.low[row]),
                ci_high=float(batch.high[row]),
                confidence_level=float(batch.confidence_level[row]),
                p_value=float(p_values[offset]),
                adjusted_p_value=float(adjusted[offset]),
                significant=bool(significant[offset]),
                effect_size=cohens_dz(comparison.unit_differences()),
                power=power_analysis(
                    family.target_effect,
                    float(batch.standard_error[row]),
                    n_resampled,
                    alpha=level,
                    target_power=target_power,
                    alternative=family.alternative,
                ),
                method=batch.method[row],
                z0=float(batch.z0[row]),
                acceleration=float(batch.acceleration[row]),
                standard_error=float(batch.standard_error[row]),
                resampling=batch.resampling,
            )
        )
    return FamilyResult(
        name=family.name,
        correction=correction,
        alpha=alpha,
        m=m,
        confidence_level=1.0 - level,
        comparisons=tuple(comparisons),
    )
