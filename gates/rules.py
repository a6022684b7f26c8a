"""The gates and the decision: ``evaluate(registry, evidence) -> Verdict``, a pure function.

Every gate returns a :class:`~gates.verdict.GateResult` that records its
threshold, the observed value with its interval, and the reason, whether it
passed or not. Evidence that is missing or stale fails the gate that needs it;
nothing passes by default. Baseline figures are never written here: every
number comes from the measured baseline in the statistical analysis.

Methods: every interval gate reads the cluster-t interval of the analysis
(``analysis.calibrated``) and first checks that it is at the registry's level:
one alpha, one-sided, Bonferroni over the registry's family of gated bounds
(``contracts.family``), whatever subset of variants the analysis ran. Latency is
judged by non-inferiority on the upper bound at *every budget* (Wellek 2010,
ch. 1), so neither a lucky point value nor a regression hidden in the pooled
average can pass; a quality variant's QA/100k and recall must likewise hold at
every budget. Evidence from an exploratory profile or a reduced run is judged
and reported, and the decision is EXPLORATORY: it never promotes.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from analysis.monitor import bound_label, look_level
from contracts.family import (
    LOWER,
    POOLED,
    UPPER,
    design_target,
    gated_bounds,
    two_sided_level,
)
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
    PEAK_MEMORY,
    QA,
    RECALL,
    GateThresholds,
    primary_metric,
    thresholds_from_registry,
)
from gates import fmt, guarded
from gates.evidence import (
    Absent,
    AdvancedTesting,
    Comparison,
    Differential,
    Evidence,
    Interval,
    SequentialRun,
    Shadow,
    SmokeTests,
    StatisticalAnalysis,
)
from gates.guarded import ROUNDING
from gates.verdict import (
    COUNT,
    EXPLORATORY,
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

# The metrics of the timed trials, whose intervals a sequential run sets at its last look.
TIMED_METRICS = (LATENCY_MEAN, LATENCY_P95, PEAK_MEMORY)


@dataclass(frozen=True)
class Context:
    """What a gate may look at when judging one variant."""

    variant: Variant
    metric: str
    thresholds: GateThresholds
    evidence: Evidence
    config_sha256: str
    budgets: tuple[str, ...] = ()  # the registry's
    family_size: int = 1  # the registry's gated bounds (contracts.family)


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


def evaluate(
    registry: Registry, evidence: Evidence, judged: Sequence[str] | None = None
) -> Verdict:
    """Judge every candidate of the registry (or those named in ``judged``), then decide.

    The family of gated bounds is always the whole registry's; judging fewer candidates
    reports them but never promotes.
    """
    thresholds = thresholds_from_registry(registry)
    family_size = len(gated_bounds(registry, thresholds, registry.budgets))
    verdicts = tuple(
        judge_variant(
            Context(
                variant=variant,
                metric=primary_metric(variant),
                thresholds=thresholds,
                evidence=evidence,
                config_sha256=registry.config_sha256,
                budgets=registry.budgets,
                family_size=family_size,
            )
        )
        for variant in registry.candidates
        if judged is None or variant.name in judged
    )
    decision, chosen, reason = decide(verdicts)
    decision, chosen, reason = _exploratory(evidence, decision, chosen, reason)
    if (
        judged is not None
        and decision != EXPLORATORY
        and set(judged) != {v.name for v in registry.candidates}
    ):
        found = f"{chosen} would pass every gate" if decision == PROMOTE else "no variant passed"
        decision, chosen, reason = (
            EXPLORATORY,
            None,
            f"judging only {', '.join(judged)} reports, never promotes ({found})",
        )
    return Verdict(decision=decision, chosen=chosen, reason=reason, variants=verdicts)


def _exploratory(
    evidence: Evidence, decision: str, chosen: str | None, reason: str
) -> tuple[str, str | None, str]:
    """Evidence that may report but never promote: an exploratory profile, a reduced run."""
    analysis = evidence.analysis
    if isinstance(analysis, Absent):
        return decision, chosen, reason
    scope = analysis.scope
    why = None
    if scope.exploratory:
        why = f"the {scope.profile} profile is exploratory: it reports, never promotes"
    elif not scope.complete:
        missing = sorted(set(scope.registry_candidates) - set(scope.analysed))
        why = (
            f"a reduced run ({', '.join(missing)} not analysed) reports, never promotes;"
            " run every registry candidate"
        )
    if why is None:
        return decision, chosen, reason
    found = f"{chosen} would pass every gate" if decision == PROMOTE else "no variant passed"
    return EXPLORATORY, None, f"{why} ({found})"


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
        qa_interval=qa_row.interval if isinstance(qa_row, Comparison) else None,
        latency_interval=latency_row.interval if isinstance(latency_row, Comparison) else None,
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
    qa = f"{_gain(best.qa_gain)}{_interval_text(best.qa_interval)}"
    if len(passing) > 1:
        reason = f"{best.variant} passed every gate with the largest QA/100k gain ({qa})"
    else:  # nothing was chosen over another: the reason gives the evidence
        reason = f"{best.variant} passed every gate: QA/100k {qa}"
    if best.intent == "performance":
        reason += (
            f", mean latency {_gain(best.latency_change)}{_interval_text(best.latency_interval)}"
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


def _interval_text(interval: Interval | None) -> str:
    if interval is None or interval.low == interval.high:
        return ""
    return f", interval {fmt.interval(interval)}"


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
    """The pooled QA gain's lower bound is above 0 at the registry's one-sided level.

    A bound that does not clear 0 while the run had less than the registry's power at
    the QA target is *inconclusive*, never "no gain": the reason names the questions needed.
    """
    requirement = Requirement("qa_significance", ">", 0.0, RELATIVE_CHANGE, "QA/100k lower bound")
    row = _calibrated(ctx, QA)
    if isinstance(row, str):
        return requirement.unmet(row)
    assert row.interval is not None  # _calibrated returns rows with an interval only
    low = row.interval.low
    passed = low > 0
    reason = (
        f"lower bound {fmt.change(low)} {'>' if passed else '<='} 0 at one-sided"
        f" {fmt.level(_one_sided(row))}, family of {row.family_size}"
    )
    power = row.power
    if not passed and power is not None and power.achieved < ctx.thresholds.power - ROUNDING:
        questions = power.clusters_for_80
        needed = "" if questions is None else f": {questions} questions needed"
        reason = (
            f"inconclusive{needed} (power {fmt.share(power.achieved)} at"
            f" {fmt.change(power.target_effect)}, {row.n_units} question-budgets); {reason}"
        )
    return requirement.judge(passed, reason, low, row)


def _one_sided(row: Comparison) -> float:
    return (1.0 + row.confidence_level) / 2.0


def _calibrated(ctx: Context, metric: str, budget: str = POOLED) -> Comparison | str:
    """The row, if it has an interval at the registry's level; otherwise why not.

    Every interval gate goes through here: the analysis's alpha, power target, budgets and
    family must be the registry's, and the row's interval at ``1 - 2 alpha / m`` with ``m``
    the registry's family, whatever subset of variants the analysis ran.
    """
    analysis = _analysis(ctx)
    if isinstance(analysis, str):
        return analysis
    row = analysis.comparison(ctx.variant.name, metric, budget)
    label = f"{fmt.metric_label(metric)} at {budget}"
    if row is None:
        return f"no {label} comparison for {ctx.variant.name} in {ANALYSIS_FILE}"
    problem = _calibration_problem(ctx, analysis, row)
    if problem is not None:
        return problem
    if row.interval is None:
        return f"{label} has no interval"
    return row


def _calibration_problem(
    ctx: Context, analysis: StatisticalAnalysis, row: Comparison
) -> str | None:
    thresholds = ctx.thresholds
    level, design = _expected_level(ctx, analysis, row)
    target = design_target(thresholds, row.metric, row.budget)
    powered_at = target if row.power is None else row.power.target_effect
    checks = (
        (
            math.isclose(analysis.alpha, thresholds.alpha),
            f"the analysis used alpha {analysis.alpha:g}, the registry says {thresholds.alpha:g}",
        ),
        (
            math.isclose(analysis.power_target, thresholds.power),
            f"the analysis powered for {analysis.power_target:g}, the registry says"
            f" {thresholds.power:g}",
        ),
        (
            tuple(analysis.budgets) == tuple(ctx.budgets),
            f"the analysis covers budgets {', '.join(analysis.budgets) or 'none'}, the registry"
            f" lists {', '.join(ctx.budgets)}",
        ),
        (
            analysis.family_size == ctx.family_size and row.family_size == ctx.family_size,
            f"the family is {row.family_size} bounds in the analysis, {ctx.family_size} in the"
            " registry",
        ),
        (
            math.isclose(powered_at, target, abs_tol=1e-9),
            f"the analysis powered {fmt.metric_label(row.metric)} at {row.budget} for"
            f" {fmt.change(powered_at)}, the registry's design point is {fmt.change(target)}",
        ),
        (
            math.isclose(row.confidence_level, level, rel_tol=1e-9),
            f"interval not at the registry's level: it is at {fmt.level(row.confidence_level)},"
            f" the level is {fmt.level(level)}{design}",
        ),
    )
    return next((problem for ok, problem in checks if not ok), None)


def _expected_level(
    ctx: Context, analysis: StatisticalAnalysis, row: Comparison
) -> tuple[float, str]:
    """The level a row must be at: ``1 - 2 alpha / m``; for the timed rows of a sequential
    run, the repeated confidence interval's at the look it stopped, recomputed here from the
    registry's alpha and family and the run's information fractions."""
    thresholds = ctx.thresholds
    run = analysis.variants.get(row.variant)
    design = None if run is None else run.design
    if design is None or row.metric not in TIMED_METRICS:
        return two_sided_level(thresholds.alpha, ctx.family_size), ""
    bound = thresholds.alpha / max(1, ctx.family_size)
    level = look_level(bound, design.fractions, final=design.final)
    return level, f" (sequential: look {design.stopped_at_look} of {design.looks})"


def _guard(ctx: Context, name: str, metric: str, side: str, threshold: float) -> GateResult:
    """Every budget's bound holds: ``side`` "upper" at most ``threshold``, "lower" at least."""
    label = fmt.metric_label(metric)
    comparator = "<=" if side == "upper" else ">="
    requirement = Requirement(
        name, comparator, threshold, RELATIVE_CHANGE, f"worst {label} {side} bound"
    )
    rows = []
    for budget in ctx.budgets:
        row = _calibrated(ctx, metric, budget)
        if isinstance(row, str):
            return requirement.unmet(row)
        rows.append(row)
    if not rows:
        return requirement.unmet("the registry lists no budget")

    def bound(row: Comparison) -> float:
        assert row.interval is not None
        return row.interval.high if side == "upper" else row.interval.low

    worst = max(rows, key=bound) if side == "upper" else min(rows, key=bound)

    def holds(row: Comparison) -> bool:
        value = bound(row)
        return value <= threshold + ROUNDING if side == "upper" else value >= threshold - ROUNDING

    ok = holds(worst)
    shown = ", ".join(f"{r.budget} {fmt.change(bound(r))}" for r in rows)
    reason = (
        f"{label} {side} bounds {shown}: worst {worst.budget}"
        f" {'within' if ok else 'beyond'} {fmt.change(threshold)}"
    )
    if not ok:
        failing = [row for row in rows if not holds(row)]
        reason += guarded.why_beyond(
            failing, side, threshold, ctx.thresholds.power, _futility_of(ctx)
        )
    return requirement.judge(ok, reason, bound(worst), worst)


