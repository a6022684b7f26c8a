"""The T1-T2 analysis on hand-built benchmark artifacts with known effects.

Runs are built by :mod:`analysis.fixtures` (small: 4 repositories x 3
questions x 3 budgets, 1000 resamples) for a registry with one candidate of
each kind: P1 (latency), M1 (memory), Q1 (quality).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pytest

from analysis.artifacts import (
    AA_FILE,
    BenchmarkInputError,
    CrossMachineError,
    arm_trials,
    load_runs,
    pair_arms,
)
from analysis.batch import MeanRatio, QuantileRatio, RatioOfSums
from analysis.compare import Family, compare
from analysis.documents import encode, statistical_analysis_document
from analysis.fixtures import Effect, benchmark_run, fixture_registry, write_run
from analysis.pipeline_analysis import (
    LATENCY_MEAN,
    LATENCY_P95,
    PEAK_MEMORY,
    POOLED,
    QA,
    AnalysisResult,
    Row,
    Settings,
    analyse,
)
from analysis.risk import HIGH, LOW, MEDIUM, Coverage, RiskLimits, assess
from contracts.documents import parse_document
from contracts.names import KINDS
from contracts.provenance import Provenance
from gates.evidence import parse_analysis

REGISTRY = fixture_registry()
CANDIDATES = ("P1", "M1", "Q1")
SETTINGS = Settings(
    alpha=0.05,
    correction="bonferroni",
    n_resamples=1000,
    seed=7,
    target_power=0.80,
    qa_target=0.13,
    performance_margin=0.10,
    confidence_level=0.95,
)
EFFECTS = {
    "P1": Effect(latency=-0.3),
    "M1": Effect(memory=-0.2),
    "Q1": Effect(qa=0.4, qa_noise=0.05),
}
PROVENANCE = Provenance("unknown", REGISTRY.config_sha256, 0.0)


def write_runs(
    directory: Path,
    effects: Mapping[str, Effect | None] = EFFECTS,
    *,
    aa: Effect | None = None,
    hosts: Mapping[str, str] | None = None,
    write_aa: bool = True,
) -> Path:
    """The A/A run and one run per variant in ``effects`` (None: no artifact)."""
    directory.mkdir(parents=True, exist_ok=True)
    hosts = hosts or {}
    baseline = REGISTRY.baseline.name
    if write_aa:
        run = benchmark_run(REGISTRY, baseline, effect=aa, host=hosts.get(baseline, "a" * 16))
        write_run(directory, REGISTRY, run)
    for seed, (name, effect) in enumerate(effects.items(), start=1):
        if effect is not None:
            run = benchmark_run(
                REGISTRY, name, effect=effect, seed=seed, host=hosts.get(name, "a" * 16)
            )
            write_run(directory, REGISTRY, run)
    return directory


def analyse_dir(
    directory: Path, candidates: tuple[str, ...] = CANDIDATES, settings: Settings = SETTINGS
) -> AnalysisResult:
    return analyse(load_runs(directory, REGISTRY, candidates), REGISTRY, settings)


def find(result: AnalysisResult, variant: str, metric: str, budget: str = POOLED) -> Row:
    return next(
        row
        for row in result.rows
        if (row.variant, row.metric, row.budget) == (variant, metric, budget)
    )


@pytest.fixture(scope="module")
def standard(tmp_path_factory: pytest.TempPathFactory) -> AnalysisResult:
    return analyse_dir(write_runs(tmp_path_factory.mktemp("runs")))


def test_a_clear_qa_gain_is_detected(standard: AnalysisResult) -> None:
    row = find(standard, "Q1", QA)
    assert row.relative_change == pytest.approx(0.4, abs=0.03)
    assert row.unit is not None
    assert row.unit.low > 0.3
    assert row.unit.method == "BCa"
    assert row.significant is True
    assert row.p_value_adjusted is not None
    assert row.effect is not None
    assert row.effect.label == "large"
    assert row.power is not None
    assert not row.power.underpowered
    assert row.unit.resampling == "question"
    assert row.unit.n_resampled == 12
    assert row.cluster is not None
    assert row.cluster.n_resampled == 4
    assert row.n_units == 36


def test_a_null_variant_is_not_significant(standard: AnalysisResult) -> None:
    latency = find(standard, "Q1", LATENCY_P95)
    assert latency.unit is not None
    assert latency.unit.low < 0 < latency.unit.high
    assert latency.significant is False
    qa = find(standard, "P1", QA)  # byte-identical packs: the interval is the point 0
    assert qa.unit is not None
    assert qa.unit.method == "degenerate"
    assert (qa.unit.low, qa.unit.high, qa.relative_change) == (0.0, 0.0, 0.0)
    assert qa.unit.p_value == 1.0
    assert qa.significant is False


def test_every_row_is_at_the_family_level(standard: AnalysisResult) -> None:
    assert {row.family_size for row in standard.rows} == {3}
    assert all(row.confidence_level == pytest.approx(1 - 0.05 / 3) for row in standard.rows)
    cells = {(row.variant, row.metric, row.budget) for row in standard.rows}
    metrics = (QA, LATENCY_MEAN, LATENCY_P95, PEAK_MEMORY)
    budgets = ("50k", "120k", "200k", POOLED)
    for variant in ("baseline", *CANDIDATES):
        assert {(variant, m, b) for m in metrics for b in budgets} <= cells


def test_holm_adjusts_p_values_but_not_intervals(tmp_path: Path, standard: AnalysisResult) -> None:
    holm = analyse_dir(
        write_runs(tmp_path), settings=dataclasses.replace(SETTINGS, correction="holm")
    )
    for by_holm, by_bonferroni in zip(holm.rows, standard.rows, strict=True):
        assert (by_holm.variant, by_holm.metric, by_holm.budget) == (
            by_bonferroni.variant,
            by_bonferroni.metric,
            by_bonferroni.budget,
        )
        assert by_holm.unit == by_bonferroni.unit
        if by_holm.p_value_adjusted is not None and by_bonferroni.p_value_adjusted is not None:
            assert by_holm.p_value_adjusted <= by_bonferroni.p_value_adjusted + 1e-12


@pytest.mark.filterwarnings("ignore::analysis.errors.DegenerateIntervalWarning")
def test_rows_equal_the_engines_family_comparison(tmp_path: Path) -> None:
    """Same units, same seed: per-variant rows reproduce compare()'s shared draw."""
    result = analyse_dir(write_runs(tmp_path))
    runs = load_runs(tmp_path, REGISTRY, CANDIDATES)
    families = []
    for metric in (QA, LATENCY_MEAN, LATENCY_P95):
        comparisons = []
        for name in CANDIDATES:
            artifact = runs.candidates[name].artifact
            assert artifact is not None
            paired = pair_arms(
                arm_trials(artifact, name, "baseline"),
                arm_trials(artifact, name, name),
                timing=True,
            )
            cell = paired.select(paired.budgets == 120_000)
            b, v = cell.baseline, cell.variant
            comparisons.append(
                RatioOfSums(v.qa_score, v.pack_tokens, b.qa_score, b.pack_tokens)
                if metric == QA
                else MeanRatio(v.latency_ms, b.latency_ms)
                if metric == LATENCY_MEAN
                else QuantileRatio(v.latency_ms, b.latency_ms)
            )
        families.append(Family(metric, comparisons, 0.13 if metric == QA else 0.10))
    engine = compare(families, n_resamples=1000, seed=np.random.SeedSequence([7, 1, 0]))
    for family in engine:
        for name, expected in zip(CANDIDATES, family.comparisons, strict=True):
            row = find(result, name, family.name, "120k")
            assert row.unit is not None
            assert (row.unit.low, row.unit.high) == (expected.ci_low, expected.ci_high)
            assert row.p_value_adjusted == pytest.approx(expected.adjusted_p_value)
            assert row.power is not None
            assert row.power.achieved == pytest.approx(expected.power.power)


