"""Laws of the gates (gates/INPUTS.md) on evidence drawn around the passing fixtures.

Whatever the evidence, every gate reports the threshold the registry sets, its
comparator, unit and measure, the value the evidence holds, and passes exactly when
that value meets the threshold; the decision promotes the best variant passing every
gate. The oracle is the contract's table, written out here.
"""

from __future__ import annotations

import copy
import math
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from contracts.names import (
    ADVANCED_FILE,
    ANALYSIS_FILE,
    BANDIT_FILE,
    DIFFERENTIAL_FILE,
    SHADOW_FILE,
    SMOKE_FILE,
)
from contracts.thresholds import (
    LATENCY_MEAN,
    QA,
    RECALL,
    primary_metric,
    thresholds_from_registry,
)
from gates import fmt
from gates.custody import Trust
from gates.fixtures import bandit_report, encode, find_row, passing_documents
from gates.load import evidence_from_files
from gates.rules import evaluate
from gates.verdict import PROMOTE, REJECT, GateResult, Verdict
from packrepo.registry import load_registry
from tests.properties.strategies import laws

REGISTRY = load_registry(Path(__file__).resolve().parents[2] / "pyproject.toml")
LIMITS = thresholds_from_registry(REGISTRY)
CANDIDATES = [variant.name for variant in REGISTRY.candidates]
LATENCY = fmt.metric_label(LATENCY_MEAN)

# name -> (comparator, unit, measure, threshold), as INPUTS.md's gate table sets them.
SPEC: dict[str, tuple[str, str, str, object]] = {
    "analysis_current": ("==", "text", "analysis commit", "this config and commit"),
    "run_completed": ("==", "count", "failed trials", 0),
    "qa_improvement": (">=", "relative_change", "QA/100k change", LIMITS.qa_improvement),
    "qa_significance": (">", "relative_change", "QA/100k lower bound", 0.0),
    "qa_unchanged": (
        "within +/-", "relative_change", "QA/100k change and interval",
        LIMITS.qa_equivalence_margin,
    ),
    "latency_non_inferiority": (
        "<=", "relative_change", f"worst {LATENCY} upper bound", LIMITS.performance_regression,
    ),
    "power": (">=", "fraction", "lowest design-stage power", LIMITS.power),
    "mutation_score": (">=", "fraction", "mutants killed", LIMITS.mutation_score),
    "property_coverage": (">=", "fraction", "property coverage", LIMITS.property_coverage),
    "security": ("<=", "count", "high-severity findings", LIMITS.security_high_findings),
    "smoke_tests": ("==", "count", "failures and errors", 0),
    "differential": ("==", "count", "output mismatches", 0),
    "shadow": ("==", "count", "shadow violations", 0),
    "environment_stable": ("==", "flag", "A/A stable", True),
}  # fmt: skip
KINDS = ("crash", "over_budget", "nondeterministic", "invalid_manifest", "mismatch")

# The fixtures are stamped as such; these tests judge them as a demonstration.
DEMONSTRATION = Trust(accept_fixtures=True, allow_dirty=True)


