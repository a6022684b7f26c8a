"""The batched engine: same intervals as `bca`, weighted quantiles, cluster bootstrap."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis import (
    AnalysisInputError,
    DegenerateDataError,
    DegenerateIntervalWarning,
    MeanRatio,
    QuantileRatio,
    RatioOfSums,
    bca,
    bca_relative_change,
)
from analysis.batch import _SortedArm, _weighted_quantile


def _cell(seed: int, n: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    tokens_b = rng.lognormal(8.0, 1.0, n)
    score_b = rng.beta(2.0, 3.0, n)
    latency_b = rng.lognormal(0.0, 0.5, n)
    return {
        "tokens_b": tokens_b,
        "tokens_v": tokens_b * rng.lognormal(-0.1, 0.3, n),
        "score_b": score_b,
        "score_v": np.clip(score_b + rng.normal(0.03, 0.1, n), 0.0, 1.0),
        "latency_b": latency_b,
        "latency_v": latency_b * rng.lognormal(0.05, 0.2, n),
    }


def ratio_statistic(sv, tv, sb, tb, axis=-1):  # type: ignore[no-untyped-def]
    return (sv.sum(axis=axis) / tv.sum(axis=axis)) / (sb.sum(axis=axis) / tb.sum(axis=axis)) - 1


def mean_statistic(v, b, axis=-1):  # type: ignore[no-untyped-def]
    return v.mean(axis=axis) / b.mean(axis=axis) - 1


def p95_statistic(v, b, axis=-1):  # type: ignore[no-untyped-def]
    return np.percentile(v, 95, axis=axis) / np.percentile(b, 95, axis=axis) - 1


def test_batch_equals_generic_bca_with_the_same_seed() -> None:
    """One shared draw: each row equals `bca(..., paired=True)` with that seed."""
    cell = _cell(0, 120)
    comparisons = [
        RatioOfSums(cell["score_v"], cell["tokens_v"], cell["score_b"], cell["tokens_b"], "qa"),
        MeanRatio(cell["latency_v"], cell["latency_b"], label="latency"),
        QuantileRatio(cell["latency_v"], cell["latency_b"], q=0.95, label="p95", method="BCa"),
    ]
    batch = bca_relative_change(comparisons, n_resamples=3_000, seed=42)
    generic = [
        bca(
            [cell["score_v"], cell["tokens_v"], cell["score_b"], cell["tokens_b"]],
            ratio_statistic,
            paired=True,
            n_resamples=3_000,
            seed=42,
        ),
        bca(
            [cell["latency_v"], cell["latency_b"]],
            mean_statistic,
            paired=True,
            n_resamples=3_000,
            seed=42,
        ),
        bca(
            [cell["latency_v"], cell["latency_b"]],
            p95_statistic,
            paired=True,
            n_resamples=3_000,
            seed=42,
        ),
    ]
    assert batch.labels == ("qa", "latency", "p95")
    for row, expected in enumerate(generic):
        np.testing.assert_allclose(
            batch.bootstrap_distribution[row],
            expected.bootstrap_distribution,
            rtol=1e-10,
            atol=1e-14,
        )
        assert batch.estimate[row] == pytest.approx(expected.estimate, rel=1e-12)
        assert batch.acceleration[row] == pytest.approx(expected.acceleration, rel=1e-8, abs=1e-12)
        assert batch.low[row] == pytest.approx(expected.low, rel=1e-9)
        assert batch.high[row] == pytest.approx(expected.high, rel=1e-9)
        assert batch[row].p_value() == pytest.approx(expected.p_value(), rel=1e-6)


@settings(max_examples=40, deadline=None)
@given(
    values=st.lists(st.integers(0, 50), min_size=2, max_size=25),
    seed=st.integers(0, 2**32 - 1),
    q=st.sampled_from([0.0, 0.1, 0.5, 0.9, 0.95, 1.0]),
)
def test_weighted_quantile_equals_numpy_on_the_resample(
    values: list[int], seed: int, q: float
) -> None:
    x = np.asarray(values, dtype=float)
    rng = np.random.default_rng(seed)
    indices = rng.integers(0, x.size, size=(7, x.size))
    weights = np.stack([np.bincount(row, minlength=x.size) for row in indices]).astype(float)
    order = np.argsort(x, kind="stable")
    got = _weighted_quantile(_SortedArm(x[order], order), weights.T, weights.sum(axis=1), q)
    np.testing.assert_allclose(got, np.quantile(x[indices], q, axis=1), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("q", [0.9, 0.95, 0.99])
def test_weighted_upper_quantile_from_the_top_including_the_fallback(q: float) -> None:
    """Large n takes the top-of-distribution path; rows that draw none of the
    largest values take the full path. Both equal numpy on the expanded rows."""
    rng = np.random.default_rng(12)
    x = np.round(rng.lognormal(0.0, 1.0, 400), 2)  # rounding makes ties
    order = np.argsort(x, kind="stable")
    indices = rng.integers(0, x.size, size=(30, x.size))
    weights = np.stack([np.bincount(row, minlength=x.size) for row in indices]).astype(float)
    weights[:5, order[-150:]] = 0.0  # these rows miss the top 150 values
    weights[5:8] = rng.integers(0, 3, size=(3, x.size))  # cluster-like varying totals
    got = _weighted_quantile(_SortedArm(x[order], order), weights.T, weights.sum(axis=1), q)
    expected = [np.quantile(np.repeat(x, row.astype(int)), q) for row in weights]
    np.testing.assert_allclose(got, expected, rtol=1e-12)


def test_quantile_ratio_defaults_to_the_percentile_interval() -> None:
    cell = _cell(8, 200)
    batch = bca_relative_change(
        [QuantileRatio(cell["latency_v"], cell["latency_b"])], n_resamples=2_000, seed=5
    )
    assert batch.method == ("percentile",)
    expected = np.percentile(batch.bootstrap_distribution[0], [2.5, 97.5])
    assert (batch.low[0], batch.high[0]) == pytest.approx(tuple(expected), rel=1e-12)
    assert np.isfinite(batch.z0[0])  # still reported, as a diagnostic
    # The p-value inverts the percentile interval.
    assert (
        batch[0].p_value(float(batch.low[0]) - 1e-9)
        < 0.05
        < batch[0].p_value(float(batch.low[0]) + 1e-9)
    )


def test_jackknife_in_chunks_for_many_units() -> None:
    """Many units: the leave-one-out values come in chunks; a_hat still equals
    Efron & Tibshirani's eq. 14.15 on the closed-form jackknife of a ratio."""
    rng = np.random.default_rng(13)
    baseline = rng.lognormal(0.0, 0.7, 20_000)
    variant = baseline * rng.lognormal(0.05, 0.3, 20_000)
    batch = bca_relative_change([MeanRatio(variant, baseline)], n_resamples=100, seed=0)
    jackknife = (variant.sum() - variant) / (baseline.sum() - baseline) - 1.0
    centred = jackknife.mean() - jackknife
    expected = (centred**3).sum() / (6.0 * ((centred**2).sum()) ** 1.5)
    assert batch.acceleration[0] == pytest.approx(expected, rel=1e-6)