@pytest.mark.parametrize(
    ("aa", "stable"),
    [(Effect(), True), (Effect(latency=0.3), False)],
    ids=["null-aa", "biased-aa"],
)
def test_aa_stability(tmp_path: Path, aa: Effect, stable: bool) -> None:
    result = analyse_dir(write_runs(tmp_path, {"P1": EFFECTS["P1"]}, aa=aa), ("P1",))
    environment = result.environment
    assert environment.stable is stable
    assert find(result, "baseline", QA).unit is not None
    if stable:
        assert environment.reason is None
    else:
        assert "latency_mean/pooled" in environment.aa_significant
        assert environment.reason is not None
        assert "latency_mean/pooled" in environment.reason


@pytest.mark.parametrize(("offset", "stable"), [(-0.003, True), (-0.05, False)])
def test_aa_tolerance_separates_a_process_offset_from_an_unstable_machine(
    tmp_path: Path, offset: float, stable: bool
) -> None:
    """Two identical workers differ by ~0.3% in peak RSS, reproducibly: listed, not decisive."""
    aa = Effect(memory=offset)
    result = analyse_dir(write_runs(tmp_path, {"P1": EFFECTS["P1"]}, aa=aa), ("P1",))
    assert "peak_memory_mean/pooled" in result.environment.aa_significant
    assert result.environment.stable is stable


