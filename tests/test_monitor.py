"""The sequential monitor (analysis.monitor) and how the analysis and gates judge a stopped run.

Simulated runs come from ``analysis.fixtures.benchmark_run`` on the end-to-end study's
simulated machine (``gates.simulate_model``), seeded: the same seed, the same looks.
"""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from scipy import stats  # type: ignore[import-untyped]
from test_gates_rules import (
    LATENCY_VARIANT,
    MEMORY_VARIANT,
    POWER,
    PYPROJECT,
    QUALITY,
    REGISTRY,
    REGRESSION,
    WORST,
    both,
    gate_of,
    judge,
    set_power,
    set_row,
)
from test_gates_rules import passing as passing_documents

from analysis.fixtures import benchmark_run
from analysis.monitor import design_for, look_level, run_design, timed_bounds, timed_monitor
from analysis.sequential import Comparison
from benchmarks.artifact import Artifact
from benchmarks.profiles import PROFILES
from contracts.errors import EvidenceError
from contracts.family import POOLED, gated_bounds, two_sided_level
from contracts.names import ANALYSIS_FILE
from contracts.thresholds import LATENCY_MEAN, PEAK_MEMORY, thresholds_from_registry
from gates.simulate import study_registry
from gates.simulate_model import MACHINE, simulated_machine, stopped_by
from packrepo.registry import Registry, load_registry

THRESHOLDS = thresholds_from_registry(REGISTRY)
FAMILY = len(gated_bounds(REGISTRY, THRESHOLDS, REGISTRY.budgets))
ALPHA_BOUND = THRESHOLDS.alpha / FAMILY
STANDARD = PROFILES["standard"]


def simulated_run(
    variant: str, latency: float, seed: int, memory: float = 0.0, registry: Registry = REGISTRY
) -> Artifact:
    """A complete standard-sized run on the simulated machine, measured look by look."""
    import numpy as np

    rng = np.random.default_rng(seed)
    measure = simulated_machine(MACHINE, (latency,) * 3, memory, rng)
    return benchmark_run(
        registry, variant, repositories=STANDARD.repositories or 8,
        questions=STANDARD.questions_per_repository, seed=seed, measure=measure,
        looks=STANDARD.looks,
    )  # fmt: skip


def watched(run: Artifact) -> Artifact:
    return stopped_by(run, timed_monitor(REGISTRY, THRESHOLDS, run.variant), STANDARD.looks)


# --- the level of a look -------------------------------------------------------------------


def test_one_final_look_is_the_fixed_level() -> None:
    fixed = two_sided_level(THRESHOLDS.alpha, FAMILY)
    assert look_level(ALPHA_BOUND, [1.0], final=True) == pytest.approx(fixed, rel=1e-12)


def test_a_look_s_level_is_its_published_boundary() -> None:
    # Lan-DeMets O'Brien-Fleming, K = 4, one-sided 0.025: 4.3326, 2.9631, 2.3590, 2.0141
    # (Jennison & Turnbull 2000, table 2.3; gsDesign). Each bound one-sided at Phi(-z).
    fractions = [0.25, 0.5, 0.75, 1.0]
    for k, z in enumerate((4.3326, 2.9631, 2.3590, 2.0141), start=1):
        level = look_level(0.025, fractions[:k], final=k == 4)
        assert stats.norm.isf((1.0 - level) / 2.0) == pytest.approx(z, abs=5e-4)


def test_early_looks_are_wider_than_the_fixed_level() -> None:
    levels = [
        look_level(ALPHA_BOUND, [0.25, 0.5, 0.75, 1.0][:k], final=k == 4) for k in (1, 2, 3, 4)
    ]
    assert levels == sorted(levels, reverse=True)
    assert levels[-1] > two_sided_level(THRESHOLDS.alpha, FAMILY)  # the final look pays a little


# --- which bounds a variant's timed trials decide -------------------------------------------


