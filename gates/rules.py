"""The gates and the decision: ``evaluate(registry, evidence) -> Verdict``, a pure function.

Every gate returns a :class:`~gates.verdict.GateResult` that records its
threshold, the observed value with its interval, and the reason, whether it
passed or not. Evidence that is missing or stale fails the gate that needs it;
nothing passes by default. Baseline figures are never written here: every
number comes from the measured baseline in the statistical analysis.

Methods: the quality gate reads the BCa bootstrap interval (Efron 1987) at the
multiplicity-adjusted level (Bonferroni; Holm 1979 adjusts the p-values but has
no matching simultaneous intervals, so both use alpha / family size for
intervals). Latency is judged by non-inferiority on the interval's upper bound
(Wellek 2010, ch. 1), so a noisy estimate cannot pass on a lucky point value.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from contracts.names import (
    ADVANCED_FILE,
    ANALYSIS_FILE,
    BANDIT_FILE,
    DIFFERENTIAL_FILE,
    SHADOW_FILE,
    SMOKE_FILE,
)
from contracts.provenance import Provenance
from contracts.thresholds import (
    LATENCY_MEAN,
    LATENCY_P95,
    QA,
    GateThresholds,
    primary_metric,
    thresholds_from_registry,
)
from gates import fmt
from gates.evidence import (
    Absent,
    AdvancedTesting,
    Comparison,
    Differential,
    Evidence,
    Shadow,
    SmokeTests,
    StatisticalAnalysis,
)
from gates.verdict import (
    COUNT,
    FLAG,
    FRACTION,
    PROMOTE,
    REJECT,
    RELATIVE_CHANGE,
    TEXT,
    WITHIN,
    GateResult,
    Value,
    VariantVerdict,
    Verdict,
)
from packrepo.registry import Registry, Variant

# Comparisons forgive floating-point rounding only: 1.13 / 1.0 - 1 is 0.12999999999999989.
ROUNDING = 1e-12


@dataclass(frozen=True)
class Context:
    """What a gate may look at when judging one variant."""

    variant: Variant
    metric: str
    thresholds: GateThresholds
    evidence: Evidence
    config_sha256: str


@dataclass(frozen=True)
class Requirement:
    """A gate's name and threshold, before it is judged."""

    name: str
    comparator: str
    threshold: Value
    unit: str
    measure: str

    def judge(
        self,
        passed: bool,
        reason: str,
        observed: Value = None,
        comparison: Comparison | None = None,
    ) -> GateResult:
        return GateResult(
            name=self.name,
            passed=passed,
            reason=reason,
            comparator=self.comparator,
            threshold=self.threshold,
            observed=observed,
            unit=self.unit,
            measure=self.measure,
            interval=None if comparison is None else comparison.interval,
        )

    def unmet(self, reason: str, observed: Value = None) -> GateResult:
        return self.judge(False, reason, observed)


def evaluate(registry: Registry, evidence: Evidence) -> Verdict:
    """Judge every candidate of the registry on the evidence, then decide."""
    thresholds = thresholds_from_registry(registry)
    verdicts = tuple(
        judge_variant(
            Context(
                variant=variant,
                metric=primary_metric(variant),
                thresholds=thresholds,
                evidence=evidence,
                config_sha256=registry.config_sha256,
            )
        )
        for variant in registry.candidates
    )
    decision, chosen, reason = decide(verdicts)
    return Verdict(decision=decision, chosen=chosen, reason=reason, variants=verdicts)


def judge_variant(ctx: Context) -> VariantVerdict:
    intent_gates = QUALITY_GATES if ctx.variant.intent == "quality" else PERFORMANCE_GATES
    non_inferiority = tuple(
        NON_INFERIORITY_GATES[metric] for metric in ctx.thresholds.non_inferiority_metrics
    )
    shared = (*non_inferiority, *SHARED_GATES)
    gates = [gate(ctx) for gate in (*PROVENANCE_GATES, *intent_gates, *shared)]
    qa_row, latency_row = _pooled(ctx, QA), _pooled(ctx, LATENCY_MEAN)
    return VariantVerdict(
        variant=ctx.variant.name,
        intent=ctx.variant.intent,
        primary_metric=ctx.metric,
        gates=tuple(gates),
        qa_gain=qa_row.relative_change if isinstance(qa_row, Comparison) else None,
        latency_change=latency_row.relative_change if isinstance(latency_row, Comparison) else None,
    )


