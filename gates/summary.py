"""The two JSON outputs, built as plain documents from the verdict (pure).

``gates.json`` is a function of its inputs only, so the same evidence gives
the same bytes: its provenance is the analysis it judged, with no clock of its
own. ``pipeline_report.json`` adds when and where the decision was made.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from contracts.documents import SCHEMA
from contracts.provenance import UNKNOWN_COMMIT, Provenance
from gates.evidence import Absent, Comparison, Evidence, Interval, StatisticalAnalysis
from gates.verdict import GateResult, VariantVerdict, Verdict
from packrepo.registry import Registry

GATES_KIND = "fastpath-gates"
REPORT_KIND = "fastpath-pipeline-report"


@dataclass(frozen=True)
class RunContext:
    """Where and when the gates ran: only ``pipeline_report.json`` records it."""

    created_unix: float
    python: str
    platform: str


def reference_provenance(registry: Registry, evidence: Evidence) -> dict[str, object]:
    """The analysis's provenance, or the checkout's when there is no analysis."""
    analysis = evidence.analysis
    if isinstance(analysis, StatisticalAnalysis):
        return _provenance(analysis.provenance)
    return {
        "git_sha": evidence.checkout_git_sha or UNKNOWN_COMMIT,
        "config_sha256": registry.config_sha256,
        "created_unix": None,
        "producer": "gates",
    }


def gates_document(verdict: Verdict, registry: Registry, evidence: Evidence) -> dict[str, object]:
    return {
        "schema": SCHEMA,
        "kind": GATES_KIND,
        "provenance": reference_provenance(registry, evidence),
        "decision": verdict.decision,
        "chosen": verdict.chosen,
        "reason": verdict.reason,
        "thresholds": dict(registry.gates),
        "variants": {v.variant: _variant_gates(v) for v in verdict.variants},
    }


def _variant_gates(verdict: VariantVerdict) -> dict[str, object]:
    return {
        "intent": verdict.intent,
        "primary_metric": verdict.primary_metric,
        "passed": verdict.passed,
        "blocking": [gate.name for gate in verdict.blocking],
        "qa_gain": verdict.qa_gain,
        "latency_change": verdict.latency_change,
        "gates": [gate_document(gate) for gate in verdict.gates],
    }


def gate_document(gate: GateResult) -> dict[str, object]:
    return {
        "name": gate.name,
        "passed": gate.passed,
        "comparator": gate.comparator,
        "threshold": gate.threshold,
        "observed": gate.observed,
        "measure": gate.measure,
        "unit": gate.unit,
        "interval": _interval(gate.interval),
        "reason": gate.reason,
    }


def pipeline_report(
    verdict: Verdict, registry: Registry, evidence: Evidence, run: RunContext
) -> dict[str, object]:
    analysis = evidence.analysis
    return {
        "schema": SCHEMA,
        "kind": REPORT_KIND,
        "decision": verdict.decision,
        "chosen": verdict.chosen,
        "reason": verdict.reason,
        "evidence": evidence_label(evidence),
        "custody": custody_document(evidence),
        "variants": {
            v.variant: {
                "intent": v.intent,
                "passed": v.passed,
                "blocking": {gate.name: gate.reason for gate in v.blocking},
                "comparisons": _comparisons(analysis, v.variant),
            }
            for v in verdict.variants
        },
        "provenance": {
            **reference_provenance(registry, evidence),
            "checkout_git_sha": evidence.checkout_git_sha,
            "registry_config_sha256": registry.config_sha256,
            "decided_unix": run.created_unix,
            "seeds": _seeds(registry, analysis),
            "environment": _environment(analysis, run),
            "evidence": _evidence_provenance(evidence),
            "timings": None if evidence.timings is None else dict(evidence.timings.stages),
        },
    }


def _comparisons(
    analysis: StatisticalAnalysis | Absent, variant: str
) -> dict[str, dict[str, object]]:
    """Each metric's rows, keyed by budget: what a reader needs to redraw the forest plot."""
    if isinstance(analysis, Absent):
        return {}
    table: dict[str, dict[str, object]] = {}
    for row in analysis.comparisons:
        if row.variant == variant:
            table.setdefault(row.metric, {})[row.budget] = _comparison(row)
    return table


def _comparison(row: Comparison) -> dict[str, object]:
    return {
        "n_units": row.n_units,
        "baseline_value": row.baseline_value,
        "variant_value": row.variant_value,
        "relative_change": row.relative_change,
        "interval": _interval(row.interval),
        "p_value_adjusted": row.p_value_adjusted,
        "power": None if row.power is None else row.power.achieved,
    }


def _seeds(registry: Registry, analysis: StatisticalAnalysis | Absent) -> dict[str, object]:
    return {
        "registry": registry.seed,
        "analysis": None if isinstance(analysis, Absent) else analysis.seed,
        "n_resamples": None if isinstance(analysis, Absent) else analysis.n_resamples,
    }


def _environment(analysis: StatisticalAnalysis | Absent, run: RunContext) -> dict[str, object]:
    measured: Mapping[str, object] = (
        {}
        if isinstance(analysis, Absent)
        else {
            "stable": analysis.environment.stable,
            "machines": list(analysis.environment.machines),
            "aa_significant": list(analysis.environment.aa_significant),
        }
    )
    return {**measured, "gates_python": run.python, "gates_platform": run.platform}


def _evidence_provenance(evidence: Evidence) -> dict[str, object]:
    """Each input's provenance, or "missing", so a reader can audit staleness."""
    entries: dict[str, object] = {}
    for artifact in (
        evidence.analysis,
        evidence.advanced_testing,
        evidence.differential,
        evidence.shadow,
        evidence.smoke,
    ):
        if isinstance(artifact, Absent):
            entries[artifact.file] = "missing"
        else:
            entries[artifact.FILE] = _provenance(artifact.provenance)
    security = evidence.security
    if isinstance(security, Absent):
        entries[security.file] = "missing"
    else:
        entries[security.FILE] = (
            _provenance(security.provenance)
            if security.provenance is not None
            else security.provenance_problem
        )
    return entries


def _provenance(provenance: Provenance) -> dict[str, object]:
    return provenance.to_json()


def custody_document(evidence: Evidence) -> dict[str, object]:
    """The chain of custody as judged: what was verified, what was accepted, and by whom."""
    custody = evidence.custody
    return {
        "verified_links": custody.links,
        "analysis_remade": custody.remade,
        "uncommitted_checkout": custody.uncommitted_checkout,
        "problems": list(custody.problems),
        "fixtures": list(custody.fixtures),
        "dirty": list(custody.dirty),
        "accept_fixtures": custody.trust.accept_fixtures,
        "allow_dirty": custody.trust.allow_dirty,
        "runs": dict(sorted(custody.runs.items())),
    }


def evidence_label(evidence: Evidence) -> str:
    """``measured``, or what makes this evidence less than that, accepted or not:
    ``fixture``, ``uncommitted``, or both."""
    custody = evidence.custody
    labels = [
        label
        for label, present in (
            ("fixture", custody.fixtures),
            ("uncommitted", custody.dirty or custody.uncommitted_checkout),
        )
        if present
    ]
    return ", ".join(labels) or "measured"


def _interval(interval: Interval | None) -> dict[str, float] | None:
    if interval is None:
        return None
    return {
        "low": interval.low,
        "high": interval.high,
        "confidence_level": interval.confidence_level,
    }
