"""Effect sizes, p-values and multiplicity adjustments for paired comparisons.

* p-values invert the BCa interval (Efron & Tibshirani 1993, sec. 15.4): the
  p-value of ``theta = theta_0`` is the largest ``alpha`` whose two-sided
  ``1 - alpha`` BCa interval, from the same bootstrap distribution, still
  contains ``theta_0``. A test at level ``alpha`` and the interval at level
  ``1 - alpha`` therefore always agree, also after adjustment: with
  Bonferroni, "p < alpha / m" is the same event as "0 outside the
  ``1 - alpha / m`` interval".
* Cohen's ``d_z`` (Cohen 1988, sec. 2.3.5) is the mean of the per-unit paired
  differences over their standard deviation; labels follow Cohen's
  conventions: ``|d_z| < 0.2`` negligible, ``< 0.5`` small, ``< 0.8`` medium,
  otherwise large.
* Bonferroni: each of ``m`` comparisons at ``alpha / m`` and intervals at
  ``1 - alpha / m``. Holm (1979): the step-down procedure, uniformly more
  powerful, same family-wise error guarantee. Holm has no matching
  simultaneous intervals; with Holm, intervals stay at the Bonferroni level.

References
----------
Cohen, J. (1988). Statistical Power Analysis for the Behavioral Sciences,
    2nd ed. Lawrence Erlbaum.
Holm, S. (1979). A simple sequentially rejective multiple test procedure.
    Scandinavian Journal of Statistics 6(2), 65-70.
Efron, B. & Tibshirani, R. J. (1993). An Introduction to the Bootstrap, sec. 15.4.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Literal, overload

import numpy as np
from numpy.typing import ArrayLike, NDArray

from analysis.batch import BCaBatchResult
from analysis.bootstrap import BCaResult, FloatArray, as_finite_vector
from analysis.errors import AnalysisInputError

__all__ = [
    "CORRECTIONS",
    "EffectSize",
    "HolmResult",
    "adjusted_alpha",
    "adjusted_confidence_level",
    "bca_p_value",
    "bonferroni",
    "bonferroni_p_values",
    "cohens_dz",
    "effect_label",
    "holm",
]

Correction = Literal["bonferroni", "holm"]
CORRECTIONS: tuple[Correction, ...] = ("bonferroni", "holm")

# Cohen (1988) conventions for d: small 0.2, medium 0.5, large 0.8.
_LABELS = ((0.2, "negligible"), (0.5, "small"), (0.8, "medium"))


@overload
def bca_p_value(result: BCaResult, null_value: float = 0.0) -> float: ...
@overload
def bca_p_value(result: BCaBatchResult, null_value: float = 0.0) -> FloatArray: ...
def bca_p_value(result: BCaResult | BCaBatchResult, null_value: float = 0.0) -> float | FloatArray:
    """Two-sided p-value of ``theta = null_value`` from a BCa result.

    Inverts the BCa level mapping: with ``p_tilde`` the level at which the
    bootstrap quantile equals ``null_value`` and ``d = Phi^-1(p_tilde) - z0``,
    the one-sided level is ``Phi(d / (1 + a d) - z0)``; the p-value is twice
    the smaller tail, capped at 1 and floored at ``1 / (B + 1)`` (the
    Monte-Carlo resolution). For ``method == "percentile"`` the percentile
    interval is inverted; for ``"degenerate"`` the p-value is 1 if
    ``null_value`` equals the estimate and the floor otherwise.
    """
    if isinstance(result, BCaBatchResult):
        return result.p_values(null_value)
    return result.p_value(null_value)


@dataclass(frozen=True)
class EffectSize:
    """Cohen's ``d_z`` of paired differences, with its label."""

    dz: float
    label: str
    mean_difference: float
    sd_difference: float
    n: int