def decide(verdicts: Sequence[VariantVerdict]) -> tuple[str, str | None, str]:
    """Promote the largest pooled QA gain among variants passing every gate.

    A tie (equal QA gains, as for byte-identical performance variants) goes
    to the lower pooled mean latency; a full tie keeps registry order.
    """
    if not verdicts:
        return REJECT, None, "the registry lists no candidate variants"
    passing = [verdict for verdict in verdicts if verdict.passed]
    if not passing:
        return REJECT, None, "no variant passed every gate"
    best = min(passing, key=_rank)
    reason = (
        f"{best.variant} passed every gate with the largest QA/100k gain ({_gain(best.qa_gain)})"
    )
    tied = [v for v in passing if v is not best and v.qa_gain == best.qa_gain]
    if tied:
        reason += f"; {_tie_break(best, tied)}"
    return PROMOTE, best.variant, reason


def _tie_break(best: VariantVerdict, tied: Sequence[VariantVerdict]) -> str:
    names = ", ".join(v.variant for v in tied)
    if any(v.latency_change == best.latency_change for v in tied):
        return f"tied with {names} on QA/100k and mean latency, registry order decides"
    others = ", ".join(f"{v.variant} {_gain(v.latency_change)}" for v in tied)
    return (
        f"tied with {names} on QA/100k, it has the lower mean latency change"
        f" ({_gain(best.latency_change)} against {others})"
    )


def _rank(verdict: VariantVerdict) -> tuple[float, float]:
    qa_gain = verdict.qa_gain if verdict.qa_gain is not None else -math.inf
    latency = verdict.latency_change if verdict.latency_change is not None else math.inf
    return (-qa_gain, latency)


def _gain(change: float | None) -> str:
    return "n/a" if change is None else fmt.change(change)


# --- lookups -------------------------------------------------------------------


def _analysis(ctx: Context) -> StatisticalAnalysis | str:
    analysis = ctx.evidence.analysis
    if isinstance(analysis, Absent):
        return analysis.reason
    if ctx.variant.name not in analysis.variants:
        return f"no evidence: {ctx.variant.name} is not in {ANALYSIS_FILE}"
    return analysis


def _pooled(ctx: Context, metric: str) -> Comparison | str:
    """The variant's pooled comparison on ``metric``, or why there is none."""
    analysis = _analysis(ctx)
    if isinstance(analysis, str):
        return analysis
    row = analysis.comparison(ctx.variant.name, metric)
    if row is None:
        label = fmt.metric_label(metric)
        return f"no pooled {label} comparison for {ctx.variant.name} in {ANALYSIS_FILE}"
    return row


def _staleness(ctx: Context, file: str, provenance: Provenance) -> str | None:
    """Why ``file`` cannot be trusted next to the analysis, or None if it can."""
    analysis = ctx.evidence.analysis
    if isinstance(analysis, Absent):
        return f"{file} cannot be checked for staleness: {analysis.reason}"
    reference = analysis.provenance
    if provenance.git_sha != reference.git_sha:
        return (
            f"{file} was produced for commit {fmt.short_sha(provenance.git_sha)},"
            f" analysis for {fmt.short_sha(reference.git_sha)}"
        )
    if provenance.config_sha256 != reference.config_sha256:
        return (
            f"{file} was produced with config {fmt.short_sha(provenance.config_sha256)},"
            f" analysis with {fmt.short_sha(reference.config_sha256)}"
        )
    return None


# --- provenance gates --------------------------------------------------------------


def analysis_current(ctx: Context) -> GateResult:
    """The analysis was made with this registry, on this commit, with enough resamples."""
    requirement = Requirement(
        "analysis_current", "==", "this config and commit", TEXT, "analysis commit"
    )
    analysis = ctx.evidence.analysis
    if isinstance(analysis, Absent):
        return requirement.unmet(analysis.reason)
    produced = analysis.provenance
    observed = fmt.short_sha(produced.git_sha)
    checkout = ctx.evidence.checkout_git_sha
    if produced.config_sha256 != ctx.config_sha256:
        return requirement.unmet(
            f"{ANALYSIS_FILE} was produced with config {fmt.short_sha(produced.config_sha256)},"
            f" the registry is {fmt.short_sha(ctx.config_sha256)}",
            observed,
        )
    if checkout is not None and produced.git_sha != checkout:
        return requirement.unmet(
            f"{ANALYSIS_FILE} was produced for commit {observed},"
            f" the checkout is at {fmt.short_sha(checkout)}",
            observed,
        )
    if analysis.n_resamples < ctx.thresholds.bootstrap_samples:
        return requirement.unmet(
            f"the analysis drew {analysis.n_resamples} bootstrap resamples,"
            f" the registry asks for {ctx.thresholds.bootstrap_samples}",
            observed,
        )
    where = "" if checkout is not None else " (checkout commit unknown: not a git checkout)"
    return requirement.judge(
        True, f"produced for commit {observed} with this config{where}", observed
    )


