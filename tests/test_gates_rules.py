"""The gates and the decision, driven from hand-built evidence (gates.fixtures).

Every threshold is read from the registry in pyproject.toml, never repeated
here: a test that needs "just below the threshold" computes it.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contracts.errors import ConfigError, EvidenceError
from contracts.exitcodes import ExitCode, for_decision
from contracts.names import (
    ADVANCED_FILE,
    ANALYSIS_FILE,
    BANDIT_FILE,
    BANDIT_PROVENANCE_FILE,
    DIFFERENTIAL_FILE,
    SHADOW_FILE,
    SMOKE_FILE,
)
from contracts.thresholds import LATENCY_MEAN, LATENCY_P95, PEAK_MEMORY, QA, RECALL
from gates import fixtures
from gates.custody import Trust
from gates.evidence import Evidence
from gates.fixtures import Effect, find_row
from gates.load import evidence_from_files
from gates.rules import decide, evaluate
from gates.verdict import (
    EXPLORATORY,
    PROMOTE,
    REJECT,
    RELATIVE_CHANGE,
    GateResult,
    VariantVerdict,
    Verdict,
)
from packrepo.registry import Registry, load_registry, parse_registry

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"
REGISTRY = load_registry(PYPROJECT)
GATES = REGISTRY.gates
QUALITY = next(v.name for v in REGISTRY.candidates if v.intent == "quality")
LATENCY_VARIANT = next(v.name for v in REGISTRY.candidates if v.metric == "latency")
MEMORY_VARIANT = next(v.name for v in REGISTRY.candidates if v.metric == "memory")
OTHER_SHA = "dead000000000000000000000000000000000002"

Documents = dict[str, dict[str, Any]]

# The fixtures are stamped as such; these tests judge them as a demonstration.
DEMONSTRATION = Trust(accept_fixtures=True, allow_dirty=True)


def passing() -> Documents:
    return copy.deepcopy(PASSING)


PASSING: Documents = fixtures.passing_documents(REGISTRY)


def judge(
    documents: Documents, registry: Registry = REGISTRY, checkout: str | None = None
) -> Verdict:
    files = fixtures.encode(documents, registry.config_sha256)
    return evaluate(registry, evidence_from_files(files, checkout, trust=DEMONSTRATION))


def gate_of(verdict: Verdict, variant: str, name: str) -> GateResult:
    for variant_verdict in verdict.variants:
        if variant_verdict.variant == variant:
            gate = variant_verdict.gate(name)
            assert gate is not None, f"{variant} has no gate {name}"
            return gate
    raise AssertionError(f"no verdict for {variant}")


def analysis(documents: Documents) -> dict[str, Any]:
    return documents[ANALYSIS_FILE]


def row(documents: Documents, variant: str, metric: str, budget: str = "pooled") -> dict[str, Any]:
    return find_row(analysis(documents), variant, metric, budget)


WORST = REGISTRY.budgets[-1]  # the fixtures' latency shift is largest at the largest budget


# --- the baseline fixture ---------------------------------------------------------


def test_passing_evidence_passes_every_gate_and_promotes_the_largest_qa_gain() -> None:
    verdict = judge(passing())
    failures = {v.variant: [g.reason for g in v.blocking] for v in verdict.variants}
    assert all(not reasons for reasons in failures.values()), failures
    assert verdict.decision == PROMOTE
    gains = {v.variant: v.qa_gain for v in verdict.variants}
    assert verdict.chosen == max(gains, key=lambda name: gains[name] or 0.0)


def test_every_gate_records_threshold_observation_interval_and_reason() -> None:
    verdict = judge(passing())
    gate = gate_of(verdict, QUALITY, "latency_non_inferiority")
    pooled = row(PASSING, QUALITY, LATENCY_MEAN, WORST)
    assert gate.threshold == GATES["performance_regression"]
    assert gate.comparator == "<="
    assert gate.observed == pytest.approx(pooled["ci_high"])
    assert gate.interval is not None
    assert (gate.interval.low, gate.interval.high) == (pooled["ci_low"], pooled["ci_high"])
    assert gate.interval.confidence_level == pooled["confidence_level"]
    assert gate.unit == RELATIVE_CHANGE
    assert "upper bound" in gate.reason
    for variant_verdict in verdict.variants:
        assert all(g.reason and g.measure for g in variant_verdict.gates)


# --- every gate, both ways ----------------------------------------------------------

Mutation = Callable[[Documents], None]


def set_row(variant: str, metric: str, budget: str = "pooled", **values: Any) -> Mutation:
    def mutate(documents: Documents) -> None:
        row(documents, variant, metric, budget).update(values)

    return mutate


def set_in(file: str, *path: str, value: Any) -> Mutation:
    def mutate(documents: Documents) -> None:
        target = documents[file]
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return mutate


def both(*mutations: Mutation) -> Mutation:
    def mutate(documents: Documents) -> None:
        for mutation in mutations:
            mutation(documents)

    return mutate


def mutants(*, killed: int, total: int) -> Mutation:
    """A consistent mutation result: the score is killed/total, as the reader checks."""

    def mutate(documents: Documents) -> None:
        advanced = documents[ADVANCED_FILE]
        advanced["mutants"] = {"killed": killed, "survived": total - killed, "total": total}
        advanced["mutation_score"] = killed / total

    return mutate


def set_power(variant: str, metric: str, budget: str = "pooled", **values: Any) -> Mutation:
    def mutate(documents: Documents) -> None:
        row(documents, variant, metric, budget)["power"].update(values)

    return mutate


def drop_entry(file: str, variant: str) -> Mutation:
    def mutate(documents: Documents) -> None:
        del documents[file]["variants"][variant]

    return mutate


def high_findings(count: int, severity: str = "HIGH") -> Mutation:
    def mutate(documents: Documents) -> None:
        report = fixtures.bandit_report(count)
        for finding in report["results"]:  # type: ignore[attr-defined]
            finding["issue_severity"] = severity
        documents[BANDIT_FILE] = report

    return mutate


QA_THRESHOLD = float(GATES["qa_improvement"])
REGRESSION = float(GATES["performance_regression"])
POWER = float(GATES["power"])
MUTATION = float(GATES["mutation_score"])
COVERAGE = float(GATES["property_coverage"])

# (gate, variant, mutation, expected to pass, words the reason must contain)
CASES: list[tuple[str, str, Mutation, bool, str]] = [
    (
        "analysis_current",
        QUALITY,
        set_in(ANALYSIS_FILE, "provenance", "config_sha256", value="f" * 64),
        False,
        "config",
    ),
    (
        "analysis_current",
        QUALITY,
        set_in(ANALYSIS_FILE, "n_resamples", value=int(GATES["bootstrap_samples"]) - 1),
        False,
        "resamples",
    ),
    (
        "run_completed",
        QUALITY,
        set_in(ANALYSIS_FILE, "variants", QUALITY, "error", value="worker crashed: MemoryError"),
        False,
        "worker crashed",
    ),
    (
        "run_completed",
        QUALITY,
        set_in(ANALYSIS_FILE, "variants", QUALITY, "n_failed", value=2),
        False,
        "2 of 48 trials failed",
    ),
    (
        "run_completed",
        QUALITY,
        set_in(ANALYSIS_FILE, "variants", QUALITY, "intent", value="performance"),
        False,
        "registry says quality",
    ),
    (
        "qa_improvement",
        QUALITY,
        set_row(QUALITY, QA, relative_change=QA_THRESHOLD - 0.001),
        False,
        "<",
    ),
    ("qa_improvement", QUALITY, set_row(QUALITY, QA, relative_change=QA_THRESHOLD), True, ">="),
    # 1.13 / 1.0 - 1 is 0.1299999...: rounding must not fail a variant exactly at the threshold.
    (
        "qa_improvement",
        QUALITY,
        set_row(QUALITY, QA, relative_change=(1 + QA_THRESHOLD) / 1.0 - 1),
        True,
        ">=",
    ),
    (
        "qa_improvement",
        QUALITY,
        set_row(QUALITY, QA, relative_change=None),
        False,
        "not computable",
    ),
    ("qa_significance", QUALITY, set_row(QUALITY, QA, ci_low=0.0), False, "<= 0"),
    ("qa_significance", QUALITY, set_row(QUALITY, QA, ci_low=-0.01), False, "<= 0"),
    ("qa_significance", QUALITY, set_row(QUALITY, QA, ci_low=0.001), True, "> 0"),
    (
        "qa_significance",
        QUALITY,
        set_row(QUALITY, QA, confidence_level=0.95),
        False,
        "not at the registry's level",
    ),
    (
        "qa_significance",
        QUALITY,
        set_row(QUALITY, QA, family_size=1, confidence_level=1 - 2 * float(GATES["alpha"])),
        False,
        "the family is 1 bounds",
    ),
    (
        "qa_significance",
        QUALITY,
        set_in(ANALYSIS_FILE, "alpha", value=0.10),
        False,
        "alpha 0.1",
    ),
    (
        "qa_significance",
        QUALITY,
        set_in(ANALYSIS_FILE, "power_target", value=0.5),
        False,
        "powered for 0.5",
    ),
    (
        "qa_significance",
        QUALITY,
        set_in(ANALYSIS_FILE, "budgets", value=["50k"]),
        False,
        "covers budgets 50k",
    ),
    (
        "qa_significance",
        QUALITY,
        both(
            set_row(QUALITY, QA, ci_low=-0.01),
            set_power(
                QUALITY,
                QA,
                achieved=POWER - 0.2,
                units_for_80=2400,
                clusters_for_80=800,
                underpowered=True,
            ),
        ),
        False,
        "inconclusive: 800 questions needed",
    ),
    (
        "qa_budget_guard",
        QUALITY,
        set_row(QUALITY, QA, WORST, ci_low=-float(GATES["qa_margin"]) - 0.001),
        False,
        "worst",
    ),
    (
        "qa_budget_guard",
        QUALITY,
        set_row(QUALITY, QA, WORST, ci_low=-float(GATES["qa_margin"])),
        True,
        "within",
    ),
    (
        "recall_guard",
        QUALITY,
        set_row(QUALITY, RECALL, "50k", ci_low=-float(GATES["recall_margin"]) - 0.001),
        False,
        "worst 50k beyond",
    ),
    (
        "recall_guard",
        QUALITY,
        set_row(QUALITY, RECALL, "50k", ci_low=-float(GATES["recall_margin"])),
        True,
        "within",
    ),
    # Each budget beyond its margin says why: too wide to tell and short of power is
    # inconclusive, with the questions needed; the estimate beyond the margin too is said.
    (
        "recall_guard",
        QUALITY,
        both(
            set_row(QUALITY, RECALL, "50k", relative_change=0.24, ci_low=-0.128),
            set_power(QUALITY, RECALL, "50k", achieved=0.003, units_for_80=29513),
        ),
        False,
        "worst 50k beyond -5.0%; at 50k inconclusive: 29513 questions needed (estimate"
        " +24.0%, power 0.3% to clear -5.0% if unchanged with 16 questions)",
    ),
    (
        "recall_guard",
        QUALITY,
        both(
            set_row(QUALITY, RECALL, "50k", relative_change=0.01, ci_low=-0.2),
            set_power(QUALITY, RECALL, "50k", achieved=0.3, units_for_80=400),
            set_row(QUALITY, RECALL, "200k", relative_change=-0.07, ci_low=-0.09),
        ),
        False,
        "worst 50k beyond -5.0%; at 50k inconclusive: 400 questions needed (estimate +1.0%,"
        " power 30.0% to clear -5.0% if unchanged with 16 questions); at 200k the estimate"
        " is beyond the margin too (-7.0%)",
    ),
    (
        "latency_non_inferiority",
        QUALITY,
        both(
            set_row(QUALITY, LATENCY_MEAN, WORST, relative_change=0.02, ci_high=0.15),
            set_power(QUALITY, LATENCY_MEAN, WORST, achieved=0.2, units_for_80=None),
        ),
        False,
        f"; at {WORST} inconclusive (estimate +2.0%, power 20.0% to clear +10.0% if unchanged",
    ),
    (
        "recall_guard",
        QUALITY,
        set_row(QUALITY, RECALL, "120k", confidence_level=0.95),
        False,
        "not at the registry's level",
    ),
    (
        "qa_unchanged",
        LATENCY_VARIANT,
        set_in(
            ANALYSIS_FILE,
            "variants",
            LATENCY_VARIANT,
            "quality_error",
            value="V1's pack of flask at 50000 tokens is not the baseline's",
        ),
        False,
        "not the baseline's",
    ),
    (
        "qa_significance",
        QUALITY,
        set_row(QUALITY, QA, ci_low=None, ci_high=None),
        False,
        "no interval",
    ),
    (
        "qa_unchanged",
        LATENCY_VARIANT,
        set_row(LATENCY_VARIANT, QA, relative_change=0.001, ci_low=0.0, ci_high=0.002),
        False,
        "outside",
    ),
    (
        "qa_unchanged",
        LATENCY_VARIANT,
        set_row(LATENCY_VARIANT, QA, ci_low=-0.001, ci_high=0.001),
        False,
        "outside",
    ),
    (
        "qa_unchanged",
        LATENCY_VARIANT,
        set_row(LATENCY_VARIANT, QA, ci_low=None, ci_high=None),
        True,
        "identical",
    ),
    (
        "qa_unchanged",
        LATENCY_VARIANT,
        set_row(LATENCY_VARIANT, QA, ci_low=None, ci_high=None, variant_value=0.1),
        False,
        "no interval",
    ),
    (
        "latency_improvement",
        LATENCY_VARIANT,
        set_row(LATENCY_VARIANT, LATENCY_MEAN, ci_high=0.0),
        False,
        ">= 0",
    ),
    (
        "latency_improvement",
        LATENCY_VARIANT,
        set_row(LATENCY_VARIANT, LATENCY_MEAN, ci_high=-0.001),
        True,
        "< 0",
    ),
    (
        "memory_improvement",
        MEMORY_VARIANT,
        set_row(MEMORY_VARIANT, PEAK_MEMORY, ci_high=0.01),
        False,
        ">= 0",
    ),
    (
        "memory_improvement",
        MEMORY_VARIANT,
        set_row(MEMORY_VARIANT, PEAK_MEMORY, ci_high=-0.01),
        True,
        "< 0",
    ),
    (
        "latency_non_inferiority",
        QUALITY,
        set_row(QUALITY, LATENCY_MEAN, WORST, ci_high=REGRESSION + 0.001),
        False,
        "beyond",
    ),
    (
        "latency_non_inferiority",
        QUALITY,
        set_row(QUALITY, LATENCY_MEAN, WORST, ci_high=REGRESSION),
        True,
        "within",
    ),
    # A regression at one budget is not averaged away by the others: the pooled row passes.
    (
        "latency_non_inferiority",
        LATENCY_VARIANT,
        set_row(LATENCY_VARIANT, LATENCY_MEAN, "50k", ci_low=-0.3, ci_high=REGRESSION + 0.05),
        False,
        "worst 50k beyond",
    ),
    (
        "power",
        QUALITY,
        both(
            set_power(
                QUALITY,
                LATENCY_MEAN,
                WORST,
                achieved=POWER - 0.01,
                units_for_80=120,
                underpowered=True,
            ),
            set_row(QUALITY, LATENCY_MEAN, WORST, ci_high=REGRESSION + 0.01),
        ),
        False,
        "inconclusive: 120 units needed",
    ),
    # An established bound needs no power: it was decided at the family's level.
    (
        "power",
        QUALITY,
        set_power(QUALITY, LATENCY_MEAN, WORST, achieved=0.3, underpowered=True),
        True,
        "established anyway",
    ),
    (
        "power",
        QUALITY,
        set_power(QUALITY, LATENCY_MEAN, WORST, achieved=POWER, underpowered=False),
        True,
        "power",
    ),
    (
        "power",
        QUALITY,
        set_row(QUALITY, LATENCY_MEAN, WORST, power=None),
        False,
        "no power analysis",
    ),
    (
        "power",
        MEMORY_VARIANT,
        both(
            set_power(
                MEMORY_VARIANT,
                LATENCY_MEAN,
                "50k",
                achieved=0.5,
                units_for_80=300,
                underpowered=True,
            ),
            set_row(MEMORY_VARIANT, LATENCY_MEAN, "50k", ci_high=REGRESSION + 0.05),
        ),
        False,
        "300 units",
    ),
    (
        "power",
        QUALITY,
        both(
            set_power(QUALITY, QA, achieved=0.5, units_for_80=2000, underpowered=True),
            set_row(QUALITY, QA, ci_low=-0.01),
        ),
        False,
        "2000 question-budgets needed",
    ),
    (
        "mutation_score",
        QUALITY,
        mutants(killed=round((MUTATION - 0.01) * 10_000), total=10_000),
        False,
        "killed",
    ),
    (
        "mutation_score",
        QUALITY,
        mutants(killed=round(MUTATION * 10_000), total=10_000),
        True,
        "killed",
    ),
    (
        "property_coverage",
        QUALITY,
        set_in(ADVANCED_FILE, "property_coverage", value=COVERAGE - 0.01),
        False,
        "cover",
    ),
    (
        "property_coverage",
        QUALITY,
        set_in(ADVANCED_FILE, "property_coverage", value=COVERAGE),
        True,
        "cover",
    ),
    ("security", QUALITY, high_findings(int(GATES["security_high_findings"]) + 1), False, "B602"),
    ("security", QUALITY, high_findings(3, severity="MEDIUM"), True, "0 high-severity"),
    (
        "security",
        QUALITY,
        set_in(BANDIT_FILE, "errors", value=[{"filename": "x.py", "reason": "syntax error"}]),
        False,
        "could not scan",
    ),
    ("smoke_tests", QUALITY, set_in(SMOKE_FILE, "failed", value=1), False, "1 failed"),
    ("smoke_tests", QUALITY, set_in(SMOKE_FILE, "errors", value=1), False, "1 errors"),
    ("smoke_tests", QUALITY, set_in(SMOKE_FILE, "passed", value=0), False, "0 passed"),
    ("smoke_tests", QUALITY, set_in(SMOKE_FILE, "exitstatus", value=5), False, "exit status 5"),
    (
        "differential",
        LATENCY_VARIANT,
        both(
            set_in(DIFFERENTIAL_FILE, "variants", LATENCY_VARIANT, "mismatches", value=2),
            set_in(DIFFERENTIAL_FILE, "variants", LATENCY_VARIANT, "clean", value=False),
        ),
        False,
        "2 mismatch",
    ),
    (
        "differential",
        LATENCY_VARIANT,
        drop_entry(DIFFERENTIAL_FILE, LATENCY_VARIANT),
        False,
        "no entry",
    ),
    (
        "shadow",
        QUALITY,
        both(
            set_in(SHADOW_FILE, "variants", QUALITY, "violations", "crash", value=1),
            set_in(SHADOW_FILE, "variants", QUALITY, "clean", value=False),
        ),
        False,
        "crash 1",
    ),
    ("shadow", QUALITY, drop_entry(SHADOW_FILE, QUALITY), False, "no entry"),
    (
        "environment_stable",
        QUALITY,
        set_in(
            ANALYSIS_FILE,
            "environment",
            value={"stable": False, "aa_significant": ["latency_mean/120k"], "machines": ["m1"]},
        ),
        False,
        "latency_mean/120k",
    ),
    (
        "environment_stable",
        QUALITY,
        set_in(
            ANALYSIS_FILE,
            "environment",
            value={"stable": True, "aa_significant": ["latency_mean/50k"], "machines": ["m1"]},
        ),
        True,
        "after correction",
    ),
]


@pytest.mark.parametrize(
    ("gate", "variant", "mutate", "should_pass", "words"),
    CASES,
    ids=[f"{c[0]}-{c[1]}-{'pass' if c[3] else 'fail'}-{i}" for i, c in enumerate(CASES)],
)
def test_gate(gate: str, variant: str, mutate: Mutation, should_pass: bool, words: str) -> None:
    documents = passing()
    mutate(documents)
    verdict = judge(documents)
    result = gate_of(verdict, variant, gate)
    assert result.passed is should_pass, result.reason
    assert words in result.reason
    if not should_pass:
        assert verdict.chosen != variant
        assert gate in {
            g.name for v in verdict.variants if v.variant == variant for g in v.blocking
        }


# Evidence that cannot be true is bad input (exit 2), not a failed gate: a decision
# must never rest on a document that contradicts itself.
IMPLAUSIBLE: list[tuple[Mutation, str]] = [
    (set_in(ANALYSIS_FILE, "variants", QUALITY, "n_trials", value=0), "but the run has 0 trials"),
    (
        set_in(DIFFERENTIAL_FILE, "variants", LATENCY_VARIANT, "clean", value=False),
        "`clean` is false with 0 mismatches",
    ),
    (
        set_in(DIFFERENTIAL_FILE, "variants", LATENCY_VARIANT, "compared", value=0),
        "`compared` must be at least 1",
    ),
    (
        set_in(SHADOW_FILE, "variants", QUALITY, "clean", value=False),
        "`clean` is false with violations",
    ),
    (set_in(SHADOW_FILE, "requests", value=0), "`requests` must be at least 1"),
    (mutants(killed=5, total=4), "`survived` must be at least 0"),
    (set_in(ADVANCED_FILE, "mutation_score", value=5.0), "must be a fraction"),
    (set_in(ADVANCED_FILE, "property_coverage", value=-0.1), "must be a fraction"),
    (set_in(ANALYSIS_FILE, "alpha", value=0.0), "strictly between 0 and 1"),
    (set_in(ANALYSIS_FILE, "n_resamples", value=0), "`n_resamples` must be at least 1"),
]


@pytest.mark.parametrize(("mutate", "words"), IMPLAUSIBLE)
def test_implausible_evidence_is_refused(mutate: Mutation, words: str) -> None:
    documents = passing()
    mutate(documents)
    with pytest.raises(EvidenceError, match=re.escape(words)):
        judge(documents)


def test_checkout_on_another_commit_makes_the_analysis_stale() -> None:
    verdict = judge(passing(), checkout=OTHER_SHA)
    gate = gate_of(verdict, QUALITY, "analysis_current")
    assert not gate.passed
    assert f"the checkout is at {OTHER_SHA[:12]}" in gate.reason
    assert verdict.decision == REJECT


def test_checkout_on_the_analysed_commit_is_current() -> None:
    gate = gate_of(judge(passing(), checkout=fixtures.GIT_SHA), QUALITY, "analysis_current")
    assert gate.passed
    assert "not a git checkout" not in gate.reason


def registry_with_gates(**overrides: object) -> Registry:
    """The project's registry with some `[tool.fastpath.gates]` keys changed."""
    table = {
        "schema": 1,
        "budgets": list(REGISTRY.budgets),
        "seed": REGISTRY.seed,
        "variants": {
            name: {
                "intent": v.intent,
                "flags": v.flags,
                **({"metric": v.metric} if v.metric else {}),
            }
            for name, v in REGISTRY.variants.items()
        },
        "gates": {**GATES, **overrides},
    }
    registry = parse_registry(table)
    return Registry(**{**registry.__dict__, "config_sha256": REGISTRY.config_sha256})


