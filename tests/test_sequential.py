"""The sequential core of issue #14: boundaries, spending, sizing, decisions, confidence sequence.

Published values: Lan-DeMets O'Brien-Fleming spending, K = 4 equally spaced
looks, one-sided alpha = 0.025 (gsDesign, rpact; Jennison & Turnbull 2000,
ch. 7): z = 4.333, 2.963, 2.359, 2.014, cumulative alpha 0.0000074, 0.0015,
0.0096, 0.025, and a maximum information 1.02 times the fixed design's for
power 0.8. Every Monte Carlo check is seeded, and its tolerance is at least
five standard errors wide, so no test can fail by chance.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats  # type: ignore[import-untyped]

from analysis import spending as spending_module
from analysis.anytime import anytime_valid_bound, normal_mixture_boundary, normal_mixture_rho
from analysis.calibrated import LogRatio, cluster_t
from analysis.errors import AnalysisInputError
from analysis.sequential import (
    Comparison,
    LookEstimate,
    SequentialDesign,
    decide,
    design_boundaries,
    maximum_information,
    plan_design,
)
from analysis.sequential_cli import main as cli_main
from analysis.sequential_simulation import simulate_design
from analysis.spending import efficacy_probability, group_sequential_boundaries, spent

ALPHA = 0.025
PER_BOUND = 0.025 / 32  # the gated level a = alpha / m
EQUAL_FOUR = (0.25, 0.5, 0.75, 1.0)
PUBLISHED_Z = (4.333, 2.963, 2.359, 2.014)
PUBLISHED_CUMULATIVE_ALPHA = (0.0000074, 0.0015, 0.0096, 0.025)


@pytest.fixture(scope="module")
def per_bound_design() -> SequentialDesign:
    return plan_design(PER_BOUND, 0.8, looks=4)


@pytest.fixture(scope="module")
def efficacy_only_design() -> SequentialDesign:
    return plan_design(PER_BOUND, 0.8, looks=4, futility_spending=None)


def monte_carlo_crossing(
    efficacy: tuple[float, ...], fractions: tuple[float, ...], draws: int, seed: int
) -> float:
    """P_0(some Z_k >= b_k) by simulating the canonical process: independent of the integration."""
    rng = np.random.default_rng(seed)
    times = np.asarray(fractions)
    paths = np.cumsum(
        rng.standard_normal((draws, len(times))) * np.sqrt(np.diff(times, prepend=0.0)), axis=1
    )
    return float(np.mean((paths / np.sqrt(times) >= np.asarray(efficacy)).any(axis=1)))


def binomial_tolerance(rate: float, draws: int, standard_errors: float = 6.0) -> float:
    return standard_errors * math.sqrt(rate * (1.0 - rate) / draws)


# Boundaries and spending against published values


def test_obrien_fleming_four_looks_match_published_boundaries() -> None:
    bounds = group_sequential_boundaries(ALPHA, EQUAL_FOUR)
    assert bounds.efficacy == pytest.approx(PUBLISHED_Z, abs=1e-3)
    assert bounds.alpha_spent == pytest.approx(PUBLISHED_CUMULATIVE_ALPHA, abs=1e-4)


@pytest.mark.parametrize("fraction", EQUAL_FOUR)
def test_obrien_fleming_spending_is_the_lan_demets_function(fraction: float) -> None:
    expected = 2.0 - 2.0 * stats.norm.cdf(stats.norm.ppf(1.0 - ALPHA / 2.0) / math.sqrt(fraction))
    assert spent("obrien-fleming", ALPHA, fraction) == pytest.approx(expected, rel=1e-9)


def test_pocock_spending_spends_alpha_by_full_information() -> None:
    assert spent("pocock", ALPHA, 1.0) == pytest.approx(ALPHA)
    assert spent("pocock", ALPHA, 0.5) == pytest.approx(ALPHA * math.log(1 + (math.e - 1) / 2))
    bounds = group_sequential_boundaries(ALPHA, EQUAL_FOUR, spending="pocock")
    assert sum(bounds.null_crossing) == pytest.approx(ALPHA, rel=1e-8)
    assert max(bounds.efficacy) - min(bounds.efficacy) < 0.2  # Pocock: nearly flat boundaries


@pytest.mark.parametrize("level", [ALPHA, PER_BOUND])
def test_integration_has_converged(level: float, monkeypatch: pytest.MonkeyPatch) -> None:
    coarse = group_sequential_boundaries(level, EQUAL_FOUR)
    monkeypatch.setattr(spending_module, "GRID_SIZE", 64)
    fine = group_sequential_boundaries(level, EQUAL_FOUR)
    assert coarse.efficacy == pytest.approx(fine.efficacy, abs=1e-6)  # published: 1e-3


@pytest.mark.parametrize("level", [ALPHA, PER_BOUND])
def test_one_look_is_the_fixed_design(level: float) -> None:
    bounds = group_sequential_boundaries(level, (1.0,))
    assert bounds.efficacy[0] == pytest.approx(stats.norm.isf(level), abs=1e-12)
    assert maximum_information(level, 0.8, (1.0,)) == pytest.approx(1.0, abs=1e-8)


# The error rate across looks


@pytest.mark.parametrize("level", [ALPHA, PER_BOUND])
def test_null_crossing_probability_is_the_level_by_integration(level: float) -> None:
    bounds = group_sequential_boundaries(level, EQUAL_FOUR)
    assert sum(bounds.null_crossing) == pytest.approx(level, rel=1e-8)
    assert efficacy_probability(bounds, 0.0, honour_futility=False) == pytest.approx(
        level, rel=1e-8
    )


@pytest.mark.parametrize(("level", "draws"), [(ALPHA, 400_000), (PER_BOUND, 2_000_000)])
def test_null_crossing_probability_is_the_level_by_monte_carlo(level: float, draws: int) -> None:
    bounds = group_sequential_boundaries(level, EQUAL_FOUR)
    rate = monte_carlo_crossing(bounds.efficacy, bounds.fractions, draws, seed=14)
    assert abs(rate - level) < binomial_tolerance(level, draws)


@pytest.mark.parametrize(
    "fractions",
    [(0.2, 0.45, 0.8, 1.0), (0.1, 0.3, 0.35, 0.6, 0.9, 1.0), (0.5, 1.0), (0.33, 0.5, 0.97, 1.0)],
)
def test_unequal_and_unplanned_looks_keep_the_level(fractions: tuple[float, ...]) -> None:
    for level in (ALPHA, PER_BOUND):
        bounds = group_sequential_boundaries(level, fractions)
        assert sum(bounds.null_crossing) == pytest.approx(level, rel=1e-7)
    bounds = group_sequential_boundaries(ALPHA, fractions)
    rate = monte_carlo_crossing(bounds.efficacy, fractions, 400_000, seed=41)
    assert abs(rate - ALPHA) < binomial_tolerance(ALPHA, 400_000)


def test_a_resumed_run_recomputes_the_same_boundaries_for_its_looks() -> None:
    taken = (0.22, 0.5, 0.71, 1.0)
    full = group_sequential_boundaries(PER_BOUND, taken)
    for looks in range(1, len(taken)):
        prefix = group_sequential_boundaries(PER_BOUND, taken[:looks])
        assert prefix.efficacy == full.efficacy[:looks]


def test_a_final_look_short_of_full_information_spends_all_alpha() -> None:
    bounds = group_sequential_boundaries(ALPHA, (0.3, 0.6, 0.85), final=True)
    assert bounds.final
    assert sum(bounds.null_crossing) == pytest.approx(ALPHA, rel=1e-7)


def test_information_past_the_maximum_spends_all_alpha_at_the_last_look() -> None:
    bounds = group_sequential_boundaries(ALPHA, (0.5, 1.2))
    assert sum(bounds.null_crossing) == pytest.approx(ALPHA, rel=1e-7)


# Sizing and non-binding futility


def test_inflation_factor_matches_published() -> None:
    assert maximum_information(ALPHA, 0.8, EQUAL_FOUR) == pytest.approx(1.02, abs=0.005)


def test_power_at_the_design_effect_is_the_target(
    per_bound_design: SequentialDesign, efficacy_only_design: SequentialDesign
) -> None:
    for design in (per_bound_design, efficacy_only_design):
        bounds = design_boundaries(design)
        power = efficacy_probability(bounds, design.drift, honour_futility=True)
        assert power == pytest.approx(0.8, abs=1e-7)


def test_futility_is_non_binding(per_bound_design: SequentialDesign) -> None:
    with_futility = design_boundaries(per_bound_design)
    without = group_sequential_boundaries(PER_BOUND, EQUAL_FOUR)
    assert with_futility.efficacy == without.efficacy  # futility never moves efficacy
    assert all(a <= b for a, b in zip(with_futility.futility, with_futility.efficacy, strict=True))
    assert with_futility.futility[-1] == with_futility.efficacy[-1]
    obeyed = efficacy_probability(with_futility, 0.0, honour_futility=True)
    assert obeyed <= PER_BOUND
    assert per_bound_design.inflation > maximum_information(PER_BOUND, 0.8, EQUAL_FOUR)


# Decisions at a look


def timing_look(seed: int, ratio: float, clusters: int, noise: float = 0.05) -> LookEstimate:
    """A cluster-t estimate from seeded per-unit latencies: 4 units a cluster, paired."""
    rng = np.random.default_rng(seed)
    baseline = np.exp(rng.normal(0.0, 0.3, clusters * 4))  # questions differ
    variant = baseline * ratio * np.exp(rng.normal(0.0, noise, clusters * 4))
    labels = [f"q{unit // 4}" for unit in range(clusters * 4)]
    interval = cluster_t(LogRatio.mean_ratio(variant, baseline), labels, 0.95)
    return LookEstimate(interval.log_estimate, interval.standard_error, interval.n_clusters - 1)


MARGIN = Comparison(threshold=0.10, side="upper")  # latency at most +10%


def test_a_large_effect_stops_at_the_first_look(per_bound_design: SequentialDesign) -> None:
    estimate = timing_look(seed=3, ratio=0.5, clusters=24)  # twice as fast
    decision = decide(per_bound_design, (0.25,), estimate, MARGIN)
    assert decision.outcome == "established"
    assert decision.stopped
    assert decision.look == 1
    assert decision.interval_high < MARGIN.threshold
    assert decision.interval_low < math.expm1(estimate.log_estimate) < decision.interval_high


def test_no_stop_under_the_null_in_a_fixed_seed_run(efficacy_only_design: SequentialDesign) -> None:
    outcomes = [
        decide(
            efficacy_only_design,
            EQUAL_FOUR[: look + 1],
            timing_look(100 + look, 1.10, 24 * (look + 1)),
            MARGIN,
        ).outcome
        for look in range(4)
    ]
    assert outcomes == ["continue", "continue", "continue", "not established"]


def test_a_null_run_never_establishes_with_futility_either(
    per_bound_design: SequentialDesign,
) -> None:
    for seed in range(20):
        for look in range(4):
            estimate = timing_look(seed * 10 + look, 1.10, 24 * (look + 1))
            decision = decide(per_bound_design, EQUAL_FOUR[: look + 1], estimate, MARGIN)
            assert decision.outcome != "established"
            if decision.stopped:
                break


def test_futility_and_the_final_look(per_bound_design: SequentialDesign) -> None:
    clearly_broken = LookEstimate(math.log(1.6), 0.05, 23)  # +60% against a +10% margin
    assert decide(per_bound_design, (0.25,), clearly_broken, MARGIN).outcome == "futile"
    assert decide(per_bound_design, EQUAL_FOUR, clearly_broken, MARGIN).outcome == "not established"


def test_the_lower_side_mirrors_the_upper(per_bound_design: SequentialDesign) -> None:
    upper = decide(
        per_bound_design, (0.25, 0.5), LookEstimate(-0.2, 0.03, 40), Comparison(0.0, "upper")
    )
    lower = decide(
        per_bound_design, (0.25, 0.5), LookEstimate(0.2, 0.03, 40), Comparison(0.0, "lower")
    )
    assert upper.outcome == lower.outcome == "established"
    assert upper.t_statistic == pytest.approx(lower.t_statistic)


def test_the_final_single_look_interval_is_the_fixed_design_cluster_t() -> None:
    design = plan_design(PER_BOUND, 0.8, looks=1, futility_spending=None)
    rng = np.random.default_rng(7)
    baseline = np.exp(rng.normal(0.0, 0.3, 96))
    variant = baseline * 1.03 * np.exp(rng.normal(0.0, 0.05, 96))
    labels = [f"q{unit // 4}" for unit in range(96)]
    fixed = cluster_t(LogRatio.mean_ratio(variant, baseline), labels, 1.0 - 2.0 * PER_BOUND)
    estimate = LookEstimate(fixed.log_estimate, fixed.standard_error, fixed.n_clusters - 1)
    decision = decide(design, (1.0,), estimate, MARGIN)
    assert (decision.interval_low, decision.interval_high) == pytest.approx(
        (fixed.low, fixed.high), rel=1e-9
    )
    assert decision.outcome == (
        "established" if fixed.high < MARGIN.threshold else "not established"
    )


def test_the_t_statistic_is_judged_at_its_nominal_level(
    efficacy_only_design: SequentialDesign,
) -> None:
    bounds = design_boundaries(efficacy_only_design, (0.25, 0.5))
    se = 0.01
    for df, expected in ((10**7, "established"), (5, "continue")):
        # Just past the z boundary: enough for the normal limit, not for t on 5 df.
        log_estimate = math.log1p(0.10) - (bounds.efficacy[-1] + 0.01) * se
        decision = decide(
            efficacy_only_design, (0.25, 0.5), LookEstimate(log_estimate, se, df), MARGIN
        )
        assert decision.outcome == expected
        assert decision.nominal_p == pytest.approx(stats.norm.sf(bounds.efficacy[-1]))


# The confidence sequence for open-ended re-runs


def test_normal_mixture_two_sided_closed_form() -> None:
    rho, v, a = 3.0, 50.0, 0.05
    assert normal_mixture_boundary(v, a, rho, one_sided=False) == pytest.approx(
        math.sqrt((v + rho) * math.log((v + rho) / (rho * a * a)))
    )


def test_normal_mixture_one_sided_boundary_solves_the_mixture_equation() -> None:
    rho, v, a = 2.0, 30.0, PER_BOUND
    u = normal_mixture_boundary(v, a, rho)
    spread = v + rho
    mixture = (
        2
        * math.sqrt(rho / spread)
        * math.exp(u * u / (2 * spread))
        * stats.norm.cdf(u / math.sqrt(spread))
    )
    assert mixture == pytest.approx(1.0 / a, rel=1e-8)


@pytest.mark.parametrize("level", [ALPHA, PER_BOUND])
@pytest.mark.parametrize("one_sided", [True, False])
def test_the_confidence_sequence_is_wider_than_the_fixed_n_quantile(
    level: float, one_sided: bool
) -> None:
    fixed = stats.norm.isf(level if one_sided else level / 2)
    for n in (2, 10, 24, 100, 1000, 10**5):
        bound = anytime_valid_bound(0.0, 1.0, n, alpha=level, optimal_n=100, one_sided=one_sided)
        assert bound.z_radius > fixed


def test_the_confidence_sequence_crosses_at_most_alpha_under_the_null() -> None:
    level, steps, paths = 0.05, 400, 20_000
    rho = normal_mixture_rho(100.0, level)
    boundary = np.array(
        [normal_mixture_boundary(float(n), level, rho) for n in range(1, steps + 1)]
    )
    rng = np.random.default_rng(2021)
    sums = np.cumsum(rng.standard_normal((paths, steps)), axis=1)
    crossed = float(np.mean((sums >= boundary).any(axis=1)))
    naive = float(
        np.mean((sums >= stats.norm.isf(level) * np.sqrt(np.arange(1, steps + 1))).any(axis=1))
    )
    assert crossed <= level
    assert naive > 3 * level  # peeking at a fixed-n bound 400 times is far from 5%


# Operating characteristics and the command line


def test_simulation_agrees_with_the_integration(efficacy_only_design: SequentialDesign) -> None:
    draws = 1_000_000
    null = simulate_design(efficacy_only_design, effect_multiple=0.0, replications=draws, seed=5)
    assert abs(null.established - PER_BOUND) < binomial_tolerance(PER_BOUND, draws)
    design = simulate_design(
        efficacy_only_design, effect_multiple=1.0, replications=200_000, seed=6
    )
    assert abs(design.established - 0.8) < binomial_tolerance(0.8, 200_000)
    assert sum(design.stop_by_look) == pytest.approx(1.0)
    assert design.expected_fraction_of_fixed < 1.0  # stops early often enough to save units


def test_cli_prints_the_published_design(capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        cli_main(["--alpha", "0.025", "--looks", "4", "--power", "0.8", "--futility", "none"]) == 0
    )
    out = capsys.readouterr().out
    for z in ("4.3326", "2.9631", "2.3590", "2.0141", "1.0196"):
        assert z in out


@pytest.mark.parametrize(
    "argv", [["--looks", "0"], ["--alpha", "2"], ["--fractions", "0.5,0.2,1"], ["--nope"]]
)
def test_cli_bad_input_is_one_line_and_exit_2(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli_main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "error" in err


def test_bad_input_raises_analysis_input_error() -> None:
    with pytest.raises(AnalysisInputError, match="fractions"):
        group_sequential_boundaries(ALPHA, (0.5, 0.5, 1.0))
    with pytest.raises(AnalysisInputError, match="alpha"):
        group_sequential_boundaries(1.5, EQUAL_FOUR)
    two_sided = Comparison(0.1, "both")  # type: ignore[arg-type]
    with pytest.raises(AnalysisInputError, match="side"):
        decide(plan_design(ALPHA, looks=1), (1.0,), LookEstimate(0.0, 0.1, 5), two_sided)
