"""The evidence the gates judge: typed views of the artifacts in ``artifacts/``.

``gates/INPUTS.md`` is the contract the producers write to; this module is its
reader. Parsing is pure (``parse_*`` take a :class:`~contracts.documents.Fields`);
``gates.load`` reads the files and walks the chain of custody (``gates.custody``).

A missing file is not an error here: it becomes :class:`Absent` and fails the
gates that need it, with the reason. A file that exists but is malformed or of
an unknown schema raises :class:`~contracts.errors.EvidenceError` (exit 2), because
a decision must never rest on a document nobody can read.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

from contracts.documents import Fields
from contracts.errors import EvidenceError
from contracts.names import (
    ADVANCED_FILE,
    ANALYSIS_FILE,
    BANDIT_FILE,
    DIFFERENTIAL_FILE,
    SHADOW_FILE,
    SMOKE_FILE,
    TIMINGS_FILE,
)
from contracts.provenance import Provenance, parse_provenance
from contracts.runfacts import RunFacts, parse_run_facts
from gates.custody import Custody

POOLED = "pooled"
QUALITY_METRICS = ("qa_per_100k", "recall_mean")  # from quality.json, not the timed trials
SHADOW_VIOLATION_KINDS = (
    "crash",
    "over_budget",
    "nondeterministic",
    "invalid_manifest",
    "mismatch",
)
# The score is written as killed/total; agreement to float rounding only.
SCORE_ROUNDING = 1e-12
QUANTILE_NAMES = ("p5", "p25", "p50", "p75", "p95")


@dataclass(frozen=True)
class Absent:
    """An artifact that is not in the artifacts directory."""

    file: str

    @property
    def reason(self) -> str:
        return f"{self.file} is missing"


@dataclass(frozen=True)
class Interval:
    """A confidence interval for a relative change, at the level it was computed."""

    low: float
    high: float
    confidence_level: float


@dataclass(frozen=True)
class Power:
    """Post-hoc power of one comparison (see INPUTS.md for each field)."""

    target_effect: float
    achieved: float
    mde_80: float | None
    units_for_80: int | None
    underpowered: bool
    clusters_for_80: int | None = None  # questions (or question clusters) for the target


@dataclass(frozen=True)
class Comparison:
    """One paired comparison of a variant against the measured baseline.

    ``relative_change`` is ``variant_value / baseline_value - 1``: positive means
    higher, which is better for QA and worse for latency and memory.
    """

    variant: str
    budget: str
    metric: str
    n_units: int
    baseline_value: float
    variant_value: float
    relative_change: float | None
    confidence_level: float
    family_size: int
    interval_method: str
    interval: Interval | None
    p_value: float | None
    p_value_adjusted: float | None
    significant: bool | None
    cohen_dz: float | None
    effect_label: str | None
    power: Power | None
    cluster_interval: Interval | None  # repositories as clusters: "repositories like them"
    n_clusters: int | None  # of the repository-level interval
    n_gated_clusters: int | None = None  # questions behind the gated interval


@dataclass(frozen=True)
class Scope:
    """What the analysis covers: the profile, and whether every registry candidate."""

    profile: str
    exploratory: bool
    analysed: tuple[str, ...]
    registry_candidates: tuple[str, ...]
    complete: bool
    family: tuple[str, ...]  # the gated bounds (contracts.family labels)


@dataclass(frozen=True)
class Environment:
    """The A/A check: the baseline against itself must show no difference."""

    stable: bool
    aa_significant: tuple[str, ...]
    machines: tuple[str, ...]


@dataclass(frozen=True)
class VariantRun:
    """Whether a variant's benchmark run completed."""

    intent: str
    n_trials: int
    n_failed: int
    error: str | None
    quality_error: str | None = None  # the quality stage found its packs are not the baseline's
    resumed: str | None = None  # the run was interrupted and resumed: how (benchmarks.resume)
    design: SequentialRun | None = None  # None: the fixed design


@dataclass(frozen=True)
class SequentialRun:
    """A run in looks (issue #14): its timed intervals are at the level of its last look."""

    looks: int
    stopped_at_look: int
    fractions: tuple[float, ...]
    measured_units: int
    planned_units: int
    summary: str
    futile_bounds: tuple[str, ...]  # the analysis's own finding at the last look

    @property
    def final(self) -> bool:
        return self.stopped_at_look == self.looks

    @property
    def stopped_for_futility(self) -> bool:
        return not self.final and bool(self.futile_bounds)