def test_equivalence_margin_from_the_registry_widens_qa_unchanged() -> None:
    registry = registry_with_gates(qa_equivalence_margin=0.01)
    documents = passing()
    row(documents, LATENCY_VARIANT, QA).update(relative_change=0.002, ci_low=-0.005, ci_high=0.008)
    assert gate_of(judge(documents, registry), LATENCY_VARIANT, "qa_unchanged").passed
    assert not gate_of(judge(documents), LATENCY_VARIANT, "qa_unchanged").passed


P95_GATED = registry_with_gates(non_inferiority_metrics=["latency_mean", "latency_p95"])


@pytest.mark.parametrize(
    ("ci_high", "should_pass"), [(REGRESSION + 0.001, False), (REGRESSION, True)]
)
def test_p95_non_inferiority_when_the_registry_gates_it(ci_high: float, should_pass: bool) -> None:
    documents = passing()
    documents[ANALYSIS_FILE] = fixtures.analysis_document(P95_GATED)  # its family has p95
    set_row(QUALITY, LATENCY_P95, WORST, ci_high=ci_high)(documents)
    result = gate_of(judge(documents, P95_GATED), QUALITY, "latency_p95_non_inferiority")
    assert result.passed is should_pass
    assert "p95" in result.reason


def test_p95_is_reported_not_gated_by_default() -> None:
    documents = passing()
    set_row(QUALITY, LATENCY_P95, ci_high=REGRESSION + 0.5)(documents)
    verdict = judge(documents)
    names = {g.name for v in verdict.variants for g in v.gates}
    assert "latency_p95_non_inferiority" not in names
    assert verdict.chosen == QUALITY


