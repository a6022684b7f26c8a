"""Power of paired comparisons: achieved power, minimum detectable effect, units needed.

Model (documented approximation). A paired comparison over ``n`` units (or
clusters) is treated as a one-sample t test on per-unit contributions: the
statistic's standard error is ``se = sigma_u / sqrt(n)``, where ``sigma_u``
is the per-unit standard deviation. For a relative change we take ``se``
from the bootstrap (the standard deviation of the bootstrap distribution,
which for a smooth statistic equals the delta-method standard error of its
linearisation) and set ``sigma_u = se * sqrt(n)``. A target relative effect
``delta`` is then the standardised effect ``d_z = delta / sigma_u`` and the
two-sided power at level ``alpha`` is (Cohen 1988, ch. 2)::

    power = P(|T| > t_{1 - alpha/2, n-1}),  T ~ noncentral t(df = n - 1, nc = d_z sqrt(n))

Minimum detectable effect (MDE) and units needed solve the same equation for
``d_z`` and for ``n`` (keeping ``sigma_u`` fixed). A cell is *underpowered*
when the achieved power is below the target (0.80 by default). With
multiplicity, pass the adjusted ``alpha`` (Bonferroni ``alpha / m``; for Holm
this is its first, strictest step, hence conservative).

Checked against Cohen (1988), Table 2.3.x: the paired t test with
``d_z = 0.5`` and ``n = 34`` at two-sided ``alpha = 0.05`` has power 0.80.

References
----------
Cohen, J. (1988). Statistical Power Analysis for the Behavioral Sciences,
    2nd ed. Lawrence Erlbaum, ch. 2.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import optimize, special, stats  # type: ignore[import-untyped]

from analysis.errors import AnalysisInputError

__all__ = [
    "Alternative",
    "PowerResult",
    "minimum_detectable_effect",
    "paired_t_power",
    "power_analysis",
    "units_for_power",
]

Alternative = Literal["two-sided", "greater", "less"]
# What scipy.stats.nct.sf evaluates (scipy >= 1.12), called directly; else the public path.
_NCT_SF = getattr(special._ufuncs, "_nct_sf", None) or (lambda x, df, nc: stats.nct.sf(x, df, nc))
_ALTERNATIVES = ("two-sided", "greater", "less")
_MAX_UNITS = 10**9


def paired_t_power(
    effect_size: float,
    n: int,
    *,
    alpha: float = 0.05,
    alternative: Alternative = "two-sided",
) -> float:
    """Power of the paired (one-sample) t test for standardised effect ``d_z``.

    ``effect_size`` is ``d_z = mean(d) / sd(d)``; ``n`` the number of pairs
    (at least 2). Exact, through the noncentral t distribution.
    """
    dz = _check_effect(effect_size)
    units = _check_units(n)
    level = _check_level(alpha, "alpha")
    _check_alternative(alternative)
    df = units - 1
    noncentrality = dz * math.sqrt(units)
    if alternative == "two-sided":
        critical = _t_ppf(1.0 - level / 2.0, df)
        power = _nct_sf(critical, df, noncentrality) + _nct_sf(critical, df, -noncentrality)
    elif alternative == "greater":
        power = _nct_sf(_t_ppf(1.0 - level, df), df, noncentrality)
    else:
        power = _nct_sf(_t_ppf(1.0 - level, df), df, -noncentrality)
    return float(min(1.0, max(0.0, power)))


def minimum_detectable_effect(
    n: int,
    *,
    alpha: float = 0.05,
    power: float = 0.80,
    alternative: Alternative = "two-sided",
) -> float:
    """Smallest ``d_z > 0`` detected with probability ``power`` by ``n`` pairs.

    For ``alternative="less"`` the effect is negative; its magnitude is returned.
    """
    units = _check_units(n)
    level = _check_level(alpha, "alpha")
    target = _check_level(power, "power")
    sign = -1.0 if alternative == "less" else 1.0

    def shortfall(dz: float) -> float:
        return paired_t_power(sign * dz, units, alpha=level, alternative=alternative) - target

    if shortfall(0.0) >= 0.0:
        return 0.0
    upper = 1.0
    while shortfall(upper) < 0.0:
        upper *= 2.0
    root: float = optimize.brentq(shortfall, 0.0, upper, xtol=1e-10)
    return float(root)


def units_for_power(
    effect_size: float,
    *,
    alpha: float = 0.05,
    power: float = 0.80,
    alternative: Alternative = "two-sided",
) -> int | None:
    """Smallest number of pairs ``n >= 2`` with at least ``power`` to detect ``d_z``.

    Returns ``None`` when no finite ``n`` suffices (``d_z = 0``, or an effect
    in the direction a one-sided test does not look at).
    """
    dz = _check_effect(effect_size)
    level = _check_level(alpha, "alpha")
    target = _check_level(power, "power")
    _check_alternative(alternative)
    if dz == 0.0 or (alternative == "greater" and dz < 0) or (alternative == "less" and dz > 0):
        return None

    def enough(n: int) -> bool:
        return paired_t_power(dz, n, alpha=level, alternative=alternative) >= target

    # Normal approximation as a starting bracket, then bisection on integers.
    z_sum = stats.norm.ppf(1.0 - level / (2.0 if alternative == "two-sided" else 1.0))
    z_sum += stats.norm.ppf(target)
    guess = max(2, math.ceil((z_sum / abs(dz)) ** 2))
    low, high = 2, max(2, guess)
    while not enough(high):
        low, high = high, high * 2
        if high > _MAX_UNITS:
            return None
    while low < high:
        middle = (low + high) // 2
        if enough(middle):
            high = middle
        else:
            low = middle + 1
    return int(high)


@dataclass(frozen=True)
class PowerResult:
    """Power of one comparison for the gate's target effect.

    Effects are in the statistic's units (relative change, e.g. 0.13 = +13%).

    Attributes
    ----------
    target_effect : float
        The effect the gate needs to detect.
    standard_error : float
        Standard error of the estimate (bootstrap standard deviation).
    n_units : int
        Units (or clusters) behind the estimate.
    alpha : float
        Two-sided level used (already adjusted for multiplicity).
    power : float
        Achieved power to detect ``target_effect``.
    minimum_detectable_effect : float
        Smallest effect detected with ``target_power`` by ``n_units`` units.
    units_for_target : int or None
        Units needed to reach ``target_power`` for ``target_effect`` (None:
        not reachable).
    target_power : float
        Usually 0.80.
    underpowered : bool
        ``power < target_power``.
    """

    target_effect: float
    standard_error: float
    n_units: int
    alpha: float
    power: float
    minimum_detectable_effect: float
    units_for_target: int | None
    target_power: float
    underpowered: bool


def power_analysis(
    target_effect: float,
    standard_error: float,
    n_units: int,
    *,
    alpha: float = 0.05,
    target_power: float = 0.80,
    alternative: Alternative = "two-sided",
) -> PowerResult:
    """Achieved power, MDE and units needed for a relative-change comparison.

    ``sigma_u = standard_error * sqrt(n_units)`` and ``d_z = target_effect /
    sigma_u`` (see the module docstring). A zero standard error (no
    variability at all) detects any non-zero effect: power 1, MDE 0.
    """
    effect = _check_effect(target_effect)
    se = _check_effect(standard_error)
    if se < 0:
        raise AnalysisInputError(f"`standard_error` must be non-negative; got {standard_error}")
    units = _check_units(n_units)
    level = _check_level(alpha, "alpha")
    goal = _check_level(target_power, "target_power")
    sigma_u = se * math.sqrt(units)
    if sigma_u == 0.0:
        achieved = 1.0 if effect != 0.0 else level
        return PowerResult(effect, se, units, level, achieved, 0.0, 2, goal, achieved < goal)
    dz = effect / sigma_u
    achieved = paired_t_power(dz, units, alpha=level, alternative=alternative)
    mde = minimum_detectable_effect(units, alpha=level, power=goal, alternative=alternative)
    needed = units_for_power(dz, alpha=level, power=goal, alternative=alternative)
    return PowerResult(
        target_effect=effect,
        standard_error=se,
        n_units=units,
        alpha=level,
        power=achieved,
        minimum_detectable_effect=mde * sigma_u,
        units_for_target=needed,
        target_power=goal,
        underpowered=achieved < goal,
    )


def _t_ppf(q: float, df: int) -> float:
    """``scipy.stats.t.ppf`` (the same ufunc, without the generic wrapper)."""
    return float(special.stdtrit(df, q))


def _nct_sf(x: float, df: int, noncentrality: float) -> float:
    """``P(T > x)`` for a noncentral t; far tails where scipy returns NaN are 0 or 1.

    ``P(T < -x; nc) = P(T > x; -nc)`` is used for the lower tail, so both tails
    go through the same, well-behaved survival function.
    """
    # The ufunc scipy.stats.nct.sf calls, without the generic argument checks that made
    # power analysis the analysis's slowest step (identical values).
    with np.errstate(over="ignore"):
        value = float(np.clip(_NCT_SF(x, df, noncentrality), 0.0, 1.0))
    if math.isfinite(value):
        return value
    # Only far in a tail: decide the side with the normal approximation.
    return 1.0 if noncentrality > x else 0.0


def _check_effect(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise AnalysisInputError(f"effect size must be a real number; got {value!r}")
    if not math.isfinite(float(value)):
        raise AnalysisInputError(f"effect size must be finite; got {value}")
    return float(value)


def _check_units(n: object) -> int:
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or int(n) < 2:
        raise AnalysisInputError(f"`n` must be an integer >= 2 (pairs or clusters); got {n!r}")
    return int(n)


def _check_level(value: object, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise AnalysisInputError(f"`{name}` must be a number in (0, 1)")
    if not 0.0 < float(value) < 1.0:
        raise AnalysisInputError(f"`{name}` must be in (0, 1); got {value}")
    return float(value)


def _check_alternative(alternative: object) -> None:
    if alternative not in _ALTERNATIVES:
        raise AnalysisInputError(
            f"`alternative` must be one of {_ALTERNATIVES}; got {alternative!r}"
        )