def test_cluster_bootstrap_with_singleton_clusters_is_the_unit_bootstrap() -> None:
    cell = _cell(1, 60)
    comparisons = [MeanRatio(cell["latency_v"], cell["latency_b"])]
    units = bca_relative_change(comparisons, n_resamples=1_000, seed=3)
    clusters = bca_relative_change(comparisons, n_resamples=1_000, seed=3, clusters=np.arange(60))
    assert clusters.resampling == "cluster"
    assert clusters.n_clusters == 60
    np.testing.assert_allclose(clusters.bootstrap_distribution, units.bootstrap_distribution)
    assert (clusters.low[0], clusters.high[0]) == pytest.approx((units.low[0], units.high[0]))


def test_cluster_bootstrap_of_sums_is_the_unit_bootstrap_of_cluster_totals() -> None:
    """A ratio of sums only sees cluster totals, so resampling clusters of
    units equals resampling the clusters' totals as units."""
    cell = _cell(2, 90)
    repository = np.repeat(np.arange(30), 3)
    totals = {key: np.bincount(repository, weights=values) for key, values in cell.items()}
    by_cluster = bca_relative_change(
        [RatioOfSums(cell["score_v"], cell["tokens_v"], cell["score_b"], cell["tokens_b"])],
        n_resamples=2_000,
        seed=9,
        clusters=repository,
    )
    by_total = bca_relative_change(
        [RatioOfSums(totals["score_v"], totals["tokens_v"], totals["score_b"], totals["tokens_b"])],
        n_resamples=2_000,
        seed=9,
    )
    np.testing.assert_allclose(by_cluster.bootstrap_distribution, by_total.bootstrap_distribution)
    assert by_cluster.acceleration[0] == pytest.approx(by_total.acceleration[0], rel=1e-9)
    assert by_cluster.degrees_of_freedom == 29