def test_unknown_non_inferiority_metric_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="non_inferiority_metrics"):
        judge(passing(), registry_with_gates(non_inferiority_metrics=["latency_p99"]))


# --- missing and stale evidence -------------------------------------------------------

ARTIFACT_GATES = {
    ADVANCED_FILE: ("mutation_score", "property_coverage"),
    DIFFERENTIAL_FILE: ("differential",),
    SHADOW_FILE: ("shadow",),
    SMOKE_FILE: ("smoke_tests",),
    BANDIT_FILE: ("security",),
}


@pytest.mark.parametrize("file", sorted(ARTIFACT_GATES))
def test_missing_evidence_fails_its_gates_with_the_reason(file: str) -> None:
    documents = passing()
    del documents[file]
    verdict = judge(documents)
    assert verdict.decision == REJECT
    for variant in verdict.variants:
        for name in ARTIFACT_GATES[file]:
            gate = variant.gate(name)
            assert gate is not None
            assert not gate.passed
            assert gate.reason == f"{file} is missing"
        assert {g.name for g in variant.blocking} == set(ARTIFACT_GATES[file])


@pytest.mark.parametrize("file", sorted(ARTIFACT_GATES))
def test_evidence_for_another_commit_is_stale(file: str) -> None:
    documents = passing()
    if file == BANDIT_FILE:
        documents[BANDIT_PROVENANCE_FILE] = fixtures.bandit_sidecar(
            fixtures.encode({BANDIT_FILE: documents[BANDIT_FILE]}, "")[BANDIT_FILE],
            REGISTRY.config_sha256,
            OTHER_SHA,
        )
    else:
        documents[file]["provenance"]["git_sha"] = OTHER_SHA
    verdict = judge(documents)
    expected = (
        f"{file} was produced for commit {OTHER_SHA[:12]}, analysis for {fixtures.GIT_SHA[:12]}"
    )
    for variant in verdict.variants:
        for name in ARTIFACT_GATES[file]:
            gate = variant.gate(name)
            assert gate is not None
            assert not gate.passed
            assert gate.reason == expected
    assert verdict.decision == REJECT


