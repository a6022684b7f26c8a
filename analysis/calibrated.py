"""Intervals calibrated for the number of clusters a decision rests on: the cluster t.

The gates decide on few clusters: 24 question clusters in the standard
profile's timed trials, 6 in the quick one, and a few hundred questions in the
quality stage. Percentile and BCa bootstrap intervals are too narrow at 6-24
clusters (they use normal-theory quantiles in effect and a plug-in variance
with no small-sample correction): in the gates' regime the A/A family-wise
error of BCa was 22.7% for a nominal 5%. ``python -m analysis.simulate
--end-to-end`` measures both.

The interval used here is the studentized interval of a *log ratio of sums*
with a cluster-robust variance and Student-t quantiles on ``G - 1`` degrees of
freedom (Cameron & Miller 2015, sec. VI; the delta method for ratio
estimators, Cochran 1977, sec. 6.4):

* The statistic is ``L = sum_j log N_j - sum_j log D_j`` over column totals: a
  ratio of means (latency, memory, recall: ``N = (v,)``, ``D = (b,)``) or a
  ratio of ratios (QA per 100k tokens: ``N = (scores_v, tokens_b)``,
  ``D = (scores_b, tokens_v)``). It is invariant to the scale of each column.
* Each cluster ``g`` contributes ``z_g = sum_j (n_gj / mean N_j - d_gj / mean D_j)``
  (its linearisation; ``sum_g z_g = 0``), and ``se(L)^2 = sum_g z_g^2 / (G (G - 1))``,
  the CR1 finite-cluster correction of the sandwich variance. Identical arms
  give exactly ``L = 0`` and ``se = 0``.
* Bounds: ``exp(L -+ t_{G-1, 1 - a} se) - 1`` for a one-sided level ``1 - a``.

Chosen by measurement against the BCa and percentile intervals on the same
simulated data (README, "Decisions: validated end to end"). It is analytic, so
its tails at ``alpha / m`` (0.1% and below) need no resampling, and the power
model (:mod:`analysis.power`, noncentral t on ``G - 1`` degrees of freedom)
matches the test actually run.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats  # type: ignore[import-untyped]

from analysis.bootstrap import FloatArray
from analysis.errors import AnalysisInputError
from analysis.power import power_analysis

__all__ = ["METHOD", "ClusterT", "LogRatio", "cluster_t", "t_power"]

METHOD = "cluster-t"


@dataclass(frozen=True, eq=False)
class LogRatio:
    """``log(prod of numerator totals / prod of denominator totals)`` over per-unit columns.

    Numerators and denominators come in pairs whose terms cancel when two arms are
    identical (``(v, b)`` for a ratio of means), so identical arms give exactly 0.
    """

    numerators: Sequence[FloatArray]
    denominators: Sequence[FloatArray]
    label: str = ""

    @staticmethod
    def mean_ratio(variant: FloatArray, baseline: FloatArray, label: str = "") -> LogRatio:
        return LogRatio((variant,), (baseline,), label)

    @staticmethod
    def ratio_of_ratios(
        variant_num: FloatArray,
        variant_den: FloatArray,
        baseline_num: FloatArray,
        baseline_den: FloatArray,
        label: str = "",
    ) -> LogRatio:
        """``(sum vn / sum vd) / (sum bn / sum bd)``, paired as (vn, bn) and (bd, vd)."""
        return LogRatio((variant_num, baseline_den), (baseline_num, variant_den), label)


@dataclass(frozen=True)
class ClusterT:
    """A cluster-t interval of a relative change at a two-sided level."""

    estimate: float  # relative change, exp(L) - 1
    low: float
    high: float
    log_estimate: float
    standard_error: float  # of the log ratio
    n_clusters: int
    confidence_level: float  # two-sided; each bound is one-sided at (1 + level) / 2
    t_quantile: float


def cluster_t(ratio: LogRatio, clusters: Sequence[str] | None, confidence_level: float) -> ClusterT:
    """The studentized interval of ``ratio`` with clusters as the independent units.

    ``clusters`` labels each unit (None: every unit is its own cluster). Raises
    AnalysisInputError for fewer than 2 clusters or a column whose total is not
    positive (a ratio of zero has no log).
    """
    if not 0.0 < confidence_level < 1.0:
        raise AnalysisInputError(f"confidence level must be in (0, 1), got {confidence_level}")
    columns = [np.asarray(c, dtype=float) for c in (*ratio.numerators, *ratio.denominators)]
    pairs = len(ratio.numerators)
    if len(ratio.denominators) != pairs or pairs == 0:
        raise AnalysisInputError(f"`{ratio.label}`: numerators and denominators must pair up")
    n = len(columns[0])
    if any(len(column) != n for column in columns):
        raise AnalysisInputError(f"`{ratio.label}`: columns of different lengths")
    totals = _cluster_totals(np.vstack(columns), clusters)
    groups = totals.shape[1]
    if groups < 2:
        raise AnalysisInputError(f"`{ratio.label}`: {groups} cluster(s); an interval needs 2")
    sums = totals.sum(axis=1)
    if not np.all(np.isfinite(sums)) or np.any(sums <= 0):
        raise AnalysisInputError(f"`{ratio.label}`: a total is zero or not finite")
    numerator, denominator = sums[:pairs], sums[pairs:]
    log_estimate = math.log(math.prod(numerator) / math.prod(denominator))
    scaled = totals / (sums[:, None] / groups)  # each cluster's share of its column's mean
    contributions = (scaled[:pairs] - scaled[pairs:]).sum(axis=0)
    se = math.sqrt(float(contributions @ contributions) / (groups * (groups - 1)))
    quantile = float(stats.t.ppf(0.5 + confidence_level / 2.0, groups - 1))
    return ClusterT(
        estimate=math.expm1(log_estimate),
        low=math.expm1(log_estimate - quantile * se),
        high=math.expm1(log_estimate + quantile * se),
        log_estimate=log_estimate,
        standard_error=se,
        n_clusters=groups,
        confidence_level=confidence_level,
        t_quantile=quantile,
    )


def _cluster_totals(values: FloatArray, clusters: Sequence[str] | None) -> FloatArray:
    """Columns summed within clusters: shape (columns, clusters), clusters in sorted order."""
    if clusters is None:
        return values
    labels = np.asarray(clusters)
    if labels.shape != (values.shape[1],):
        raise AnalysisInputError("one cluster label per unit is needed")
    _, index = np.unique(labels, return_inverse=True)
    totals = np.zeros((values.shape[0], int(index.max()) + 1))
    for row in range(values.shape[0]):
        totals[row] = np.bincount(index, weights=values[row])
    return totals


@dataclass(frozen=True)
class TPower:
    """Design-stage power of one bound against a target effect, and clusters for the target."""

    target_effect: float
    achieved: float
    mde: float  # relative change detectable with the target power at this size
    clusters_for_target: int | None
    underpowered: bool
    alpha: float  # the one-sided level of the bound


def t_power(interval: ClusterT, target_effect: float, alpha: float, target_power: float) -> TPower:
    """Power of the one-sided bound at level ``1 - alpha`` to clear ``target_effect``.

    The bound is on the log scale with the interval's standard error and
    ``G - 1`` degrees of freedom: the same test the gate runs. For a
    non-inferiority margin the question is "if the truth is no change, how
    often does the bound clear the margin?", which is the same number.
    """
    effect = abs(math.log1p(target_effect))
    if interval.standard_error == 0.0:
        return TPower(target_effect, 1.0, 0.0, interval.n_clusters, False, alpha)
    result = power_analysis(
        effect,
        interval.standard_error,
        interval.n_clusters,
        alpha=alpha,
        target_power=target_power,
        alternative="greater",
    )
    return TPower(
        target_effect=target_effect,
        achieved=result.power,
        mde=math.expm1(result.minimum_detectable_effect),
        clusters_for_target=result.units_for_target,
        underpowered=result.underpowered,
        alpha=alpha,
    )