def test_cluster_intervals_are_wider_when_units_within_a_repository_correlate() -> None:
    rng = np.random.default_rng(4)
    repository = np.repeat(np.arange(20), 15)
    repository_effect = rng.lognormal(0.0, 0.6, 20)[repository]
    baseline = repository_effect * rng.lognormal(0.0, 0.1, 300)
    variant = baseline * repository_effect**0.3 * rng.lognormal(0.0, 0.05, 300)
    comparisons = [MeanRatio(variant, baseline)]
    units = bca_relative_change(comparisons, n_resamples=2_000, seed=1)
    clusters = bca_relative_change(comparisons, n_resamples=2_000, seed=1, clusters=repository)
    assert clusters.high[0] - clusters.low[0] > 2 * (units.high[0] - units.low[0])


def test_per_comparison_confidence_levels() -> None:
    cell = _cell(5, 80)
    comparison = MeanRatio(cell["latency_v"], cell["latency_b"])
    batch = bca_relative_change(
        [comparison, comparison], confidence_level=[0.9, 0.99], seed=2, n_resamples=2_000
    )
    assert batch.low[1] < batch.low[0] < batch.high[0] < batch.high[1]
    np.testing.assert_array_equal(batch.confidence_level, [0.9, 0.99])


def test_monte_carlo_se_is_small_relative_to_the_interval() -> None:
    cell = _cell(6, 150)
    batch = bca_relative_change([MeanRatio(cell["latency_v"], cell["latency_b"])], seed=0)
    se_low, se_high = batch.monte_carlo_se()
    width = batch.high[0] - batch.low[0]
    assert 0 < se_low[0] < 0.05 * width
    assert 0 < se_high[0] < 0.05 * width


def test_identical_arms_give_a_degenerate_zero_interval() -> None:
    cell = _cell(7, 30)
    with pytest.warns(DegenerateIntervalWarning, match="zero spread"):
        batch = bca_relative_change(
            [MeanRatio(cell["latency_b"], cell["latency_b"])], n_resamples=200, seed=0
        )
    assert batch.method == ("degenerate",)
    assert batch.low[0] == batch.high[0] == batch.estimate[0] == 0.0
    assert batch.p_values()[0] == 1.0


@pytest.mark.parametrize(
    ("make", "error", "match"),
    [
        (lambda: [MeanRatio([1.0, 2.0, 3.0], [1.0, 2.0])], AnalysisInputError, "same length"),
        (lambda: [MeanRatio([1.0, np.nan], [1.0, 2.0])], DegenerateDataError, "NaN"),
        (lambda: [MeanRatio([1.0], [1.0])], DegenerateDataError, "at least 2"),
        (lambda: [MeanRatio([], [])], AnalysisInputError, "empty"),
        (lambda: [MeanRatio([1.0, -2.0], [1.0, 2.0])], AnalysisInputError, "non-negative"),
        (lambda: [MeanRatio([1.0, 2.0], [0.0, 0.0])], DegenerateDataError, "not finite"),
        (lambda: [QuantileRatio([1.0, 2.0], [1.0, 2.0], q=1.5)], AnalysisInputError, "q"),
        (lambda: [MeanRatio([1.0, 2.0], [1.0, 2.0], method="bca")], AnalysisInputError, "method"),
        (lambda: [], AnalysisInputError, "empty"),
        (lambda: ["qa"], AnalysisInputError, "RatioOfSums, MeanRatio or QuantileRatio"),
    ],
)
def test_bad_comparisons_raise(make, error: type, match: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(error, match=match):
        bca_relative_change(make(), n_resamples=50, seed=0)


def test_zero_baseline_total_on_a_resample_raises() -> None:
    baseline = np.zeros(20)
    baseline[0] = 1.0
    with pytest.raises(DegenerateDataError, match="resamples"):
        bca_relative_change([MeanRatio(np.ones(20), baseline)], n_resamples=500, seed=0)


def test_bad_clusters_and_levels_raise() -> None:
    comparison = MeanRatio([1.0, 2.0, 3.0], [1.0, 2.5, 3.0])
    with pytest.raises(AnalysisInputError, match="`clusters`"):
        bca_relative_change([comparison], clusters=[1, 2], n_resamples=10)
    with pytest.raises(DegenerateDataError, match="single cluster"):
        bca_relative_change([comparison], clusters=["a", "a", "a"], n_resamples=10)
    with pytest.raises(AnalysisInputError, match="`confidence_level`"):
        bca_relative_change([comparison], confidence_level=[0.9, 0.95], n_resamples=10)