@dataclass(frozen=True)
class Quantiles:
    p5: float
    p25: float
    p50: float
    p75: float
    p95: float


@dataclass(frozen=True)
class BudgetDistribution:
    """What the report plots for one variant at one budget; any part may be unknown."""

    latency_ms: Quantiles | None
    baseline_latency_ms: Quantiles | None
    qa_per_100k: float | None
    baseline_qa_per_100k: float | None


@dataclass(frozen=True)
class StatisticalAnalysis:
    """``statistical_analysis.json``: the reference point of a decision."""

    FILE: ClassVar[str] = ANALYSIS_FILE

    provenance: Provenance
    seed: int
    n_resamples: int
    alpha: float  # one-sided, family-wise
    confidence_level: float  # two-sided level of every interval: 1 - 2 alpha / m
    family_size: int
    power_target: float
    scope: Scope
    quality_problem: str | None  # why the analysis has no QA rows
    budgets: tuple[str, ...]
    environment: Environment
    variants: Mapping[str, VariantRun]
    comparisons: tuple[Comparison, ...]
    distributions: Mapping[str, Mapping[str, BudgetDistribution]]

    def comparison(self, variant: str, metric: str, budget: str = POOLED) -> Comparison | None:
        for row in self.comparisons:
            if (row.variant, row.metric, row.budget) == (variant, metric, budget):
                return row
        return None


@dataclass(frozen=True)
class AdvancedTesting:
    """``advanced_testing.json``: mutation testing and property-based coverage."""

    FILE: ClassVar[str] = ADVANCED_FILE

    provenance: Provenance
    mutation_score: float
    property_coverage: float
    mutants_killed: int
    mutants_survived: int
    mutants_total: int


@dataclass(frozen=True)
class DifferentialResult:
    clean: bool
    mismatches: int
    compared: int


@dataclass(frozen=True)
class Differential:
    """``differential.json``: each variant's output compared with the baseline's."""

    FILE: ClassVar[str] = DIFFERENTIAL_FILE

    provenance: Provenance
    variants: Mapping[str, DifferentialResult]


@dataclass(frozen=True)
class ShadowResult:
    clean: bool
    violations: Mapping[str, int]


@dataclass(frozen=True)
class Shadow:
    """``shadow.json``: each variant run beside the baseline on replayed requests."""

    FILE: ClassVar[str] = SHADOW_FILE

    provenance: Provenance
    requests: int
    variants: Mapping[str, ShadowResult]


@dataclass(frozen=True)
class SecurityFinding:
    test_id: str
    severity: str
    filename: str
    line_number: int
    text: str


@dataclass(frozen=True)
class SecurityScan:
    """``bandit.json`` (bandit's own format) plus its provenance sidecar.

    ``provenance`` is None when ``bandit.provenance.json`` is missing or was
    stamped for a different ``bandit.json``; ``provenance_problem`` says which.
    """

    FILE: ClassVar[str] = BANDIT_FILE

    findings: tuple[SecurityFinding, ...]
    scan_errors: int
    provenance: Provenance | None
    provenance_problem: str | None


@dataclass(frozen=True)
class SmokeTests:
    """``smoke_tests.json``: the pytest smoke run's counts."""

    FILE: ClassVar[str] = SMOKE_FILE

    provenance: Provenance
    passed: int
    failed: int
    errors: int
    exitstatus: int


@dataclass(frozen=True)
class Timings:
    """``timings.json`` (optional): wall-clock seconds per pipeline stage, for the report."""

    FILE: ClassVar[str] = TIMINGS_FILE

    provenance: Provenance
    stages: Mapping[str, float]
    run: RunFacts | None = None  # absent from timings.json written before it was recorded


@dataclass(frozen=True)
class Evidence:
    """Everything one decision rests on. ``checkout_git_sha`` is None outside a git checkout."""

    analysis: StatisticalAnalysis | Absent
    advanced_testing: AdvancedTesting | Absent
    differential: Differential | Absent
    shadow: Shadow | Absent
    security: SecurityScan | Absent
    smoke: SmokeTests | Absent
    timings: Timings | None
    checkout_git_sha: str | None
    custody: Custody


