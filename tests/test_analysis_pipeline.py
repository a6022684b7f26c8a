"""The T1-T2 analysis on hand-built benchmark artifacts with known effects.

Runs are built by :mod:`analysis.fixtures` (small: 4 repositories x 3
questions x 3 budgets, 1000 resamples) for a registry with one candidate of
each kind: P1 (latency), M1 (memory), Q1 (quality).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import replace
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
from analysis.documents import Scope, encode, statistical_analysis_document
from analysis.fixtures import Effect, benchmark_run, fixture_registry, write_run
from analysis.pipeline_analysis import (
    LATENCY_MEAN,
    LATENCY_P95,
    PEAK_MEMORY,
    POOLED,
    QA,
    RECALL,
    AnalysisResult,
    Row,
    Settings,
    analyse,
)
from analysis.quality_fixtures import (
    QualityEffect,
    nested_baseline,
    quality_document,
    write_quality,
)
from analysis.quality_input import load_quality
from analysis.risk import HIGH, LOW, MEDIUM, Coverage, RiskLimits, assess
from contracts.documents import parse_document
from contracts.family import gated_bounds
from contracts.names import KINDS
from contracts.provenance import Provenance
from contracts.thresholds import thresholds_from_registry
from gates.evidence import parse_analysis

REGISTRY = fixture_registry()
CANDIDATES = ("P1", "M1", "Q1")
FAMILY = len(gated_bounds(REGISTRY, thresholds_from_registry(REGISTRY), REGISTRY.budgets))
SETTINGS = Settings(
    alpha=0.025,
    family_size=FAMILY,
    n_resamples=1000,
    seed=7,
    target_power=0.80,
    qa_target=0.13,
    performance_margin=0.10,
    recall_margin=0.05,
    thresholds=thresholds_from_registry(REGISTRY),
)
BUDGETS = (50_000, 120_000, 200_000)
QUALITY_EFFECTS = {"Q1": QualityEffect(multiplier=1.6, redraw=0.05)}
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
    """The A/A run and one run per variant in ``effects`` (None: no artifact), and the
    quality stage's scores: 4 repositories x 40 questions, Q1 better, the others identical."""
    directory.mkdir(parents=True, exist_ok=True)
    base = nested_baseline(4, 40, BUDGETS, np.random.default_rng(11))
    write_quality(directory, quality_document(REGISTRY, QUALITY_EFFECTS, base, BUDGETS, seed=3))
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
    quality = load_quality(directory / "quality.json", REGISTRY, None)
    return analyse(load_runs(directory, REGISTRY, candidates), quality, REGISTRY, settings)


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
    assert row.relative_change is not None
    assert row.relative_change > 0.2
    assert row.interval is not None
    assert row.interval.low > 0.1
    assert row.interval.method == "cluster-t"
    assert row.interval.excludes_zero
    assert row.p_value_adjusted is not None
    assert row.power is not None
    assert not row.power.underpowered
    assert row.interval.resampling == "question"
    assert row.interval.n_clusters == 160  # 4 repositories x 40 questions
    assert row.repository is not None
    assert row.repository.n_clusters == 4
    assert row.n_units == 480  # questions x budgets
    assert row.descriptive is not None
    assert row.descriptive.method == "BCa"


def test_qa_rows_come_from_the_quality_stage_not_the_timed_trials(
    standard: AnalysisResult,
) -> None:
    for variant in ("baseline", *CANDIDATES):
        timed = {r.metric for r in standard.rows if r.variant == variant and r.n_units <= 36}
        assert QA not in timed
        assert RECALL not in timed
    assert {r.metric for r in standard.rows if r.variant == "Q1"} >= {QA, RECALL}
    assert not [r for r in standard.rows if r.variant == "baseline" and r.metric == QA]


def test_a_null_variant_is_not_significant(standard: AnalysisResult) -> None:
    latency = find(standard, "Q1", LATENCY_MEAN)
    assert latency.interval is not None
    assert latency.interval.low < 0.05
    qa = find(standard, "P1", QA)  # byte-identical packs: the interval is the point 0
    assert qa.interval is not None
    assert (qa.interval.low, qa.interval.high, qa.relative_change) == (0.0, 0.0, 0.0)
    assert qa.interval.p_value == 1.0
    assert not qa.interval.excludes_zero


