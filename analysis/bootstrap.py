"""Bias-corrected and accelerated (BCa) bootstrap intervals.

The public function :func:`bca` follows scipy's calling convention
(``scipy.stats.bootstrap``): ``samples`` is a sequence of 1-D arrays and
``statistic(*samples, axis=-1)`` is vectorised over the last axis. The
computational core works on stacks of bootstrap distributions (one row per
interval) so that :mod:`analysis.batch` reuses it for many intervals at once.

Method (Efron 1987; Efron & Tibshirani 1993, ch. 14)::

    z0_hat      = Phi^-1( #{theta_hat_b < theta_hat} / B )          (eq. 14.14)
    a_hat       = sum U_i^3 / (6 (sum U_i^2)^(3/2)),
                  U_i = theta_hat_(.) - theta_hat_(i)  (jackknife)  (eq. 14.15)
    alpha_tilde = Phi( z0_hat + (z0_hat + z_alpha) / (1 - a_hat (z0_hat + z_alpha)) )
    interval    = quantiles of theta_hat_b at alpha_tilde_1, alpha_tilde_2   (eq. 14.10)

Conventions, chosen to match ``scipy.stats.bootstrap(method="BCa")``:

* ties between a bootstrap value and the estimate count one half in
  ``z0_hat`` (mid-rank), which matters for discrete statistics; values
  within rounding error (16 ulps) of the estimate count as ties;
* quantiles interpolate linearly between order statistics (numpy's default);
* with several unpaired samples the acceleration sums each sample's
  empirical influence values ``(n_j - 1) (theta_hat_j(.) - theta_hat_j(i))``
  scaled by ``1 / n_j`` (Davison & Hinkley 1997, eq. 5.17-5.19); with one
  sample this is exactly Efron & Tibshirani's eq. 14.15;
* paired samples are resampled (and jackknifed) by unit: one index draw is
  applied to every sample.

Documented fallbacks instead of NaN (each announced by a
:class:`~analysis.errors.DegenerateIntervalWarning`):

* ``method == "degenerate"``: the bootstrap distribution has no spread (for
  example all values equal); ``low == high == estimate``.
* ``method == "percentile"``: every bootstrap value lies strictly on one side
  of the estimate, so ``z0_hat`` is infinite (and reported as ``+-inf``); the
  percentile interval of the bootstrap distribution is returned.

Acceleration is 0 when the jackknife values have no spread. Where the BCa
level mapping passes its pole (``1 - a_hat (z0_hat + z_alpha) <= 0``, only
for extreme ``|a_hat|``) the level saturates at 0 or 1.

References
----------
Efron, B. (1987). Better bootstrap confidence intervals. JASA 82(397), 171-185.
Efron, B. & Tibshirani, R. J. (1993). An Introduction to the Bootstrap.
    Chapman & Hall, ch. 14 (BCa) and 15 (tests from intervals).
DiCiccio, T. J. & Efron, B. (1996). Bootstrap confidence intervals.
    Statistical Science 11(3), 189-228.
Davison, A. C. & Hinkley, D. V. (1997). Bootstrap Methods and their
    Application. Cambridge University Press, sec. 5.3.
"""

from __future__ import annotations

import math
import numbers
import warnings
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special  # type: ignore[import-untyped]

from analysis.errors import AnalysisInputError, DegenerateDataError, DegenerateIntervalWarning

__all__ = [
    "METHOD_BCA",
    "METHOD_DEGENERATE",
    "METHOD_PERCENTILE",
    "BCaResult",
    "SeedLike",
    "bca",
]

FloatArray = NDArray[np.float64]
IndexArray = NDArray[np.intp]
SeedLike = int | np.random.Generator | np.random.SeedSequence | None
Statistic = Callable[..., Any]

METHOD_BCA = "BCa"
METHOD_PERCENTILE = "percentile"
METHOD_DEGENERATE = "degenerate"

