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
from typing import Any

import orjson

from analysis.pipeline_analysis import UNITS, AnalysisResult, Interval, Row, VariantRun
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


def _header(file: str, result: AnalysisResult, provenance: Provenance) -> dict[str, Any]:
    settings = result.settings
    return {
        "schema": DOCUMENT_SCHEMA,
        "kind": KINDS[file],
        "provenance": provenance.to_json(),
        "seed": settings.seed,
        "n_resamples": settings.n_resamples,
        "confidence_level": settings.confidence_level,
        "correction": {"method": settings.correction, "alpha": settings.alpha},
        "family_size": result.family_size,
    }


# ---------------------------------------------------------------------------
# statistical_analysis.json
# ---------------------------------------------------------------------------


def statistical_analysis_document(result: AnalysisResult, provenance: Provenance) -> dict[str, Any]:
    """The document the gates read (``gates/INPUTS.md``, section 1)."""
    environment = result.environment
    return {
        **_header(ANALYSIS_FILE, result, provenance),
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
    }


def _row_json(row: Row) -> dict[str, Any]:
    unit = row.unit
    return {
        "variant": row.variant,
        "budget": row.budget,
        "metric": row.metric,
        "value_unit": UNITS[row.metric],
        "n_units": row.n_units,
        "baseline_value": row.baseline_value,
        "variant_value": row.variant_value,
        "relative_change": row.relative_change,
        "ci_low": None if unit is None else unit.low,
        "ci_high": None if unit is None else unit.high,
        "confidence_level": row.confidence_level,
        "family_size": row.family_size,
        "interval_method": NO_INTERVAL if unit is None else unit.method,
        "resampling": None if unit is None else unit.resampling,
        "n_resampled": None if unit is None else unit.n_resampled,
        "no_interval_reason": row.problem,
        "p_value": None if unit is None else unit.p_value,
        "p_value_adjusted": row.p_value_adjusted,
        "significant": row.significant,
        "cohen_dz": None if row.effect is None else row.effect.dz,
        "effect_label": None if row.effect is None else row.effect.label,
        "power": None
        if row.power is None
        else {
            "target_effect": row.power.target_effect,
            "achieved": row.power.achieved,
            "mde_80": row.power.mde_80,
            "units_for_80": row.power.units_for_80,
            "underpowered": row.power.underpowered,
        },
        "cluster": _cluster_json(row),
    }


def _cluster_json(row: Row) -> dict[str, Any] | None:
    cluster = row.cluster
    if cluster is None:
        return None
    agrees = None if row.unit is None else row.unit.excludes_zero == cluster.excludes_zero
    return {
        "ci_low": cluster.low,
        "ci_high": cluster.high,
        "n_clusters": cluster.n_resampled,
        "interval_method": cluster.method,
        "same_conclusion": agrees,
    }


# ---------------------------------------------------------------------------
# bca_analysis.json
# ---------------------------------------------------------------------------

BCA_METHOD = (
    "BCa bootstrap intervals (Efron 1987) of relative changes, variant against the paired"
    " baseline; p95 uses the percentile interval (the engine's documented choice for sample"
    " quantiles). 'unit': units resampled (one budget); 'question': repository x question"
    " resampled with its budgets (pooled rows); 'repository': the cluster bootstrap"
    " (Davison & Hinkley 1997, sec. 3.8), the sensitivity check. z0 is null where the"
    " bootstrap distribution lies on one side of the estimate (percentile fallback)."
)


def bca_document(result: AnalysisResult, provenance: Provenance) -> dict[str, Any]:
    """Every interval with its diagnostics and bootstrap distribution summary."""
    intervals = []
    problems = []
    for row in result.rows:
        for level, interval, problem in (
            ("unit", row.unit, row.problem),
            ("cluster", row.cluster, row.cluster_problem),
        ):
            where = {"variant": row.variant, "budget": row.budget, "metric": row.metric}
            if interval is None:
                problems.append({**where, "level": level, "reason": problem})
            else:
                intervals.append(
                    {**where, "aa": row.aa, "level": level, **_interval_json(interval)}
                )
                intervals[-1]["n_units"] = row.n_units
    return {
        **_header(BCA_FILE, result, provenance),
        "method": BCA_METHOD,
        "intervals": intervals,
        "problems": problems,
    }


def _interval_json(interval: Interval) -> dict[str, Any]:
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
