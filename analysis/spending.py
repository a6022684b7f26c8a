"""Error-spending boundaries of a group-sequential test, by recursive numerical integration.

A comparison monitored at information fractions ``t_1 < ... < t_K`` (``t_k =
I_k / I_max``) has the canonical joint law (Jennison & Turnbull 2000, ch. 3):
``Z_k sqrt(t_k)`` is a Brownian motion with drift ``theta`` observed at ``t_k``.
The efficacy boundary at look ``k`` spends what an alpha-spending function
allows by then (Lan & DeMets 1983):

    P_0(Z_1 < b_1, ..., Z_{k-1} < b_{k-1}, Z_k >= b_k) = alpha(t_k) - alpha(t_{k-1})

It depends only on the looks actually taken, so an unplanned, delayed or
resumed schedule keeps the level. Crossing probabilities are computed exactly
up to quadrature error by the recursion of Armitage, McPherson & Rowe (1969)
with the grid and Simpson weights of Jennison & Turnbull (2000, sec. 19.2), not
by simulation: the gated level is ``0.025 / 32`` and a look may spend 1e-11.

Futility uses beta-spending at the design drift (Pampallona, Tsiatis & Kim
2001). Efficacy boundaries are computed ignoring futility, so futility is
non-binding: obeying it or not never raises the error rate.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
from scipy import optimize, stats  # type: ignore[import-untyped]

from analysis.errors import AnalysisInputError

__all__ = [
    "GRID_SIZE",
    "SPENDING_FUNCTIONS",
    "Boundaries",
    "FloatArray",
    "FutilityRule",
    "Spending",
    "efficacy_probability",
    "group_sequential_boundaries",
    "spent",
    "validated_fractions",
    "validated_level",
]

FloatArray = npt.NDArray[np.float64]
Spending = Literal["obrien-fleming", "pocock"]
SPENDING_FUNCTIONS: tuple[Spending, ...] = ("obrien-fleming", "pocock")
# Jennison & Turnbull's grid parameter r (nodes ~ 12 r per look); the tests check 32 against 64.
GRID_SIZE = 32
_FAR = 40.0  # a z beyond which no probability this module computes is representable


def spent(spending: Spending, level: float, fraction: float) -> float:
    """Cumulative error spent by information fraction ``t`` (capped at 1).

    O'Brien-Fleming type, one-sided: ``2 - 2 Phi(z_{1-level/2} / sqrt(t))``;
    Pocock type: ``level * log(1 + (e - 1) t)`` (Lan & DeMets 1983).
    """
    t = min(max(fraction, 0.0), 1.0)
    if t == 0.0:
        return 0.0
    if spending == "obrien-fleming":  # sf, not 1 - cdf: early looks spend 1e-12
        return float(2.0 * stats.norm.sf(stats.norm.isf(level / 2.0) / math.sqrt(t)))
    if spending == "pocock":
        return level * math.log1p((math.e - 1.0) * t)
    raise AnalysisInputError(f"`spending` must be one of {SPENDING_FUNCTIONS}; got {spending!r}")


@dataclass(frozen=True)
class _Continuation:
    """Sub-density of ``Z_k`` on the continuation region, times Simpson weights."""

    nodes: FloatArray
    weighted_density: FloatArray
    fraction: float


def _grid(mean: float, low: float, high: float) -> tuple[FloatArray, FloatArray]:
    """J&T (2000, sec. 19.2.1) nodes: dense within 3 sd of ``mean``, log-spaced tails to
    about 17 sd, cut to (low, high), midpoints added; returns nodes and Simpson weights."""
    r = GRID_SIZE
    i = np.arange(1, 6 * r, dtype=float)
    offsets = np.where(
        i < r,
        -3.0 - 4.0 * np.log(r / np.minimum(i, r)),
        np.where(
            i <= 5 * r,
            -3.0 + 3.0 * (i - r) / (2 * r),
            3.0 + 4.0 * np.log(r / np.maximum(6 * r - i, 1)),
        ),
    )
    points = mean + offsets
    lo, hi = max(low, float(points[0])), min(high, float(points[-1]))
    if lo >= hi:
        return np.empty(0), np.empty(0)
    ends = np.concatenate(([lo], points[(points > lo) & (points < hi)], [hi]))
    width = np.diff(ends)
    nodes = np.empty(2 * len(ends) - 1)
    nodes[0::2], nodes[1::2] = ends, ends[:-1] + width / 2.0
    weights = np.zeros_like(nodes)
    weights[0:-1:2] += width / 6.0
    weights[2::2] += width / 6.0
    weights[1::2] = 4.0 * width / 6.0
    return nodes, weights


def _start(fraction: float, drift: float, low: float, high: float) -> _Continuation:
    nodes, weights = _grid(drift * math.sqrt(fraction), low, high)
    density = stats.norm.pdf(nodes - drift * math.sqrt(fraction))
    return _Continuation(nodes, weights * density, fraction)


def _next_mean(state: _Continuation, fraction: float, drift: float) -> tuple[FloatArray, float]:
    """Mean of ``Z_k sqrt(t_k)`` given each node of ``Z_{k-1}``, and the increment's sd."""
    step = fraction - state.fraction
    return state.nodes * math.sqrt(state.fraction) + drift * step, math.sqrt(step)


