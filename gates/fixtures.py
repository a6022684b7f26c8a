"""Hand-built evidence: the contract of INPUTS.md as executable examples.

The tests break one field of these documents at a time; producers can diff
their output against them; ``python -m gates.fixtures DIR`` writes a complete
artifacts directory to render a demonstration report. Every number here is a
made-up fixture value, not a baseline: the gates never read this module.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from contracts.documents import SCHEMA, dumps, write_all_atomically
from contracts.family import design_target, gated_bounds, two_sided_level
from contracts.names import (
    ADVANCED_FILE,
    ANALYSIS_FILE,
    BANDIT_FILE,
    BANDIT_PROVENANCE_FILE,
    DIFFERENTIAL_FILE,
    KINDS,
    SHADOW_FILE,
    SMOKE_FILE,
    TIMINGS_FILE,
)
from contracts.provenance import FIXTURE_PRODUCER, Provenance, checkout_git_sha
from contracts.thresholds import (
    LATENCY_MEAN,
    LATENCY_P95,
    PEAK_MEMORY,
    QA,
    RECALL,
    primary_metric,
    thresholds_from_registry,
)
from gates.evidence import POOLED
from gates.stamp import sidecar_document
from packrepo.registry import Registry, load_registry

GIT_SHA = "c0ffee0000000000000000000000000000000001"
CREATED_UNIX = 1_767_225_600.0
MACHINE = "linux-x86_64-2cpu-3f9a1c"

# Fixture measurements of the baseline per budget (made up, plausible).
BASELINE = {
    QA: {"50k": 0.58, "120k": 0.69, "200k": 0.74},
    RECALL: {"50k": 0.29, "120k": 0.55, "200k": 0.71},
    LATENCY_MEAN: {"50k": 410.0, "120k": 870.0, "200k": 1290.0},
    LATENCY_P95: {"50k": 560.0, "120k": 1190.0, "200k": 1770.0},
    PEAK_MEMORY: {"50k": 180.0, "120k": 320.0, "200k": 450.0},
}
BUDGET_SHIFT = {"50k": -0.02, "120k": 0.0, "200k": 0.02}


@dataclass(frozen=True)
class Effect:
    """A variant's pooled relative change on one metric and its interval's half-width."""

    change: float
    half_width: float


def default_effects(registry: Registry) -> dict[str, dict[str, Effect]]:
    """Effects under which every candidate passes; V4-like variants gain the most QA."""
    effects: dict[str, dict[str, Effect]] = {}
    quality_rank = latency_rank = 0
    for variant in registry.candidates:
        if variant.intent == "quality":
            qa = Effect(0.20 - 0.03 * quality_rank, 0.08)
            quality_rank += 1
            table = {QA: qa, LATENCY_MEAN: Effect(0.02, 0.03), LATENCY_P95: Effect(0.03, 0.04)}
            table[RECALL] = Effect(0.08, 0.04)
            table[PEAK_MEMORY] = Effect(0.01, 0.03)
        elif primary_metric(variant) == PEAK_MEMORY:
            table = {
                QA: Effect(0.0, 0.0),
                RECALL: Effect(0.0, 0.0),
                LATENCY_MEAN: Effect(0.01, 0.03),
            }
            table |= {LATENCY_P95: Effect(0.01, 0.04), PEAK_MEMORY: Effect(-0.30, 0.05)}
        else:
            table = {QA: Effect(0.0, 0.0), RECALL: Effect(0.0, 0.0)}
            table[LATENCY_MEAN] = Effect(-0.20 + 0.06 * latency_rank, 0.05)
            latency_rank += 1
            table |= {LATENCY_P95: Effect(-0.18, 0.06), PEAK_MEMORY: Effect(0.02, 0.03)}
        effects[variant.name] = table
    return effects


def fixture_stamp(config_sha256: str, git_sha: str = GIT_SHA) -> Provenance:
    """Hand-built evidence says so: the gates refuse a ``fixture`` producer unless told
    the run is a demonstration or a simulation (``--accept-fixtures``)."""
    return Provenance(
        git_sha=git_sha,
        config_sha256=config_sha256,
        created_unix=CREATED_UNIX,
        producer=f"{FIXTURE_PRODUCER}:gates.fixtures",
        command=("python", "-m", "gates.fixtures"),
        run_id="fixture",
    )


def provenance(config_sha256: str, git_sha: str = GIT_SHA) -> dict[str, object]:
    return fixture_stamp(config_sha256, git_sha).to_json()


def comparison(
    variant: str,
    metric: str,
    budget: str,
    effect: Effect,
    baseline_value: float,
    *,
    alpha: float,
    family_size: int,
    primary: bool,
    target_effect: float | None = None,
) -> dict[str, object]:
    """One comparison row at 1 - 2 alpha / family_size (each bound one-sided at
    1 - alpha / family_size); power is high where `primary` is set."""
    confidence_level = two_sided_level(alpha, family_size)
    low, high = effect.change - effect.half_width, effect.change + effect.half_width
    excludes_zero = low > 0 or high < 0
    return {
        "variant": variant,
        "budget": budget,
        "metric": metric,
        "n_units": 48 if budget == POOLED else 16,
        "baseline_value": baseline_value,
        "variant_value": baseline_value * (1 + effect.change),
        "relative_change": effect.change,
        "ci_low": round(low, 10),
        "ci_high": round(high, 10),
        "confidence_level": confidence_level,
        "family_size": family_size,
        "interval_method": "cluster-t",
        "n_clusters": 24,
        "p_value": 0.0004 if excludes_zero else 0.41,
        "p_value_adjusted": 0.002 if excludes_zero else 1.0,
        "significant": excludes_zero,
        "cohen_dz": round(effect.change * 4, 6),
        "effect_label": "large" if excludes_zero else "negligible",
        "power": {
            "target_effect": (0.13 if metric == QA else 0.10)
            if target_effect is None
            else target_effect,
            "achieved": 0.93 if primary else 0.71,
            "mde_80": 0.06,
            "units_for_80": 40,
            "clusters_for_80": 20,
            "underpowered": not primary,
            "alpha": alpha / family_size,
        },
        "cluster": {
            "ci_low": round(low - 0.01, 10),
            "ci_high": round(high + 0.01, 10),
            "n_clusters": 8,
        },
    }


def analysis_document(
    registry: Registry,
    effects: Mapping[str, Mapping[str, Effect]] | None = None,
    git_sha: str = GIT_SHA,
) -> dict[str, object]:
    """``statistical_analysis.json`` for every variant in ``effects`` (default: all pass)."""
    effects = default_effects(registry) if effects is None else effects
    thresholds = thresholds_from_registry(registry)
    alpha = thresholds.alpha
    # The registry's family, whatever subset of variants `effects` holds.
    bounds = gated_bounds(registry, thresholds, registry.budgets)
    family = len(bounds)
    comparisons = [_aa_row(registry.baseline.name, alpha, family)]
    for name, table in effects.items():
        primary = primary_metric(registry.variant(name))
        for metric, effect in table.items():
            for budget in (*registry.budgets, POOLED):
                shift = BUDGET_SHIFT.get(budget, 0.0) if effect.half_width else 0.0
                widened = Effect(
                    effect.change + shift, effect.half_width * (1.6 if budget != POOLED else 1.0)
                )
                comparisons.append(
                    comparison(
                        name,
                        metric,
                        budget,
                        widened,
                        _baseline(metric, budget),
                        alpha=alpha,
                        family_size=family,
                        primary=metric in (primary, LATENCY_MEAN),
                        target_effect=design_target(thresholds, metric, budget),
                    )
                )
    return {
        "schema": SCHEMA,
        "kind": KINDS[ANALYSIS_FILE],
        "provenance": provenance(registry.config_sha256, git_sha),
        "seed": registry.seed,
        "n_resamples": int(registry.gates["bootstrap_samples"]),
        "alpha": alpha,
        "one_sided_level": 1 - alpha / family,
        "confidence_level": two_sided_level(alpha, family),
        "family_size": family,
        "power_target": thresholds.power,
        "budgets": list(registry.budgets),
        "scope": {
            "profile": "standard",
            "exploratory": False,
            "analysed": list(effects),
            "registry_candidates": [v.name for v in registry.candidates],
            "complete": set(effects) == {v.name for v in registry.candidates},
            "family": [b.label for b in bounds],
        },
        "quality": {
            "file": "quality.json",
            "profile": "standard",
            "questions": 320,
            "repositories": 8,
            "problem": None,
        },
        "environment": {"stable": True, "aa_significant": [], "machines": [MACHINE]},
        "variants": {
            registry.baseline.name: {
                "intent": "baseline",
                "n_trials": 48,
                "n_failed": 0,
                "error": None,
                "quality_error": None,
                "resumed": None,
            },
            **{
                name: {
                    "intent": registry.variant(name).intent,
                    "n_trials": 48,
                    "n_failed": 0,
                    "error": None,
                    "quality_error": None,
                    "resumed": None,
                }
                for name in effects
            },
        },
        "comparisons": comparisons,
        "distributions": {name: _distributions(registry, table) for name, table in effects.items()},
    }


def _baseline(metric: str, budget: str) -> float:
    values = BASELINE[metric]
    return values.get(budget, sum(values.values()) / len(values))


def _aa_row(baseline: str, alpha: float, family: int) -> dict[str, object]:
    """The baseline against itself: an A/A comparison, never a candidate."""
    row = comparison(
        baseline,
        LATENCY_MEAN,
        POOLED,
        Effect(0.0, 0.02),
        _baseline(LATENCY_MEAN, POOLED),
        alpha=alpha,
        family_size=family,
        primary=False,
    )
    row["power"] = None
    return row


def _distributions(registry: Registry, table: Mapping[str, Effect]) -> dict[str, object]:
    cells: dict[str, object] = {}
    for budget in registry.budgets:
        latency = _baseline(LATENCY_MEAN, budget)
        change = table[LATENCY_MEAN].change if LATENCY_MEAN in table else 0.0
        qa_change = table[QA].change if QA in table else 0.0
        cells[budget] = {
            "latency_ms_quantiles": _quantiles(latency * (1 + change)),
            "baseline_latency_ms_quantiles": _quantiles(latency),
            "qa_per_100k": round(_baseline(QA, budget) * (1 + qa_change), 10),
            "baseline_qa_per_100k": _baseline(QA, budget),
        }
    return cells


def _quantiles(median: float) -> dict[str, float]:
    shape = {"p5": 0.72, "p25": 0.88, "p50": 1.0, "p75": 1.14, "p95": 1.38}
    return {name: round(median * factor, 3) for name, factor in shape.items()}


def artifact_documents(registry: Registry, git_sha: str = GIT_SHA) -> dict[str, dict[str, object]]:
    """Every artifact except bandit's, all clean, for ``git_sha`` and the registry's config."""
    stamp = provenance(registry.config_sha256, git_sha)
    names = [variant.name for variant in registry.candidates]

    def header(file: str) -> dict[str, object]:
        return {"schema": SCHEMA, "kind": KINDS[file], "provenance": stamp}

    violations = dict.fromkeys(
        ("crash", "over_budget", "nondeterministic", "invalid_manifest", "mismatch"), 0
    )
    return {
        ANALYSIS_FILE: analysis_document(registry, git_sha=git_sha),
        ADVANCED_FILE: {
            **header(ADVANCED_FILE),
            "mutation_score": 0.86,
            "property_coverage": 0.77,
            "mutants": {"killed": 172, "survived": 28, "total": 200},
            "surviving": [],
        },
        DIFFERENTIAL_FILE: {
            **header(DIFFERENTIAL_FILE),
            "variants": {
                n: {"clean": True, "mismatches": 0, "compared": 240, "details": []} for n in names
            },
        },
        SHADOW_FILE: {
            **header(SHADOW_FILE),
            "requests": 10000,
            "variants": {n: {"clean": True, "violations": dict(violations)} for n in names},
        },
        SMOKE_FILE: {**header(SMOKE_FILE), "passed": 24, "failed": 0, "errors": 0, "exitstatus": 0},
        TIMINGS_FILE: {
            **header(TIMINGS_FILE),
            "stages": {"build": 41.2, "benchmarks": 1310.5, "analysis": 88.0, "evidence": 402.7},
        },
    }


def bandit_report(high_findings: int = 0) -> dict[str, object]:
    """Bandit's own ``-f json`` shape (only the fields the gates read, plus a few)."""
    results = [
        {
            "test_id": "B602",
            "test_name": "subprocess_popen_with_shell_equals_true",
            "issue_severity": "HIGH",
            "issue_confidence": "HIGH",
            "filename": "packrepo/example.py",
            "line_number": 10 + index,
            "issue_text": "subprocess call with shell=True identified, security issue.",
        }
        for index in range(high_findings)
    ]
    return {"errors": [], "generated_at": "2026-01-01T00:00:00Z", "metrics": {}, "results": results}