def test_evidence_for_another_config_is_stale() -> None:
    documents = passing()
    documents[SMOKE_FILE]["provenance"]["config_sha256"] = "a" * 64
    gate = gate_of(judge(documents), QUALITY, "smoke_tests")
    assert not gate.passed
    assert "smoke_tests.json was produced with config aaaaaaaaaaaa" in gate.reason


def test_bandit_without_its_provenance_sidecar_fails_security() -> None:
    documents = passing()
    files = fixtures.encode(documents, REGISTRY.config_sha256)
    del files[BANDIT_PROVENANCE_FILE]
    verdict = evaluate(REGISTRY, evidence_from_files(files, None, trust=DEMONSTRATION))
    gate = gate_of(verdict, QUALITY, "security")
    assert not gate.passed
    assert "bandit.provenance.json is missing" in gate.reason
    assert "python -m gates.stamp" in gate.reason


def test_bandit_sidecar_for_another_report_fails_security() -> None:
    documents = passing()
    files = fixtures.encode(documents, REGISTRY.config_sha256)
    files[BANDIT_FILE] = files[BANDIT_FILE].replace(b'"results"', b'"results" ', 1)
    gate = gate_of(
        evaluate(REGISTRY, evidence_from_files(files, None, trust=DEMONSTRATION)),
        QUALITY,
        "security",
    )
    assert not gate.passed
    assert "stamped for a different bandit.json" in gate.reason