def _cross_above(state: _Continuation | None, fraction: float, drift: float, high: float) -> float:
    """P(continue until now, then ``Z_k >= high``)."""
    if state is None:
        return float(stats.norm.sf(high - drift * math.sqrt(fraction)))
    mean, sd = _next_mean(state, fraction, drift)
    return float(state.weighted_density @ stats.norm.sf((high * math.sqrt(fraction) - mean) / sd))


def _cross_below(state: _Continuation | None, fraction: float, drift: float, low: float) -> float:
    """P(continue until now, then ``Z_k < low``)."""
    if state is None:
        return float(stats.norm.cdf(low - drift * math.sqrt(fraction)))
    mean, sd = _next_mean(state, fraction, drift)
    return float(state.weighted_density @ stats.norm.cdf((low * math.sqrt(fraction) - mean) / sd))


def _advance(
    state: _Continuation | None, fraction: float, drift: float, low: float, high: float
) -> _Continuation:
    """The sub-density at this look on (low, high) (Armitage, McPherson & Rowe 1969)."""
    if state is None:
        return _start(fraction, drift, low, high)
    nodes, weights = _grid(drift * math.sqrt(fraction), low, high)
    mean, sd = _next_mean(state, fraction, drift)
    kernel = stats.norm.pdf((nodes[:, None] * math.sqrt(fraction) - mean[None, :]) / sd)
    density = kernel @ state.weighted_density * (math.sqrt(fraction) / sd)
    return _Continuation(nodes, weights * density, fraction)


@dataclass(frozen=True)
class FutilityRule:
    """Beta-spending futility: ``beta`` spent by ``spending`` while ``Z`` drifts at
    ``drift * sqrt(t)`` (the design effect at full information)."""

    beta: float
    spending: Spending
    drift: float


@dataclass(frozen=True)
class Boundaries:
    """z boundaries at the looks taken. ``futility`` is ``-inf`` where none applies."""

    fractions: tuple[float, ...]  # information fractions I_k / I_max as observed
    efficacy: tuple[float, ...]
    futility: tuple[float, ...]
    alpha_spent: tuple[float, ...]  # cumulative, at each look's spending time
    null_crossing: tuple[float, ...]  # P_0(first crossing at look k), by integration
    alpha: float
    final: bool  # the last look spends all that is left

    @property
    def nominal_levels(self) -> tuple[float, ...]:
        """One-sided nominal p-value each look's efficacy boundary corresponds to."""
        return tuple(float(stats.norm.sf(b)) for b in self.efficacy)


def validated_fractions(fractions: Sequence[float]) -> tuple[float, ...]:
    values = tuple(float(t) for t in fractions)
    if not values or not all(math.isfinite(t) and t > 0.0 for t in values):
        raise AnalysisInputError(f"`fractions` must be positive and finite; got {values}")
    if any(later <= earlier for earlier, later in itertools.pairwise(values)):
        raise AnalysisInputError(f"`fractions` must increase strictly; got {values}")
    if any(t >= 1.0 for t in values[:-1]):
        raise AnalysisInputError(f"only the last look may reach full information; got {values}")
    return values


