"""T2 risk assessment: four normalised risks per candidate and a level.

Each risk is a number in [0, 1] (0 no concern, 1 the gate's limit reached or
passed) or ``None`` when its evidence is missing, with the reason:

* **performance** -- the upper bounds of the pooled mean and p95 latency
  intervals against the non-inferiority margin ``m``
  (``performance_regression``): ``clip(ci_high / m, 0, 1)`` for each, the
  larger counts. 1 means the interval reaches the margin.
* **quality** -- quality variants: the shortfall of the pooled QA/100k lower
  bound from the target ``T`` (``qa_improvement``), ``clip((T - ci_low) / T,
  0, 1)``: 0 when even the pessimistic end reaches the target, 1 when it is
  at or below no change. Performance variants must not change QA at all:
  ``clip(max(|ci_low|, |ci_high|) / T, 0, 1)``, 0 for identical QA.
* **coverage** -- from ``advanced_testing.json`` if present and produced for
  this commit and configuration: the larger relative shortfall of the
  mutation score and the property coverage from their thresholds,
  ``clip((threshold - value) / threshold, 0, 1)``; otherwise unknown.
* **stability** -- 1 if the A/A run found the environment unstable or is
  missing, 0.5 if the variant ran on a machine without an A/A run, and the
  failed-trial share of its run scaled so that 10% failed trials is 1; the
  largest counts.

Level rule: the score is the largest known risk. ``high`` if the score is at
least 2/3 or the run has an error; ``medium`` if it is at least 1/3 or any
risk is unknown (missing evidence is never low risk); ``low`` otherwise.
The gates do not read this file; it is the report's summary of how close
each candidate is to a limit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from analysis.pipeline_analysis import (
    LATENCY_MEAN,
    LATENCY_P95,
    POOLED,
    QA,
    AnalysisResult,
    Row,
    VariantRun,
)

__all__ = [
    "FAILED_SHARE_AT_MAX",
    "HIGH",
    "MEDIUM",
    "Coverage",
    "Risk",
    "RiskAssessment",
    "RiskLimits",
    "VariantRisk",
    "assess",
    "risk_to_json",
]

HIGH_AT = 2.0 / 3.0
MEDIUM_AT = 1.0 / 3.0
FAILED_SHARE_AT_MAX = 0.10
NO_AA_ON_MACHINE = 0.5
LOW, MEDIUM, HIGH = "low", "medium", "high"
RULE = (
    "score = the largest known risk; high if score >= 2/3 or the run has an error; medium if"
    " score >= 1/3 or any risk is unknown; low otherwise. Risks in [0, 1]: performance ="
    " max(clip(ci_high / margin, 0, 1)) over pooled mean and p95 latency; quality ="
    " clip((target - ci_low) / target, 0, 1) for quality variants, clip(max |bound| / target,"
    " 0, 1) for performance variants; coverage = max relative shortfall of mutation score and"
    " property coverage; stability = max(1 if A/A unstable or missing, 0.5 if no A/A run on the"
    " variant's machine, failed-trial share / 0.10 capped at 1)."
)


@dataclass(frozen=True)
class RiskLimits:
    """The registry thresholds the risks are measured against."""

    qa_target: float
    performance_margin: float
    mutation_score: float
    property_coverage: float


@dataclass(frozen=True)
class Coverage:
    """``advanced_testing.json``'s two figures, or why they are not usable."""

    mutation_score: float | None
    property_coverage: float | None
    problem: str | None


@dataclass(frozen=True)
class Risk:
    name: str
    score: float | None
    reason: str
    components: Mapping[str, float | None]


@dataclass(frozen=True)
class VariantRisk:
    variant: str
    intent: str
    score: float | None
    level: str
    reason: str
    risks: tuple[Risk, ...]


@dataclass(frozen=True)
class RiskAssessment:
    limits: RiskLimits
    variants: tuple[VariantRisk, ...]


def assess(
    result: AnalysisResult,
    intents: Mapping[str, str],
    limits: RiskLimits,
    coverage: Coverage,
) -> RiskAssessment:
    """Risk of every candidate in ``result`` (the A/A run is not a candidate)."""
    baseline = result.variants[0].name
    assessed = []
    for run in result.variants[1:]:
        rows = {
            row.metric: row
            for row in result.rows
            if row.variant == run.name and row.budget == POOLED
        }
        risks = (
            _performance(rows, limits),
            _quality(rows, intents[run.name], limits),
            _coverage(coverage, limits),
            _stability(result, run, baseline),
        )
        assessed.append(_combine(run, risks))
    return RiskAssessment(limits=limits, variants=tuple(assessed))


def _clip(value: float) -> float:
    return min(1.0, max(0.0, value))


def _performance(rows: Mapping[str, Row], limits: RiskLimits) -> Risk:
    margin = limits.performance_margin
    components: dict[str, float | None] = {}
    for metric in (LATENCY_MEAN, LATENCY_P95):
        row = rows.get(metric)
        components[metric] = (
            None if row is None or row.interval is None else _clip(row.interval.high / margin)
        )
    known = [value for value in components.values() if value is not None]
    if not known:
        return Risk("performance", None, "no pooled latency interval", components)
    score = max(known)
    reason = ", ".join(
        f"{metric} upper bound {_pct(rows[metric].interval)} of a {margin:.0%} margin"
        for metric, value in components.items()
        if value is not None
    )
    return Risk("performance", score, reason, components)