# --- parsing (pure) ----------------------------------------------------------


def parse_analysis(fields: Fields) -> StatisticalAnalysis:
    environment = fields.child("environment")
    scope = fields.child("scope")
    comparisons = tuple(_parse_comparison(row) for row in fields.items("comparisons"))
    _refuse_duplicates(comparisons, fields.where)
    distributions = (
        {
            variant: {budget: _parse_distribution(cell) for budget, cell in table.entries()}
            for variant, table in fields.children("distributions")
        }
        if "distributions" in fields
        else {}
    )
    variants = {name: _parse_run(run) for name, run in fields.children("variants")}
    _check_rows_against_runs(comparisons, variants, fields)
    return StatisticalAnalysis(
        provenance=parse_provenance(fields),
        seed=fields.count("seed"),
        n_resamples=fields.count("n_resamples", minimum=1),
        alpha=_level(fields, "alpha"),
        confidence_level=_level(fields, "confidence_level"),
        family_size=fields.count("family_size", minimum=1),
        power_target=_level(fields, "power_target"),
        scope=Scope(
            profile=scope.text("profile"),
            exploratory=scope.flag("exploratory"),
            analysed=scope.texts("analysed"),
            registry_candidates=scope.texts("registry_candidates"),
            complete=scope.flag("complete"),
            family=scope.texts("family"),
        ),
        quality_problem=fields.child("quality").maybe_text("problem"),
        budgets=fields.texts("budgets"),
        environment=Environment(
            stable=environment.flag("stable"),
            aa_significant=environment.texts("aa_significant"),
            machines=environment.texts("machines"),
        ),
        variants=variants,
        comparisons=comparisons,
        distributions=distributions,
    )


def _level(fields: Fields, key: str) -> float:
    """A confidence level or an alpha: strictly between 0 and 1."""
    value = fields.number(key)
    if not 0.0 < value < 1.0:
        raise fields.error(key, f"must be strictly between 0 and 1, got {value}")
    return value


def _parse_run(run: Fields) -> VariantRun:
    n_trials = run.count("n_trials")
    n_failed = run.count("n_failed")
    if n_failed > n_trials:
        raise run.error("n_failed", f"is {n_failed}, above the {n_trials} trials")
    return VariantRun(
        intent=run.text("intent"),
        n_trials=n_trials,
        n_failed=n_failed,
        error=run.maybe_text("error"),
        quality_error=run.maybe_text("quality_error"),
        resumed=run.maybe_text("resumed"),
        design=_parse_design(run.maybe_child("design")) if "design" in run else None,
    )


def _parse_design(design: Fields | None) -> SequentialRun | None:
    if design is None:
        return None
    if design.text("kind") != "sequential":
        raise design.error("kind", "must be 'sequential' (a fixed run has no design record)")
    looks = design.count("looks", minimum=1)
    stopped = design.count("stopped_at_look", minimum=1)
    raw = design.raw.get("fractions")
    fractions = tuple(raw) if isinstance(raw, list) else ()
    valid = all(isinstance(t, float | int) and not isinstance(t, bool) for t in fractions)
    if not valid or len(fractions) != stopped or stopped > looks:
        raise design.error(
            "fractions", f"must hold one information fraction per look taken ({stopped})"
        )
    if any(not 0.0 < t <= 1.0 for t in fractions) or list(fractions) != sorted(set(fractions)):
        raise design.error("fractions", "must increase strictly within (0, 1]")
    measured, planned = design.count("measured_units"), design.count("planned_units", minimum=1)
    _check_fractions(design, stopped == looks, fractions[-1], measured, planned)
    return SequentialRun(
        looks=looks,
        stopped_at_look=stopped,
        fractions=tuple(float(t) for t in fractions),
        measured_units=measured,
        planned_units=planned,
        summary=design.text("summary"),
        futile_bounds=design.texts("futile_bounds"),
    )