def cohens_dz(differences: ArrayLike) -> EffectSize:
    """Cohen's ``d_z = mean(d) / sd(d)`` of per-unit paired differences ``d``.

    ``sd`` uses ``ddof=1``. Documented fallback for differences without
    spread: all zero gives ``d_z = 0`` ("negligible"); a constant non-zero
    difference gives ``d_z = +-inf`` ("large"), an effect without noise.
    The comparisons in :mod:`analysis.batch` provide ``unit_differences()``.
    """
    d = as_finite_vector(differences, "differences")
    mean = float(d.mean())
    sd = float(d.std(ddof=1))
    unbounded = 0.0 if mean == 0.0 else math.copysign(math.inf, mean)
    dz = mean / sd if sd > 0.0 else unbounded
    return EffectSize(
        dz=dz, label=effect_label(dz), mean_difference=mean, sd_difference=sd, n=d.size
    )


def effect_label(dz: float) -> str:
    """Cohen's (1988) label of ``|d_z|``: negligible, small, medium or large."""
    if math.isnan(dz):
        raise AnalysisInputError("`dz` is NaN")
    size = abs(dz)
    for bound, label in _LABELS:
        if size < bound:
            return label
    return "large"


def _check_alpha(alpha: object) -> float:
    if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real):
        raise AnalysisInputError("`alpha` must be a number in (0, 1)")
    if not 0.0 < float(alpha) < 1.0:
        raise AnalysisInputError(f"`alpha` must be in (0, 1); got {alpha}")
    return float(alpha)


def _check_family_size(m: object) -> int:
    if isinstance(m, bool) or not isinstance(m, numbers.Integral) or int(m) < 1:
        raise AnalysisInputError(f"`m` (the family size) must be a positive integer; got {m!r}")
    return int(m)


def bonferroni(alpha: float, m: int) -> float:
    """Per-comparison level ``alpha / m`` for a family of ``m`` comparisons."""
    return _check_alpha(alpha) / _check_family_size(m)


def adjusted_alpha(alpha: float, m: int, correction: Correction = "bonferroni") -> float:
    """The level at which intervals are built: ``alpha / m`` for both corrections.

    Holm's first step uses ``alpha / m`` too; its later steps relax the level
    for tests only (see :func:`holm`).
    """
    if correction not in CORRECTIONS:
        raise AnalysisInputError(f"`correction` must be one of {CORRECTIONS}; got {correction!r}")
    return bonferroni(alpha, m)


def adjusted_confidence_level(alpha: float, m: int) -> float:
    """Bonferroni confidence level ``1 - alpha / m`` for simultaneous intervals."""
    return 1.0 - bonferroni(alpha, m)


@dataclass(frozen=True, eq=False)
class HolmResult:
    """Holm (1979) step-down decisions, in the input order.

    ``adjusted_p_values[i] = max_{j <= rank(i)} min(1, (m - j + 1) p_(j))``;
    ``reject[i]`` is ``adjusted_p_values[i] <= alpha``.
    """

    reject: NDArray[np.bool_]
    adjusted_p_values: FloatArray
    alpha: float


def holm(p_values: ArrayLike, alpha: float = 0.05) -> HolmResult:
    """Holm's (1979) sequentially rejective procedure.

    Sort the ``m`` p-values ascending; reject ``H_(1), ..., H_(k)`` while
    ``p_(j) <= alpha / (m - j + 1)``, stopping at the first failure.
    Equivalently, reject where the adjusted p-value is at most ``alpha``.
    """
    level = _check_alpha(alpha)
    p = as_finite_vector(p_values, "p_values", min_size=1)
    if np.any((p < 0) | (p > 1)):
        raise AnalysisInputError("`p_values` must lie in [0, 1]")
    m = p.size
    order = np.argsort(p, kind="stable")
    multipliers = m - np.arange(m)
    stepped = np.minimum(1.0, np.maximum.accumulate(multipliers * p[order]))
    adjusted = np.empty(m)
    adjusted[order] = stepped
    return HolmResult(reject=adjusted <= level, adjusted_p_values=adjusted, alpha=level)


def bonferroni_p_values(p_values: ArrayLike) -> FloatArray:
    """Bonferroni-adjusted p-values ``min(1, m p)``."""
    p = as_finite_vector(p_values, "p_values", min_size=1)
    adjusted: FloatArray = np.minimum(1.0, p * p.size)
    return adjusted