def test_missing_analysis_fails_every_gate_that_needs_it_and_rejects() -> None:
    documents = passing()
    del documents[ANALYSIS_FILE]
    verdict = judge(documents)
    assert verdict.decision == REJECT
    assert verdict.chosen is None
    for variant in verdict.variants:
        assert all(not gate.passed for gate in variant.gates)
        assert all("statistical_analysis.json is missing" in g.reason for g in variant.gates)


def test_a_variant_absent_from_the_analysis_has_no_evidence() -> None:
    documents = passing()
    effects = fixtures.default_effects(REGISTRY)
    del effects[QUALITY]
    documents[ANALYSIS_FILE] = fixtures.analysis_document(REGISTRY, effects)
    verdict = judge(documents)
    blocked = next(v for v in verdict.variants if v.variant == QUALITY)
    assert not blocked.passed
    assert f"no evidence: {QUALITY} is not in statistical_analysis.json" in {
        g.reason for g in blocked.blocking
    }
    assert verdict.chosen != QUALITY


def test_a_crashed_variant_is_rejected_with_its_error() -> None:
    documents = passing()
    analysis(documents)["variants"][QUALITY]["error"] = "Traceback: ZeroDivisionError in ranker"
    verdict = judge(documents)
    blocked = next(v for v in verdict.variants if v.variant == QUALITY)
    assert [g.name for g in blocked.blocking] == ["run_completed"]
    assert "ZeroDivisionError in ranker" in blocked.blocking[0].reason