def test_every_row_is_at_the_registrys_family_level(standard: AnalysisResult) -> None:
    assert {row.family_size for row in standard.rows} == {FAMILY}
    level = 1 - 2 * 0.025 / FAMILY
    assert all(row.confidence_level == pytest.approx(level) for row in standard.rows)
    cells = {(row.variant, row.metric, row.budget) for row in standard.rows}
    budgets = ("50k", "120k", "200k", POOLED)
    for variant in ("baseline", *CANDIDATES):
        timed = (LATENCY_MEAN, LATENCY_P95, PEAK_MEMORY)
        assert {(variant, m, b) for m in timed for b in budgets} <= cells
    for variant in CANDIDATES:
        assert {(variant, m, b) for m in (QA, RECALL) for b in budgets} <= cells


def test_a_reduced_run_keeps_the_registrys_family(tmp_path: Path) -> None:
    result = analyse_dir(write_runs(tmp_path, {"P1": EFFECTS["P1"]}), ("P1",))
    assert {row.family_size for row in result.rows} == {FAMILY}


@pytest.mark.parametrize(
    ("aa", "stable"),
    [(Effect(), True), (Effect(latency=0.3), False)],
    ids=["null-aa", "biased-aa"],
)
def test_aa_stability(tmp_path: Path, aa: Effect, stable: bool) -> None:
    result = analyse_dir(write_runs(tmp_path, {"P1": EFFECTS["P1"]}, aa=aa), ("P1",))
    environment = result.environment
    assert environment.stable is stable
    assert find(result, "baseline", LATENCY_MEAN).interval is not None
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
    qa = find(result, "Q1", QA).interval  # the candidates are still analysed
    assert qa is not None
    assert qa.excludes_zero


def test_a_missing_variant_is_its_error_and_the_others_are_analysed(tmp_path: Path) -> None:
    directory = write_runs(tmp_path, {**EFFECTS, "M1": None})
    (directory / "M1_benchmark.jsonl").write_text('{"record": "run"}\n{"record": "trial"}\n')
    result = analyse_dir(directory)
    runs = {run.name: run for run in result.variants}
    assert runs["M1"].error is not None
    assert "interrupted or crashed after 1 trial" in runs["M1"].error
    assert runs["P1"].error is None
    assert runs["Q1"].error is None
    assert not [r for r in result.rows if r.variant == "M1" and r.metric not in (QA, RECALL)]
    # The crashed variant stays in the family: the others' intervals do not narrow.
    assert find(result, "Q1", QA).family_size == FAMILY


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
    interval = find(result, "P1", LATENCY_MEAN).interval
    assert interval is not None
    assert interval.excludes_zero
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
    assert cell.qa_per_100k == cell.baseline_qa_per_100k  # from quality.json: identical
    assert "baseline" not in standard.distributions


def test_the_document_is_read_by_the_gates(standard: AnalysisResult) -> None:
    scope = Scope("standard", False, CANDIDATES, CANDIDATES, ("a",) * FAMILY)
    payload = encode(statistical_analysis_document(standard, PROVENANCE, scope))
    fields = parse_document(
        payload, "statistical_analysis.json", KINDS["statistical_analysis.json"]
    )
    analysis = parse_analysis(fields)
    assert analysis.n_resamples == 1000
    assert (analysis.alpha, analysis.family_size) == (0.025, FAMILY)
    assert analysis.scope.complete
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


def test_a_resumed_run_is_said_so_and_others_are_not(tmp_path: Path) -> None:
    directory = write_runs(tmp_path, {"P1": EFFECTS["P1"]})
    run = benchmark_run(REGISTRY, "P1", effect=EFFECTS["P1"], seed=1, host="a" * 16)
    resumed = {"at": "2026-11-30T20:03:00+00:00", "after_trials": 10, "dropped_trials": 1}
    write_run(directory, REGISTRY, replace(run, timings={**run.timings, "resumed": resumed}))
    runs = {r.name: r for r in analyse_dir(directory, ("P1",)).variants}
    assert runs["P1"].resumed == (
        f"resumed after 10 of {len(run.trials)} trials, 1 measured again,"
        " at 2026-11-30T20:03:00+00:00"
    )
    assert runs[REGISTRY.baseline.name].resumed is None
