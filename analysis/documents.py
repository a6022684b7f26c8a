"""Results -> versioned JSON documents, byte for byte reproducible.

* ``statistical_analysis.json`` (kind ``fastpath-statistical-analysis``):
  the contract of ``gates/INPUTS.md``, plus fields the gates ignore
  (``value_unit``, ``resampling``, ``n_resampled``, ``no_interval_reason``,
  ``environment.reason``, ``variants.X.n_paired``, ...).
* ``bca_analysis.json`` (kind ``fastpath-bca-analysis``): every interval,
  unit level and repository level, with ``z0``, acceleration, method,
  ``n_resamples``, Monte-Carlo standard errors of the endpoints and a summary
  of the bootstrap distribution.
* ``risk_assessment.json`` (kind ``fastpath-risk-assessment``): see
  :mod:`analysis.risk`.

Determinism: keys are sorted, lists are in a fixed order (the A/A run, then
registry order; budgets ascending, then ``pooled``; metrics in
:data:`~analysis.pipeline_analysis.METRICS` order), every float is rounded to
12 significant digits, and non-finite floats become ``null``. The only
time-dependent field is ``provenance.created_unix``; it is taken from
``SOURCE_DATE_EPOCH`` when that is set (the reproducible-builds convention),
so equal inputs and seed give identical bytes.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from analysis.cells import Descriptive
from analysis.monitor import RunDesign
from analysis.pipeline_analysis import UNITS, AnalysisResult, Row, VariantRun
from analysis.risk import RiskAssessment, risk_to_json
from contracts.documents import SCHEMA
from contracts.names import ANALYSIS_FILE, BCA_FILE, KINDS, RISK_FILE
from contracts.provenance import Provenance

__all__ = [
    "ANALYSIS_FILE",
    "BCA_FILE",
    "DOCUMENT_SCHEMA",
    "OUTPUT_FILES",
    "RISK_FILE",
    "Scope",
    "bca_document",
    "encode",
    "risk_document",
    "statistical_analysis_document",
]

DOCUMENT_SCHEMA = SCHEMA
OUTPUT_FILES = (ANALYSIS_FILE, BCA_FILE, RISK_FILE)
SIGNIFICANT_DIGITS = 12
NO_INTERVAL = "none"


def encode(document: Mapping[str, Any]) -> bytes:
    """Sorted keys, 2-space indent, rounded floats, a trailing newline."""
    return (
        orjson.dumps(_rounded(document), option=orjson.OPT_SORT_KEYS | orjson.OPT_INDENT_2) + b"\n"
    )


def _rounded(value: Any) -> Any:
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        # 0.0 for -0.0 too, so a sign of zero never changes the bytes.
        return float(f"{value:.{SIGNIFICANT_DIGITS}g}") + 0.0
    if isinstance(value, Mapping):
        return {str(key): _rounded(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_rounded(item) for item in value]
    return value


@dataclass(frozen=True)
class Scope:
    """What the evidence covers: its profile, and which of the registry's candidates."""

    profile: str
    exploratory: bool
    analysed: tuple[str, ...]
    registry_candidates: tuple[str, ...]
    bounds: tuple[str, ...]  # contracts.family labels, the registry's whole family

    @property
    def complete(self) -> bool:
        return set(self.analysed) == set(self.registry_candidates)


def _header(file: str, result: AnalysisResult, provenance: Provenance) -> dict[str, Any]:
    settings = result.settings
    return {
        "schema": DOCUMENT_SCHEMA,
        "kind": KINDS[file],
        "provenance": provenance.to_json(),
        "seed": settings.seed,
        "n_resamples": settings.n_resamples,
        "alpha": settings.alpha,
        "one_sided_level": 1.0 - settings.alpha_bound,
        "confidence_level": settings.level,
        "family_size": result.family_size,
        "power_target": settings.target_power,
    }