# Resampled values held in memory at once (32 MiB of float64); larger jobs
# are processed in chunks of rows. Chunking depends only on the sizes, so a
# seed gives the same draws in `bca` and in `analysis.batch`.
_CHUNK_ELEMENTS = 1 << 22
# A bootstrap distribution whose range is within this many ulps of its
# magnitude has no spread: sums of equal values differ only by rounding.
_ZERO_SPREAD_ULPS = 64
# Bootstrap values this close (in ulps of the magnitude) to the estimate tie with it.
_TIE_ULPS = 16


@dataclass(frozen=True, eq=False)
class BCaResult:
    """One BCa interval and what explains it.

    Attributes
    ----------
    estimate : float
        ``theta_hat``, the statistic on the original samples.
    low, high : float
        Interval endpoints.
    confidence_level : float
        Two-sided level of ``[low, high]``.
    z0 : float
        Bias correction ``z0_hat``; ``+-inf`` when every bootstrap value lies on
        one side of the estimate (the percentile fallback). Rows of
        :mod:`analysis.batch` that use the percentile interval by choice report
        it as a diagnostic only.
    acceleration : float
        Jackknife acceleration ``a_hat``.
    n_resamples : int
        Number of bootstrap resamples ``B``.
    bootstrap_distribution : ndarray, shape (B,)
        ``theta_hat_b`` in draw order.
    method : str
        ``"BCa"``, or a documented fallback: ``"percentile"``, ``"degenerate"``.
    standard_error : float
        Standard deviation of the bootstrap distribution (``ddof=1``).
    """

    estimate: float
    low: float
    high: float
    confidence_level: float
    z0: float
    acceleration: float
    n_resamples: int
    bootstrap_distribution: FloatArray
    method: str
    standard_error: float

    def p_value(self, null_value: float = 0.0) -> float:
        """Two-sided p-value of ``theta = null_value`` by inverting the interval.

        See :func:`analysis.effects.bca_p_value`.
        """
        p_values = bca_p_values_core(
            np.sort(self.bootstrap_distribution)[np.newaxis],
            np.array([self.estimate]),
            np.array([self.z0]),
            np.array([self.acceleration]),
            (self.method,),
            np.array([null_value], dtype=np.float64),
        )
        return float(p_values[0])

    def monte_carlo_se(self) -> tuple[float, float]:
        """Monte-Carlo standard errors of ``low`` and ``high`` (see :func:`endpoint_mc_se`)."""
        se = endpoint_mc_se(
            np.sort(self.bootstrap_distribution)[np.newaxis],
            np.array([self.z0]),
            np.array([self.acceleration]),
            np.array([1.0 - self.confidence_level]),
            (self.method,),
        )
        return float(se[0, 0]), float(se[0, 1])


def bca(
    samples: Sequence[ArrayLike],
    statistic: Statistic,
    *,
    paired: bool = False,
    confidence_level: float = 0.95,
    n_resamples: int = 10_000,
    seed: SeedLike = None,
) -> BCaResult:
    """Two-sided BCa bootstrap confidence interval (Efron 1987).

    Parameters
    ----------
    samples : sequence of 1-D array_like
        One array per sample. Each needs at least two finite values.
    statistic : callable
        ``statistic(*samples, axis=-1)`` returning the statistic along the
        last axis, broadcasting over leading axes (as numpy reductions do).
    paired : bool
        If true, all samples have the same length and are resampled (and
        jackknifed) together, by unit.
    confidence_level : float
        In ``(0, 1)``.
    n_resamples : int
        Number of bootstrap resamples ``B``.
    seed : int, Generator, SeedSequence or None
        Passed to ``numpy.random.default_rng``; equal seeds give identical
        results, byte for byte.

    Returns
    -------
    BCaResult

    Raises
    ------
    AnalysisInputError
        Malformed arguments: not 1-D, empty, mismatched paired lengths, a bad
        option.
    DegenerateDataError
        Fewer than two values in a sample, NaN or infinite values, or a
        statistic that is not finite on the data or on some resample.
    """
    data, alpha, rng = _bca_iv(samples, statistic, paired, confidence_level, n_resamples, seed)
    theta_hat = _evaluate(statistic, [x[np.newaxis] for x in data], "the original samples")
    theta_hat_b = _bootstrap_replicates(statistic, data, paired, n_resamples, rng)
    theta_hat_jack = _jackknife_replicates(statistic, data, paired)
    core = bca_core(
        theta_hat,
        theta_hat_b[np.newaxis],
        [jack[np.newaxis] for jack in theta_hat_jack],
        np.array([alpha]),
    )
    warn_if_degenerate(core)
    return BCaResult(
        estimate=float(theta_hat[0]),
        low=float(core.low[0]),
        high=float(core.high[0]),
        confidence_level=float(confidence_level),
        z0=float(core.z0[0]),
        acceleration=float(core.acceleration[0]),
        n_resamples=n_resamples,
        bootstrap_distribution=theta_hat_b,
        method=core.method[0],
        standard_error=float(core.standard_error[0]),
    )