def validated_level(value: float, name: str) -> float:
    if not (isinstance(value, (int, float)) and 0.0 < float(value) < 1.0):
        raise AnalysisInputError(f"`{name}` must be in (0, 1); got {value!r}")
    return float(value)


def _solve_efficacy(state: _Continuation | None, fraction: float, increment: float) -> float:
    """``b`` with P_0(reach the look, ``Z >= b``) equal to ``increment``; log scale, since
    an O'Brien-Fleming look at ``a = 0.025 / 32`` spends as little as 1e-12."""
    if increment <= 0.0:
        return math.inf
    if state is None:
        return float(stats.norm.isf(increment))

    def excess(bound: float) -> float:
        return math.log(max(_cross_above(state, fraction, 0.0, bound), 1e-300)) - math.log(
            increment
        )

    return float(optimize.brentq(excess, -_FAR / 4.0, _FAR, xtol=1e-12))


def _solve_futility(
    state: _Continuation | None, fraction: float, drift: float, increment: float, efficacy: float
) -> float:
    """``a`` with P_drift(reach the look, ``Z < a``) = ``increment``, at most ``efficacy``."""
    if increment <= 0.0:
        return -math.inf
    if _cross_below(state, fraction, drift, efficacy) <= increment:
        return efficacy

    def excess(bound: float) -> float:
        return _cross_below(state, fraction, drift, bound) - increment

    return float(optimize.brentq(excess, drift * math.sqrt(fraction) - _FAR, efficacy, xtol=1e-12))


def group_sequential_boundaries(
    alpha: float,
    fractions: Sequence[float],
    *,
    spending: Spending = "obrien-fleming",
    futility: FutilityRule | None = None,
    final: bool = False,
) -> Boundaries:
    """Efficacy (and non-binding futility) z boundaries at the observed ``fractions``.

    Look ``k``'s boundary depends only on ``t_1..t_k`` (Lan & DeMets 1983), so a
    resumed run recomputes the same boundaries for the looks it already took. A
    fraction at or above 1, or ``final=True``, makes the last look spend all of
    ``alpha`` (Jennison & Turnbull 2000, ch. 7); there futility meets
    efficacy, as no look follows.
    """
    level = validated_level(alpha, "alpha")
    looks = validated_fractions(fractions)
    timing = [min(t, 1.0) for t in looks]
    if final or looks[-1] >= 1.0:
        timing[-1] = 1.0
    null_state: _Continuation | None = None
    drift_state: _Continuation | None = None
    efficacy: list[float] = []
    floors: list[float] = []
    crossing: list[float] = []
    for k, (t, s) in enumerate(zip(looks, timing, strict=True)):
        previous = timing[k - 1] if k else 0.0
        bound = _solve_efficacy(
            null_state, t, spent(spending, level, s) - spent(spending, level, previous)
        )
        crossing.append(_cross_above(null_state, t, 0.0, bound))
        floor = -math.inf
        if s >= 1.0:
            floor = bound
        elif futility is not None:
            increment = spent(futility.spending, futility.beta, s) - spent(
                futility.spending, futility.beta, previous
            )
            floor = _solve_futility(drift_state, t, futility.drift, increment, bound)
        efficacy.append(bound)
        floors.append(floor)
        if k + 1 < len(looks):
            null_state = _advance(null_state, t, 0.0, -math.inf, bound)
            if futility is not None:
                drift_state = _advance(drift_state, t, futility.drift, floor, bound)
    return Boundaries(
        fractions=looks,
        efficacy=tuple(efficacy),
        futility=tuple(floors),
        alpha_spent=tuple(spent(spending, level, s) for s in timing),
        null_crossing=tuple(crossing),
        alpha=level,
        final=timing[-1] >= 1.0,
    )


def efficacy_probability(bounds: Boundaries, drift: float, *, honour_futility: bool) -> float:
    """P(some look crosses its efficacy boundary) when ``E[Z_k] = drift sqrt(t_k)``:
    the power at the design drift, or the error rate at drift 0."""
    state: _Continuation | None = None
    total = 0.0
    for t, high, low in zip(bounds.fractions, bounds.efficacy, bounds.futility, strict=True):
        total += _cross_above(state, t, drift, high)
        state = _advance(state, t, drift, low if honour_futility else -math.inf, high)
    return total
