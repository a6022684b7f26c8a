"""Speed of the batched BCa engine against scipy, on the standard grid.

Run::

    python -m analysis.bench_speed

The grid comes from the ``[tool.fastpath]`` registry: every candidate variant
x budget x gated metric (QA per 100k tokens, latency mean, latency p95, peak
memory mean), ``--units`` paired units (300 by default) and
``bootstrap_samples`` resamples. The script times

(a) the batched engine: one :func:`analysis.batch.bca_relative_change` call
    per budget cell (all variants x metrics share one draw of units), and
(b) ``scipy.stats.bootstrap(method="BCa", paired=True, vectorized=True)``
    called once per interval (``--scipy-cells`` limits how many budget cells
    scipy runs; the rest is extrapolated and the output says so),

then compares every endpoint with scipy's. Each interval uses its
comparison's method in both engines: BCa, except the p95 ratios, whose
default is the percentile interval (see :class:`analysis.batch.QuantileRatio`).
scipy uses an independent random stream, so the endpoints differ by
Monte-Carlo error only: the script prints
``|ours - scipy| / sqrt(2) se`` with ``se`` the endpoint's Monte-Carlo standard
error (:func:`analysis.bootstrap.endpoint_mc_se`).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats  # type: ignore[import-untyped]

from analysis.batch import (
    BCaBatchResult,
    MeanRatio,
    QuantileRatio,
    RatioOfSums,
    RelativeChange,
    bca_relative_change,
)
from analysis.bootstrap import FloatArray
from analysis.grid import METRICS, Cell, synthetic_cell
from contracts.family import gated_bounds, two_sided_level
from contracts.thresholds import thresholds_from_registry
from packrepo.registry import Registry

__all__ = ["main"]


def _ratio_of_sums(score_v: Any, tokens_v: Any, score_b: Any, tokens_b: Any, axis: int = -1) -> Any:
    variant = score_v.sum(axis=axis) / tokens_v.sum(axis=axis)
    return variant / (score_b.sum(axis=axis) / tokens_b.sum(axis=axis)) - 1.0


def _mean_ratio(variant: Any, baseline: Any, axis: int = -1) -> Any:
    return variant.mean(axis=axis) / baseline.mean(axis=axis) - 1.0


def _p95_ratio(variant: Any, baseline: Any, axis: int = -1) -> Any:
    return np.percentile(variant, 95, axis=axis) / np.percentile(baseline, 95, axis=axis) - 1.0


def _scipy_arguments(
    comparison: RelativeChange,
) -> tuple[tuple[Any, ...], Callable[..., Any]]:
    if isinstance(comparison, RatioOfSums):
        return comparison._arrays(), _ratio_of_sums
    if isinstance(comparison, QuantileRatio):
        return (comparison.variant, comparison.baseline), _p95_ratio
    if isinstance(comparison, MeanRatio):
        return (comparison.variant, comparison.baseline), _mean_ratio
    raise TypeError(type(comparison).__name__)


@dataclass(frozen=True)
class GridSpec:
    variants: dict[str, dict[str, float]]
    budgets: tuple[str, ...]
    n_resamples: int
    confidence_level: float
    seed: int


def grid_from_registry() -> GridSpec:
    """Variants, budgets and bootstrap settings from ``[tool.fastpath]``.

    Synthetic true effects follow each variant's intent: latency variants
    -20% latency, memory variants -30% memory, quality variants +15% score.
    """
    from packrepo.registry import load_registry

    registry = load_registry()
    effects = {"latency": {"latency": -0.2}, "memory": {"memory": -0.3}}
    variants = {
        variant.name: effects.get(variant.metric or "", {"score": 0.15, "tokens": -0.05})
        for variant in registry.candidates
    }
    return GridSpec(
        variants=variants,
        budgets=registry.budgets,
        n_resamples=int(registry.gates["bootstrap_samples"]),
        confidence_level=_registry_level(registry),
        seed=registry.seed,
    )


def _registry_level(registry: Registry) -> float:
    """The level the analysis computes every interval at (``contracts.family``)."""
    thresholds = thresholds_from_registry(registry)
    family = len(gated_bounds(registry, thresholds, registry.budgets))
    return two_sided_level(thresholds.alpha, family)


def _cell_comparisons(cell: Cell) -> list[RelativeChange]:
    return [comparison for metric in METRICS for comparison in cell.comparisons(metric)]


def _run_batched(
    cells: Sequence[Cell], spec: GridSpec
) -> tuple[tuple[float, float], list[BCaBatchResult]]:
    rng = np.random.default_rng(spec.seed)
    start, cpu = time.perf_counter(), time.process_time()
    results = [
        bca_relative_change(
            _cell_comparisons(cell),
            confidence_level=spec.confidence_level,
            n_resamples=spec.n_resamples,
            seed=rng,
        )
        for cell in cells
    ]
    return (time.perf_counter() - start, time.process_time() - cpu), results


def _run_scipy(
    cells: Sequence[Cell], spec: GridSpec
) -> tuple[tuple[float, float], list[list[tuple[float, float]]]]:
    rng = np.random.default_rng(spec.seed + 1)
    start, cpu = time.perf_counter(), time.process_time()
    endpoints = []
    for cell in cells:
        cell_endpoints = []
        for comparison in _cell_comparisons(cell):
            data, statistic = _scipy_arguments(comparison)
            result = stats.bootstrap(
                data,
                statistic,
                n_resamples=spec.n_resamples,
                vectorized=True,
                paired=True,
                confidence_level=spec.confidence_level,
                method=comparison.method,
                rng=rng,
            )
            interval = result.confidence_interval
            cell_endpoints.append((float(interval.low), float(interval.high)))
        endpoints.append(cell_endpoints)
    return (time.perf_counter() - start, time.process_time() - cpu), endpoints


def _agreement(
    ours: Sequence[BCaBatchResult], theirs: Sequence[Sequence[tuple[float, float]]]
) -> tuple[FloatArray, FloatArray, list[str]]:
    z_scores, relative, labels = [], [], []
    for batch, cell_endpoints in zip(ours, theirs, strict=False):
        se_low, se_high = batch.monte_carlo_se()
        for row, (low, high) in enumerate(cell_endpoints):
            width = batch.high[row] - batch.low[row]
            for mine, scipy_value, se in (
                (batch.low[row], low, se_low[row]),
                (batch.high[row], high, se_high[row]),
            ):
                difference = abs(mine - scipy_value)
                z_scores.append(difference / (np.sqrt(2.0) * se) if se > 0 else 0.0)
                relative.append(difference / width if width > 0 else 0.0)
                labels.append(batch.labels[row])
    return np.asarray(z_scores), np.asarray(relative), labels


def main(argv: Sequence[str] | None = None) -> int:
    """Time both engines on the standard grid and print the comparison."""
    parser = argparse.ArgumentParser(prog="python -m analysis.bench_speed", description=__doc__)
    parser.add_argument("--units", type=int, default=300, help="paired units per cell")
    parser.add_argument("--resamples", type=int, default=None, help="default: registry")
    parser.add_argument(
        "--scipy-cells", type=int, default=None, help="budget cells scipy runs (default: all)"
    )
    parser.add_argument("--seed", type=int, default=None, help="default: registry seed")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs (median reported)")
    args = parser.parse_args(argv)

    spec = grid_from_registry()
    if args.resamples is not None:
        spec = GridSpec(spec.variants, spec.budgets, args.resamples, spec.confidence_level,
                        spec.seed)  # fmt: skip
    if args.seed is not None:
        spec = GridSpec(spec.variants, spec.budgets, spec.n_resamples, spec.confidence_level,
                        args.seed)  # fmt: skip
    data_rng = np.random.default_rng(spec.seed + 2)
    cells = [
        synthetic_cell(data_rng, budget, spec.variants, n_units=args.units)
        for budget in spec.budgets
    ]
    per_cell = len(spec.variants) * len(METRICS)
    n_intervals = per_cell * len(cells)
    print(
        f"grid: {len(spec.variants)} variants x {len(cells)} budgets x {len(METRICS)} metrics "
        f"= {n_intervals} intervals; {args.units} paired units; B = {spec.n_resamples}; "
        f"confidence {spec.confidence_level}"
    )

    _run_batched(cells[:1], spec)  # warm-up (imports, caches)
    scipy_cells = len(cells) if args.scipy_cells is None else max(1, args.scipy_cells)
    load_before = os.getloadavg()[0]
    batched_runs, scipy_runs = [], []
    for _ in range(args.repeat):  # interleaved, so background load hits both alike
        batched_seconds, ours = _run_batched(cells, spec)
        scipy_seconds, theirs = _run_scipy(cells[:scipy_cells], spec)
        batched_runs.append(batched_seconds)
        scipy_runs.append(scipy_seconds)
    load_after = os.getloadavg()[0]
    extrapolate = n_intervals / (per_cell * scipy_cells)
    batched_wall, batched_cpu = np.median(batched_runs, axis=0)
    scipy_wall, scipy_cpu = np.median(scipy_runs, axis=0) * extrapolate
    runs = f"median of {args.repeat} interleaved run(s)"
    if extrapolate != 1:
        runs += f"; scipy timed on {per_cell * scipy_cells} intervals, extrapolated"
    print(f"timings ({runs}; load average {load_before:.2f} before, {load_after:.2f} after):")
    print(f"(a) batched engine:            {batched_wall:7.2f} s wall, {batched_cpu:7.2f} s CPU")
    print(f"(b) scipy, one call/interval:  {scipy_wall:7.2f} s wall, {scipy_cpu:7.2f} s CPU")
    print(f"speed-up: {scipy_wall / batched_wall:.1f}x wall, {scipy_cpu / batched_cpu:.1f}x CPU")

    z_scores, relative, labels = _agreement(ours[:scipy_cells], theirs)
    worst = int(np.argmax(z_scores))
    print(
        f"endpoints vs scipy ({z_scores.size} endpoints, independent streams): "
        f"|diff| / (sqrt(2) MC se): median {np.median(z_scores):.2f}, "
        f"95th pct {np.percentile(z_scores, 95):.2f}, max {z_scores.max():.2f} ({labels[worst]}); "
        f"within 3 se: {np.mean(z_scores <= 3):.1%}; "
        f"max |diff| / interval width: {relative.max():.3f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
