"""The thresholds of ``[tool.fastpath.gates]``, validated once, and each variant's primary metric.

Values are read from the registry and never repeated in code. The one
addition is ``qa_equivalence_margin``: if the registry omits it, "no QA change"
means the QA interval is exactly [0, 0], which is what a byte-identical
performance variant produces.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from contracts.errors import ConfigError
from packrepo.registry import Registry, Variant

QA = "qa_per_100k"
LATENCY_MEAN = "latency_mean"
LATENCY_P95 = "latency_p95"
PEAK_MEMORY = "peak_memory_mean"
RECALL = "recall_mean"

# A registry `metric` names what a variant promises to improve; the analysis
# names the statistic that measures it.
METRIC_OF_PROMISE = {"latency": LATENCY_MEAN, "memory": PEAK_MEMORY, QA: QA}
PERFORMANCE_PROMISES = ("latency", "memory")
GATES_TABLE = "[tool.fastpath.gates]"


@dataclass(frozen=True)
class GateThresholds:
    """The acceptance thresholds, as fractions (0.13 is +13%)."""

    qa_improvement: float
    performance_regression: float
    mutation_score: float
    property_coverage: float
    security_high_findings: int
    power: float
    alpha: float  # the one-sided family-wise error rate of a decision (contracts.family)
    bootstrap_samples: int
    qa_equivalence_margin: float
    # Per-budget guards of a quality variant: no budget's QA/100k or recall lower bound
    # below minus these margins.
    qa_margin: float = 0.10
    recall_margin: float = 0.05
    # Which latency statistics the non-inferiority gate judges. The registry says
    # ["latency_mean"] by default: p95 across ~70 units cannot be powered within the
    # pipeline's time (see README, "Why mean latency is gated and p95 reported").
    non_inferiority_metrics: tuple[str, ...] = (LATENCY_MEAN,)
    # An A/A difference smaller than this is a per-process offset, not an unstable
    # machine: two identical workers differ by ~0.3% in peak RSS, reproducibly.
    aa_tolerance: float = 0.01


NON_INFERIORITY_METRICS = (LATENCY_MEAN, LATENCY_P95)


def thresholds_from_registry(registry: Registry) -> GateThresholds:
    """Validate ``[tool.fastpath.gates]``; a missing or mistyped key raises ConfigError."""
    table = registry.gates
    if not registry.budgets:
        raise ConfigError("[tool.fastpath] `budgets` is empty: the gates judge every budget")
    return GateThresholds(
        qa_improvement=_fraction(table, "qa_improvement"),
        performance_regression=_fraction(table, "performance_regression"),
        mutation_score=_fraction(table, "mutation_score"),
        property_coverage=_fraction(table, "property_coverage"),
        security_high_findings=_count(table, "security_high_findings"),
        power=_fraction(table, "power"),
        alpha=_alpha(table),
        bootstrap_samples=_count(table, "bootstrap_samples"),
        qa_equivalence_margin=_fraction(table, "qa_equivalence_margin", default=0.0),
        non_inferiority_metrics=_metrics(table, "non_inferiority_metrics"),
        aa_tolerance=_fraction(table, "aa_tolerance", default=0.01),
        qa_margin=_fraction(table, "qa_margin"),
        recall_margin=_fraction(table, "recall_margin"),
    )


# Keys that configured a second level or a second correction. One alpha decides.
_REMOVED = {
    "confidence_level": "`alpha` is the only level (one-sided, family-wise)",
    "correction": "Bonferroni over the registry's gated bounds is the only correction",
}


def _alpha(table: dict[str, Any]) -> float:
    for key, why in _REMOVED.items():
        if key in table:
            raise ConfigError(f"{GATES_TABLE} `{key}` is no longer read: {why}; remove it")
    value = _fraction(table, "alpha")
    if not 0.0 < value <= 0.25:
        raise ConfigError(f"{GATES_TABLE} `alpha` must be in (0, 0.25], got {value}")
    return value


def primary_metric(variant: Variant) -> str:
    """The analysis metric a candidate is judged on: QA for quality, its promise for performance."""
    where = f"[tool.fastpath.variants.{variant.name}]"
    if variant.intent == "quality":
        if variant.metric not in (None, QA):
            raise ConfigError(
                f"{where} quality variants are judged on `{QA}`, not {variant.metric!r}"
            )
        return QA
    if variant.intent == "performance":
        if variant.metric not in PERFORMANCE_PROMISES:
            raise ConfigError(
                f"{where} `metric` must be one of {PERFORMANCE_PROMISES} for a performance variant,"
                f" got {variant.metric!r}"
            )
        return METRIC_OF_PROMISE[variant.metric]
    raise ConfigError(f"{where} has intent {variant.intent!r}; only candidates have gates")


def validate_candidates(registry: Registry) -> None:
    """Fail early, before any output is written, if a candidate's metric is unusable."""
    for variant in registry.candidates:
        primary_metric(variant)


def _number(table: dict[str, Any], key: str, default: float | None) -> float:
    if key not in table:
        if default is None:
            raise ConfigError(f"{GATES_TABLE} `{key}` is missing")
        return default
    value = table[key]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"{GATES_TABLE} `{key}` must be a number, got {value!r}")
    return float(value)


def _fraction(table: dict[str, Any], key: str, default: float | None = None) -> float:
    value = _number(table, key, default)
    if not 0.0 <= value <= 1.0:
        raise ConfigError(f"{GATES_TABLE} `{key}` must be a fraction in [0, 1], got {value}")
    return value


def _count(table: dict[str, Any], key: str) -> int:
    value = table.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigError(f"{GATES_TABLE} `{key}` must be an integer >= 0, got {value!r}")
    return value


def _metrics(table: dict[str, Any], key: str) -> tuple[str, ...]:
    value = table.get(key, [LATENCY_MEAN])
    if (
        not isinstance(value, list)
        or not value
        or any(item not in NON_INFERIORITY_METRICS for item in value)
    ):
        raise ConfigError(
            f"{GATES_TABLE} `{key}` must be a non-empty list drawn from"
            f" {list(NON_INFERIORITY_METRICS)}, got {value!r}"
        )
    return tuple(dict.fromkeys(value))