def evidence_chain(ctx: Context) -> GateResult:
    """Every link from the analysis back to the trial streams holds (``gates.custody``),
    and the evidence is measured, from a committed tree, unless the user accepted otherwise."""
    requirement = Requirement("evidence_chain", "==", "unbroken", TEXT, "chain of custody")
    if isinstance(ctx.evidence.analysis, Absent):
        return requirement.unmet(ctx.evidence.analysis.reason)
    custody = ctx.evidence.custody
    problems = custody.problems
    if problems:
        return requirement.unmet("; ".join(problems), f"{len(problems)} problem(s)")
    accepted = [
        label
        for label, present in (
            ("fixture evidence accepted (--accept-fixtures)", custody.fixtures),
            (
                "uncommitted changes accepted (--allow-dirty)",
                custody.dirty or custody.uncommitted_checkout,
            ),
        )
        if present
    ]
    reason = f"{custody.links} digest link(s) verified from {ANALYSIS_FILE} to the trial streams"
    if custody.remade:
        reason += "; the analysis remade from them is identical"
    return requirement.judge(True, "; ".join([reason, *accepted]), f"{custody.links} links")


def run_completed(ctx: Context) -> GateResult:
    """The variant's benchmark ran, every trial finished, and it ran as the registry says."""
    requirement = Requirement("run_completed", "==", 0, COUNT, "failed trials")
    analysis = _analysis(ctx)
    if isinstance(analysis, str):
        return requirement.unmet(analysis)
    run = analysis.variants[ctx.variant.name]
    if run.error is not None:
        return requirement.unmet(f"{ctx.variant.name} run failed: {run.error}", run.n_failed)
    if run.intent != ctx.variant.intent:
        return requirement.unmet(
            f"the analysis treated {ctx.variant.name} as {run.intent},"
            f" the registry says {ctx.variant.intent}",
            run.n_failed,
        )
    if run.n_trials <= 0:
        return requirement.unmet(f"{ctx.variant.name} has no trials", run.n_failed)
    passed = run.n_failed == 0
    reason = f"{run.n_failed} of {run.n_trials} trials failed"
    return requirement.judge(passed, reason, run.n_failed)


# --- quality intent ----------------------------------------------------------------


def qa_improvement(ctx: Context) -> GateResult:
    """Pooled QA/100k point estimate at least the registry's improvement."""
    threshold = ctx.thresholds.qa_improvement
    requirement = Requirement("qa_improvement", ">=", threshold, RELATIVE_CHANGE, "QA/100k change")
    row = _pooled(ctx, QA)
    if isinstance(row, str):
        return requirement.unmet(row)
    if row.relative_change is None:
        return requirement.unmet("QA/100k relative change is not computable")
    gain = row.relative_change
    passed = gain >= threshold - ROUNDING
    reason = (
        f"QA/100k {fmt.change(gain)} {'>=' if passed else '<'} {fmt.change(threshold)}"
        f" (baseline {row.baseline_value:.4g}, variant {row.variant_value:.4g})"
    )
    return requirement.judge(passed, reason, gain, row)


def qa_significance(ctx: Context) -> GateResult:
    """The BCa lower bound of the QA gain is above 0 at the multiplicity-adjusted level."""
    requirement = Requirement(
        "qa_significance", ">", 0.0, RELATIVE_CHANGE, "QA/100k interval lower bound"
    )
    row = _pooled(ctx, QA)
    analysis = ctx.evidence.analysis
    if isinstance(row, str) or isinstance(analysis, Absent):
        return requirement.unmet(row if isinstance(row, str) else "no analysis")
    problem = _level_problem(analysis, row, ctx)
    if problem is not None:
        return requirement.judge(False, problem, None, row)
    if row.interval is None:
        return requirement.unmet("QA/100k has no interval")
    low = row.interval.low
    passed = low > 0
    reason = (
        f"lower bound {fmt.change(low)} {'>' if passed else '<='} 0"
        f" ({row.interval_method} interval at the adjusted {fmt.level(row.confidence_level)},"
        f" {analysis.correction.method}, family of {row.family_size})"
    )
    return requirement.judge(passed, reason, low, row)