# --- the decision ----------------------------------------------------------------------


def test_aa_only_evidence_never_promotes() -> None:
    """Only the baseline's A/A comparison: every other artifact is clean, and still no promotion."""
    documents = passing()
    documents[ANALYSIS_FILE] = fixtures.analysis_document(REGISTRY, effects={})
    verdict = judge(documents)
    assert verdict.decision == EXPLORATORY  # a run of no candidate is a reduced run
    assert verdict.chosen is None
    assert for_decision(verdict.decision) == ExitCode.REJECT
    for variant in verdict.variants:
        assert "run_completed" in {g.name for g in variant.blocking}
        assert variant.qa_gain is None


def test_aa_rows_for_the_baseline_are_never_a_candidate() -> None:
    documents = passing()
    verdict = judge(documents)
    assert REGISTRY.baseline.name not in {v.variant for v in verdict.variants}


def test_injected_latency_regression_is_rejected_by_non_inferiority() -> None:
    """Point estimate +2% (harmless-looking), upper bound +15%: not non-inferior."""
    documents = passing()
    row(documents, QUALITY, LATENCY_MEAN, WORST).update(
        relative_change=0.02, ci_low=-0.11, ci_high=0.15
    )
    verdict = judge(documents)
    blocked = next(v for v in verdict.variants if v.variant == QUALITY)
    assert [g.name for g in blocked.blocking] == ["latency_non_inferiority"]
    assert f"{WORST} +15.0%" in blocked.blocking[0].reason
    assert f"worst {WORST} beyond +10.0%" in blocked.blocking[0].reason
    assert verdict.chosen != QUALITY