def qa_budget_guard(ctx: Context) -> GateResult:
    """No budget's QA/100k lower bound falls below minus the registry's ``qa_margin``."""
    margin = ctx.thresholds.qa_margin
    return _guard(ctx, "qa_budget_guard", QA, "lower", -margin)


def recall_guard(ctx: Context) -> GateResult:
    """Recall is non-inferior at every budget: lower bound at least minus ``recall_margin``.

    QA/100k rewards small packs (a 4k-token map with 3% recall outscores a full pack per
    token); recall keeps a quality variant from buying QA/100k by answering less.
    """
    margin = ctx.thresholds.recall_margin
    return _guard(ctx, "recall_guard", RECALL, "lower", -margin)


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
    analysis = ctx.evidence.analysis
    run = None if isinstance(analysis, Absent) else analysis.variants.get(ctx.variant.name)
    if run is not None and run.quality_error is not None:
        return requirement.judge(False, run.quality_error, row.relative_change, row)
    if not isinstance(analysis, Absent) and row.interval is not None:
        problem = _calibration_problem(ctx, analysis, row)
        if problem is not None:
            return requirement.judge(False, problem, row.relative_change, row)
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
    row = _calibrated(ctx, ctx.metric)
    if isinstance(row, str):
        return requirement.unmet(row)
    assert row.interval is not None
    high = row.interval.high
    passed = high < 0
    reason = (
        f"{label} {_gain(row.relative_change)}, upper bound {fmt.change(high)}"
        f" {'<' if passed else '>='} 0 at one-sided {fmt.level(_one_sided(row))}"
    )
    return requirement.judge(passed, reason, high, row)