# ---------------------------------------------------------------------------
# statistical_analysis.json
# ---------------------------------------------------------------------------


def statistical_analysis_document(
    result: AnalysisResult, provenance: Provenance, scope: Scope
) -> dict[str, Any]:
    """The document the gates read (``gates/INPUTS.md``, section 1)."""
    environment = result.environment
    quality = result.quality
    return {
        **_header(ANALYSIS_FILE, result, provenance),
        "scope": {
            "profile": scope.profile,
            "exploratory": scope.exploratory,
            "analysed": list(scope.analysed),
            "registry_candidates": list(scope.registry_candidates),
            "complete": scope.complete,
            "family": list(scope.bounds),
        },
        "quality": {
            "file": quality.file,
            "profile": quality.profile,
            "questions": quality.questions,
            "repositories": quality.repositories,
            "problem": quality.problem,
        },
        "pairing": result.settings.pair_with,
        "budgets": list(result.budgets),
        "environment": {
            "stable": environment.stable,
            "aa_significant": list(environment.aa_significant),
            "machines": list(environment.machines),
            "reason": environment.reason,
            "aa_machine": environment.aa_machine,
            "machines_without_aa": list(environment.without_aa),
        },
        "variants": {run.name: _variant_json(run) for run in result.variants},
        "comparisons": [_row_json(row) for row in result.rows],
        "underpowered": [
            f"{row.variant}/{row.metric}/{row.budget}"
            for row in result.rows
            if row.power is not None and row.power.underpowered and not row.aa
        ],
        "distributions": {
            name: {
                budget: {
                    "latency_ms_quantiles": dict(cell.latency_ms),
                    "baseline_latency_ms_quantiles": dict(cell.baseline_latency_ms),
                    "qa_per_100k": cell.qa_per_100k,
                    "baseline_qa_per_100k": cell.baseline_qa_per_100k,
                }
                for budget, cell in cells.items()
            }
            for name, cells in result.distributions.items()
        },
    }


def _variant_json(run: VariantRun) -> dict[str, Any]:
    return {
        "intent": run.intent,
        "n_trials": run.n_trials,
        "n_failed": run.n_failed,
        "error": run.error,
        "artifact": run.artifact,
        "machine": run.machine,
        "n_units": run.n_units,
        "n_paired": run.n_paired,
        "n_failed_by_arm": dict(run.n_failed_by_arm),
        "quality_error": run.quality_error,
        "resumed": run.resumed,
        "design": None if run.design is None else _design_json(run.design),
    }


def _design_json(design: RunDesign) -> dict[str, Any]:
    """A sequential run's looks: the gates recompute its interval level from them."""
    return {
        "kind": "sequential",
        "looks": design.looks,
        "stopped_at_look": design.stopped_at_look,
        "fractions": list(design.fractions),
        "measured_units": design.measured_units,
        "planned_units": design.planned_units,
        "reason": design.reason,
        "futile_bounds": list(design.futile_bounds),
        "summary": design.describe(),
    }


def _row_json(row: Row) -> dict[str, Any]:
    gated = row.interval
    return {
        "variant": row.variant,
        "budget": row.budget,
        "metric": row.metric,
        "value_unit": UNITS[row.metric],
        "n_units": row.n_units,
        "baseline_value": row.baseline_value,
        "variant_value": row.variant_value,
        "relative_change": row.relative_change,
        "ci_low": None if gated is None else gated.low,
        "ci_high": None if gated is None else gated.high,
        "confidence_level": row.confidence_level,
        "family_size": row.family_size,
        "interval_method": NO_INTERVAL if gated is None else gated.method,
        "resampling": None if gated is None else gated.resampling,
        "n_clusters": None if gated is None else gated.n_clusters,
        "standard_error": None if gated is None else gated.standard_error,
        "no_interval_reason": row.problem,
        "p_value": None if gated is None else gated.p_value,
        "p_value_adjusted": row.p_value_adjusted,
        "significant": None if gated is None else gated.excludes_zero,
        "cohen_dz": None if row.effect is None else row.effect.dz,
        "effect_label": None if row.effect is None else row.effect.label,
        "power": None
        if row.power is None
        else {
            "target_effect": row.power.target_effect,
            "achieved": row.power.achieved,
            "mde_80": row.power.mde_80,
            "units_for_80": row.power.units_for_80,
            "clusters_for_80": row.power.resampled_for_80,
            "underpowered": row.power.underpowered,
            "alpha": row.power.alpha,
        },
        "cluster": _cluster_json(row),
        "descriptive": None if row.descriptive is None else _descriptive_json(row.descriptive),
    }