def _level_problem(analysis: StatisticalAnalysis, row: Comparison, ctx: Context) -> str | None:
    """Why the row's interval is not at the multiplicity-adjusted level, if it is not.

    The level must be 1 - alpha / m for the row's family of m comparisons, the
    family no smaller than the comparisons the analysis made on that metric
    and budget, and alpha and the method those of the registry.
    """
    correction = analysis.correction
    made = sum(
        1
        for other in analysis.comparisons
        if (other.metric, other.budget) == (row.metric, row.budget)
        and analysis.variants.get(other.variant, None) is not None
        and analysis.variants[other.variant].intent != "baseline"
    )
    adjusted_level = 1 - correction.alpha / max(row.family_size, 1)
    checks = (
        (
            correction.method == ctx.thresholds.correction,
            f"the analysis corrected with {correction.method}, the registry asks for"
            f" {ctx.thresholds.correction}",
        ),
        (
            math.isclose(correction.alpha, ctx.thresholds.alpha),
            f"the analysis used alpha {correction.alpha}, the registry {ctx.thresholds.alpha}",
        ),
        (
            row.family_size >= made,
            f"the row claims a family of {row.family_size}, but the analysis made {made}"
            f" {fmt.metric_label(row.metric)} comparisons at {row.budget}",
        ),
        (
            math.isclose(row.confidence_level, adjusted_level),
            f"interval not at the multiplicity-adjusted level: it is at"
            f" {fmt.level(row.confidence_level)}, the adjusted level is"
            f" {fmt.level(adjusted_level)}",
        ),
    )
    return next((problem for ok, problem in checks if not ok), None)


# --- performance intent --------------------------------------------------------------


def qa_unchanged(ctx: Context) -> GateResult:
    """QA/100k equal to the baseline's, or its interval within the equivalence margin."""
    margin = ctx.thresholds.qa_equivalence_margin
    requirement = Requirement(
        "qa_unchanged", WITHIN, margin, RELATIVE_CHANGE, "QA/100k change and interval"
    )
    row = _pooled(ctx, QA)
    if isinstance(row, str):
        return requirement.unmet(row)
    identical = row.variant_value == row.baseline_value
    change = row.relative_change
    if row.interval is None:
        # Zero-variance differences have no bootstrap interval; identity needs none.
        reason = "QA/100k identical to the baseline" if identical else "QA/100k has no interval"
        return requirement.judge(identical, reason, change, row)
    low, high = row.interval.low, row.interval.high
    point_ok = identical if change is None else abs(change) <= margin + ROUNDING
    passed = point_ok and -margin - ROUNDING <= low and high <= margin + ROUNDING
    reason = (
        f"QA/100k {_gain(change)} in {fmt.interval(row.interval)};"
        f" {'within' if passed else 'outside'} +/-{fmt.share(margin)}"
    )
    return requirement.judge(passed, reason, change, row)


def promised_improvement(ctx: Context) -> GateResult:
    """The variant's promised metric improves: its interval's upper bound is below 0."""
    label = fmt.metric_label(ctx.metric)
    requirement = Requirement(
        f"{ctx.variant.metric}_improvement", "<", 0.0, RELATIVE_CHANGE, f"{label} upper bound"
    )
    row = _pooled(ctx, ctx.metric)
    if isinstance(row, str):
        return requirement.unmet(row)
    if row.interval is None:
        return requirement.unmet(f"{label} has no interval")
    high = row.interval.high
    passed = high < 0
    reason = (
        f"{label} {_gain(row.relative_change)}, upper bound {fmt.change(high)}"
        f" {'<' if passed else '>='} 0 at {fmt.level(row.interval.confidence_level)}"
    )
    return requirement.judge(passed, reason, high, row)


# --- every variant -------------------------------------------------------------------


def _non_inferiority(name: str, metric: str) -> Callable[[Context], GateResult]:
    def gate(ctx: Context) -> GateResult:
        threshold = ctx.thresholds.performance_regression
        label = fmt.metric_label(metric)
        requirement = Requirement(name, "<=", threshold, RELATIVE_CHANGE, f"{label} upper bound")
        row = _pooled(ctx, metric)
        if isinstance(row, str):
            return requirement.unmet(row)
        if row.interval is None:
            return requirement.unmet(f"{label} has no interval")
        high = row.interval.high
        passed = high <= threshold + ROUNDING
        reason = (
            f"{label} upper bound {fmt.change(high)} {'<=' if passed else '>'}"
            f" {fmt.change(threshold)} (point estimate {_gain(row.relative_change)})"
        )
        return requirement.judge(passed, reason, high, row)

    gate.__doc__ = f"Non-inferiority of {metric}: the interval's upper bound, not the point."
    return gate