def test_each_candidate_is_watched_on_its_gated_timed_bounds() -> None:
    guards = [("latency_mean", b, Comparison(THRESHOLDS.performance_regression, "upper"))
              for b in REGISTRY.budgets]  # fmt: skip
    as_tuples = {
        name: [(b.metric, b.budget, b.comparison) for b in timed_bounds(REGISTRY, THRESHOLDS, name)]
        for name in (LATENCY_VARIANT, MEMORY_VARIANT, QUALITY)
    }
    assert as_tuples[LATENCY_VARIANT] == [(LATENCY_MEAN, POOLED, Comparison(0.0, "upper")), *guards]
    assert as_tuples[MEMORY_VARIANT] == [(PEAK_MEMORY, POOLED, Comparison(0.0, "upper")), *guards]
    assert as_tuples[QUALITY] == guards  # its QA and recall bounds are the quality stage's


# --- stopping ------------------------------------------------------------------------------


def test_a_large_gain_stops_at_the_first_look() -> None:
    run = watched(simulated_run(LATENCY_VARIANT, -0.70, seed=11))
    assert run.design.stopped_at_look == 1
    assert run.design.reason == "look 1: every timed bound established (4)"
    assert len(run.measured_unit_ids()) == len(run.units) // 4


def test_a_large_regression_stops_at_the_first_look_for_futility() -> None:
    run = watched(simulated_run(QUALITY, +0.60, seed=12))
    assert run.design.stopped_at_look == 1
    assert run.design.reason.startswith("look 1: futile (non-binding): latency 50k")


def test_the_analysis_finds_futility_from_the_trials_not_from_the_runner_s_words() -> None:
    futile = watched(simulated_run(QUALITY, +0.60, seed=12))
    reworded = replace(futile, design=replace(futile.design, reason="look 1: all is well"))
    found = run_design(reworded, REGISTRY, THRESHOLDS, QUALITY)
    assert found is not None
    assert not found.final
    assert "latency 50k" in found.futile_bounds
    gain = watched(simulated_run(LATENCY_VARIANT, -0.70, seed=11))
    claimed = replace(gain, design=replace(gain.design, reason="look 1: futile (non-binding)"))
    found = run_design(claimed, REGISTRY, THRESHOLDS, LATENCY_VARIANT)
    assert found is not None
    assert found.futile_bounds == ()


def test_no_look_establishes_a_gain_that_is_not_there() -> None:
    for seed in (21, 22, 23):
        run = watched(simulated_run(LATENCY_VARIANT, 0.0, seed=seed))
        said = [record.summary for record in run.design.taken]
        assert not any(summary.startswith("every timed bound") for summary in said), said
        # The promise cannot pass: the run either goes the distance or stops as futile.
        assert run.design.stopped_at_look == 4 or "futile" in run.design.reason


def test_a_neutral_quality_variant_establishes_its_guards() -> None:
    # Most neutral runs establish all three guards (README, the end-to-end study); these do.
    for seed in (32, 33):
        run = watched(simulated_run(QUALITY, 0.0, seed=seed))
        assert "every timed bound established (3)" in run.design.reason


def test_the_same_seed_gives_the_same_looks() -> None:
    first = watched(simulated_run(MEMORY_VARIANT, -0.05, seed=41, memory=-0.3))
    second = watched(simulated_run(MEMORY_VARIANT, -0.05, seed=41, memory=-0.3))
    assert first.design == second.design
    assert first.trials == second.trials


# --- the analysis and the gates on a stopped run -------------------------------------------