def bandit_sidecar(
    bandit_bytes: bytes, config_sha256: str, git_sha: str = GIT_SHA
) -> dict[str, object]:
    """What ``python -m gates.stamp artifacts/bandit.json`` writes."""
    stamp = fixture_stamp(config_sha256, git_sha)
    return sidecar_document(Path(BANDIT_FILE), bandit_bytes, stamp)


def encode(documents: Mapping[str, Mapping[str, object]], config_sha256: str) -> dict[str, bytes]:
    """Serialise documents as the producers would; stamp bandit.json if it has no sidecar."""
    files = {name: dumps(document) for name, document in documents.items()}
    if BANDIT_FILE in files and BANDIT_PROVENANCE_FILE not in files:
        sidecar = bandit_sidecar(files[BANDIT_FILE], config_sha256, _git_sha_of(documents))
        files[BANDIT_PROVENANCE_FILE] = dumps(sidecar)
    return files


def _git_sha_of(documents: Mapping[str, Mapping[str, object]]) -> str:
    analysis = documents.get(ANALYSIS_FILE, {})
    stamp = analysis.get("provenance")
    return str(stamp["git_sha"]) if isinstance(stamp, dict) else GIT_SHA


def passing_documents(registry: Registry, git_sha: str = GIT_SHA) -> dict[str, dict[str, object]]:
    """A complete artifacts directory under which every candidate passes."""
    return {**artifact_documents(registry, git_sha), BANDIT_FILE: bandit_report()}