@st.composite
def evidence(draw: st.DrawFn) -> dict[str, Any]:
    """The passing fixture documents with the gated values drawn anew."""
    docs = copy.deepcopy(passing_documents(REGISTRY))
    advanced = docs[ADVANCED_FILE]
    total = draw(st.integers(1, 400))
    killed = draw(st.integers(0, total))
    advanced["mutation_score"] = killed / total
    advanced["mutants"] = {"killed": killed, "survived": total - killed, "total": total}
    advanced["property_coverage"] = draw(st.floats(0, 1))
    # Only evidence the reader accepts: consistent counts (the rest is refused, exit 2).
    docs[SHADOW_FILE]["requests"] = draw(st.sampled_from([1, 10_000, 10_000]))
    for name in CANDIDATES:
        shadow = docs[SHADOW_FILE]["variants"][name]
        shadow["violations"] = {
            kind: draw(st.integers(0, 1)) * draw(st.integers(0, 3)) for kind in KINDS
        }
        shadow["clean"] = sum(shadow["violations"].values()) == 0
        mismatches = draw(st.integers(0, 1)) * draw(st.integers(0, 3))
        docs[DIFFERENTIAL_FILE]["variants"][name] = {
            "clean": mismatches == 0,
            "mismatches": mismatches,
            "compared": draw(st.sampled_from([3, 24, 240])),
            "details": [],
        }
        # The same latency interval and power at every budget and pooled: the per-budget
        # guard's worst budget is then that interval.
        high = draw(st.floats(-0.3, 0.3))
        achieved = draw(st.floats(0.5, 1.0))
        needed = draw(st.one_of(st.none(), st.integers(10, 90)))
        for budget in (*REGISTRY.budgets, "pooled"):
            row = find_row(docs[ANALYSIS_FILE], name, LATENCY_MEAN, budget)
            row.update(ci_high=high, ci_low=high - 0.05, relative_change=high - 0.025)
            row["power"].update(
                achieved=achieved, underpowered=achieved < LIMITS.power, units_for_80=needed
            )
        run = docs[ANALYSIS_FILE]["variants"][name]
        run["n_failed"] = draw(st.integers(0, 1)) * draw(st.integers(0, 3))
    analysis = docs[ANALYSIS_FILE]
    # The baseline's own QA row (A/A): never a candidate, never in a candidate's family.
    aa_qa = copy.deepcopy(find_row(analysis, REGISTRY.baseline.name, LATENCY_MEAN))
    analysis["comparisons"].append({**aa_qa, "metric": QA})
    for variant in REGISTRY.candidates:
        if variant.intent == "performance":
            row = find_row(analysis, variant.name, QA)
            change, width = (
                draw(st.sampled_from([0.0, 0.0, 0.02])),
                draw(st.sampled_from([0, 0.01])),
            )
            row.update(relative_change=change, ci_low=change - width, ci_high=change + width)
            row["variant_value"] = row["baseline_value"] * (1 + change)
    smoke = docs[SMOKE_FILE]
    smoke.update(
        passed=draw(st.integers(0, 30)),
        failed=draw(st.integers(0, 1)),
        errors=draw(st.integers(0, 1)),
        exitstatus=draw(st.integers(0, 1)),
    )
    docs[BANDIT_FILE] = bandit_report(high_findings=draw(st.integers(0, 5)))
    docs[ANALYSIS_FILE]["environment"]["stable"] = draw(st.booleans())
    return docs


def judged(docs: Mapping[str, Any]) -> Verdict:
    files = encode(docs, REGISTRY.config_sha256)
    return evaluate(REGISTRY, evidence_from_files(files, None, trust=DEMONSTRATION))


def gates_of(verdict: Verdict, name: str) -> dict[str, GateResult]:
    (variant,) = [v for v in verdict.variants if v.variant == name]
    return {gate.name: gate for gate in variant.gates}


def _share_reason(gate: GateResult, expected: str) -> None:
    assert gate.reason == expected, (gate.reason, expected)


@laws(25)
@given(docs=evidence())
def test_every_gate_reports_its_threshold_comparator_unit_and_measure(
    docs: dict[str, Any],
) -> None:
    verdict = judged(docs)
    for variant in verdict.variants:
        assert variant.primary_metric == primary_metric(REGISTRY.variant(variant.variant))
        for gate in variant.gates:
            if gate.name in SPEC:
                comparator, unit, measure, threshold = SPEC[gate.name]
                assert (gate.comparator, gate.unit, gate.measure) == (comparator, unit, measure)
                assert gate.threshold == threshold, gate.name
            elif gate.name.endswith("_improvement") and gate.name != "qa_improvement":
                label = fmt.metric_label(variant.primary_metric)
                assert (gate.comparator, gate.threshold) == ("<", 0.0)
                assert gate.measure == f"{label} upper bound"


def _law_mutation(docs: dict[str, Any], name: str, gate: GateResult) -> None:
    advanced = docs[ADVANCED_FILE]
    score, mutants = advanced["mutation_score"], advanced["mutants"]
    assert gate.observed == score
    assert gate.passed == (score >= LIMITS.mutation_score - 1e-12)
    _share_reason(
        gate,
        f"{fmt.share(score)} of mutants killed ({mutants['killed']} of {mutants['total']},"
        f" {mutants['survived']} survived)",
    )