def _check_fractions(design: Fields, final: bool, last: float, measured: int, planned: int) -> None:
    """The level the gates recompute rests on the fractions: they must be the run's own.
    The last one is the units measured over the units planned, and a run that took its
    last look measured every planned unit."""
    if measured > planned:
        raise design.error("measured_units", f"is {measured}, more than the {planned} planned")
    if abs(last - measured / planned) > 1e-9:
        raise design.error(
            "fractions",
            f"ends at {last:g}, not at the {measured} of {planned} units measured",
        )
    if final and measured != planned:
        raise design.error(
            "measured_units", f"is {measured}: a run that took its last look measured all {planned}"
        )


def _check_rows_against_runs(
    comparisons: tuple[Comparison, ...], runs: Mapping[str, VariantRun], fields: Fields
) -> None:
    """Every row belongs to an analysed run, and a timed row pairs no more units than the
    run had trials (QA and recall rows count the quality stage's questions instead)."""
    for row in comparisons:
        run = runs.get(row.variant)
        if run is None:
            raise EvidenceError(f"{fields.where}: a comparison of {row.variant}, not in `variants`")
        if row.metric not in QUALITY_METRICS and row.n_units > run.n_trials:
            raise EvidenceError(
                f"{fields.where}: {row.variant}/{row.metric}/{row.budget} pairs {row.n_units}"
                f" units, but the run has {run.n_trials} trials"
            )


def _parse_comparison(row: Fields) -> Comparison:
    low, high = row.maybe_number("ci_low"), row.maybe_number("ci_high")
    level = _level(row, "confidence_level")
    power = row.maybe_child("power")
    cluster = row.maybe_child("cluster")
    return Comparison(
        variant=row.text("variant"),
        budget=row.text("budget"),
        metric=row.text("metric"),
        n_units=row.count("n_units", minimum=1),
        baseline_value=row.number("baseline_value"),
        variant_value=row.number("variant_value"),
        relative_change=row.maybe_number("relative_change"),
        confidence_level=level,
        family_size=row.count("family_size", minimum=1),
        interval_method=row.text("interval_method"),
        interval=_interval(row, low, high, level),
        p_value=row.maybe_fraction("p_value"),
        p_value_adjusted=row.maybe_fraction("p_value_adjusted"),
        significant=None if row.raw.get("significant") is None else row.flag("significant"),
        cohen_dz=row.maybe_number("cohen_dz"),
        effect_label=row.maybe_text("effect_label"),
        power=None if power is None else _parse_power(power),
        cluster_interval=None
        if cluster is None
        else _interval(cluster, cluster.number("ci_low"), cluster.number("ci_high"), level),
        n_clusters=None if cluster is None else cluster.count("n_clusters", minimum=1),
        n_gated_clusters=row.maybe_integer("n_clusters"),
    )


def _interval(row: Fields, low: float | None, high: float | None, level: float) -> Interval | None:
    if low is None or high is None:
        if low is not high:
            raise row.error("ci_low", "and `ci_high` must both be numbers or both be null")
        return None
    if low > high:
        raise row.error("ci_low", f"{low} is above `ci_high` {high}")
    return Interval(low=low, high=high, confidence_level=level)


def _parse_power(power: Fields) -> Power:
    return Power(
        target_effect=power.number("target_effect"),
        achieved=power.fraction("achieved"),
        mde_80=power.maybe_number("mde_80"),
        units_for_80=None if power.raw.get("units_for_80") is None else power.count("units_for_80"),
        underpowered=power.flag("underpowered"),
        clusters_for_80=power.maybe_integer("clusters_for_80")
        if "clusters_for_80" in power
        else None,
    )


def _refuse_duplicates(comparisons: tuple[Comparison, ...], where: str) -> None:
    seen: set[tuple[str, str, str]] = set()
    for row in comparisons:
        key = (row.variant, row.metric, row.budget)
        if key in seen:
            raise EvidenceError(f"{where}: two comparisons for {'/'.join(key)}")
        seen.add(key)


def _parse_distribution(cell: Fields) -> BudgetDistribution:
    def quantiles(key: str) -> Quantiles | None:
        table = cell.maybe_child(key) if key in cell else None
        if table is None:
            return None
        return Quantiles(*(table.number(name) for name in QUANTILE_NAMES))

    def number(key: str) -> float | None:
        return cell.maybe_number(key) if key in cell else None

    return BudgetDistribution(
        latency_ms=quantiles("latency_ms_quantiles"),
        baseline_latency_ms=quantiles("baseline_latency_ms_quantiles"),
        qa_per_100k=number("qa_per_100k"),
        baseline_qa_per_100k=number("baseline_qa_per_100k"),
    )