def test_a_missing_aa_run_makes_the_environment_unstable(tmp_path: Path) -> None:
    result = analyse_dir(write_runs(tmp_path, EFFECTS, write_aa=False))
    assert result.environment.stable is False
    assert result.environment.reason is not None
    assert AA_FILE in result.environment.reason
    assert result.environment.aa_significant == (result.environment.reason,)
    assert find(result, "Q1", QA).significant is True  # the candidates are still analysed


def test_a_missing_variant_is_its_error_and_the_others_are_analysed(tmp_path: Path) -> None:
    directory = write_runs(tmp_path, {**EFFECTS, "M1": None})
    (directory / "M1_benchmark.jsonl").write_text('{"record": "run"}\n{"record": "trial"}\n')
    result = analyse_dir(directory)
    runs = {run.name: run for run in result.variants}
    assert runs["M1"].error is not None
    assert "interrupted or crashed after 1 trial" in runs["M1"].error
    assert runs["P1"].error is None
    assert runs["Q1"].error is None
    assert not [row for row in result.rows if row.variant == "M1"]
    # The crashed variant stays in the family: the others' intervals do not narrow.
    assert find(result, "Q1", QA).family_size == 3


def test_failed_trials_are_counted_and_their_units_left_out(tmp_path: Path) -> None:
    failed = ("repo0|q0|50000", "repo1|q2|200000")
    result = analyse_dir(
        write_runs(tmp_path, {"P1": Effect(latency=-0.3, failed_units=failed)}), ("P1",)
    )
    run = next(run for run in result.variants if run.name == "P1")
    assert (run.n_units, run.n_trials, run.n_failed, run.n_paired) == (36, 72, 2, 34)
    assert run.n_failed_by_arm == {"baseline": 0, "P1": 2}
    assert run.error is None
    assert find(result, "P1", LATENCY_MEAN).n_units == 34
    assert find(result, "P1", LATENCY_MEAN, "50k").n_units == 11


def test_a_run_where_every_trial_failed_is_its_error(tmp_path: Path) -> None:
    artifact = benchmark_run(REGISTRY, "P1")
    every = tuple(unit.id for unit in artifact.units)
    result = analyse_dir(write_runs(tmp_path, {"P1": Effect(failed_units=every)}), ("P1",))
    run = next(run for run in result.variants if run.name == "P1")
    assert run.error is not None
    assert "no unit where both arms succeeded" in run.error
    assert "RuntimeError: fixture failure" in run.error


def test_runs_from_different_machines_merge(tmp_path: Path) -> None:
    hosts = {"baseline": "a" * 16, "P1": "b" * 16, "Q1": "c" * 16}
    result = analyse_dir(write_runs(tmp_path, hosts=hosts))
    environment = result.environment
    assert len(environment.machines) == 3
    assert environment.aa_machine == "linux-x86_64-2cpu-aaaaaa"
    assert environment.without_aa == ("linux-x86_64-2cpu-bbbbbb", "linux-x86_64-2cpu-cccccc")
    assert all(run.error is None for run in result.variants)
    assert find(result, "P1", LATENCY_MEAN).significant is True
    limits = RiskLimits(0.13, 0.10, 0.80, 0.70)
    risk = {
        r.variant: r
        for r in assess(
            result,
            {"P1": "performance", "M1": "performance", "Q1": "quality"},
            limits,
            Coverage(0.9, 0.9, None),
        ).variants
    }
    stability = {r.name: r for r in risk["P1"].risks}["stability"]
    assert stability.score == 0.5
    assert "no A/A run on linux-x86_64-2cpu-bbbbbb" in stability.reason


def test_latency_is_never_paired_across_machines(tmp_path: Path) -> None:
    hosts = {"baseline": "a" * 16, "P1": "b" * 16}
    directory = write_runs(tmp_path, {"P1": EFFECTS["P1"]}, hosts=hosts)
    pair_with_aa = dataclasses.replace(SETTINGS, pair_with="aa")
    with pytest.raises(CrossMachineError, match="refusing to pair latency of P1"):
        analyse_dir(directory, ("P1",), pair_with_aa)
    runs = load_runs(directory, REGISTRY, ("P1",))
    assert runs.aa.artifact is not None
    assert runs.candidates["P1"].artifact is not None
    # QA is deterministic: pairing it across machines is allowed.
    paired = pair_arms(
        arm_trials(runs.aa.artifact, "aa", "baseline"),
        arm_trials(runs.candidates["P1"].artifact, "p1", "P1"),
        timing=False,
    )
    assert paired.n_paired == 36