def _law_coverage(docs: dict[str, Any], name: str, gate: GateResult) -> None:
    value = docs[ADVANCED_FILE]["property_coverage"]
    assert gate.observed == value
    assert gate.passed == (value >= LIMITS.property_coverage - 1e-12)
    _share_reason(gate, f"property-based tests cover {fmt.share(value)}")


def _law_shadow(docs: dict[str, Any], name: str, gate: GateResult) -> None:
    report = docs[SHADOW_FILE]
    entry = report["variants"][name]
    total = sum(entry["violations"].values())
    assert gate.observed == total
    assert gate.passed == (entry["clean"] and total == 0 and report["requests"] > 0)
    found = ", ".join(f"{kind} {n}" for kind, n in entry["violations"].items() if n)
    expected = f"{total} violation(s) in {report['requests']} shadowed requests"
    expected += f": {found}" if found else ""
    expected += ", but marked not clean" if not entry["clean"] and total == 0 else ""
    _share_reason(gate, expected)


def _law_differential(docs: dict[str, Any], name: str, gate: GateResult) -> None:
    entry = docs[DIFFERENTIAL_FILE]["variants"][name]
    assert gate.observed == entry["mismatches"]
    passed = entry["clean"] and entry["mismatches"] == 0 and entry["compared"] > 0
    assert gate.passed == passed
    expected = f"{entry['mismatches']} mismatch(es) in {entry['compared']} compared outputs"
    expected += ", but marked not clean" if not entry["clean"] and not entry["mismatches"] else ""
    _share_reason(gate, expected)


def _law_smoke(docs: dict[str, Any], name: str, gate: GateResult) -> None:
    report = docs[SMOKE_FILE]
    broken = report["failed"] + report["errors"]
    assert gate.observed == broken
    assert gate.passed == (broken == 0 and report["passed"] > 0 and report["exitstatus"] == 0)


def _law_security(docs: dict[str, Any], name: str, gate: GateResult) -> None:
    high = docs[BANDIT_FILE]["results"]
    assert gate.observed == len(high)
    assert gate.passed == (len(high) <= LIMITS.security_high_findings)
    where = ", ".join(f"{f['test_id']} at {f['filename']}:{f['line_number']}" for f in high[:3])
    expected = f"{len(high)} high-severity finding(s) (bandit has no critical level)"
    expected += (f": {where}" + (" ..." if len(high) > 3 else "")) if high else ""
    _share_reason(gate, expected)


def _law_latency(docs: dict[str, Any], name: str, gate: GateResult) -> None:
    rows = [find_row(docs[ANALYSIS_FILE], name, LATENCY_MEAN, b) for b in REGISTRY.budgets]
    worst = max(rows, key=lambda row: row["ci_high"])
    limit = LIMITS.performance_regression
    assert gate.observed == worst["ci_high"]
    passed = worst["ci_high"] <= limit + 1e-12
    assert gate.passed == passed
    assert gate.interval is not None
    assert (gate.interval.low, gate.interval.high) == (worst["ci_low"], worst["ci_high"])
    if passed:
        assert gate.reason.endswith(f"worst {worst['budget']} within {fmt.change(limit)}")
        return
    # Each budget beyond the margin says why, in budget order: its estimate beyond the
    # margin too; else inconclusive if its bound was short of power (with the units a
    # decision needs); else not shown with the registry's power.
    clauses = []
    for row in rows:
        if row["ci_high"] <= limit + 1e-12:
            continue
        estimate, power = fmt.change(row["relative_change"]), row["power"]
        if row["relative_change"] > limit + 1e-12:
            clauses.append(f"at {row['budget']} the estimate is beyond the margin too ({estimate})")
        elif power["achieved"] < LIMITS.power - 1e-12:
            units = power["units_for_80"]
            needed = "" if units is None else f": {units} units needed"
            clauses.append(
                f"at {row['budget']} inconclusive{needed} (estimate {estimate}, power"
                f" {fmt.share(power['achieved'])} to clear {fmt.change(limit)} if unchanged"
                f" with {row['n_units']} units)"
            )
        else:
            clauses.append(
                f"at {row['budget']} not shown with the registry's power (estimate {estimate})"
            )
    said = f"worst {worst['budget']} beyond {fmt.change(limit)}"
    assert gate.reason.endswith(said + "".join(f"; {clause}" for clause in clauses))