def test_the_analysis_judges_a_stopped_run_at_its_last_look(tmp_path: Path) -> None:
    from analysis.cli import main as analysis_main
    from analysis.fixtures import default_quality, write_run
    from analysis.quality_fixtures import write_quality
    from analysis.sequential import LookEstimate, decide
    from contracts.documents import load_json, read_input

    # A registry outside any checkout: the simulated runs have no commit to be stale against.
    (tmp_path / "registry").mkdir()
    path = study_registry(tmp_path / "registry", PYPROJECT)
    registry = load_registry(path)
    write_run(tmp_path, registry, simulated_run(registry.baseline.name, 0.0, 3, registry=registry))
    for index, variant in enumerate(registry.candidates, start=4):
        gain = -0.70 if variant.name == LATENCY_VARIANT else 0.0
        run = simulated_run(variant.name, gain, index, registry=registry)
        write_run(tmp_path, registry, watched(run))
    write_quality(tmp_path, default_quality(registry))
    assert (
        analysis_main(["--input", str(tmp_path), "--output", str(tmp_path), "--config", str(path)])
        == 0
    )
    analysis = load_json(read_input(tmp_path / ANALYSIS_FILE), ANALYSIS_FILE)

    design = analysis["variants"][LATENCY_VARIANT]["design"]
    assert (design["stopped_at_look"], design["fractions"]) == (1, [0.25])
    planned = STANDARD.repositories * STANDARD.questions_per_repository * 3
    assert analysis["variants"][LATENCY_VARIANT]["n_units"] == planned // 4
    assert analysis["variants"][REGISTRY.baseline.name]["design"] is None  # the A/A: fixed
    level = look_level(ALPHA_BOUND, [0.25], final=False)
    row = next(
        r for r in analysis["comparisons"]
        if (r["variant"], r["metric"], r["budget"]) == (LATENCY_VARIANT, LATENCY_MEAN, "120k")
    )  # fmt: skip
    assert row["confidence_level"] == pytest.approx(level, rel=1e-12)
    assert row["n_units"] == planned // 4 // 3
    # The gated interval is the monitor's repeated confidence interval at that look.
    se = row["standard_error"]
    estimate = LookEstimate(math.log1p(row["relative_change"]), se, row["n_clusters"] - 1)
    comparison = Comparison(THRESHOLDS.performance_regression, "upper")
    decision = decide(design_for(ALPHA_BOUND, THRESHOLDS.power, 4), [0.25], estimate, comparison)
    assert decision.outcome == "established"
    # (to the 11 significant digits the analysis writes its numbers with)
    assert row["ci_high"] == pytest.approx(decision.interval_high, rel=1e-6)
    assert row["ci_low"] == pytest.approx(decision.interval_low, rel=1e-6)


def _sequential(
    documents: dict[str, Any], variant: str, fractions: list[float], looks: int = 4
) -> None:
    analysis = documents[ANALYSIS_FILE]
    analysis["variants"][variant]["design"] = {
        "kind": "sequential",
        "looks": looks,
        "stopped_at_look": len(fractions),
        "fractions": fractions,
        "measured_units": int(192 * fractions[-1]),
        "planned_units": 192,
        "reason": "look 1: every timed bound established (4)",
        "futile_bounds": [],
        "summary": f"sequential, stopped early at look {len(fractions)} of {looks}",
    }


def _set_timed_level(documents: dict[str, Any], variant: str, level: float) -> None:
    for row in documents[ANALYSIS_FILE]["comparisons"]:
        if row["variant"] == variant and row["metric"] in (LATENCY_MEAN, PEAK_MEMORY):
            row["confidence_level"] = level


def test_the_gates_read_a_stopped_run_at_its_look_s_level_and_refuse_any_other() -> None:
    documents = passing_documents()
    _sequential(documents, LATENCY_VARIANT, [0.25])
    # The rows are still at the fixed level: not the level of look 1.
    gate = gate_of(judge(documents), LATENCY_VARIANT, "latency_non_inferiority")
    assert not gate.passed
    assert "(sequential: look 1 of 4)" in gate.reason
    _set_timed_level(documents, LATENCY_VARIANT, look_level(ALPHA_BOUND, [0.25], final=False))
    verdict = judge(documents)
    assert gate_of(verdict, LATENCY_VARIANT, "latency_non_inferiority").passed
    assert gate_of(verdict, LATENCY_VARIANT, "latency_improvement").passed


def test_a_sequential_record_the_gates_cannot_read_is_refused() -> None:
    documents = passing_documents()
    _sequential(documents, LATENCY_VARIANT, [0.5, 0.25])
    with pytest.raises(EvidenceError, match="fractions` must increase strictly"):
        judge(documents)
    _sequential(documents, LATENCY_VARIANT, [0.25, 0.5, 0.75, 1.0, 1.0], looks=4)
    with pytest.raises(EvidenceError, match="one information fraction per look taken"):
        judge(documents)