# ---------------------------------------------------------------------------
# Input validation
# ---------------------------------------------------------------------------


def _bca_iv(
    samples: object,
    statistic: object,
    paired: object,
    confidence_level: object,
    n_resamples: object,
    seed: SeedLike,
) -> tuple[list[FloatArray], float, np.random.Generator]:
    if not callable(statistic):
        raise AnalysisInputError("`statistic` must be callable")
    if not isinstance(paired, bool):
        raise AnalysisInputError("`paired` must be True or False")
    if isinstance(samples, (str, bytes)) or not isinstance(samples, Collection):
        raise AnalysisInputError("`samples` must be a sequence of 1-D arrays")
    if len(samples) == 0:
        raise AnalysisInputError("`samples` must contain at least one sample")
    data = [as_finite_vector(sample, f"samples[{j}]") for j, sample in enumerate(samples)]
    if paired and len({x.size for x in data}) > 1:
        sizes = ", ".join(str(x.size) for x in data)
        raise AnalysisInputError(
            f"`samples` must have equal lengths when `paired` is True; got lengths {sizes}"
        )
    alpha = 1.0 - check_confidence_level(confidence_level)
    check_n_resamples(n_resamples)
    return data, alpha, make_rng(seed)


def as_finite_vector(values: object, name: str, *, min_size: int = 2) -> FloatArray:
    """``values`` as a float64 1-D array, or a clear error naming ``name``."""
    try:
        vector = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError, OverflowError):
        raise AnalysisInputError(f"`{name}` must be a 1-D array of numbers") from None
    if vector.ndim != 1:
        raise AnalysisInputError(f"`{name}` must be 1-D; got {vector.ndim} dimensions")
    if vector.size == 0:
        raise AnalysisInputError(f"`{name}` is empty")
    if vector.size < min_size:
        raise DegenerateDataError(
            f"`{name}` has {vector.size} value(s); the bootstrap needs at least {min_size}"
        )
    bad = np.count_nonzero(~np.isfinite(vector))
    if bad:
        raise DegenerateDataError(
            f"`{name}` contains {bad} NaN or infinite value(s) out of {vector.size}"
        )
    return vector


def check_confidence_level(confidence_level: object) -> float:
    """Validate a two-sided confidence level in ``(0, 1)``."""
    if isinstance(confidence_level, bool) or not isinstance(confidence_level, numbers.Real):
        raise AnalysisInputError("`confidence_level` must be a number in (0, 1)")
    if not 0.0 < float(confidence_level) < 1.0:
        raise AnalysisInputError(f"`confidence_level` must be in (0, 1); got {confidence_level}")
    return float(confidence_level)


def check_n_resamples(n_resamples: object) -> None:
    """Validate the number of bootstrap resamples."""
    if isinstance(n_resamples, bool) or not isinstance(n_resamples, numbers.Integral):
        raise AnalysisInputError("`n_resamples` must be a positive integer")
    if int(n_resamples) < 1:
        raise AnalysisInputError(f"`n_resamples` must be a positive integer; got {n_resamples}")