def test_an_artifact_whose_arms_ran_on_two_machines_is_refused(tmp_path: Path) -> None:
    write_runs(tmp_path, {})
    merged = benchmark_run(REGISTRY, "P1", arm_hosts={"P1": "f" * 16})
    write_run(tmp_path, REGISTRY, merged)
    with pytest.raises(CrossMachineError, match="machine linux-x86_64-2cpu-ffffff"):
        analyse_dir(tmp_path, ("P1",))


def test_pairing_with_the_aa_run_on_one_machine(tmp_path: Path) -> None:
    result = analyse_dir(
        write_runs(tmp_path, {"P1": EFFECTS["P1"]}),
        ("P1",),
        dataclasses.replace(SETTINGS, pair_with="aa"),
    )
    assert find(result, "P1", LATENCY_MEAN).relative_change == pytest.approx(-0.3, abs=0.02)


def test_runs_with_other_units_are_refused(tmp_path: Path) -> None:
    write_runs(tmp_path, {})
    write_run(tmp_path, REGISTRY, benchmark_run(REGISTRY, "P1", questions=2))
    with pytest.raises(BenchmarkInputError, match="24 units do not match the 36"):
        load_runs(tmp_path, REGISTRY, ("P1",))


def test_distributions_give_latency_quantiles_in_ms(standard: AnalysisResult) -> None:
    cells = standard.distributions["P1"]
    assert set(cells) == {"50k", "120k", "200k"}
    cell = cells["50k"]
    latency, baseline = dict(cell.latency_ms), dict(cell.baseline_latency_ms)
    assert list(latency) == ["p5", "p25", "p50", "p75", "p95"]
    assert 50.0 < baseline["p50"] < 2000.0  # milliseconds, not nanoseconds
    assert latency["p50"] == pytest.approx(0.7 * baseline["p50"], rel=0.1)
    assert cell.qa_per_100k == cell.baseline_qa_per_100k
    assert "baseline" not in standard.distributions


def test_the_document_is_read_by_the_gates(standard: AnalysisResult) -> None:
    payload = encode(statistical_analysis_document(standard, PROVENANCE))
    fields = parse_document(
        payload, "statistical_analysis.json", KINDS["statistical_analysis.json"]
    )
    analysis = parse_analysis(fields)
    assert analysis.n_resamples == 1000
    assert analysis.correction.method == "bonferroni"
    assert set(analysis.variants) == {"baseline", *CANDIDATES}
    assert len(analysis.comparisons) == len(standard.rows)
    row = analysis.comparison("Q1", QA)
    assert row is not None
    assert row.interval is not None
    assert row.interval.low > 0
    assert row.power is not None
    assert row.cluster_interval is not None
    assert analysis.distributions["Q1"]["120k"].latency_ms is not None


def test_risk_levels(standard: AnalysisResult) -> None:
    limits = RiskLimits(0.13, 0.10, 0.80, 0.70)
    intents = {"P1": "performance", "M1": "performance", "Q1": "quality"}
    unknown = {
        r.variant: r
        for r in assess(standard, intents, limits, Coverage(None, None, "no R2")).variants
    }
    assert unknown["Q1"].level != LOW  # missing evidence is never low risk
    covered = {
        r.variant: r for r in assess(standard, intents, limits, Coverage(0.9, 0.8, None)).variants
    }
    quality = {r.name: r for r in covered["Q1"].risks}
    assert quality["quality"].score == 0.0  # the lower bound clears +13%
    assert quality["coverage"].score == 0.0
    assert covered["P1"].level == LOW
    middling = assess(standard, intents, limits, Coverage(0.4, 0.8, None)).variants
    assert {r.variant: r.level for r in middling}["P1"] == MEDIUM  # shortfall 0.5
    poor = {
        r.variant: r for r in assess(standard, intents, limits, Coverage(0.2, 0.8, None)).variants
    }
    assert poor["P1"].level == HIGH
    assert {r.name: r for r in poor["P1"].risks}["coverage"].score == pytest.approx(0.75)


def test_a_run_with_other_flags_than_the_registry_is_stale(tmp_path: Path) -> None:
    write_runs(tmp_path, {"Q1": EFFECTS["Q1"]})
    stale = benchmark_run(REGISTRY, "P1")
    arms = (stale.arms[0], dataclasses.replace(stale.arms[1], flags={"FASTPATH_POLICY_V2": "1"}))
    write_run(tmp_path, REGISTRY, dataclasses.replace(stale, arms=arms))
    result = analyse_dir(tmp_path, ("P1", "Q1"))
    runs = {run.name: run for run in result.variants}
    assert runs["P1"].error is not None
    assert "arm 'P1' ran with flags" in runs["P1"].error
    assert runs["Q1"].error is None
