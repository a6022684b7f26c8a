"""The family of gated bounds: every one-sided interval bound a promotion rests on.

One alpha (``[tool.fastpath.gates] alpha``) is the one-sided family-wise error
rate of a decision. The family is fixed by the registry, never by the command
line: every candidate of ``[tool.fastpath.variants]`` brings the bounds its
gates judge, and each bound is at the Bonferroni level ``1 - alpha / m``. A run
of fewer variants keeps the registry's family (so its intervals are as wide as
the full run's) and may report but never promote.

What each candidate brings (B budgets):

* a performance variant: its promise, pooled (mean latency or peak memory,
  upper bound below 0), and each non-inferiority metric at every budget
  (upper bound at most the regression margin): 1 + B per metric;
* a quality variant: QA/100k pooled (lower bound above 0), QA/100k and recall
  at every budget (lower bounds at least minus their margins), and the
  non-inferiority metrics at every budget: 1 + 2B + B per metric.

Both the analysis (which computes the intervals at this level) and the gates
(which check the level of what they read) call :func:`gated_bounds`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from contracts.thresholds import QA, RECALL, GateThresholds, primary_metric
from packrepo.registry import Registry

POOLED = "pooled"
UPPER, LOWER = "upper", "lower"


@dataclass(frozen=True)
class Bound:
    """One gated bound: ``variant``'s ``metric`` at ``budget``, on one side."""

    variant: str
    metric: str
    budget: str
    side: str  # "upper" (must stay below a threshold) or "lower" (must stay above one)

    @property
    def label(self) -> str:
        return f"{self.variant}/{self.metric}/{self.budget}/{self.side}"


def gated_bounds(
    registry: Registry, thresholds: GateThresholds, budgets: Sequence[str]
) -> tuple[Bound, ...]:
    """Every bound the gates judge, candidates in registry order."""
    bounds: list[Bound] = []
    for variant in registry.candidates:
        metric = primary_metric(variant)
        if variant.intent == "quality":
            bounds.append(Bound(variant.name, QA, POOLED, LOWER))
            bounds += [Bound(variant.name, QA, b, LOWER) for b in budgets]
            bounds += [Bound(variant.name, RECALL, b, LOWER) for b in budgets]
        else:
            bounds.append(Bound(variant.name, metric, POOLED, UPPER))
        for guarded in thresholds.non_inferiority_metrics:
            bounds += [Bound(variant.name, guarded, b, UPPER) for b in budgets]
    return tuple(bounds)


def design_target(thresholds: GateThresholds, metric: str, budget: str) -> float:
    """The effect a bound's design-stage power is computed at: the QA target for the pooled
    QA gain; the guards' margins per budget (QA/100k and recall, lower; the timed metrics,
    upper), a margin to clear if the truth is no change."""
    if metric == QA:
        return thresholds.qa_improvement if budget == POOLED else -thresholds.qa_margin
    if metric == RECALL:
        return -thresholds.recall_margin
    return thresholds.performance_regression


def one_sided_level(alpha: float, family_size: int) -> float:
    """The level of each bound: ``1 - alpha / m``."""
    return 1.0 - alpha / max(1, family_size)


def two_sided_level(alpha: float, family_size: int) -> float:
    """The level of a reported interval whose two bounds are each one-sided at
    :func:`one_sided_level`: ``1 - 2 alpha / m``."""
    return 1.0 - 2.0 * alpha / max(1, family_size)