def _law_power(docs: dict[str, Any], name: str, gate: GateResult) -> None:
    analysis = docs[ANALYSIS_FILE]
    budgets = REGISTRY.budgets
    rows = [find_row(analysis, name, LATENCY_MEAN, b) for b in budgets]
    if REGISTRY.variant(name).intent == "quality":
        rows.append(find_row(analysis, name, QA))
        rows += [find_row(analysis, name, metric, b) for metric in (QA, RECALL) for b in budgets]

    def decided(row: dict[str, Any]) -> bool:
        """Established, or a guard whose estimate is beyond its margin too."""
        if row["metric"] == QA and row["budget"] == "pooled":
            return bool(row["ci_low"] > 0)
        if row["metric"] in (QA, RECALL):
            margin = LIMITS.qa_margin if row["metric"] == QA else LIMITS.recall_margin
            low, estimate = row["ci_low"], row["relative_change"]
            return bool(low >= -margin - 1e-12 or estimate < -margin - 1e-12)
        limit = LIMITS.performance_regression
        return bool(row["ci_high"] <= limit + 1e-12 or row["relative_change"] > limit + 1e-12)

    undecided = [
        row["power"]["achieved"]
        for row in rows
        if not decided(row) and row["power"]["achieved"] < LIMITS.power - 1e-12
    ]
    lowest = min(undecided or [row["power"]["achieved"] for row in rows])
    assert gate.observed == lowest
    assert gate.passed == (not undecided)
    assert gate.reason.startswith("inconclusive") == bool(undecided)
    # A gain to detect (the pooled QA) or a margin to clear if unchanged (the guards).
    assert re.search(f"power {re.escape(fmt.share(lowest))} to (detect|clear) ", gate.reason)
    assert gate.interval is not None  # the row it was judged on


def _law_unchanged(docs: dict[str, Any], name: str, gate: GateResult) -> None:
    row = find_row(docs[ANALYSIS_FILE], name, QA)
    margin = LIMITS.qa_equivalence_margin
    change, low, high = row["relative_change"], row["ci_low"], row["ci_high"]
    assert gate.observed == change
    passed = abs(change) <= margin + 1e-12 and -margin - 1e-12 <= low and high <= margin + 1e-12
    assert gate.passed == passed
    assert gate.reason.endswith(f" {'within' if passed else 'outside'} +/-{fmt.share(margin)}")
    assert gate.reason.startswith(f"QA/100k {fmt.change(change)} in [{fmt.change(low)}, ")


def _law_significance(docs: dict[str, Any], name: str, gate: GateResult) -> None:
    row = find_row(docs[ANALYSIS_FILE], name, QA)
    assert gate.observed == row["ci_low"]
    assert gate.passed == (row["ci_low"] > 0)
    assert gate.reason.startswith(f"lower bound {fmt.change(row['ci_low'])} > 0 at one-sided")
    assert gate.interval is not None
    assert gate.interval.confidence_level == row["confidence_level"]


def _law_completed(docs: dict[str, Any], name: str, gate: GateResult) -> None:
    run = docs[ANALYSIS_FILE]["variants"][name]
    assert gate.observed == run["n_failed"]
    assert gate.passed == (run["n_failed"] == 0)
    _share_reason(gate, f"{run['n_failed']} of {run['n_trials']} trials failed")


def _law_stable(docs: dict[str, Any], name: str, gate: GateResult) -> None:
    flag = docs[ANALYSIS_FILE]["environment"]["stable"]
    assert gate.observed is flag
    assert gate.passed is flag


LAWS: dict[str, Callable[[dict[str, Any], str, GateResult], None]] = {
    "mutation_score": _law_mutation,
    "property_coverage": _law_coverage,
    "shadow": _law_shadow,
    "differential": _law_differential,
    "smoke_tests": _law_smoke,
    "security": _law_security,
    "latency_non_inferiority": _law_latency,
    "power": _law_power,
    "run_completed": _law_completed,
    "qa_unchanged": _law_unchanged,
    "qa_significance": _law_significance,
    "environment_stable": _law_stable,
}