latency_non_inferiority = _non_inferiority("latency_non_inferiority", LATENCY_MEAN)
latency_p95_non_inferiority = _non_inferiority("latency_p95_non_inferiority", LATENCY_P95)


def power(ctx: Context) -> GateResult:
    """Power to detect the regression margin on mean latency, where measurement noise lives.

    Every variant claims "no latency regression beyond the margin"; on a noisy shared
    machine that claim is only as good as the run's power to see such a regression, so
    a pass is not luck. QA is deterministic per unit (the A/A run shows it identical), so
    a QA claim rests on its multiplicity-adjusted interval alone: power to detect +13% on
    sparse, heterogeneous per-question scores is post-hoc power, which says nothing the
    interval does not (Hoenig & Heisey 2001).
    """
    threshold = ctx.thresholds.power
    requirement = Requirement("power", ">=", threshold, FRACTION, "achieved power")
    row = _pooled(ctx, LATENCY_MEAN)
    label = fmt.metric_label(LATENCY_MEAN)
    if isinstance(row, str):
        return requirement.unmet(row)
    if row.power is None:
        return requirement.unmet(f"no power analysis for {label}")
    achieved = row.power.achieved
    passed = achieved >= threshold - ROUNDING and not row.power.underpowered
    reason = (
        f"power {fmt.share(achieved)} to detect {fmt.change(row.power.target_effect)}"
        f" on {label} with {row.n_units} units"
    )
    if not passed:
        needed = row.power.units_for_80
        reason += "; underpowered" + (f", {needed} units needed" if needed is not None else "")
        if row.power.mde_80 is not None:
            reason += f" (detectable at 80% now: {fmt.change(row.power.mde_80)})"
    return requirement.judge(passed, reason, achieved, row)


Artifact = TypeVar("Artifact", AdvancedTesting, Differential, Shadow, SmokeTests)


def _from_artifact(
    ctx: Context,
    requirement: Requirement,
    artifact: Artifact | Absent,
    file: str,
    judge: Callable[[Artifact], GateResult],
) -> GateResult:
    if isinstance(artifact, Absent):
        return requirement.unmet(artifact.reason)
    stale = _staleness(ctx, file, artifact.provenance)
    if stale is not None:
        return requirement.unmet(stale)
    return judge(artifact)


def mutation_score(ctx: Context) -> GateResult:
    threshold = ctx.thresholds.mutation_score
    requirement = Requirement("mutation_score", ">=", threshold, FRACTION, "mutants killed")

    def judge(testing: AdvancedTesting) -> GateResult:
        score = testing.mutation_score
        passed = score >= threshold - ROUNDING
        reason = (
            f"{fmt.share(score)} of mutants killed ({testing.mutants_killed} of"
            f" {testing.mutants_total}, {testing.mutants_survived} survived)"
        )
        return requirement.judge(passed, reason, score)

    return _from_artifact(ctx, requirement, ctx.evidence.advanced_testing, ADVANCED_FILE, judge)


def property_coverage(ctx: Context) -> GateResult:
    threshold = ctx.thresholds.property_coverage
    requirement = Requirement("property_coverage", ">=", threshold, FRACTION, "property coverage")

    def judge(testing: AdvancedTesting) -> GateResult:
        coverage = testing.property_coverage
        passed = coverage >= threshold - ROUNDING
        reason = f"property-based tests cover {fmt.share(coverage)}"
        return requirement.judge(passed, reason, coverage)

    return _from_artifact(ctx, requirement, ctx.evidence.advanced_testing, ADVANCED_FILE, judge)


