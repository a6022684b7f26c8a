"""Laws of the analysis core the gates rest on: Cohen's d_z, Bonferroni and Holm.

Oracles: the definitions (Cohen 1988, sec. 2.3.5; Holm 1979), computed here in plain
Python, and the documented refusals, message for message.
"""

from __future__ import annotations

import math
import re
import statistics

import pytest
from hypothesis import given
from hypothesis import strategies as st

from analysis.effects import (
    adjusted_alpha,
    adjusted_confidence_level,
    bonferroni,
    bonferroni_p_values,
    cohens_dz,
    effect_label,
    holm,
)
from analysis.errors import AnalysisInputError
from tests.properties.strategies import laws

differences = st.lists(st.floats(-100, 100, allow_nan=False), min_size=2, max_size=30)
p_values = st.lists(st.floats(0, 1), min_size=1, max_size=12)
alphas = st.floats(1e-6, 0.999)


@laws(150)
@given(values=differences)
def test_cohens_dz_is_the_mean_over_the_sample_sd(values: list[float]) -> None:
    effect = cohens_dz(values)
    mean, sd = statistics.fmean(values), statistics.stdev(values)
    assert effect.n == len(values)
    assert math.isclose(effect.mean_difference, mean, rel_tol=1e-9, abs_tol=1e-9)
    assert math.isclose(effect.sd_difference, sd, rel_tol=1e-9, abs_tol=1e-9)
    if sd > 1e-9:
        assert math.isclose(effect.dz, effect.mean_difference / effect.sd_difference)
    assert effect.label == effect_label(effect.dz)


@laws(100)
@given(dz=st.floats(allow_nan=False))
def test_cohens_labels_follow_his_conventions(dz: float) -> None:
    size = abs(dz)
    expected = (
        "negligible"
        if size < 0.2
        else "small"
        if size < 0.5
        else "medium"
        if size < 0.8
        else "large"
    )
    assert effect_label(dz) == expected


@laws(150)
@given(p=p_values, alpha=alphas)
def test_holm_is_the_step_down_procedure(p: list[float], alpha: float) -> None:
    result = holm(p, alpha)
    m = len(p)
    order = sorted(range(m), key=lambda i: p[i])
    running = 0.0
    for rank, index in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[index]))
        assert math.isclose(result.adjusted_p_values[index], running, rel_tol=1e-12)
        assert bool(result.reject[index]) == (result.adjusted_p_values[index] <= alpha)
    assert result.alpha == alpha
    bonferroni_adjusted = bonferroni_p_values(p)
    assert all(bonferroni_adjusted[i] == min(1.0, m * p[i]) for i in range(m))
    assert all(result.reject[i] or bonferroni_adjusted[i] > alpha for i in range(m))


@laws(100)
@given(alpha=alphas, m=st.integers(1, 50))
def test_bonferroni_divides_alpha_by_the_family(alpha: float, m: int) -> None:
    assert bonferroni(alpha, m) == alpha / m
    assert adjusted_alpha(alpha, m, "holm") == adjusted_alpha(alpha, m) == alpha / m
    assert adjusted_confidence_level(alpha, m) == 1.0 - alpha / m


@laws(100)
@given(p=p_values, bad=st.one_of(st.floats(max_value=-1e-9), st.floats(min_value=1.000001)))
def test_p_values_outside_the_unit_interval_are_refused(p: list[float], bad: float) -> None:
    if math.isfinite(bad):
        with pytest.raises(AnalysisInputError, match=r"^`p_values` must lie in \[0, 1\]$"):
            holm([*p, bad])
    with pytest.raises(AnalysisInputError, match=r"^`p_values` is empty$"):
        bonferroni_p_values([])
    with pytest.raises(AnalysisInputError, match=r"^`p_values` must be 1-D; got 2 dimensions$"):
        bonferroni_p_values([p, p])


@laws(100)
@given(
    alpha=st.one_of(
        st.floats(max_value=0.0), st.floats(min_value=1.0), st.booleans(), st.text(max_size=3)
    ),
    m=st.one_of(st.integers(max_value=0), st.booleans(), st.floats()),
)
def test_bad_levels_and_families_are_refused_naming_the_parameter(alpha: object, m: object) -> None:
    if isinstance(alpha, float) and not math.isnan(alpha):
        message = rf"^`alpha` must be in \(0, 1\); got {re.escape(str(alpha))}$"
    else:
        message = r"^`alpha` must be a number in \(0, 1\)$" if not isinstance(alpha, float) else ""
    if message:
        with pytest.raises(AnalysisInputError, match=message):
            bonferroni(alpha, 3)  # type: ignore[arg-type]
    with pytest.raises(
        AnalysisInputError, match=r"^`m` \(the family size\) must be a positive integer; got "
    ):
        bonferroni(0.05, m)  # type: ignore[arg-type]
    with pytest.raises(AnalysisInputError, match=r"^`correction` must be one of "):
        adjusted_alpha(0.05, 3, "sidak")  # type: ignore[arg-type]