# --- every variant -------------------------------------------------------------------


def _non_inferiority(name: str, metric: str) -> Callable[[Context], GateResult]:
    def gate(ctx: Context) -> GateResult:
        return _guard(ctx, name, metric, "upper", ctx.thresholds.performance_regression)

    gate.__doc__ = (
        f"Non-inferiority of {metric} at every budget: each upper bound, not the point,"
        " at most the regression margin."
    )
    return gate


latency_non_inferiority = _non_inferiority("latency_non_inferiority", LATENCY_MEAN)
latency_p95_non_inferiority = _non_inferiority("latency_p95_non_inferiority", LATENCY_P95)


def power(ctx: Context) -> GateResult:
    """Whether the run could decide its claims: every powered bound is either established
    (it cleared its threshold) or had the registry's design-stage power.

    The powered bounds are the latency guards at every budget (if the truth is no change,
    how often does the bound clear the margin?) and, for a quality variant, the pooled QA
    bound at the registry's QA target. Power is computed for the test the gate runs
    (one-sided at ``1 - alpha / m``, noncentral t on the clusters' degrees of freedom),
    never from the observed effect (Hoenig & Heisey 2001). An established bound needs no
    power: it was decided at the family's level. A bound that did not clear its threshold
    with less than the target power is *inconclusive*, and the reason names the units a
    decision needs; with the target power it is a negative result.
    """
    threshold = ctx.thresholds.power
    requirement = Requirement("power", ">=", threshold, FRACTION, "lowest design-stage power")
    futile = _stopped_for_futility(ctx)
    rows = _powered_rows(ctx, futile is not None)
    if isinstance(rows, str):
        return requirement.unmet(rows)
    if not rows and futile:
        return requirement.judge(True, futile, None)
    if not rows:
        return requirement.unmet("no powered bound to judge")
    undecided = [
        (row, row.power.achieved)
        for row, done in rows
        if not done and row.power is not None and row.power.achieved < threshold - ROUNDING
    ]
    weakest, achieved = min(
        ((row, row.power.achieved) for row, _ in rows if row.power is not None),
        key=lambda pair: pair[1],
    )
    if undecided:
        weakest, achieved = min(undecided, key=lambda pair: pair[1])
    assert weakest.power is not None
    reason = (
        f"lowest: {fmt.metric_label(weakest.metric)} at {weakest.budget},"
        f" {guarded.power_phrase(weakest, weakest.power)}"
    )
    if undecided:
        reason = (
            f"inconclusive{guarded.needed(weakest, weakest.power)}; {reason}, and its bound"
            " did not clear the threshold"
        )
    elif achieved < threshold - ROUNDING:
        reason += "; every bound below the target power was established anyway"
    if futile:
        reason += f"; the timed bounds: {futile}"
    return requirement.judge(not undecided, reason, achieved, weakest)