def security(ctx: Context) -> GateResult:
    """High-severity bandit findings. Bandit's levels are LOW, MEDIUM, HIGH: it has no CRITICAL."""
    allowed = ctx.thresholds.security_high_findings
    requirement = Requirement("security", "<=", allowed, COUNT, "high-severity findings")
    scan = ctx.evidence.security
    if isinstance(scan, Absent):
        return requirement.unmet(scan.reason)
    if scan.provenance is None:
        return requirement.unmet(
            f"{BANDIT_FILE} cannot be checked for staleness: {scan.provenance_problem}"
            f" (write it with `python -m gates.stamp artifacts/{BANDIT_FILE}`)"
        )
    stale = _staleness(ctx, BANDIT_FILE, scan.provenance)
    if stale is not None:
        return requirement.unmet(stale)
    high = [f for f in scan.findings if f.severity in ("HIGH", "CRITICAL")]
    if scan.scan_errors:
        return requirement.unmet(
            f"bandit could not scan {scan.scan_errors} file(s); unscanned code is not clean",
            len(high),
        )
    passed = len(high) <= allowed
    reason = f"{len(high)} high-severity finding(s) (bandit has no critical level)"
    if high:
        where = ", ".join(f"{f.test_id} at {f.filename}:{f.line_number}" for f in high[:3])
        reason += f": {where}" + (" ..." if len(high) > 3 else "")
    return requirement.judge(passed, reason, len(high))


def smoke_tests(ctx: Context) -> GateResult:
    requirement = Requirement("smoke_tests", "==", 0, COUNT, "failures and errors")

    def judge(smoke: SmokeTests) -> GateResult:
        broken = smoke.failed + smoke.errors
        passed = broken == 0 and smoke.passed > 0 and smoke.exitstatus == 0
        reason = (
            f"{smoke.passed} passed, {smoke.failed} failed, {smoke.errors} errors,"
            f" exit status {smoke.exitstatus}"
        )
        return requirement.judge(passed, reason, broken)

    return _from_artifact(ctx, requirement, ctx.evidence.smoke, SMOKE_FILE, judge)


def differential(ctx: Context) -> GateResult:
    requirement = Requirement("differential", "==", 0, COUNT, "output mismatches")
    name = ctx.variant.name

    def judge(report: Differential) -> GateResult:
        result = report.variants.get(name)
        if result is None:
            return requirement.unmet(f"{DIFFERENTIAL_FILE} has no entry for {name}")
        # The reader guarantees at least one case and `clean` exactly when none mismatched.
        reason = f"{result.mismatches} mismatch(es) in {result.compared} compared outputs"
        return requirement.judge(result.mismatches == 0, reason, result.mismatches)

    return _from_artifact(ctx, requirement, ctx.evidence.differential, DIFFERENTIAL_FILE, judge)


def shadow(ctx: Context) -> GateResult:
    requirement = Requirement("shadow", "==", 0, COUNT, "shadow violations")
    name = ctx.variant.name

    def judge(report: Shadow) -> GateResult:
        result = report.variants.get(name)
        if result is None:
            return requirement.unmet(f"{SHADOW_FILE} has no entry for {name}")
        # The reader guarantees a request, every kind counted, and `clean` exactly when
        # none was violated.
        total = sum(result.violations.values())
        found = ", ".join(f"{kind} {n}" for kind, n in result.violations.items() if n)
        reason = f"{total} violation(s) in {report.requests} shadowed requests"
        reason += f": {found}" if found else ""
        return requirement.judge(total == 0, reason, total)

    return _from_artifact(ctx, requirement, ctx.evidence.shadow, SHADOW_FILE, judge)


def environment_stable(ctx: Context) -> GateResult:
    """The A/A comparison (baseline against itself) found no difference."""
    requirement = Requirement("environment_stable", "==", True, FLAG, "A/A stable")
    analysis = ctx.evidence.analysis
    if isinstance(analysis, Absent):
        return requirement.unmet(analysis.reason)
    environment = analysis.environment
    machines = len(environment.machines)
    if environment.stable:
        reason = f"A/A intervals include 0 on {machines} machine(s)"
        if environment.aa_significant:
            reason += f" after correction (raw: {', '.join(environment.aa_significant)})"
        return requirement.judge(True, reason, True)
    cells = ", ".join(environment.aa_significant) or "no cell named"
    return requirement.judge(False, f"A/A interval excluded 0 for: {cells}", False)


Gate = Callable[[Context], GateResult]

PROVENANCE_GATES: tuple[Gate, ...] = (analysis_current, evidence_chain, run_completed)
QUALITY_GATES: tuple[Gate, ...] = (qa_improvement, qa_significance)
PERFORMANCE_GATES: tuple[Gate, ...] = (qa_unchanged, promised_improvement)
NON_INFERIORITY_GATES: dict[str, Gate] = {
    LATENCY_MEAN: latency_non_inferiority,
    LATENCY_P95: latency_p95_non_inferiority,
}
SHARED_GATES: tuple[Gate, ...] = (
    power,
    mutation_score,
    property_coverage,
    security,
    smoke_tests,
    differential,
    shadow,
    environment_stable,
)