def make_rng(seed: SeedLike) -> np.random.Generator:
    """``numpy.random.default_rng(seed)``, with a clear error for a bad seed."""
    if isinstance(seed, bool):
        raise AnalysisInputError("`seed` must be an int, a numpy Generator, or None")
    try:
        return np.random.default_rng(seed)
    except (TypeError, ValueError):
        raise AnalysisInputError("`seed` must be an int, a numpy Generator, or None") from None


# ---------------------------------------------------------------------------
# Resampling
# ---------------------------------------------------------------------------


def index_chunks(rng: np.random.Generator, n: int, n_resamples: int) -> Iterator[IndexArray]:
    """Bootstrap index rows for ``n`` units, ``B`` rows in total, in chunks.

    Shared by :func:`bca` (paired and one-sample) and :mod:`analysis.batch`,
    so the same seed draws the same resamples in both.
    """
    rows = max(1, _CHUNK_ELEMENTS // n)
    for start in range(0, n_resamples, rows):
        yield rng.integers(0, n, size=(min(rows, n_resamples - start), n))


def leave_one_out(n: int, start: int, stop: int) -> IndexArray:
    """Rows ``start:stop`` of the jackknife index matrix: row ``i`` omits ``i``."""
    kept = np.arange(n - 1)[np.newaxis, :]
    omitted = np.arange(start, stop)[:, np.newaxis]
    return kept + (kept >= omitted)


def _bootstrap_replicates(
    statistic: Statistic,
    data: list[FloatArray],
    paired: bool,
    n_resamples: int,
    rng: np.random.Generator,
) -> FloatArray:
    chunks: Iterator[list[FloatArray]]
    if paired or len(data) == 1:
        chunks = (
            [x[indices] for x in data] for indices in index_chunks(rng, data[0].size, n_resamples)
        )
    else:
        chunks = _unpaired_chunks(data, n_resamples, rng)
    theta_hat_b = np.concatenate(
        [_evaluate(statistic, resampled, "a bootstrap resample") for resampled in chunks]
    )
    return theta_hat_b


def _unpaired_chunks(
    data: list[FloatArray], n_resamples: int, rng: np.random.Generator
) -> Iterator[list[FloatArray]]:
    rows = max(1, _CHUNK_ELEMENTS // sum(x.size for x in data))
    for start in range(0, n_resamples, rows):
        size = min(rows, n_resamples - start)
        yield [x[rng.integers(0, x.size, size=(size, x.size))] for x in data]


def _jackknife_replicates(
    statistic: Statistic, data: list[FloatArray], paired: bool
) -> list[FloatArray]:
    """``theta_hat_(i)`` for each sample (paired: one set, leaving out units)."""
    if paired or len(data) == 1:
        n = data[0].size
        return [_jackknife_one(statistic, data, [True] * len(data), n)]
    replicates = []
    for j, x in enumerate(data):
        varied = [k == j for k in range(len(data))]
        replicates.append(_jackknife_one(statistic, data, varied, x.size))
    return replicates


def _jackknife_one(
    statistic: Statistic, data: list[FloatArray], varied: list[bool], n: int
) -> FloatArray:
    rows = max(1, _CHUNK_ELEMENTS // n)
    parts = []
    for start in range(0, n, rows):
        indices = leave_one_out(n, start, min(n, start + rows))
        args = [x[indices] if vary else x[np.newaxis] for x, vary in zip(data, varied, strict=True)]
        parts.append(_evaluate(statistic, args, "a jackknife sample", rows=indices.shape[0]))
    return np.concatenate(parts)


def _evaluate(
    statistic: Statistic, args: list[FloatArray], where: str, rows: int | None = None
) -> FloatArray:
    """Call ``statistic`` on stacked samples; one finite value per row."""
    expected = max(arg.shape[0] for arg in args) if rows is None else rows
    with np.errstate(all="ignore"):
        values = np.asarray(statistic(*args, axis=-1), dtype=np.float64)
    values = np.broadcast_to(values, (expected,)) if values.ndim == 0 else values
    if values.shape != (expected,):
        raise AnalysisInputError(
            f"`statistic` must reduce the last axis to one value per row; "
            f"got shape {values.shape} for {expected} rows"
        )
    bad = np.count_nonzero(~np.isfinite(values))
    if bad:
        raise DegenerateDataError(
            f"`statistic` is NaN or infinite on {where} ({bad} of {expected} rows); "
            "check for zero denominators or constant inputs"
        )
    return np.array(values, dtype=np.float64)


# ---------------------------------------------------------------------------
# The BCa core: stacks of intervals, one row each, vectorised on the last axis
# ---------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class BCaCore:
    """Endpoints and diagnostics for ``k`` intervals (arrays of shape ``(k,)``).

    ``one_sided`` marks rows that asked for BCa but fell back to the
    percentile interval because ``z0_hat`` is infinite.
    """

    low: FloatArray
    high: FloatArray
    z0: FloatArray
    acceleration: FloatArray
    standard_error: FloatArray
    method: tuple[str, ...]
    one_sided: NDArray[np.bool_]


def bca_core(
    theta_hat: FloatArray,
    theta_hat_b: FloatArray,
    theta_hat_jack: Sequence[FloatArray],
    alpha: FloatArray,
    percentile: NDArray[np.bool_] | None = None,
) -> BCaCore:
    """BCa intervals for ``k`` statistics at once.

    Parameters
    ----------
    theta_hat : (k,) estimates.
    theta_hat_b : (k, B) bootstrap distributions.
    theta_hat_jack : one (k, n_j) array of jackknife values per sample.
    alpha : (k,) two-sided error rates, ``1 - confidence_level``.
    percentile : (k,) bool, optional
        Rows that use the percentile interval by choice (``z0_hat`` and
        ``a_hat`` are still reported as diagnostics).
    """
    chosen = np.zeros(theta_hat.shape, dtype=bool) if percentile is None else percentile
    theta_hat_b_sorted = np.sort(theta_hat_b, axis=-1)
    degenerate = zero_spread(theta_hat_b_sorted, theta_hat)
    z0_hat = _z0_hat(theta_hat_b, theta_hat)
    a_hat = _acceleration(theta_hat_jack)
    nominal = np.stack([alpha / 2.0, 1.0 - alpha / 2.0], axis=-1)
    levels = np.where(chosen[:, np.newaxis], nominal, bca_levels(z0_hat, a_hat, alpha))
    endpoints = sorted_quantiles(theta_hat_b_sorted, levels)
    endpoints = np.where(degenerate[:, np.newaxis], theta_hat[:, np.newaxis], endpoints)
    one_sided = ~degenerate & ~chosen & ~np.isfinite(z0_hat)
    method = tuple(
        METHOD_DEGENERATE if flat else METHOD_PERCENTILE if by_choice or fallback else METHOD_BCA
        for flat, by_choice, fallback in zip(degenerate, chosen, one_sided, strict=True)
    )
    standard_error = (
        np.std(theta_hat_b, axis=-1, ddof=1)
        if theta_hat_b.shape[-1] > 1
        else np.zeros(theta_hat.shape)
    )
    return BCaCore(
        low=endpoints[:, 0],
        high=endpoints[:, 1],
        z0=np.where(degenerate, 0.0, z0_hat),
        acceleration=a_hat,
        standard_error=np.where(degenerate, 0.0, standard_error),
        method=method,
        one_sided=one_sided,
    )


def zero_spread(theta_hat_b_sorted: FloatArray, theta_hat: FloatArray) -> NDArray[np.bool_]:
    """Rows whose bootstrap distribution is flat up to rounding."""
    spread = theta_hat_b_sorted[:, -1] - theta_hat_b_sorted[:, 0]
    magnitude = np.maximum(np.abs(theta_hat_b_sorted).max(axis=-1), np.abs(theta_hat))
    tolerance = _ZERO_SPREAD_ULPS * np.finfo(np.float64).eps * np.maximum(magnitude, 1e-300)
    flat: NDArray[np.bool_] = spread <= tolerance
    return flat


def _z0_hat(theta_hat_b: FloatArray, theta_hat: FloatArray) -> FloatArray:
    """``Phi^-1`` of the mid-rank fraction of bootstrap values below the estimate.

    Values within rounding of the estimate (``_TIE_ULPS`` ulps of the row's
    magnitude) count as ties: a resample that permutes the data reproduces
    the estimate only up to summation order, and exact comparison would make
    ``z0_hat`` jump under an affine change of units.
    """
    n_resamples = theta_hat_b.shape[-1]
    magnitude = np.maximum(np.abs(theta_hat_b).max(axis=-1), np.abs(theta_hat))
    tolerance = (_TIE_ULPS * np.finfo(np.float64).eps * magnitude)[:, np.newaxis]
    difference = theta_hat_b - theta_hat[:, np.newaxis]
    below = np.count_nonzero(difference < -tolerance, axis=-1)
    at_or_below = np.count_nonzero(difference <= tolerance, axis=-1)
    fraction = (below + at_or_below) / (2.0 * n_resamples)
    with np.errstate(divide="ignore"):
        z0: FloatArray = special.ndtri(fraction)
    return z0


def _acceleration(theta_hat_jack: Sequence[FloatArray]) -> FloatArray:
    """Jackknife acceleration, summed over samples (Davison & Hinkley eq. 5.17-5.19)."""
    numerator: FloatArray | float = 0.0
    denominator: FloatArray | float = 0.0
    for theta_hat_i in theta_hat_jack:
        n = theta_hat_i.shape[-1]
        theta_hat_dot = theta_hat_i.mean(axis=-1, keepdims=True)
        # Empirical influence values; for one sample the (n - 1) / n factors cancel.
        influence = (n - 1) * (theta_hat_dot - theta_hat_i)
        numerator = numerator + (influence**3).sum(axis=-1) / n**3
        denominator = denominator + (influence**2).sum(axis=-1) / n**2
    numerator_ = np.asarray(numerator, dtype=np.float64)
    denominator_ = np.asarray(denominator, dtype=np.float64)
    a_hat = np.zeros(np.broadcast_shapes(numerator_.shape, denominator_.shape))
    positive = denominator_ > 0
    np.divide(numerator_, 6.0 * denominator_**1.5, out=a_hat, where=positive)
    return a_hat


def bca_levels(z0_hat: FloatArray, a_hat: FloatArray, alpha: FloatArray) -> FloatArray:
    """Adjusted levels ``(alpha_tilde_1, alpha_tilde_2)``, shape ``(k, 2)``.

    Rows with infinite ``z0_hat`` get the percentile levels ``alpha / 2``,
    ``1 - alpha / 2``.
    """
    nominal = np.stack([alpha / 2.0, 1.0 - alpha / 2.0], axis=-1)
    z_alpha = special.ndtri(nominal)
    z0 = z0_hat[:, np.newaxis]
    a = a_hat[:, np.newaxis]
    with np.errstate(all="ignore"):
        w = z0 + z_alpha
        denominator = 1.0 - a * w
        levels = special.ndtr(z0 + w / denominator)
    # Past the pole of w / (1 - a w) the level saturates (extreme |a| only).
    levels = np.where(denominator > 0, levels, np.where(w > 0, 1.0, 0.0))
    result: FloatArray = np.where(np.isfinite(z0), levels, nominal)
    return result


def sorted_quantiles(theta_hat_b_sorted: FloatArray, levels: FloatArray) -> FloatArray:
    """Row-wise linear-interpolation quantiles (numpy's default method).

    ``theta_hat_b_sorted`` is ``(k, B)`` sorted along the last axis and
    ``levels`` is ``(k, m)`` in ``[0, 1]``; returns ``(k, m)``.
    """
    n_resamples = theta_hat_b_sorted.shape[-1]
    position = (n_resamples - 1) * np.clip(levels, 0.0, 1.0)
    below = np.clip(np.floor(position).astype(np.intp), 0, n_resamples - 1)
    above = np.minimum(below + 1, n_resamples - 1)
    fraction = position - below
    value_below = np.take_along_axis(theta_hat_b_sorted, below, axis=-1)
    value_above = np.take_along_axis(theta_hat_b_sorted, above, axis=-1)
    result: FloatArray = value_below + fraction * (value_above - value_below)
    return result


def warn_if_degenerate(core: BCaCore) -> None:
    """One :class:`DegenerateIntervalWarning` per kind of fallback used."""
    flat = sum(m == METHOD_DEGENERATE for m in core.method)
    one_sided = int(np.count_nonzero(core.one_sided))
    if flat:
        warnings.warn(
            f"{flat} bootstrap distribution(s) have zero spread; "
            "the interval is [estimate, estimate] (method='degenerate')",
            DegenerateIntervalWarning,
            stacklevel=3,
        )
    if one_sided:
        warnings.warn(
            f"{one_sided} bootstrap distribution(s) lie entirely on one side of the estimate "
            "(z0 infinite); the percentile interval is used (method='percentile')",
            DegenerateIntervalWarning,
            stacklevel=3,
        )


# ---------------------------------------------------------------------------
# Inference from a stored bootstrap distribution
# ---------------------------------------------------------------------------


def _inverse_sorted_quantile(theta_hat_b_sorted: FloatArray, value: float) -> float:
    """The level ``p`` at which the linear-interpolation quantile equals ``value``.

    Inverse of :func:`sorted_quantiles` for one row; mid-point over ties.
    """
    n_resamples = theta_hat_b_sorted.size
    if n_resamples == 1:
        return 0.5 if value == theta_hat_b_sorted[0] else float(value > theta_hat_b_sorted[0])
    left = int(np.searchsorted(theta_hat_b_sorted, value, side="left"))
    right = int(np.searchsorted(theta_hat_b_sorted, value, side="right"))
    if right > left:  # value is one of the order statistics
        return (left + right - 1) / 2.0 / (n_resamples - 1)
    if left == 0:
        return 0.0
    if left == n_resamples:
        return 1.0
    lower, upper = float(theta_hat_b_sorted[left - 1]), float(theta_hat_b_sorted[left])
    return (left - 1 + (value - lower) / (upper - lower)) / (n_resamples - 1)


def bca_p_values_core(
    theta_hat_b_sorted: FloatArray,
    theta_hat: FloatArray,
    z0_hat: FloatArray,
    a_hat: FloatArray,
    method: Sequence[str],
    null_value: FloatArray,
) -> FloatArray:
    """Two-sided p-values by inverting the BCa interval (Efron & Tibshirani 1993, 15.4).

    The p-value is the largest ``alpha`` whose ``1 - alpha`` interval (same
    bootstrap distribution, same ``z0_hat``, ``a_hat``) still contains the
    null value, so ``p < alpha`` exactly when the null value lies outside the
    ``1 - alpha`` interval. It is floored at the Monte-Carlo resolution
    ``1 / (B + 1)``.
    """
    n_resamples = theta_hat_b_sorted.shape[-1]
    floor = 1.0 / (n_resamples + 1)
    p_values = np.empty(theta_hat.shape)
    for row, kind in enumerate(method):
        null = float(null_value[row])
        if kind == METHOD_DEGENERATE:
            p_values[row] = 1.0 if math.isclose(null, theta_hat[row]) else floor
            continue
        level = _inverse_sorted_quantile(theta_hat_b_sorted[row], null)
        if kind == METHOD_BCA:
            level = _unadjust_level(level, float(z0_hat[row]), float(a_hat[row]))
        p_values[row] = max(floor, min(1.0, 2.0 * min(level, 1.0 - level)))
    return p_values


def _unadjust_level(level: float, z0: float, a: float) -> float:
    """Invert ``alpha_tilde = Phi(z0 + w / (1 - a w))``, ``w = z0 + z_alpha``; return ``alpha``."""
    if level <= 0.0 or level >= 1.0:
        return level
    d = float(special.ndtri(level)) - z0
    denominator = 1.0 + a * d
    if denominator <= 0.0:  # beyond every BCa endpoint on that side
        return 0.0 if d < 0 else 1.0
    level_: float = special.ndtr(d / denominator - z0)
    return float(level_)


def endpoint_mc_se(
    theta_hat_b_sorted: FloatArray,
    z0_hat: FloatArray,
    a_hat: FloatArray,
    alpha: FloatArray,
    method: Sequence[str],
) -> FloatArray:
    """Approximate Monte-Carlo standard errors of the endpoints, shape ``(k, 2)``.

    An endpoint is the quantile ``Q(alpha_tilde)`` of ``B`` draws, and
    ``alpha_tilde`` moves with ``z0_hat``. The level's Monte-Carlo spread is
    ``sigma_p^2 = alpha_tilde (1 - alpha_tilde) / B + (d alpha_tilde / d z0)^2
    Var(z0_hat)`` with ``Var(z0_hat) = p0 (1 - p0) / (B phi(z0)^2)``; the
    endpoint's standard error is a quarter of the range of the sorted
    distribution over ``alpha_tilde +- 2 sigma_p`` (at least two order
    statistics either side), the order-statistic analogue of the delta method. Used for
    tolerances when comparing two bootstrap runs; it is rough in extreme
    tails (levels within a few ``1/B`` of 0 or 1).
    """
    n_resamples = theta_hat_b_sorted.shape[-1]
    nominal = np.stack([alpha / 2.0, 1.0 - alpha / 2.0], axis=-1)
    bca_rows = np.array([m == METHOD_BCA for m in method])[:, np.newaxis]
    levels = np.where(bca_rows, bca_levels(z0_hat, a_hat, alpha), nominal)
    z0 = z0_hat[:, np.newaxis]
    with np.errstate(all="ignore"):
        w = z0 + special.ndtri(nominal)
        denominator = 1.0 - a_hat[:, np.newaxis] * w
        dlevel_dz0 = _normal_pdf(z0 + w / denominator) * (1.0 + 1.0 / denominator**2)
        p0 = special.ndtr(z0)
        var_z0 = p0 * (1.0 - p0) / n_resamples / _normal_pdf(z0) ** 2
        extra = dlevel_dz0**2 * var_z0
    extra = np.where(bca_rows & np.isfinite(extra), extra, 0.0)
    sigma_p = np.sqrt(levels * (1.0 - levels) / n_resamples + extra)
    sigma_p = np.maximum(sigma_p, 1.0 / n_resamples)
    # +-2 sigma_p, halved: the same slope for a smooth distribution, and it
    # spans neighbouring atoms of a lumpy one (quantile statistics).
    lower = np.clip(levels - 2.0 * sigma_p, 0.0, 1.0)
    upper = np.clip(levels + 2.0 * sigma_p, 0.0, 1.0)
    spread = sorted_quantiles(theta_hat_b_sorted, upper) - sorted_quantiles(
        theta_hat_b_sorted, lower
    )
    # A bracket clipped at 0 or 1 is extrapolated to its full width 4 sigma_p.
    se: FloatArray = 0.25 * spread * (4.0 * sigma_p / np.maximum(upper - lower, 1e-300))
    flat = np.array([m == METHOD_DEGENERATE for m in method])[:, np.newaxis]
    return np.where(flat, 0.0, se)


def _normal_pdf(z: FloatArray) -> FloatArray:
    density: FloatArray = np.exp(-0.5 * z**2) / math.sqrt(2.0 * math.pi)
    return density