@pytest.mark.parametrize(
    ("fractions", "looks", "measured", "problem"),
    [
        ([0.25], 4, 96, "not at the 96 of 192 units measured"),  # a fraction not its own
        ([0.25, 0.5, 0.75, 0.875], 4, 168, "measured all 192"),  # its last look, units short
        ([1.0], 4, 193, "193, more than the 192 planned"),
    ],
)
def test_fractions_that_are_not_the_run_s_own_units_are_refused(
    fractions: list[float], looks: int, measured: int, problem: str
) -> None:
    documents = passing_documents()
    _sequential(documents, LATENCY_VARIANT, fractions, looks=looks)
    documents[ANALYSIS_FILE]["variants"][LATENCY_VARIANT]["design"]["measured_units"] = measured
    with pytest.raises(EvidenceError, match=problem):
        judge(documents)


def test_a_level_for_looks_the_run_did_not_take_is_refused() -> None:
    documents = passing_documents()
    _sequential(documents, LATENCY_VARIANT, [0.5])  # says look 1 was at half the units
    _set_timed_level(documents, LATENCY_VARIANT, look_level(ALPHA_BOUND, [0.25], final=False))
    gate = gate_of(judge(documents), LATENCY_VARIANT, "latency_non_inferiority")
    assert not gate.passed
    assert "not at the registry's level" in gate.reason
    assert math.isfinite(look_level(ALPHA_BOUND, [0.5], final=False))


def test_a_run_stopped_for_futility_is_not_called_inconclusive() -> None:
    short = both(
        set_power(QUALITY, LATENCY_MEAN, WORST, achieved=POWER - 0.01, underpowered=True),
        set_row(QUALITY, LATENCY_MEAN, WORST, ci_high=REGRESSION + 0.01),
    )
    documents = passing_documents()
    short(documents)
    fixed = gate_of(judge(documents), QUALITY, "power")
    assert not fixed.passed
    assert fixed.reason.startswith("inconclusive")
    _sequential(documents, QUALITY, [0.25])
    design = documents[ANALYSIS_FILE]["variants"][QUALITY]["design"]
    # The runner's wording is not the finding: only the analysis's futile bounds count.
    design["summary"] = "sequential, stopped early at look 1 of 4: futile (non-binding)"
    _set_timed_level(documents, QUALITY, look_level(ALPHA_BOUND, [0.25], final=False))
    assert gate_of(judge(documents), QUALITY, "power").reason.startswith("inconclusive")
    design["futile_bounds"] = ["latency 50k"]
    verdict = judge(documents)
    stopped = gate_of(verdict, QUALITY, "power")
    assert stopped.passed
    assert "futility boundary" in stopped.reason
    guard = gate_of(verdict, QUALITY, "latency_non_inferiority")
    assert not guard.passed  # still rejected, and says how the stop left its bound
    assert f"; at {WORST} estimate " in guard.reason
    assert guard.reason.endswith(
        ", undecided when the run stopped at look 1 of 4 (futile: latency 50k)"
    )
    assert "inconclusive" not in guard.reason
    design["futile_bounds"] = [f"latency {WORST}"]  # the failing bound was the futile one
    guard = gate_of(judge(documents), QUALITY, "latency_non_inferiority")
    assert guard.reason.endswith(f"; at {WORST} estimate +4.0%, futile at look 1 of 4")


def test_a_first_look_s_level_is_not_printed_as_certainty() -> None:
    from gates import fmt

    first = look_level(ALPHA_BOUND, [0.25], final=False)
    assert first > 0.99999
    assert fmt.level(first) != "100%"
    assert fmt.level(first).startswith("99.999")
    assert [fmt.level(c) for c in (0.95, 0.995, 0.9984375, 1.0)] == [
        "95%",
        "99.5%",
        "99.84%",
        "100%",
    ]