def _cluster_json(row: Row) -> dict[str, Any] | None:
    """The repository-level interval: the claim "repositories like them", reported only."""
    cluster = row.repository
    if cluster is None:
        return None
    agrees = None if row.interval is None else row.interval.excludes_zero == cluster.excludes_zero
    return {
        "ci_low": cluster.low,
        "ci_high": cluster.high,
        "n_clusters": cluster.n_clusters,
        "interval_method": cluster.method,
        "same_conclusion": agrees,
    }


def _descriptive_json(interval: Descriptive) -> dict[str, Any]:
    return {
        "method": interval.method,
        "ci_low": interval.low,
        "ci_high": interval.high,
        "confidence_level": interval.confidence_level,
    }


# ---------------------------------------------------------------------------
# bca_analysis.json
# ---------------------------------------------------------------------------

BCA_METHOD = (
    "Descriptive BCa bootstrap intervals (Efron 1987) of relative changes, variant against"
    " the paired baseline, questions resampled with their budgets; p95 uses the percentile"
    " interval (the engine's documented choice for sample quantiles), which is also the one"
    " the gates read for p95. The gates read the cluster t of statistical_analysis.json for"
    " every other metric. z0 is null where the bootstrap distribution lies on one side of the"
    " estimate (percentile fallback)."
)


def bca_document(result: AnalysisResult, provenance: Provenance) -> dict[str, Any]:
    """Every interval with its diagnostics and bootstrap distribution summary."""
    intervals = []
    problems = []
    for row in result.rows:
        where = {"variant": row.variant, "budget": row.budget, "metric": row.metric}
        if row.descriptive is None:
            problems.append({**where, "level": "question", "reason": row.problem})
        else:
            intervals.append(
                {**where, "aa": row.aa, "level": "question", **_interval_json(row.descriptive)}
            )
            intervals[-1]["n_units"] = row.n_units
    return {
        **_header(BCA_FILE, result, provenance),
        "method": BCA_METHOD,
        "intervals": intervals,
        "problems": problems,
    }


def _interval_json(interval: Descriptive) -> dict[str, Any]:
    distribution = interval.distribution
    return {
        "resampling": interval.resampling,
        "n_resampled": interval.n_resampled,
        "estimate": interval.estimate,
        "ci_low": interval.low,
        "ci_high": interval.high,
        "confidence_level": interval.confidence_level,
        "method": interval.method,
        "z0": interval.z0,
        "acceleration": interval.acceleration,
        "standard_error": interval.standard_error,
        "n_resamples": interval.n_resamples,
        "monte_carlo_se": {"ci_low": interval.mc_se_low, "ci_high": interval.mc_se_high},
        "p_value": interval.p_value,
        "bootstrap_distribution": {
            "mean": distribution.mean,
            "sd": distribution.sd,
            "quantiles": {f"p{100 * q:g}": value for q, value in distribution.quantiles},
        },
    }


# ---------------------------------------------------------------------------
# risk_assessment.json
# ---------------------------------------------------------------------------


def risk_document(
    result: AnalysisResult, risk: RiskAssessment, provenance: Provenance
) -> dict[str, Any]:
    return {**_header(RISK_FILE, result, provenance), **risk_to_json(risk)}
