"""The analysis engine's own tools, run small: the synthetic grid, the Monte-Carlo study
and the speed comparison with scipy (they had no test; the coverage floor counts them)."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
from scipy import special  # type: ignore[import-untyped]

from analysis import bench_speed, simulate
from analysis.grid import METRICS, synthetic_cell


def test_a_synthetic_cell_pairs_every_variant_with_the_baseline_unit_by_unit() -> None:
    rng = np.random.default_rng(5)
    effects = {"V1": {"latency": -0.2}, "V4": {"score": 0.15, "tokens": -0.05}}
    cell = synthetic_cell(rng, "120k", effects, n_units=25, units_per_repository=10)
    assert cell.budget == "120k"
    assert set(cell.variants) == {"V1", "V4"}
    assert cell.repository.tolist() == [float(i // 10) for i in range(25)]
    for arm in (cell.baseline, *cell.variants.values()):
        assert arm.score.shape == arm.tokens.shape == arm.latency.shape == (25,)
        assert np.all((arm.score >= 0) & (arm.score <= 1))
        assert np.all(arm.tokens > 0)
    for metric in METRICS:
        family = cell.comparisons(metric)
        assert [comparison.label for comparison in family] == [
            f"120k/{metric}/V1",
            f"120k/{metric}/V4",
        ]


def test_the_true_change_of_the_coverage_study_is_its_closed_form() -> None:
    mean_q = 2 / 5
    mean_q_power = special.beta(2.8, 3.0) / special.beta(2.0, 3.0)
    expected = mean_q_power / mean_q / math.exp(-0.1 + 0.3**2 / 2) - 1
    assert simulate.true_relative_change() == pytest.approx(expected, rel=1e-12)


def test_the_monte_carlo_study_runs_small_and_reports_rates(
    capsys: pytest.CaptureFixture[str],
) -> None:
    arguments = ["--reps", "6", "--aa-reps", "4", "--units", "30", "--resamples", "200"]
    assert simulate.main([*arguments, "--stress-reps", "3", "--jobs", "1"]) == 0
    output = capsys.readouterr().out
    assert output.startswith("command: python -m analysis.simulate --reps 6")
    coverage = re.findall(r"\(a\) coverage of nominal 95% BCa intervals.*: (\d+\.\d)%", output)
    assert len(coverage) == 2  # the default case and the heavy-tailed stress case
    assert all(0.0 <= float(value) <= 100.0 for value in coverage)
    rates = re.findall(r"\(b\) A/A family-wise false-positive rate, (\w+), (\w+) \((\w+)\)", output)
    assert {(metric, default) for metric, _, default in rates} == {
        ("qa_per_100k", "default"), ("qa_per_100k", "alternative"),
        ("latency_p95", "default"), ("latency_p95", "alternative"),
    }  # fmt: skip
    assert "elapsed:" in output


def test_the_monte_carlo_study_splits_its_work_over_processes() -> None:
    jobs = simulate._split("coverage", np.random.SeedSequence(3), 5, 2, units=20,
                           n_resamples=100, token_sigma=0.5)  # fmt: skip
    assert [job.reps for job in jobs] == [3, 2]
    results = simulate._map(jobs, 2)
    covered = sum(result[0] for result in results)
    assert 0 <= covered <= 5
    assert results == simulate._map(jobs, 1)  # the same seeds give the same counts anywhere


def test_the_speed_comparison_runs_small_and_agrees_with_scipy(
    capsys: pytest.CaptureFixture[str],
) -> None:
    arguments = ["--units", "25", "--resamples", "300", "--repeat", "1", "--scipy-cells", "1"]
    assert bench_speed.main([*arguments, "--seed", "11"]) == 0
    output = capsys.readouterr().out
    assert re.search(r"^grid: \d+ variants x 3 budgets x 4 metrics = \d+ intervals", output)
    assert "scipy timed on" in output
    assert "extrapolated" in output
    assert re.search(r"speed-up: [\d.]+x wall, [\d.]+x CPU", output)
    within = re.search(r"within 3 se: (\d+\.\d)%", output)
    assert within is not None
    assert float(within.group(1)) >= 50.0  # independent streams, Monte-Carlo error only