def _powered_rows(ctx: Context, futile: bool) -> list[tuple[Comparison, bool]] | str:
    """Each powered bound's row and whether it was decided (established, or a guard whose
    estimate is beyond its margin too: more units would not rescue it); or why a row is
    missing."""
    rows = []
    for metric, budget, decided in _powered_bounds(ctx):
        row = _calibrated(ctx, metric, budget)
        if isinstance(row, str):
            return row
        if row.power is None and metric == LATENCY_P95:
            continue  # a percentile interval: no t-based design power (see analysis.cells)
        if futile and metric in TIMED_METRICS:
            continue  # decided by the design's futility boundary, not short of units
        if row.power is None:
            return f"no power analysis for {fmt.metric_label(metric)}/{budget}"
        rows.append((row, decided(row)))
    return rows


def _futile_stop(ctx: Context) -> SequentialRun | None:
    """The variant's sequential design, if its run stopped at its futility boundary."""
    analysis = ctx.evidence.analysis
    run = None if isinstance(analysis, Absent) else analysis.variants.get(ctx.variant.name)
    design = None if run is None else run.design
    return design if design is not None and design.stopped_for_futility else None


def _stopped_for_futility(ctx: Context) -> str | None:
    """Why a sequential run's timed bounds need no power: it stopped at a futility
    boundary, which its planned maximum was sized with (``analysis.monitor``)."""
    design = _futile_stop(ctx)
    if design is None:
        return None
    return (
        f"decided by the sequential design's futility boundary at look"
        f" {design.stopped_at_look} of {design.looks} ({', '.join(design.futile_bounds)})"
    )


