"""Effect sizes, multiplicity and power: published values and hand computations."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from analysis import (
    AnalysisInputError,
    Family,
    MeanRatio,
    RatioOfSums,
    adjusted_confidence_level,
    bonferroni,
    cohens_dz,
    compare,
    effect_label,
    holm,
    minimum_detectable_effect,
    paired_t_power,
    power_analysis,
    units_for_power,
)

# ---------------------------------------------------------------------------
# Cohen's d_z
# ---------------------------------------------------------------------------


def test_cohens_dz_by_hand() -> None:
    differences = np.array([1.0, 2.0, 3.0, 4.0, 5.0])  # mean 3, sd sqrt(2.5)
    effect = cohens_dz(differences)
    assert effect.dz == pytest.approx(3.0 / math.sqrt(2.5))
    assert effect.label == "large"
    assert (effect.mean_difference, effect.n) == (3.0, 5)


@pytest.mark.parametrize(
    ("dz", "label"),
    [
        (0.0, "negligible"),
        (0.19, "negligible"),
        (-0.2, "small"),
        (0.49, "small"),
        (0.5, "medium"),
        (-0.79, "medium"),
        (0.8, "large"),
        (math.inf, "large"),
    ],
)
def test_cohen_1988_labels(dz: float, label: str) -> None:
    assert effect_label(dz) == label


def test_dz_fallbacks_for_differences_without_spread() -> None:
    assert cohens_dz([0.0, 0.0, 0.0]).dz == 0.0
    assert cohens_dz([2.0, 2.0, 2.0]).dz == math.inf
    assert cohens_dz([-2.0, -2.0]).label == "large"
    with pytest.raises(AnalysisInputError, match="NaN"):
        effect_label(math.nan)


# ---------------------------------------------------------------------------
# Multiplicity
# ---------------------------------------------------------------------------


def test_bonferroni_level_and_confidence() -> None:
    assert bonferroni(0.05, 5) == pytest.approx(0.01)
    assert adjusted_confidence_level(0.05, 5) == pytest.approx(0.99)
    with pytest.raises(AnalysisInputError, match="`alpha`"):
        bonferroni(1.5, 5)
    with pytest.raises(AnalysisInputError, match="`m`"):
        bonferroni(0.05, 0)


def test_holm_published_example() -> None:
    """pingouin.holm documentation: p = [.50, .003, .32, .054, .0003] at alpha .05
    gives reject [F, T, F, F, T], adjusted [0.64, 0.012, 0.64, 0.162, 0.0015]."""
    result = holm([0.50, 0.003, 0.32, 0.054, 0.0003], alpha=0.05)
    np.testing.assert_array_equal(result.reject, [False, True, False, False, True])
    np.testing.assert_allclose(result.adjusted_p_values, [0.64, 0.012, 0.64, 0.162, 0.0015])


def test_holm_by_hand_steps_down_and_stops() -> None:
    """Holm (1979): sorted p = .005, .01, .03, .04 against .05/4, .05/3, .05/2, .05/1.
    .005 <= .0125 reject; .01 <= .0167 reject; .03 > .025 stop (and keep .04)."""
    result = holm([0.01, 0.04, 0.03, 0.005], alpha=0.05)
    np.testing.assert_array_equal(result.reject, [True, False, False, True])
    np.testing.assert_allclose(result.adjusted_p_values, [0.03, 0.06, 0.06, 0.02])


@settings(max_examples=60, deadline=None)
@given(p_values=st.lists(st.floats(0.0, 1.0), min_size=1, max_size=12))
def test_holm_rejects_at_least_what_bonferroni_rejects(p_values: list[float]) -> None:
    p = np.asarray(p_values)
    result = holm(p, 0.05)
    bonferroni_reject = p <= 0.05 / p.size
    assert np.all(result.reject[bonferroni_reject])
    assert np.all(result.adjusted_p_values >= p)
    assert np.all(result.adjusted_p_values <= 1.0)


# ---------------------------------------------------------------------------
# Power
# ---------------------------------------------------------------------------


def test_power_of_paired_t_matches_the_published_table() -> None:
    """Paired t, d_z = 0.5, n = 34, two-sided alpha = .05: power 0.80 (Cohen 1988,
    ch. 2; G*Power reports 0.8078). d_z = 0.2 needs 199 pairs and 0.8 needs 15."""
    assert paired_t_power(0.5, 34) == pytest.approx(0.8078, abs=0.001)
    assert units_for_power(0.5) == 34
    assert units_for_power(0.2) == 199
    assert units_for_power(0.8) == 15


def test_power_agrees_with_a_scipy_ttest_simulation() -> None:
    rng = np.random.default_rng(0)
    draws = rng.normal(0.4, 1.0, size=(20_000, 25))
    rejected = stats.ttest_1samp(draws, 0.0, axis=1).pvalue < 0.05
    simulated = rejected.mean()
    se = math.sqrt(simulated * (1 - simulated) / draws.shape[0])
    assert paired_t_power(0.4, 25) == pytest.approx(simulated, abs=4 * se)


def test_power_under_the_null_is_alpha_and_one_sided_is_larger() -> None:
    assert paired_t_power(0.0, 30, alpha=0.05) == pytest.approx(0.05)
    assert paired_t_power(0.3, 30, alternative="greater") > paired_t_power(0.3, 30)
    assert paired_t_power(0.3, 30, alternative="less") < 0.05


@settings(max_examples=30, deadline=None)
@given(n=st.integers(3, 2_000), alpha=st.sampled_from([0.05, 0.01, 0.005]))
def test_mde_and_units_invert_the_power_function(n: int, alpha: float) -> None:
    mde = minimum_detectable_effect(n, alpha=alpha)
    assert paired_t_power(mde, n, alpha=alpha) == pytest.approx(0.80, abs=1e-6)
    needed = units_for_power(mde * 1.001, alpha=alpha)
    assert needed is not None
    assert needed <= n
    assert paired_t_power(mde * 1.001, needed, alpha=alpha) >= 0.80
    if needed > 2:
        assert paired_t_power(mde * 1.001, needed - 1, alpha=alpha) < 0.80


def test_power_analysis_in_relative_change_units() -> None:
    # se 0.05 with 100 units: sigma_u = 0.5, target 0.13 -> d_z = 0.26.
    result = power_analysis(0.13, 0.05, 100, alpha=0.01)
    assert result.power == pytest.approx(paired_t_power(0.26, 100, alpha=0.01))
    assert result.underpowered == (result.power < 0.80)
    assert result.minimum_detectable_effect == pytest.approx(
        0.5 * minimum_detectable_effect(100, alpha=0.01)
    )
    assert result.units_for_target == units_for_power(0.26, alpha=0.01)
    assert power_analysis(0.13, 0.0, 100).power == 1.0
    assert units_for_power(0.0) is None


@pytest.mark.parametrize(
    "call",
    [
        lambda: paired_t_power(0.5, 1),
        lambda: paired_t_power(math.nan, 10),
        lambda: paired_t_power(0.5, 10, alpha=0.0),
        lambda: paired_t_power(0.5, 10, alternative="sideways"),  # type: ignore[arg-type]
        lambda: power_analysis(0.1, -1.0, 10),
    ],
)
def test_power_input_validation(call) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(AnalysisInputError):
        call()


# ---------------------------------------------------------------------------
# Families of comparisons
# ---------------------------------------------------------------------------


def _family_data(
    seed: int, n: int, effects: list[float]
) -> tuple[list[RatioOfSums], list[MeanRatio]]:
    rng = np.random.default_rng(seed)
    tokens_b = rng.lognormal(8.0, 0.8, n)
    score_b = rng.beta(3.0, 3.0, n)
    latency_b = rng.lognormal(0.0, 0.4, n)
    qa, latency = [], []
    for index, effect in enumerate(effects):
        tokens_v = tokens_b * rng.lognormal(0.0, 0.1, n)
        score_v = np.clip(score_b * (1 + effect) + rng.normal(0, 0.05, n), 0, None)
        latency_v = latency_b * rng.lognormal(effect, 0.1, n)
        qa.append(RatioOfSums(score_v, tokens_v, score_b, tokens_b, label=f"V{index + 1}"))
        latency.append(MeanRatio(latency_v, latency_b, label=f"V{index + 1}"))
    return qa, latency


@pytest.mark.parametrize("correction", ["bonferroni", "holm"])
def test_compare_reports_intervals_p_values_effects_and_power(correction: str) -> None:
    qa, latency = _family_data(0, 150, [0.0, 0.0, 0.15, 0.3])
    families = compare(
        [Family("qa", qa, 0.13, "greater"), Family("latency", latency, 0.10)],
        correction=correction,  # type: ignore[arg-type]
        n_resamples=2_000,
        seed=1,
    )
    assert [family.name for family in families] == ["qa", "latency"]
    for family in families:
        assert family.m == 4
        assert family.confidence_level == pytest.approx(1 - 0.05 / 4)
        labels = [comparison.label for comparison in family.comparisons]
        assert labels == ["V1", "V2", "V3", "V4"]
        for comparison in family.comparisons:
            assert comparison.ci_low <= comparison.relative_change <= comparison.ci_high
            assert comparison.power.alpha == pytest.approx(0.0125)
            assert comparison.effect_size.label in {"negligible", "small", "medium", "large"}
            excludes_zero = comparison.ci_low > 0 or comparison.ci_high < 0
            if correction == "bonferroni":
                assert comparison.significant == excludes_zero
            elif excludes_zero:
                assert comparison.significant
        assert family.comparisons[3].significant
        assert family.comparisons[3].relative_change > 0.2


def test_compare_cluster_sensitivity_counts_repositories_for_power() -> None:
    qa, _ = _family_data(3, 120, [0.1, 0.2])
    repository = np.repeat(np.arange(24), 5)
    (family,) = compare([Family("qa", qa, 0.13)], n_resamples=1_000, seed=0, clusters=repository)
    assert all(comparison.resampling == "cluster" for comparison in family.comparisons)
    assert all(comparison.power.n_units == 24 for comparison in family.comparisons)


def test_compare_rejects_bad_arguments() -> None:
    qa, _ = _family_data(4, 20, [0.1])
    with pytest.raises(AnalysisInputError, match="`correction`"):
        compare([Family("qa", qa, 0.13)], correction="bh")  # type: ignore[arg-type]
    with pytest.raises(AnalysisInputError, match="`families`"):
        compare([])
    with pytest.raises(AnalysisInputError, match="Family with comparisons"):
        compare([Family("qa", [], 0.13)])