@laws(40)
@given(docs=evidence())
def test_each_gate_observes_the_evidence_and_passes_exactly_when_it_meets_the_threshold(
    docs: dict[str, Any],
) -> None:
    verdict = judged(docs)
    for name in CANDIDATES:
        for gate_name, gate in gates_of(verdict, name).items():
            if gate_name in LAWS:
                LAWS[gate_name](docs, name, gate)


@laws(40)
@given(docs=evidence())
def test_the_decision_promotes_the_best_variant_passing_every_gate(docs: dict[str, Any]) -> None:
    verdict = judged(docs)
    passing = [v for v in verdict.variants if all(g.passed for g in v.gates)]
    assert [v.passed for v in verdict.variants] == [
        all(g.passed for g in v.gates) for v in verdict.variants
    ]
    if not passing:
        assert (verdict.decision, verdict.chosen) == (REJECT, None)
        assert verdict.reason == "no variant passed every gate"
        return
    assert verdict.decision == PROMOTE

    def rank(v: Any) -> tuple[float, float]:
        qa = -math.inf if v.qa_gain is None else v.qa_gain
        latency = math.inf if v.latency_change is None else v.latency_change
        return (-qa, latency)

    best = min(passing, key=rank)
    assert verdict.chosen == best.variant
    if len(passing) == 1:  # nothing was chosen over another: the reason gives the evidence
        assert verdict.reason.startswith(f"{best.variant} passed every gate: QA/100k ")
        assert "largest" not in verdict.reason
    else:
        assert verdict.reason.startswith(
            f"{best.variant} passed every gate with the largest QA/100k gain ("
        )
    for variant in verdict.variants:
        row = find_row(docs[ANALYSIS_FILE], variant.variant, QA)
        assert variant.qa_gain == row["relative_change"]
    tied = [v for v in passing if v is not best and v.qa_gain == best.qa_gain]
    names = ", ".join(v.variant for v in tied)
    if not tied:
        assert ";" not in verdict.reason
    elif any(v.latency_change == best.latency_change for v in tied):
        assert verdict.reason.endswith(
            f"; tied with {names} on QA/100k and mean latency, registry order decides"
        )
    else:
        others = ", ".join(f"{v.variant} {fmt.change(v.latency_change)}" for v in tied)
        assert verdict.reason.endswith(
            f"; tied with {names} on QA/100k, it has the lower mean latency change"
            f" ({fmt.change(best.latency_change)} against {others})"
        )


@laws(30)
@given(data=st.data())
def test_equal_qa_gains_go_to_the_lower_latency_change(data: st.DataObject) -> None:
    """Byte-identical performance variants tie on QA; the lower mean latency change wins."""
    docs = copy.deepcopy(passing_documents(REGISTRY))
    analysis = docs[ANALYSIS_FILE]
    performance = [v.name for v in REGISTRY.candidates if v.intent == "performance"]
    for variant in REGISTRY.candidates:
        if variant.intent == "quality":  # out of the race: a mismatch in differential testing
            docs[DIFFERENTIAL_FILE]["variants"][variant.name].update(mismatches=1, clean=False)
    changes = data.draw(
        st.lists(st.sampled_from([-0.3, -0.2, -0.1, -0.05]), min_size=len(performance),
                 max_size=len(performance))
    )  # fmt: skip
    for name, change in zip(performance, changes, strict=True):
        for budget in (*REGISTRY.budgets, "pooled"):
            row = find_row(analysis, name, LATENCY_MEAN, budget)
            row.update(relative_change=change, ci_low=change - 0.02, ci_high=change + 0.02)
    verdict = judged(docs)
    best = min(zip(changes, performance, strict=True))  # registry order breaks a full tie
    assert verdict.chosen == best[1]
    tied = [name for name in performance if name != best[1]]
    names = ", ".join(tied)
    if any(change == best[0] for change, name in zip(changes, performance, strict=True)
           if name != best[1]):  # fmt: skip
        expected = f"; tied with {names} on QA/100k and mean latency, registry order decides"
    else:
        others = ", ".join(
            f"{name} {fmt.change(change)}"
            for change, name in zip(changes, performance, strict=True)
            if name != best[1]
        )
        expected = (
            f"; tied with {names} on QA/100k, it has the lower mean latency change"
            f" ({fmt.change(best[0])} against {others})"
        )
    assert verdict.reason.endswith(expected), verdict.reason