def _pct(interval: Any) -> str:
    return f"{interval.high:+.1%}"


def _quality(rows: Mapping[str, Row], intent: str, limits: RiskLimits) -> Risk:
    row = rows.get(QA)
    target = limits.qa_target
    if row is None:
        return Risk("quality", None, "no pooled QA/100k comparison", {})
    if row.interval is None:
        if row.variant_value == row.baseline_value:
            return Risk("quality", 0.0, "QA/100k identical to the baseline", {"ci_low": None})
        return Risk("quality", None, f"QA/100k has no interval: {row.problem}", {})
    low, high = row.interval.low, row.interval.high
    components: dict[str, float | None] = {"ci_low": low, "ci_high": high}
    if intent == "quality":
        score = _clip((target - low) / target)
        reason = f"QA/100k lower bound {low:+.1%} against the {target:+.0%} target"
    else:
        score = _clip(max(abs(low), abs(high)) / target)
        reason = (
            "QA/100k identical to the baseline"
            if score == 0.0
            else f"QA/100k moves within [{low:+.1%}, {high:+.1%}]; a performance variant must"
            " not change it"
        )
    return Risk("quality", score, reason, components)


def _coverage(coverage: Coverage, limits: RiskLimits) -> Risk:
    if coverage.problem is not None:
        return Risk("coverage", None, coverage.problem, {})
    parts = {
        "mutation_score": (coverage.mutation_score, limits.mutation_score),
        "property_coverage": (coverage.property_coverage, limits.property_coverage),
    }
    components: dict[str, float | None] = {}
    for name, (value, threshold) in parts.items():
        components[name] = (
            None if value is None or threshold <= 0 else _clip((threshold - value) / threshold)
        )
    known = [value for value in components.values() if value is not None]
    if not known:
        return Risk("coverage", None, "advanced_testing.json has no usable figure", components)
    reason = (
        f"mutation score {coverage.mutation_score} (threshold {limits.mutation_score}),"
        f" property coverage {coverage.property_coverage} (threshold {limits.property_coverage})"
    )
    return Risk("coverage", max(known), reason, components)


def _stability(result: AnalysisResult, run: VariantRun, baseline: str) -> Risk:
    environment = result.environment
    aa = 0.0 if environment.stable else 1.0
    unchecked = run.machine is not None and run.machine in environment.without_aa
    machine = NO_AA_ON_MACHINE if unchecked and environment.aa_machine is not None else 0.0
    share = run.n_failed / run.n_trials if run.n_trials else 0.0
    failures = _clip(share / FAILED_SHARE_AT_MAX)
    components: dict[str, float | None] = {
        "aa": aa,
        "machine_without_aa": machine,
        "failed_trials": failures,
    }
    reasons = []
    if aa:
        reasons.append(environment.reason or f"the {baseline} A/A run is unstable")
    if machine:
        reasons.append(f"no A/A run on {run.machine}")
    reasons.append(f"{run.n_failed} of {run.n_trials} trials failed")
    return Risk("stability", max(aa, machine, failures), "; ".join(reasons), components)


def _combine(run: VariantRun, risks: Sequence[Risk]) -> VariantRisk:
    known = [risk.score for risk in risks if risk.score is not None]
    score = max(known) if known else None
    unknown = [risk.name for risk in risks if risk.score is None]
    if run.error is not None or (score is not None and score >= HIGH_AT):
        level = HIGH
    elif unknown or (score is not None and score >= MEDIUM_AT):
        level = MEDIUM
    else:
        level = LOW
    if run.error is not None:
        reason = f"run failed: {run.error}"
    else:
        worst = max(
            (r for r in risks if r.score is not None), key=lambda r: r.score or 0.0, default=None
        )
        reason = (
            "no risk could be assessed"
            if worst is None
            else f"largest: {worst.name} ({worst.reason})"
        )
        if unknown:
            reason += f"; unknown: {', '.join(unknown)}"
    return VariantRisk(run.name, run.intent, score, level, reason, tuple(risks))


def risk_to_json(assessment: RiskAssessment) -> dict[str, Any]:
    limits = assessment.limits
    return {
        "rule": RULE,
        "limits": {
            "qa_improvement": limits.qa_target,
            "performance_regression": limits.performance_margin,
            "mutation_score": limits.mutation_score,
            "property_coverage": limits.property_coverage,
            "failed_share_at_max": FAILED_SHARE_AT_MAX,
            "medium_at": MEDIUM_AT,
            "high_at": HIGH_AT,
        },
        "variants": {
            risk.variant: {
                "intent": risk.intent,
                "score": risk.score,
                "level": risk.level,
                "reason": risk.reason,
                "risks": {
                    item.name: {
                        "score": item.score,
                        "status": "unknown" if item.score is None else "assessed",
                        "reason": item.reason,
                        "components": dict(item.components),
                    }
                    for item in risk.risks
                },
            }
            for risk in assessment.variants
        },
    }