def parse_advanced_testing(fields: Fields) -> AdvancedTesting:
    """Fractions in [0, 1]; ``killed + survived == total > 0`` and the score is killed/total."""
    mutants = fields.child("mutants")
    killed, survived = mutants.count("killed"), mutants.count("survived")
    total = mutants.count("total", minimum=1)
    if killed + survived != total:
        raise mutants.error("total", f"is {total}, but killed + survived is {killed + survived}")
    score = fields.fraction("mutation_score")
    if abs(score - killed / total) > SCORE_ROUNDING:
        raise fields.error(
            "mutation_score", f"is {score}, but killed/total is {killed / total:.6g}"
        )
    return AdvancedTesting(
        provenance=parse_provenance(fields),
        mutation_score=score,
        property_coverage=fields.fraction("property_coverage"),
        mutants_killed=killed,
        mutants_survived=survived,
        mutants_total=total,
    )


def parse_differential(fields: Fields) -> Differential:
    """At least one case compared per variant; clean exactly when nothing mismatched."""
    variants = {}
    for name, entry in fields.children("variants"):
        compared = entry.count("compared", minimum=1)
        mismatches = entry.count("mismatches")
        if mismatches > compared:
            raise entry.error("mismatches", f"is {mismatches}, above the {compared} compared")
        clean = entry.flag("clean")
        if clean != (mismatches == 0):
            raise entry.error("clean", f"is {str(clean).lower()} with {mismatches} mismatches")
        variants[name] = DifferentialResult(clean=clean, mismatches=mismatches, compared=compared)
    return Differential(provenance=parse_provenance(fields), variants=variants)


def parse_shadow(fields: Fields) -> Shadow:
    """At least one request; every violation kind counted; clean exactly when all are 0."""
    variants = {}
    for name, entry in fields.children("variants"):
        table = entry.child("violations")
        missing = [kind for kind in SHADOW_VIOLATION_KINDS if kind not in table.raw]
        if missing:
            raise table.error(missing[0], "is missing (every violation kind must be counted)")
        violations = {kind: table.count(kind) for kind in table.raw}
        clean = entry.flag("clean")
        if clean != (sum(violations.values()) == 0):
            raise entry.error("clean", f"is {str(clean).lower()} with violations {violations}")
        variants[name] = ShadowResult(clean=clean, violations=violations)
    return Shadow(
        provenance=parse_provenance(fields),
        requests=fields.count("requests", minimum=1),
        variants=variants,
    )


def parse_smoke(fields: Fields) -> SmokeTests:
    return SmokeTests(
        provenance=parse_provenance(fields),
        passed=fields.count("passed"),
        failed=fields.count("failed"),
        errors=fields.count("errors"),
        exitstatus=fields.integer("exitstatus"),
    )


def parse_timings(fields: Fields) -> Timings:
    run = fields.maybe_child("run") if "run" in fields else None
    return Timings(
        provenance=parse_provenance(fields),
        stages=fields.numbers("stages"),
        run=None if run is None else parse_run_facts(run),
    )


def parse_bandit(
    report: Fields, sidecar: Fields | None, report_sha256: str, sidecar_name: str
) -> SecurityScan:
    """Bandit's ``-f json`` output: ``results[].issue_severity`` is LOW, MEDIUM or HIGH."""
    findings = tuple(
        SecurityFinding(
            test_id=item.text("test_id"),
            severity=item.text("issue_severity").upper(),
            filename=item.text("filename"),
            line_number=item.integer("line_number"),
            text=item.text("issue_text"),
        )
        for item in report.items("results")
    )
    scan_errors = len(list(report.items("errors"))) if "errors" in report else 0
    if sidecar is None:
        return SecurityScan(findings, scan_errors, None, f"{sidecar_name} is missing")
    if sidecar.text("subject_sha256") != report_sha256:
        problem = f"{sidecar_name} was stamped for a different {BANDIT_FILE}"
        return SecurityScan(findings, scan_errors, None, problem)
    return SecurityScan(findings, scan_errors, parse_provenance(sidecar), None)