def _futility_of(ctx: Context) -> Callable[[Comparison], str | None]:
    """For a run stopped at its futility boundary: whether a timed row's bound was one of
    the futile ones, or undecided when the run stopped; None for any other row or run."""
    design = _futile_stop(ctx)

    def stopped(row: Comparison) -> str | None:
        if design is None or row.metric not in TIMED_METRICS:
            return None
        look = f"look {design.stopped_at_look} of {design.looks}"
        if bound_label(row.metric, row.budget) in design.futile_bounds:
            return f"futile at {look}"
        futile = ", ".join(design.futile_bounds)
        return f"undecided when the run stopped at {look} (futile: {futile})"

    return stopped


def _powered_bounds(ctx: Context) -> list[tuple[str, str, Callable[[Comparison], bool]]]:
    """(metric, budget, whether its bound was decided) of every powered bound."""
    thresholds = ctx.thresholds

    def below(limit: float) -> Callable[[Comparison], bool]:
        def decided(row: Comparison) -> bool:
            established = row.interval is not None and row.interval.high <= limit + ROUNDING
            return established or guarded.regressed(row, UPPER, limit)

        return decided

    def above(limit: float, strictly: bool = False) -> Callable[[Comparison], bool]:
        def decided(row: Comparison) -> bool:
            if strictly:  # the pooled QA gain: established or not; no margin to be beyond
                return row.interval is not None and row.interval.low > limit
            established = row.interval is not None and row.interval.low >= limit - ROUNDING
            return established or guarded.regressed(row, LOWER, limit)

        return decided

    bounds = [
        (metric, budget, below(thresholds.performance_regression))
        for metric in thresholds.non_inferiority_metrics
        for budget in ctx.budgets
    ]
    if ctx.variant.intent == "quality":
        bounds.append((QA, POOLED, above(0.0, strictly=True)))
        bounds += [(QA, b, above(-thresholds.qa_margin)) for b in ctx.budgets]
        bounds += [(RECALL, b, above(-thresholds.recall_margin)) for b in ctx.budgets]
    return bounds


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
QUALITY_GATES: tuple[Gate, ...] = (qa_improvement, qa_significance, qa_budget_guard, recall_guard)
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