def test_without_passing_quality_variants_a_performance_variant_is_promoted() -> None:
    documents = passing()
    for variant in REGISTRY.candidates:
        if variant.intent == "quality":
            row(documents, variant.name, QA)["relative_change"] = QA_THRESHOLD / 2
    verdict = judge(documents)
    assert verdict.decision == PROMOTE
    assert REGISTRY.variant(verdict.chosen or "").intent == "performance"


def test_tie_on_qa_gain_goes_to_the_lower_latency() -> None:
    quality = [v.name for v in REGISTRY.candidates if v.intent == "quality"]
    assert len(quality) >= 2
    first, second = quality[:2]
    effects = fixtures.default_effects(REGISTRY)
    effects[first][QA] = effects[second][QA] = Effect(0.18, 0.08)
    effects[first][LATENCY_MEAN] = Effect(0.03, 0.03)
    effects[second][LATENCY_MEAN] = Effect(-0.01, 0.03)
    documents = passing()
    documents[ANALYSIS_FILE] = fixtures.analysis_document(REGISTRY, effects)
    verdict = judge(documents)
    assert verdict.chosen == second
    assert f"tied with {first} on QA/100k" in verdict.reason


def test_a_registry_without_candidates_rejects() -> None:
    registry = Registry(
        variants={REGISTRY.baseline.name: REGISTRY.baseline},
        gates=GATES,
        encoding=REGISTRY.encoding,
        budgets=REGISTRY.budgets,
        seed=REGISTRY.seed,
        config_sha256=REGISTRY.config_sha256,
    )
    verdict = judge(passing(), registry)
    assert (verdict.decision, verdict.chosen) == (REJECT, None)
    assert "no candidate" in verdict.reason


def _verdict(name: str, passed: bool, qa_gain: float, latency: float) -> VariantVerdict:
    gate = GateResult("g", passed, "r", "==", 0, 0, "count")
    return VariantVerdict(name, "quality", QA, (gate,), qa_gain, latency)


@given(
    st.lists(
        st.tuples(
            st.booleans(),
            st.sampled_from([-0.1, 0.0, 0.13, 0.2]),
            st.floats(-0.5, 0.5, allow_nan=False),
        ),
        max_size=6,
    )
)
def test_decision_picks_the_best_passing_variant_or_rejects(
    candidates: list[tuple[bool, float, float]],
) -> None:
    verdicts = [_verdict(f"V{i}", *c) for i, c in enumerate(candidates)]
    decision, chosen, _ = decide(verdicts)
    passing_ones = [v for v in verdicts if v.passed]
    if not passing_ones:
        assert (decision, chosen) == (REJECT, None)
        return
    assert decision == PROMOTE
    best = next(v for v in verdicts if v.variant == chosen)
    assert best.passed
    for other in passing_ones:
        assert (best.qa_gain or 0.0) >= (other.qa_gain or 0.0)
        if other.qa_gain == best.qa_gain:
            assert (best.latency_change or 0.0) <= (other.latency_change or 0.0)


