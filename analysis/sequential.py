"""Sequential decisions on one gated comparison: the planned design and the decision at a look.

Issue #14: the timed trials look at the data after each batch of ABBA pairs and
stop a comparison as soon as it is decided, with the one-sided level ``a =
alpha / m`` of every gated bound held across looks. This module is the
statistical core, pure and without I/O:

* :func:`plan_design` fixes the spending functions, the planned looks and the
  maximum information for power ``1 - beta`` at the design effect: the planned
  maximum of units is ``n_max = inflation * n_fixed``.
* :func:`decide` applies the design at a look: efficacy boundaries from
  Lan-DeMets O'Brien-Fleming spending at the fractions actually observed
  (:mod:`analysis.spending`), non-binding beta-spending futility, and the
  repeated confidence interval of Jennison & Turnbull (2000, ch. 9), valid at
  a data-dependent stop.
* The gated statistic is a cluster t on ``G - 1`` df (:mod:`analysis.calibrated`),
  so each z boundary is applied through its nominal one-sided level, the
  significance-level approach to group-sequential t tests (Jennison & Turnbull
  2000, ch. 3). :func:`analysis.sequential_simulation.simulate_design` measures
  what that approximation costs at few clusters.

Open-ended re-runs with no planned maximum use the confidence sequence of
:mod:`analysis.anytime` instead. ``python -m analysis.sequential`` prints a
design (:mod:`analysis.sequential_cli`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from scipy import optimize, stats  # type: ignore[import-untyped]

from analysis.errors import AnalysisInputError
from analysis.spending import (
    Boundaries,
    FutilityRule,
    Spending,
    efficacy_probability,
    group_sequential_boundaries,
    validated_fractions,
    validated_level,
)

__all__ = [
    "Comparison",
    "LookEstimate",
    "Outcome",
    "SequentialDecision",
    "SequentialDesign",
    "decide",
    "design_boundaries",
    "fixed_drift",
    "maximum_information",
    "plan_design",
]

Outcome = Literal["established", "futile", "continue", "not established"]


@dataclass(frozen=True)
class SequentialDesign:
    """A planned group-sequential design for one bound at one-sided level ``alpha``."""

    alpha: float
    power: float  # 1 - beta at the design effect
    planned_fractions: tuple[float, ...]
    efficacy_spending: Spending
    futility_spending: Spending | None
    inflation: float  # I_max / I_fixed: n_max = inflation * n_fixed

    @property
    def drift(self) -> float:
        """E[Z] at full information under the design effect: ``(z_{1-a} + z_{1-b}) sqrt(R)``."""
        return fixed_drift(self.alpha, self.power) * math.sqrt(self.inflation)

    @property
    def futility_rule(self) -> FutilityRule | None:
        if self.futility_spending is None:
            return None
        return FutilityRule(1.0 - self.power, self.futility_spending, self.drift)


def fixed_drift(alpha: float, power: float) -> float:
    """E[Z] of the fixed design under the effect it has ``power`` against: ``z_{1-a} + z_{1-b}``."""
    return float(stats.norm.isf(alpha) + stats.norm.ppf(power))


def maximum_information(
    alpha: float,
    power: float,
    fractions: Sequence[float],
    *,
    efficacy_spending: Spending = "obrien-fleming",
    futility_spending: Spending | None = None,
) -> float:
    """The inflation factor ``R = I_max / I_fixed`` that gives ``power`` at the design effect.

    Without futility ``R`` solves ``P_theta(cross an efficacy boundary) = power``.
    With beta-spending futility it solves the same with futility honoured, which
    makes the last futility boundary meet the last efficacy one (the usual
    construction, gsDesign's ``test.type = 4``): the non-binding rule costs units.
    """
    level, goal = validated_level(alpha, "alpha"), validated_level(power, "power")
    looks = validated_fractions(fractions)
    if looks[-1] != 1.0:
        raise AnalysisInputError(f"a plan's last look is at full information; got {looks}")
    fixed = fixed_drift(level, goal)

    def shortfall(inflation: float) -> float:
        rule = None
        if futility_spending is not None:
            rule = FutilityRule(1.0 - goal, futility_spending, fixed * math.sqrt(inflation))
        bounds = group_sequential_boundaries(
            level, looks, spending=efficacy_spending, futility=rule
        )
        return (
            efficacy_probability(bounds, fixed * math.sqrt(inflation), honour_futility=True) - goal
        )

    return float(optimize.brentq(shortfall, 0.5, 10.0, xtol=1e-10))


def plan_design(
    alpha: float,
    power: float = 0.8,
    *,
    looks: int = 4,
    fractions: Sequence[float] | None = None,
    efficacy_spending: Spending = "obrien-fleming",
    futility_spending: Spending | None = "obrien-fleming",
) -> SequentialDesign:
    """A design with ``looks`` equally spaced looks (or the planned ``fractions``)."""
    if fractions is None:
        if isinstance(looks, bool) or not isinstance(looks, int) or looks < 1:
            raise AnalysisInputError(f"`looks` must be a positive integer; got {looks!r}")
        fractions = [k / looks for k in range(1, looks + 1)]
    planned = validated_fractions(fractions)
    inflation = maximum_information(
        alpha,
        power,
        planned,
        efficacy_spending=efficacy_spending,
        futility_spending=futility_spending,
    )
    return SequentialDesign(
        float(alpha), float(power), planned, efficacy_spending, futility_spending, inflation
    )


def design_boundaries(
    design: SequentialDesign, fractions: Sequence[float] | None = None, *, final: bool = False
) -> Boundaries:
    """The design's boundaries at the looks actually taken (default: as planned)."""
    return group_sequential_boundaries(
        design.alpha,
        design.planned_fractions if fractions is None else fractions,
        spending=design.efficacy_spending,
        futility=design.futility_rule,
        final=final,
    )


@dataclass(frozen=True)
class LookEstimate:
    """The cluster-t statistic of one comparison at one look (see :mod:`analysis.calibrated`)."""

    log_estimate: float  # L = log ratio of sums
    standard_error: float  # CR1 standard error of L
    df: int  # G - 1


@dataclass(frozen=True)
class Comparison:
    """What a bound must establish: ``side="upper"``: the ratio is below ``1 + threshold``
    (a +10% latency margin: ``threshold=0.10``; a promised improvement: ``0.0``);
    ``side="lower"``: the ratio is above ``1 + threshold``."""

    threshold: float
    side: Literal["upper", "lower"]


@dataclass(frozen=True)
class SequentialDecision:
    """One comparison's state after one look. Futility is non-binding: reported, never
    required for the error rate. The interval is the repeated confidence interval, each
    bound one-sided at level ``1 - alpha``, valid whenever the run stops."""

    outcome: Outcome
    look: int  # 1-based
    fraction: float
    t_statistic: float  # against the threshold, positive toward the claim
    z_equivalent: float  # Phi^{-1}(F_{t, df}(t_statistic))
    observed_p: float
    efficacy_z: float
    nominal_p: float  # the efficacy boundary's nominal one-sided level
    futility_z: float  # -inf: no futility boundary at this look
    interval_low: float  # relative change, exp(.) - 1
    interval_high: float

    @property
    def stopped(self) -> bool:
        return self.outcome != "continue"


def decide(
    design: SequentialDesign,
    fractions: Sequence[float],
    estimate: LookEstimate,
    comparison: Comparison,
    *,
    final: bool | None = None,
) -> SequentialDecision:
    """Decide at the last of ``fractions`` (every look taken so far, this one last).

    The t statistic is compared with each z boundary through its nominal
    one-sided level: ``p = P(T_df >= t)`` against ``1 - Phi(b_k)``, equivalently
    ``Phi^{-1}(1 - p)`` against ``b_k`` (the significance-level approach to
    group-sequential t tests, Jennison & Turnbull 2000, ch. 3; exact for the
    z test, approximate for t, measured by :func:`simulate_design` with
    ``fixed_units``). The last look is final when it reaches full information
    or when ``final`` says the run ends there; a final look that does not cross
    is "not established".
    """
    if comparison.side not in ("upper", "lower"):
        raise AnalysisInputError(f"`side` must be 'upper' or 'lower'; got {comparison.side!r}")
    if isinstance(estimate.df, bool) or not isinstance(estimate.df, int) or estimate.df < 1:
        raise AnalysisInputError(f"`df` must be a positive integer; got {estimate.df!r}")
    se, log_estimate = float(estimate.standard_error), float(estimate.log_estimate)
    if not (math.isfinite(se) and se >= 0.0 and math.isfinite(log_estimate)):
        raise AnalysisInputError(f"`estimate` must be finite with se >= 0; got {estimate}")
    looks = validated_fractions(fractions)
    is_final = looks[-1] >= 1.0 if final is None else final
    bounds = design_boundaries(design, looks, final=is_final)
    sign = 1.0 if comparison.side == "upper" else -1.0
    distance = sign * (math.log1p(comparison.threshold) - log_estimate)
    t_statistic = distance / se if se > 0.0 else math.copysign(math.inf, distance) * (distance != 0)
    observed_p = float(stats.t.sf(t_statistic, estimate.df))
    z_equivalent = float(
        stats.norm.isf(observed_p)
        if t_statistic >= 0
        else stats.norm.ppf(stats.t.cdf(t_statistic, estimate.df))
    )
    efficacy, futility = bounds.efficacy[-1], bounds.futility[-1]
    nominal_p = bounds.nominal_levels[-1]
    outcome: Outcome = "continue"
    if math.isfinite(efficacy) and z_equivalent >= efficacy:
        outcome = "established"
    elif bounds.final:
        outcome = "not established"
    elif z_equivalent <= futility:
        outcome = "futile"
    quantile = float(stats.t.isf(nominal_p, estimate.df)) if se > 0.0 else 0.0
    return SequentialDecision(
        outcome=outcome,
        look=len(bounds.fractions),
        fraction=bounds.fractions[-1],
        t_statistic=t_statistic,
        z_equivalent=z_equivalent,
        observed_p=observed_p,
        efficacy_z=efficacy,
        nominal_p=nominal_p,
        futility_z=futility,
        interval_low=_relative(log_estimate - quantile * se),
        interval_high=_relative(log_estimate + quantile * se),
    )


def _relative(log_ratio: float) -> float:
    """``exp(x) - 1``, infinite where it overflows (a t quantile at few clusters)."""
    return math.inf if log_ratio > 700.0 else math.expm1(log_ratio)


if __name__ == "__main__":
    from analysis.sequential_cli import main

    raise SystemExit(main())
