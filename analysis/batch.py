"""Many paired BCa intervals at once: the engine for the benchmark grid.

Every comparison in one call is paired over the same ``n`` units (one budget
cell: every variant and metric measured on the same repositories and
questions). One bootstrap draw of units is shared by all comparisons in the
call, and the statistics are computed from a matrix of resampling weights
``W`` of shape ``(n, B)`` (``W[i, b]`` = how often unit ``i`` appears in
resample ``b``; unit-major, so that gathering units is contiguous):

* sums become one matrix product, ``S = X.T @ W`` (one ``einsum``), so a
  ratio of sums over 10,000 resamples is one pass over ``W``;
* quantiles use the values sorted once and cumulative weights, giving the
  same order statistics (and numpy's linear interpolation) as sorting each
  resample. Quantile ratios default to the percentile interval (see
  :class:`QuantileRatio` for why); everything else is BCa.

Sharing the draw makes the intervals of one call positively correlated (they
see the same resampled units). Each interval on its own is an ordinary BCa
interval; the joint draw is the standard way to resample a multivariate
statistic and does not affect the validity of Bonferroni or Holm
adjustments, which hold under any dependence.

The cluster bootstrap (``clusters=`` repository labels) resamples clusters
with replacement and takes every unit of each chosen cluster (Davison &
Hinkley 1997, sec. 3.8); the acceleration then comes from the
leave-one-cluster-out jackknife. It is the sensitivity check for units that
cluster by repository.

Statistics (all "relative change", 0 means no change):

* :class:`RatioOfSums` -- ``(sum a_v / sum c_v) / (sum a_b / sum c_b) - 1``,
  e.g. QA per 100k tokens, ``100000 * sum(score) / sum(tokens)``;
* :class:`MeanRatio` -- ``mean(v) / mean(b) - 1`` (latency, peak memory);
* :class:`QuantileRatio` -- ``Q_q(v) / Q_q(b) - 1`` (p95 latency).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from analysis.bootstrap import (
    BCaResult,
    FloatArray,
    SeedLike,
    as_finite_vector,
    bca_core,
    bca_p_values_core,
    check_confidence_level,
    check_n_resamples,
    endpoint_mc_se,
    index_chunks,
    make_rng,
    warn_if_degenerate,
)
from analysis.errors import AnalysisInputError, DegenerateDataError

__all__ = [
    "INTERVAL_METHODS",
    "BCaBatchResult",
    "IntervalMethod",
    "MeanRatio",
    "QuantileRatio",
    "RatioOfSums",
    "RelativeChange",
    "bca_relative_change",
]

_CHUNK_ELEMENTS = 1 << 22

IntervalMethod = Literal["BCa", "percentile"]
_COUNT_BLOCK = 512  # resamples counted at once by `_counts`


@dataclass(frozen=True, eq=False)
class RatioOfSums:
    """Relative change of a ratio of sums: ``(sum a_v / sum c_v) / (sum a_b / sum c_b) - 1``.

    For QA per 100k tokens: numerators are per-unit scores, denominators
    per-unit tokens; the constant 100000 cancels. Values must be
    non-negative and every total positive.
    """

    variant_numerator: ArrayLike
    variant_denominator: ArrayLike
    baseline_numerator: ArrayLike
    baseline_denominator: ArrayLike
    label: str = ""
    method: IntervalMethod = "BCa"

    def unit_differences(self) -> FloatArray:
        """Per-unit paired differences of ``a / c`` (for Cohen's dz); needs ``c > 0``."""
        v_num, v_den, b_num, b_den = (_vector(x, "unit_differences") for x in self._arrays())
        if np.any(v_den <= 0) or np.any(b_den <= 0):
            raise DegenerateDataError(
                f"`{self.label or 'RatioOfSums'}`: per-unit ratios need positive denominators"
            )
        differences: FloatArray = v_num / v_den - b_num / b_den
        return differences

    def _arrays(self) -> tuple[ArrayLike, ArrayLike, ArrayLike, ArrayLike]:
        return (
            self.variant_numerator,
            self.variant_denominator,
            self.baseline_numerator,
            self.baseline_denominator,
        )


@dataclass(frozen=True, eq=False)
class MeanRatio:
    """Relative change of a mean: ``mean(v) / mean(b) - 1`` over paired units."""

    variant: ArrayLike
    baseline: ArrayLike
    label: str = ""
    method: IntervalMethod = "BCa"

    def unit_differences(self) -> FloatArray:
        """Per-unit paired differences ``v - b`` (for Cohen's dz)."""
        differences: FloatArray = _vector(self.variant, "variant") - _vector(
            self.baseline, "baseline"
        )
        return differences


@dataclass(frozen=True, eq=False)
class QuantileRatio:
    """Relative change of a quantile: ``Q_q(v) / Q_q(b) - 1`` (numpy's linear quantile).

    The interval defaults to the percentile method. A sample quantile is not
    a smooth statistic: the jackknife behind ``a_hat`` is inconsistent for
    it (Efron 1982, sec. 3.4), and ``z0_hat`` is dominated by the lumpiness of
    its bootstrap distribution (``sd(z0_hat)`` about 0.22 across A/A data sets
    of 300 units, against about 0.06 for a smooth statistic). In the A/A
    simulation (``python -m analysis.simulate``) BCa intervals of a p95 ratio
    rejected a true null about 1.5 times as often as nominal while percentile
    intervals stayed below it; ``method="BCa"`` remains available.
    """

    variant: ArrayLike
    baseline: ArrayLike
    q: float = 0.95
    label: str = ""
    method: IntervalMethod = "percentile"

    def unit_differences(self) -> FloatArray:
        """Per-unit paired differences ``v - b`` (for Cohen's dz)."""
        differences: FloatArray = _vector(self.variant, "variant") - _vector(
            self.baseline, "baseline"
        )
        return differences


RelativeChange = RatioOfSums | MeanRatio | QuantileRatio
INTERVAL_METHODS: tuple[IntervalMethod, ...] = ("BCa", "percentile")


@dataclass(frozen=True, eq=False)
class BCaBatchResult:
    """``k`` BCa intervals from one shared bootstrap draw; arrays have shape ``(k,)``.

    ``bootstrap_distribution`` is ``(k, B)``, row ``j`` belonging to
    ``comparisons[j]``; ``labels`` repeats the comparisons' labels.
    ``resampling`` is ``"unit"`` or ``"cluster"``; ``n_units`` counts units
    and ``n_clusters`` clusters (``None`` for the unit bootstrap).
    ``standard_error`` is the bootstrap standard deviation.
    """

    estimate: FloatArray
    low: FloatArray
    high: FloatArray
    confidence_level: FloatArray
    z0: FloatArray
    acceleration: FloatArray
    standard_error: FloatArray
    n_resamples: int
    bootstrap_distribution: FloatArray
    method: tuple[str, ...]
    labels: tuple[str, ...]
    resampling: str
    n_units: int
    n_clusters: int | None = None

    def __len__(self) -> int:
        return int(self.estimate.size)

    def __getitem__(self, j: int) -> BCaResult:
        """Interval ``j`` as a :class:`~analysis.bootstrap.BCaResult`."""
        return BCaResult(
            estimate=float(self.estimate[j]),
            low=float(self.low[j]),
            high=float(self.high[j]),
            confidence_level=float(self.confidence_level[j]),
            z0=float(self.z0[j]),
            acceleration=float(self.acceleration[j]),
            n_resamples=self.n_resamples,
            bootstrap_distribution=self.bootstrap_distribution[j],
            method=self.method[j],
            standard_error=float(self.standard_error[j]),
        )

    @property
    def degrees_of_freedom(self) -> int:
        """Independent resampling units minus one (clusters for the cluster bootstrap)."""
        return (self.n_clusters if self.n_clusters is not None else self.n_units) - 1

    @cached_property
    def sorted_distribution(self) -> FloatArray:
        """The bootstrap distribution sorted along the last axis (computed once)."""
        return np.sort(self.bootstrap_distribution, axis=-1)

    def p_values(self, null_value: float = 0.0) -> FloatArray:
        """Two-sided p-values by inverting each BCa interval at ``null_value``.

        ``p < alpha`` exactly when ``null_value`` lies outside the ``1 - alpha``
        interval; see :func:`analysis.effects.bca_p_value`.
        """
        return bca_p_values_core(
            self.sorted_distribution,
            self.estimate,
            self.z0,
            self.acceleration,
            self.method,
            np.full(self.estimate.shape, float(null_value)),
        )

    def monte_carlo_se(self) -> tuple[FloatArray, FloatArray]:
        """Monte-Carlo standard errors of ``low`` and ``high``."""
        se = endpoint_mc_se(
            self.sorted_distribution,
            self.z0,
            self.acceleration,
            1.0 - self.confidence_level,
            self.method,
        )
        return se[:, 0], se[:, 1]


def bca_relative_change(
    comparisons: Sequence[RelativeChange],
    *,
    confidence_level: float | Sequence[float] = 0.95,
    n_resamples: int = 10_000,
    seed: SeedLike = None,
    clusters: ArrayLike | None = None,
) -> BCaBatchResult:
    """BCa intervals (Efron 1987) for many paired relative changes, one shared draw.

    Parameters
    ----------
    comparisons : sequence of RatioOfSums, MeanRatio, QuantileRatio
        Every array has the same length ``n`` (the paired units of one cell).
    confidence_level : float or sequence of float
        One level for all, or one per comparison (e.g. per family after a
        Bonferroni adjustment).
    n_resamples : int
        ``B``.
    seed : int, Generator, SeedSequence or None
        For ``numpy.random.default_rng``. With the unit bootstrap the draws
        equal those of :func:`analysis.bootstrap.bca` with ``paired=True``
        and the same seed.
    clusters : array_like of labels, optional
        Cluster (repository) of each unit; if given, clusters are resampled
        instead of units (needs at least two clusters).

    Returns
    -------
    BCaBatchResult
    """
    plan, alpha, cluster_index, rng = _batch_iv(
        comparisons, confidence_level, n_resamples, seed, clusters
    )
    n = plan.n_units
    theta_hat = plan.evaluate(np.ones((n, 1)))[:, 0]
    if cluster_index is None:
        theta_hat_b = _unit_replicates(plan, n_resamples, rng)
        theta_hat_jack = _jackknife(plan, np.arange(n))
    else:
        theta_hat_b = _cluster_replicates(plan, cluster_index, n_resamples, rng)
        theta_hat_jack = _jackknife(plan, cluster_index)
    _check_finite(theta_hat, theta_hat_b, theta_hat_jack, plan.labels)
    core = bca_core(theta_hat, theta_hat_b, [theta_hat_jack], alpha, plan.percentile)
    warn_if_degenerate(core)
    return BCaBatchResult(
        estimate=theta_hat,
        low=core.low,
        high=core.high,
        confidence_level=1.0 - alpha,
        z0=core.z0,
        acceleration=core.acceleration,
        standard_error=core.standard_error,
        n_resamples=n_resamples,
        bootstrap_distribution=theta_hat_b,
        method=core.method,
        labels=plan.labels,
        resampling="unit" if cluster_index is None else "cluster",
        n_units=n,
        n_clusters=None if cluster_index is None else int(cluster_index.max()) + 1,
    )


# ---------------------------------------------------------------------------
# Plan: the comparisons as columns of sums and sorted arrays for quantiles
# ---------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class _SortedArm:
    """One arm's values for quantiles: sorted once, with the sort order."""

    values_sorted: FloatArray
    order: NDArray[np.intp]


@dataclass(frozen=True, eq=False)
class _Plan:
    """Comparisons compiled to matrix operations on a weight matrix ``W``."""

    n_units: int
    labels: tuple[str, ...]
    # Ratio rows: row index and, per row, the four columns (a_v, c_v, a_b, c_b)
    # of `columns`; columns are deduplicated (variants share the baseline's).
    ratio_rows: NDArray[np.intp]
    ratio_columns: NDArray[np.intp]  # (n_ratio, 4)
    columns: FloatArray  # (n, distinct columns)
    # Quantile rows: (row, variant arm, baseline arm, q); arms are deduplicated
    # (every variant shares the baseline's arm).
    quantile_rows: tuple[tuple[int, int, int, float], ...]
    arms: tuple[_SortedArm, ...]
    # Rows whose interval is the percentile interval by choice.
    percentile: NDArray[np.bool_]

    def evaluate(self, weights: FloatArray) -> FloatArray:
        """The statistics under each column of ``weights`` (``(n, rows)``): ``(k, rows)``."""
        k = len(self.labels)
        values = np.empty((k, weights.shape[1]))
        if self.ratio_rows.size:
            # einsum, not BLAS: a multi-threaded BLAS spins its threads after
            # each call and, on a busy 2-core runner, slows everything else.
            sums = np.einsum("ij,ik->jk", self.columns, weights)[self.ratio_columns]
            with np.errstate(all="ignore"):
                ratio = (sums[:, 0] * sums[:, 3]) / (sums[:, 1] * sums[:, 2]) - 1.0
            values[self.ratio_rows] = ratio
        if self.quantile_rows:
            totals = weights.sum(axis=0)
            quantiles: dict[tuple[int, float], FloatArray] = {}
            for row, variant, baseline, q in self.quantile_rows:
                for arm in (variant, baseline):
                    if (arm, q) not in quantiles:
                        quantiles[arm, q] = _weighted_quantile(self.arms[arm], weights, totals, q)
                with np.errstate(all="ignore"):
                    values[row] = quantiles[variant, q] / quantiles[baseline, q] - 1.0
        return values


def _weighted_quantile(
    arm: _SortedArm, weights: FloatArray, totals: FloatArray, q: float
) -> FloatArray:
    """Linear-interpolation quantile of each resample given integer weights.

    ``weights`` is ``(n, rows)``. Resample ``b`` holds ``values_sorted[i]``
    ``W[order[i], b]`` times; its
    order statistic ``k`` (0-based) is ``values_sorted[#{cw <= k}]`` with
    ``cw`` the cumulative weights. Upper quantiles only need the top of the
    distribution: the order statistics are read from cumulative weights of
    the largest values, falling back to the full computation for the rare
    resamples that draw too few of them. The result is exact either way.
    """
    n = arm.values_sorted.size
    position = (totals - 1.0) * q
    below = np.floor(position)
    fraction = position - below
    tail = min(n, 2 * int(np.ceil((1.0 - q) * n)) + 32)
    if 2 * tail > n:
        value_below, value_above = _order_statistics_full(arm, weights, below)
    else:
        value_below, value_above = _order_statistics_top(arm, weights, totals, below, tail)
    result: FloatArray = value_below + fraction * (value_above - value_below)
    return result


def _cumulative_rows(rows: FloatArray) -> FloatArray:
    """``np.cumsum(rows, axis=0)`` in place, one contiguous row at a time.

    numpy's cumsum along the first axis walks strided memory; adding whole
    rows is several times faster for the ``(units, resamples)`` layout.
    """
    for i in range(1, rows.shape[0]):
        np.add(rows[i], rows[i - 1], out=rows[i])
    return rows


def _order_statistics_full(
    arm: _SortedArm, weights: FloatArray, below: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Order statistics ``below`` and ``below + 1`` (clipped to the maximum) of each resample."""
    cumulative = _cumulative_rows(weights[arm.order])
    last = arm.values_sorted.size - 1
    index_below = np.minimum(np.count_nonzero(cumulative <= below, axis=0), last)
    index_above = np.minimum(np.count_nonzero(cumulative <= below + 1.0, axis=0), last)
    return arm.values_sorted[index_below], arm.values_sorted[index_above]


def _order_statistics_top(
    arm: _SortedArm, weights: FloatArray, totals: FloatArray, below: FloatArray, tail: int
) -> tuple[FloatArray, FloatArray]:
    """As :func:`_order_statistics_full`, counting down from the ``tail`` largest values."""
    top_values = arm.values_sorted[::-1][:tail]
    cumulative = _cumulative_rows(weights[arm.order[::-1][:tail]])
    # Ascending order statistic k is descending rank (total - 1 - k).
    rank_below = totals - 1.0 - below
    rank_above = np.maximum(rank_below - 1.0, 0.0)
    index_below = np.count_nonzero(cumulative <= rank_below, axis=0)
    index_above = np.count_nonzero(cumulative <= rank_above, axis=0)
    covered = cumulative[-1] > rank_below
    value_below = top_values[np.minimum(index_below, tail - 1)]
    value_above = top_values[np.minimum(index_above, tail - 1)]
    if not covered.all():
        missing = ~covered
        full_below, full_above = _order_statistics_full(arm, weights[:, missing], below[missing])
        value_below[missing] = full_below
        value_above[missing] = full_above
    return value_below, value_above


def _vector(values: ArrayLike, name: str) -> FloatArray:
    return as_finite_vector(values, name)


def _batch_iv(
    comparisons: Sequence[RelativeChange],
    confidence_level: float | Sequence[float],
    n_resamples: int,
    seed: SeedLike,
    clusters: ArrayLike | None,
) -> tuple[_Plan, FloatArray, NDArray[np.intp] | None, np.random.Generator]:
    if not isinstance(comparisons, Sequence):
        raise AnalysisInputError("`comparisons` must be a sequence of comparisons")
    if len(comparisons) == 0:
        raise AnalysisInputError("`comparisons` is empty")
    plan = _compile(comparisons)
    alpha = 1.0 - _confidence_levels(confidence_level, len(comparisons))
    check_n_resamples(n_resamples)
    cluster_index = None if clusters is None else _cluster_index(clusters, plan.n_units)
    return plan, alpha, cluster_index, make_rng(seed)


def _confidence_levels(confidence_level: float | Sequence[float], k: int) -> FloatArray:
    if isinstance(confidence_level, Sequence):
        if len(confidence_level) != k:
            raise AnalysisInputError(
                f"`confidence_level` has {len(confidence_level)} values for {k} comparisons"
            )
        return np.array([check_confidence_level(level) for level in confidence_level])
    return np.full(k, check_confidence_level(confidence_level))


def _cluster_index(clusters: ArrayLike, n: int) -> NDArray[np.intp]:
    labels = np.asarray(clusters)
    if labels.ndim != 1 or labels.size != n:
        raise AnalysisInputError(
            f"`clusters` must give one label per unit ({n}); got shape {labels.shape}"
        )
    _, inverse = np.unique(labels, return_inverse=True)
    cluster_index = inverse.astype(np.intp).reshape(-1)
    if cluster_index.max() < 1:
        raise DegenerateDataError("`clusters` has a single cluster; the cluster bootstrap needs 2")
    return cluster_index


def _compile(comparisons: Sequence[RelativeChange]) -> _Plan:
    ratio_rows: list[int] = []
    ratio_columns: list[list[int]] = []
    columns: list[FloatArray] = []
    column_index: dict[bytes, int] = {}
    quantile_rows: list[tuple[int, int, int, float]] = []
    arms: list[_SortedArm] = []
    arm_index: dict[bytes, int] = {}
    labels = []
    percentile = []
    for row, comparison in enumerate(comparisons):
        label = str(getattr(comparison, "label", ""))
        name = label or f"comparisons[{row}]"
        labels.append(label)
        if not isinstance(comparison, (RatioOfSums, MeanRatio, QuantileRatio)):
            raise AnalysisInputError(
                f"`comparisons[{row}]` must be RatioOfSums, MeanRatio or QuantileRatio; "
                f"got {type(comparison).__name__}"
            )
        method = comparison.method
        if method not in INTERVAL_METHODS:
            raise AnalysisInputError(
                f"`{name}.method` must be one of {INTERVAL_METHODS}; got {method!r}"
            )
        percentile.append(method == "percentile")
        if isinstance(comparison, RatioOfSums):
            arrays = [
                _nonnegative(x, f"{name}.{part}")
                for x, part in zip(
                    comparison._arrays(),
                    (
                        "variant_numerator",
                        "variant_denominator",
                        "baseline_numerator",
                        "baseline_denominator",
                    ),
                    strict=True,
                )
            ]
            ratio_rows.append(row)
            ratio_columns.append([_column(x, columns, column_index) for x in arrays])
        elif isinstance(comparison, MeanRatio):
            variant = _nonnegative(comparison.variant, f"{name}.variant")
            baseline = _nonnegative(comparison.baseline, f"{name}.baseline")
            ones = np.ones_like(variant)
            ratio_rows.append(row)
            ratio_columns.append(
                [_column(x, columns, column_index) for x in (variant, ones, baseline, ones)]
            )
        else:
            variant = _vector(comparison.variant, f"{name}.variant")
            baseline = _vector(comparison.baseline, f"{name}.baseline")
            quantile_rows.append(
                (
                    row,
                    _arm(variant, arms, arm_index),
                    _arm(baseline, arms, arm_index),
                    _quantile_level(comparison.q, name),
                )
            )
    sizes = {x.size for x in columns} | {arm.values_sorted.size for arm in arms}
    if len(sizes) > 1:
        raise AnalysisInputError(
            "every array in `comparisons` must have the same length (paired units); "
            f"got lengths {sorted(sizes)}"
        )
    return _Plan(
        n_units=sizes.pop(),
        labels=tuple(labels),
        ratio_rows=np.array(ratio_rows, dtype=np.intp),
        ratio_columns=np.array(ratio_columns, dtype=np.intp).reshape(-1, 4),
        columns=np.column_stack(columns) if columns else np.empty((0, 0)),
        quantile_rows=tuple(quantile_rows),
        arms=tuple(arms),
        percentile=np.array(percentile, dtype=bool),
    )


def _nonnegative(values: ArrayLike, name: str) -> FloatArray:
    vector = _vector(values, name)
    if np.any(vector < 0):
        raise AnalysisInputError(f"`{name}` must be non-negative for a relative change of sums")
    return vector


def _quantile_level(q: float, name: str) -> float:
    if isinstance(q, bool) or not isinstance(q, (int, float)) or not 0.0 <= q <= 1.0:
        raise AnalysisInputError(f"`{name}.q` must be in [0, 1]; got {q!r}")
    return float(q)


def _column(values: FloatArray, columns: list[FloatArray], column_index: dict[bytes, int]) -> int:
    """Index of ``values`` among the distinct columns, adding it if new."""
    key = values.tobytes()
    if key not in column_index:
        column_index[key] = len(columns)
        columns.append(values)
    return column_index[key]


def _arm(values: FloatArray, arms: list[_SortedArm], arm_index: dict[bytes, int]) -> int:
    """Index of ``values`` among the sorted arms, adding it if new (same bytes, same arm)."""
    key = values.tobytes()
    if key not in arm_index:
        order = np.argsort(values, kind="stable")
        arm_index[key] = len(arms)
        arms.append(_SortedArm(values_sorted=values[order], order=order))
    return arm_index[key]


# ---------------------------------------------------------------------------
# Replicates
# ---------------------------------------------------------------------------


def _counts(indices: NDArray[np.intp], n: int) -> FloatArray:
    """Resampling weights ``(n, rows)``: ``W[i, b]`` = occurrences of ``i`` in ``indices[b]``.

    Counted in blocks of rows small enough for the cache, then transposed
    into place (several times faster than one large ``bincount``).
    """
    rows = indices.shape[0]
    weights = np.empty((n, rows))
    for start in range(0, rows, _COUNT_BLOCK):
        block = indices[start : start + _COUNT_BLOCK]
        size = block.shape[0]
        offsets = (np.arange(size, dtype=np.intp) * n)[:, np.newaxis]
        counts = np.bincount((block + offsets).ravel(), minlength=size * n)
        weights[:, start : start + size] = counts.reshape(size, n).T
    return weights


def _unit_replicates(plan: _Plan, n_resamples: int, rng: np.random.Generator) -> FloatArray:
    n = plan.n_units
    parts = [plan.evaluate(_counts(indices, n)) for indices in index_chunks(rng, n, n_resamples)]
    return np.concatenate(parts, axis=1)


def _cluster_replicates(
    plan: _Plan, cluster_index: NDArray[np.intp], n_resamples: int, rng: np.random.Generator
) -> FloatArray:
    n_clusters = int(cluster_index.max()) + 1
    parts = []
    rows = max(1, _CHUNK_ELEMENTS // plan.n_units)
    for start in range(0, n_resamples, rows):
        size = min(rows, n_resamples - start)
        chosen = rng.integers(0, n_clusters, size=(size, n_clusters))
        parts.append(plan.evaluate(_counts(chosen, n_clusters)[cluster_index]))
    return np.concatenate(parts, axis=1)


def _jackknife(plan: _Plan, group: NDArray[np.intp]) -> FloatArray:
    """Leave-one-group-out values (a group is a unit, or a cluster), in chunks."""
    n_groups = int(group.max()) + 1
    columns = max(1, _CHUNK_ELEMENTS // plan.n_units)
    parts = []
    for start in range(0, n_groups, columns):
        left_out = np.arange(start, min(n_groups, start + columns))
        weights = (group[:, np.newaxis] != left_out[np.newaxis, :]).astype(np.float64)
        parts.append(plan.evaluate(weights))
    return np.concatenate(parts, axis=1)


def _check_finite(
    theta_hat: FloatArray,
    theta_hat_b: FloatArray,
    theta_hat_jack: FloatArray,
    labels: tuple[str, ...],
) -> None:
    for row, label in enumerate(labels):
        name = label or f"comparisons[{row}]"
        if not np.isfinite(theta_hat[row]):
            raise DegenerateDataError(
                f"`{name}`: the relative change is not finite (a baseline total or quantile is 0)"
            )
        bad = np.count_nonzero(~np.isfinite(theta_hat_b[row]))
        if bad:
            raise DegenerateDataError(
                f"`{name}`: the relative change is not finite on {bad} of "
                f"{theta_hat_b.shape[1]} resamples (a resampled baseline total or quantile is 0)"
            )
        if not np.all(np.isfinite(theta_hat_jack[row])):
            raise DegenerateDataError(
                f"`{name}`: the relative change is not finite when leaving out one unit or cluster"
            )