def find_row(
    analysis: Mapping[str, object], variant: str, metric: str, budget: str = POOLED
) -> dict[str, object]:
    """The comparison row of ``analysis_document`` output to edit in a test."""
    rows = analysis["comparisons"]
    for row in rows if isinstance(rows, list) else ():
        if isinstance(row, dict) and (row["variant"], row["metric"], row["budget"]) == (
            variant,
            metric,
            budget,
        ):
            return row
    raise KeyError(f"no {variant}/{metric}/{budget} row")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gates.fixtures", description=__doc__)
    parser.add_argument("directory", type=Path, help="where to write the artifacts")
    parser.add_argument("--config", type=Path, default=Path("pyproject.toml"))
    parser.add_argument(
        "--git-sha", help="the commit to stamp on every artifact (default: the checkout's)"
    )
    parser.add_argument(
        "--scenario",
        choices=("promote", "reject"),
        default="promote",
        help="reject injects a latency regression (+2%%, upper bound +15%%) into every variant",
    )
    arguments = parser.parse_args(argv)
    registry = load_registry(arguments.config)
    git_sha = arguments.git_sha or checkout_git_sha(arguments.config.resolve().parent) or GIT_SHA
    documents = passing_documents(registry, git_sha)
    if arguments.scenario == "reject":
        effects = default_effects(registry)
        for table in effects.values():
            table[LATENCY_MEAN] = Effect(0.02, 0.13)
        documents[ANALYSIS_FILE] = analysis_document(registry, effects, git_sha)
    arguments.directory.mkdir(parents=True, exist_ok=True)
    files = encode(documents, registry.config_sha256)
    write_all_atomically({arguments.directory / name: payload for name, payload in files.items()})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
