"""BCa bootstrap: published results, agreement with scipy, laws, degenerate input."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import stats

from analysis import (
    AnalysisInputError,
    BCaResult,
    DegenerateDataError,
    DegenerateIntervalWarning,
    bca,
)

# Efron & Tibshirani (1993), Table 14.1: spatial test scores "A" of 26
# neurologically impaired children.
SPATIAL_A = np.array(
    [48, 36, 20, 29, 42, 42, 20, 42, 22, 41, 45, 14, 6,
     0, 33, 28, 34, 4, 32, 24, 47, 41, 24, 26, 30, 41],
    dtype=float,
)  # fmt: skip


def plug_in_variance(x: np.ndarray, axis: int = -1) -> np.ndarray:
    return np.var(x, axis=axis)


def mean(x: np.ndarray, axis: int = -1) -> np.ndarray:
    return np.mean(x, axis=axis)


def difference_of_means(x: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
    return np.mean(x, axis=axis) - np.mean(y, axis=axis)


def ratio_of_sums(
    score_v: np.ndarray,
    tokens_v: np.ndarray,
    score_b: np.ndarray,
    tokens_b: np.ndarray,
    axis: int = -1,
) -> np.ndarray:
    variant = score_v.sum(axis=axis) / tokens_v.sum(axis=axis)
    baseline = score_b.sum(axis=axis) / tokens_b.sum(axis=axis)
    return variant / baseline - 1.0


def _scipy_tolerance(ours: BCaResult, k: float = 5.0) -> tuple[float, float]:
    """``k`` Monte-Carlo standard errors of the difference of two independent runs."""
    se_low, se_high = ours.monte_carlo_se()
    return k * np.sqrt(2.0) * se_low, k * np.sqrt(2.0) * se_high


# ---------------------------------------------------------------------------
# Published results
# ---------------------------------------------------------------------------


def test_spatial_variance_matches_efron_tibshirani_table_14_2() -> None:
    """Efron & Tibshirani (1993), sec. 14.3-14.4 and Table 14.2.

    Plug-in variance of the spatial test scores A: theta_hat = 171.5,
    acceleration a_hat = 0.061 (deterministic: jackknife, eq. 14.15), and the
    90% BCa interval (115.8, 259.6) from B = 2000 resamples. Martinez &
    Martinez, *Computational Statistics Handbook with MATLAB*, Example 7.8,
    reproduce it with z0_hat = 0.16, a_hat = 0.061 and (115.97, 258.54).
    The tolerance allows for the Monte-Carlo error of the published B = 2000
    run (about 2.4 on the lower and 4.5 on the upper endpoint) plus ours.
    """
    result = bca([SPATIAL_A], plug_in_variance, confidence_level=0.90, n_resamples=20_000, seed=7)
    assert result.estimate == pytest.approx(171.5, abs=0.05)
    assert result.acceleration == pytest.approx(0.061, abs=0.0005)
    assert result.z0 == pytest.approx(0.16, abs=0.06)
    assert result.low == pytest.approx(115.8, abs=8.0)
    assert result.high == pytest.approx(259.6, abs=15.0)
    assert result.method == "BCa"


def test_acceleration_of_the_mean_is_the_skewness_formula() -> None:
    """For the mean, jackknife influence values are x_i - x_bar exactly, so
    a_hat = sum (x - x_bar)^3 / (6 (sum (x - x_bar)^2)^1.5) (Efron 1987, eq. 6.7).

    Data: the air-conditioning failure times of Proschan (1963), R boot's
    ``aircondit`` (Davison & Hinkley 1997, Example 1.1).
    """
    aircondit = np.array([3, 5, 7, 18, 43, 85, 91, 98, 100, 130, 230, 487], dtype=float)
    centred = aircondit - aircondit.mean()
    expected = (centred**3).sum() / (6.0 * ((centred**2).sum()) ** 1.5)
    result = bca([aircondit], mean, n_resamples=500, seed=0)
    assert result.acceleration == pytest.approx(expected, rel=1e-12)
    assert result.estimate == pytest.approx(108.0833333, rel=1e-9)


# ---------------------------------------------------------------------------
# Agreement with scipy.stats.bootstrap(method="BCa") within Monte-Carlo error
# ---------------------------------------------------------------------------


def _skewed_sample(seed: int, n: int) -> np.ndarray:
    return np.random.default_rng(seed).lognormal(0.0, 0.8, n)


@pytest.mark.parametrize(("seed", "n"), [(1, 15), (2, 40), (3, 120)])
def test_one_sample_mean_agrees_with_scipy(seed: int, n: int) -> None:
    x = _skewed_sample(seed, n)
    ours = bca([x], mean, n_resamples=10_000, seed=seed)
    theirs = stats.bootstrap(
        (x,), mean, n_resamples=10_000, method="BCa", rng=np.random.default_rng(seed + 1000)
    )
    tol_low, tol_high = _scipy_tolerance(ours)
    assert abs(ours.low - theirs.confidence_interval.low) <= tol_low
    assert abs(ours.high - theirs.confidence_interval.high) <= tol_high


@pytest.mark.parametrize(("seed", "sizes"), [(4, (20, 30)), (5, (60, 45))])
def test_two_sample_unpaired_difference_agrees_with_scipy(
    seed: int, sizes: tuple[int, int]
) -> None:
    x = _skewed_sample(seed, sizes[0])
    y = _skewed_sample(seed + 50, sizes[1]) * 1.2
    ours = bca([x, y], difference_of_means, n_resamples=10_000, seed=seed)
    theirs = stats.bootstrap(
        (x, y),
        difference_of_means,
        n_resamples=10_000,
        method="BCa",
        rng=np.random.default_rng(seed + 1000),
    )
    tol_low, tol_high = _scipy_tolerance(ours)
    assert abs(ours.low - theirs.confidence_interval.low) <= tol_low
    assert abs(ours.high - theirs.confidence_interval.high) <= tol_high


@pytest.mark.parametrize(("seed", "n", "level"), [(6, 30, 0.95), (7, 200, 0.95), (8, 80, 0.99)])
def test_paired_ratio_of_sums_agrees_with_scipy(seed: int, n: int, level: float) -> None:
    rng = np.random.default_rng(seed)
    tokens_b = rng.lognormal(8.0, 1.0, n)
    tokens_v = tokens_b * rng.lognormal(-0.1, 0.3, n)
    score_b = rng.beta(2.0, 3.0, n)
    score_v = np.clip(score_b + rng.normal(0.03, 0.1, n), 0.0, 1.0)
    samples = (score_v, tokens_v, score_b, tokens_b)
    ours = bca(samples, ratio_of_sums, paired=True, confidence_level=level, seed=seed)
    theirs = stats.bootstrap(
        samples,
        ratio_of_sums,
        paired=True,
        confidence_level=level,
        n_resamples=10_000,
        method="BCa",
        rng=np.random.default_rng(seed + 1000),
    )
    tol_low, tol_high = _scipy_tolerance(ours)
    assert abs(ours.low - theirs.confidence_interval.low) <= tol_low
    assert abs(ours.high - theirs.confidence_interval.high) <= tol_high


def test_same_draws_as_scipy_give_the_same_interval() -> None:
    """Both draw ``rng.integers(0, n, (B, n))``; with one generator state the
    endpoints coincide, which checks z0 (mid-rank ties), a_hat and the
    quantile rule independently of Monte-Carlo error."""
    x = _skewed_sample(11, 25)
    ours = bca([x], plug_in_variance, n_resamples=2_000, seed=3)
    theirs = stats.bootstrap(
        (x,), plug_in_variance, n_resamples=2_000, method="BCa", rng=np.random.default_rng(3)
    )
    np.testing.assert_allclose(ours.bootstrap_distribution, theirs.bootstrap_distribution)
    assert ours.low == pytest.approx(theirs.confidence_interval.low, rel=1e-12)
    assert ours.high == pytest.approx(theirs.confidence_interval.high, rel=1e-12)


# ---------------------------------------------------------------------------
# Laws (hypothesis)
# ---------------------------------------------------------------------------

finite_samples = st.lists(
    st.floats(min_value=-1e3, max_value=1e3, allow_nan=False, allow_infinity=False),
    min_size=3,
    max_size=30,
).filter(lambda values: np.ptp(values) > 1e-3)

law_settings = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


@law_settings
@given(values=finite_samples, seed=st.integers(0, 2**32 - 1))
def test_estimate_lies_inside_the_interval(values: list[float], seed: int) -> None:
    result = bca([values], mean, n_resamples=400, seed=seed)
    if result.method == "BCa":
        assert result.low <= result.estimate <= result.high


@law_settings
@given(
    values=finite_samples,
    shift=st.floats(-100, 100),
    scale=st.floats(0.1, 10),
    seed=st.integers(0, 1000),
)
def test_mean_interval_is_affine_equivariant(
    values: list[float], shift: float, scale: float, seed: int
) -> None:
    x = np.asarray(values)
    base = bca([x], mean, n_resamples=300, seed=seed)
    moved = bca([scale * x + shift], mean, n_resamples=300, seed=seed)
    width = base.high - base.low
    tolerance = 1e-6 * scale * (abs(width) + np.abs(x).max()) + 1e-9 * abs(shift)
    assert moved.low == pytest.approx(scale * base.low + shift, abs=tolerance)
    assert moved.high == pytest.approx(scale * base.high + shift, abs=tolerance)


@law_settings
@given(values=finite_samples, seed=st.integers(0, 2**32 - 1))
def test_same_seed_gives_identical_bytes(values: list[float], seed: int) -> None:
    first = bca([values], mean, n_resamples=200, seed=seed)
    second = bca([values], mean, n_resamples=200, seed=seed)
    assert first.bootstrap_distribution.tobytes() == second.bootstrap_distribution.tobytes()
    assert (first.low, first.high, first.z0, first.acceleration) == (
        second.low,
        second.high,
        second.z0,
        second.acceleration,
    )


@law_settings
@given(values=finite_samples, seed=st.integers(0, 2**32 - 1))
def test_confidence_intervals_nest(values: list[float], seed: int) -> None:
    narrow = bca([values], mean, confidence_level=0.90, n_resamples=300, seed=seed)
    wide = bca([values], mean, confidence_level=0.95, n_resamples=300, seed=seed)
    assert wide.low <= narrow.low <= narrow.high <= wide.high


@law_settings
@given(values=finite_samples, seed=st.integers(0, 2**32 - 1), level=st.floats(0.5, 0.99))
def test_p_value_agrees_with_the_interval(values: list[float], seed: int, level: float) -> None:
    """p < 1 - level exactly when the null value lies outside the interval."""
    result = bca([values], mean, confidence_level=level, n_resamples=300, seed=seed)
    for null in (result.low - 1.0, result.low, 0.5 * (result.low + result.high), result.high):
        outside = null < result.low or null > result.high
        p_value = result.p_value(null)
        assert 0.0 < p_value <= 1.0
        if null not in (result.low, result.high):
            assert (p_value < 1.0 - level) == outside


# ---------------------------------------------------------------------------
# Degenerate and malformed input
# ---------------------------------------------------------------------------


def test_constant_data_falls_back_to_a_point_interval() -> None:
    with pytest.warns(DegenerateIntervalWarning, match="zero spread"):
        result = bca([np.full(10, 3.25)], mean, n_resamples=100, seed=0)
    assert result.method == "degenerate"
    assert result.low == result.high == result.estimate == 3.25
    assert np.isfinite([result.z0, result.acceleration, result.standard_error]).all()
    assert result.p_value(3.25) == 1.0
    assert result.p_value(0.0) == pytest.approx(1 / 101)


def distinct_values(x: np.ndarray, axis: int = -1) -> np.ndarray:
    ordered = np.sort(x, axis=axis)
    return 1.0 + np.count_nonzero(np.diff(ordered, axis=axis), axis=axis)


def test_one_sided_bootstrap_distribution_falls_back_to_percentile() -> None:
    # A resample almost never holds all 30 distinct values: every bootstrap
    # value lies below the estimate and z0_hat = +inf.
    x = np.arange(1.0, 31.0)
    with pytest.warns(DegenerateIntervalWarning, match="percentile"):
        result = bca([x], distinct_values, n_resamples=200, seed=1)
    assert result.method == "percentile"
    assert result.z0 == float("inf")
    expected = np.percentile(result.bootstrap_distribution, [2.5, 97.5])
    assert (result.low, result.high) == pytest.approx(tuple(expected))
    assert result.p_value(30.0) == pytest.approx(1 / 201)  # the Monte-Carlo floor


@pytest.mark.parametrize(
    ("samples", "error", "match"),
    [
        ([[1.0]], DegenerateDataError, r"`samples\[0\]` has 1 value"),
        ([[]], AnalysisInputError, r"`samples\[0\]` is empty"),
        ([[1.0, np.nan, 2.0]], DegenerateDataError, "NaN or infinite"),
        ([[1.0, np.inf, 2.0]], DegenerateDataError, "NaN or infinite"),
        ([[[1.0, 2.0], [3.0, 4.0]]], AnalysisInputError, "must be 1-D"),
        ([["a", "b"]], AnalysisInputError, "array of numbers"),
        ([], AnalysisInputError, "at least one sample"),
        ("abc", AnalysisInputError, "sequence of 1-D arrays"),
    ],
)
def test_bad_samples_raise_clear_errors(samples: object, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        bca(samples, mean, n_resamples=10)  # type: ignore[arg-type]


def test_mismatched_paired_lengths_raise() -> None:
    with pytest.raises(AnalysisInputError, match="equal lengths"):
        bca([[1.0, 2.0, 3.0], [1.0, 2.0]], difference_of_means, paired=True, n_resamples=10)


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"confidence_level": 1.0}, "`confidence_level`"),
        ({"confidence_level": True}, "`confidence_level`"),
        ({"n_resamples": 0}, "`n_resamples`"),
        ({"n_resamples": 2.5}, "`n_resamples`"),
        ({"paired": "yes"}, "`paired`"),
        ({"seed": "x"}, "`seed`"),
    ],
)
def test_bad_options_name_the_parameter(options: dict[str, object], match: str) -> None:
    with pytest.raises(AnalysisInputError, match=match):
        bca([[1.0, 2.0, 3.0]], mean, **options)  # type: ignore[arg-type]


def test_statistic_not_finite_on_a_resample_raises() -> None:
    x = np.array([0.0, 0.0, 0.0, 1.0])
    with pytest.raises(DegenerateDataError, match="NaN or infinite on a bootstrap resample"):
        bca([x], lambda x, axis: 1.0 / np.sum(x, axis=axis), n_resamples=200, seed=0)


def test_errors_are_value_errors() -> None:
    assert issubclass(DegenerateDataError, AnalysisInputError)
    assert issubclass(AnalysisInputError, ValueError)