def test_exit_codes_are_the_documented_ones() -> None:
    assert [int(code) for code in ExitCode] == [0, 1, 2, 124, 130]
    assert for_decision(PROMOTE) == ExitCode.PROMOTE
    assert for_decision(REJECT) == ExitCode.REJECT
    with pytest.raises(ValueError, match="unknown decision"):
        for_decision("maybe")


def test_evidence_object_is_immutable() -> None:
    evidence = evidence_from_files(fixtures.encode(passing(), REGISTRY.config_sha256), None)
    assert isinstance(evidence, Evidence)
    with pytest.raises(AttributeError):
        evidence.checkout_git_sha = "x"  # type: ignore[misc]


# --- evidence that reports but never promotes ----------------------------------------


def test_an_exploratory_profile_reports_but_never_promotes() -> None:
    documents = passing()
    analysis(documents)["scope"].update(profile="quick", exploratory=True)
    verdict = judge(documents)
    assert (verdict.decision, verdict.chosen) == (EXPLORATORY, None)
    assert "quick profile is exploratory" in verdict.reason
    assert "would pass every gate" in verdict.reason
    assert for_decision(verdict.decision) == ExitCode.REJECT


def test_a_reduced_run_is_judged_in_the_registrys_family_and_never_promotes() -> None:
    only = {LATENCY_VARIANT: fixtures.default_effects(REGISTRY)[LATENCY_VARIANT]}
    documents = passing()
    documents[ANALYSIS_FILE] = fixtures.analysis_document(REGISTRY, only)
    verdict = judge(documents)
    assert gate_of(verdict, LATENCY_VARIANT, "latency_improvement").passed
    assert verdict.decision == EXPLORATORY
    assert "reduced run" in verdict.reason


@pytest.mark.parametrize(
    ("key", "value"), [("confidence_level", 0.95), ("correction", "holm"), ("alpha", 0.5)]
)
def test_one_alpha_is_the_only_level(key: str, value: object) -> None:
    with pytest.raises(ConfigError, match=key):
        judge(passing(), registry_with_gates(**{key: value}))


def test_a_guard_beyond_its_margin_with_the_power_is_not_shown_not_inconclusive() -> None:
    documents = passing()
    row(documents, QUALITY, RECALL, "50k").update(relative_change=0.02, ci_low=-0.06)
    row(documents, QUALITY, RECALL, "50k")["power"].update(achieved=POWER)
    reason = gate_of(judge(documents), QUALITY, "recall_guard").reason
    assert reason.endswith(
        "worst 50k beyond -5.0%; at 50k not shown with the registry's power (estimate +2.0%)"
    )
    assert "inconclusive" not in reason


def test_the_power_gate_agrees_with_a_guard_whose_estimate_is_beyond_the_margin() -> None:
    # Recall at 50k: estimate -8% beyond the -5% margin, bound -12%, power 30%. More
    # questions would not be expected to rescue it, so neither gate calls it inconclusive.
    documents = passing()
    row(documents, QUALITY, RECALL, "50k").update(relative_change=-0.08, ci_low=-0.12)
    row(documents, QUALITY, RECALL, "50k")["power"].update(achieved=0.3, units_for_80=400)
    verdict = judge(documents)
    guard = gate_of(verdict, QUALITY, "recall_guard")
    assert guard.reason.endswith("; at 50k the estimate is beyond the margin too (-8.0%)")
    assert not gate_of(verdict, QUALITY, "power").reason.startswith("inconclusive")
    # The same bound with its estimate inside the margin is inconclusive in both.
    row(documents, QUALITY, RECALL, "50k").update(relative_change=0.01)
    verdict = judge(documents)
    assert (
        "; at 50k inconclusive: 400 questions needed"
        in gate_of(verdict, QUALITY, "recall_guard").reason
    )
    assert gate_of(verdict, QUALITY, "power").reason.startswith(
        "inconclusive: 400 questions needed; lowest: recall at 50k, power 30.0% to clear -5.0%"
    )


@pytest.mark.parametrize(
    ("metric", "budget", "target", "accepted"),
    [
        (RECALL, "50k", -float(GATES["recall_margin"]), True),
        (RECALL, "50k", -float(GATES["qa_margin"]), False),
        (QA, "50k", -float(GATES["qa_margin"]), True),
        (QA, "50k", float(GATES["qa_improvement"]), False),
        (QA, "pooled", float(GATES["qa_improvement"]), True),
        (QA, "pooled", 0.05, False),
        (LATENCY_MEAN, WORST, float(GATES["performance_regression"]), True),
        (LATENCY_MEAN, WORST, 0.5, False),
    ],
)
def test_a_row_powered_at_another_design_point_than_the_registry_s_is_refused(
    metric: str, budget: str, target: float, accepted: bool
) -> None:
    documents = passing()
    row(documents, QUALITY, metric, budget)["power"]["target_effect"] = target
    verdict = judge(documents)
    problem = "the registry's design point is"
    reasons = [g.reason for g in next(v for v in verdict.variants if v.variant == QUALITY).gates]
    assert any(problem in reason for reason in reasons) is not accepted
    if not accepted:
        assert verdict.chosen != QUALITY
