"""Operating characteristics of a sequential design by seeded, vectorised simulation.

The boundaries of :mod:`analysis.spending` are exact for Gaussian increments
with known variance; the simulation confirms that and measures what exactness
does not cover: the error, power and expected sample of the design with
non-binding futility obeyed, and, with ``fixed_units``, the nominal-level
conversion of the cluster t on few degrees of freedom (:func:`analysis.sequential.decide`).
Expected sample sizes are fractions of the fixed design (Jennison & Turnbull
2000, ch. 7, report the same quantity).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import stats  # type: ignore[import-untyped]

from analysis.errors import AnalysisInputError
from analysis.sequential import SequentialDesign, design_boundaries, fixed_drift
from analysis.spending import FloatArray

__all__ = ["SimulationResult", "simulate_design"]


@dataclass(frozen=True)
class SimulationResult:
    """Operating characteristics of a design at ``effect_multiple`` times the design effect
    (0: the null, at the margin for non-inferiority; 1: the design effect)."""

    effect_multiple: float
    replications: int
    established: float  # futility obeyed
    futile: float  # stopped for futility before the last look
    not_established: float  # reached the last look without crossing
    established_ignoring_futility: float  # the rate the error guarantee is about
    expected_fraction_of_fixed: float  # E[units at stop] / n_fixed, futility obeyed
    stop_by_look: tuple[float, ...]


def simulate_design(
    design: SequentialDesign,
    *,
    effect_multiple: float,
    replications: int,
    seed: int,
    fixed_units: int | None = None,
    batch: int = 200_000,
) -> SimulationResult:
    """Seeded, vectorised simulation of the planned looks.

    ``fixed_units=None``: Gaussian increments with known variance, the model the
    boundaries are exact for. ``fixed_units=n``: ``ceil(R n)`` Gaussian units with
    the looks at whole units, the standard error estimated and the t statistic
    on ``n_k - 1`` df decided through the nominal levels, as :func:`decide` does:
    this measures the small-sample conversion.
    """
    if replications < 1 or batch < 1:
        raise AnalysisInputError("`replications` and `batch` must be positive")
    rng = np.random.default_rng(seed)
    units: npt.NDArray[np.int_] | None = None
    fractions, scale, unit_mean = np.asarray(design.planned_fractions), design.inflation, 0.0
    if fixed_units is not None:
        if fixed_units < 2:
            raise AnalysisInputError(f"`fixed_units` must be at least 2; got {fixed_units}")
        n_max = math.ceil(design.inflation * fixed_units)
        units = np.maximum(2, np.round(fractions * n_max).astype(int))
        fractions, scale = units / n_max, n_max / fixed_units
        # The design effect of a fixed z test on n_fixed unit-variance units.
        unit_mean = (
            effect_multiple * fixed_drift(design.alpha, design.power) / math.sqrt(fixed_units)
        )
    bounds = design_boundaries(design, tuple(float(t) for t in fractions), final=True)
    efficacy, futility = np.asarray(bounds.efficacy), np.asarray(bounds.futility)
    looks = len(fractions)
    # Draws per batch stay near 2e7 doubles (160 MB), whatever the number of units.
    batch = max(1, min(batch, 20_000_000 // int(units[-1] if units is not None else looks)))
    established = futile = established_ignoring_futility = 0
    stopped_fraction_sum = 0.0
    stops = np.zeros(looks)
    for start in range(0, replications, batch):
        size = min(batch, replications - start)
        if units is None:
            steps = np.diff(fractions, prepend=0.0)
            paths = np.cumsum(rng.standard_normal((size, looks)) * np.sqrt(steps), axis=1)
            z = (paths + effect_multiple * design.drift * fractions) / np.sqrt(fractions)
        else:
            z = _unit_z(rng, size, units, unit_mean)
        crossed, below = z >= efficacy, z <= futility
        first_cross = np.where(crossed.any(axis=1), crossed.argmax(axis=1), looks)
        first_below = np.where(below.any(axis=1), below.argmax(axis=1), looks)
        # The last look's futility boundary is its efficacy boundary, so every run stops.
        stop = np.minimum(first_cross, first_below)
        established += int(np.count_nonzero(first_cross <= first_below))
        futile += int(np.count_nonzero(first_below < np.minimum(first_cross, looks - 1)))
        established_ignoring_futility += int(np.count_nonzero(first_cross < looks))
        stopped_fraction_sum += float(fractions[stop].sum()) * scale
        stops += np.bincount(stop, minlength=looks)
    return SimulationResult(
        effect_multiple=effect_multiple,
        replications=replications,
        established=established / replications,
        futile=futile / replications,
        not_established=(replications - established - futile) / replications,
        established_ignoring_futility=established_ignoring_futility / replications,
        expected_fraction_of_fixed=stopped_fraction_sum / replications,
        stop_by_look=tuple(stops / replications),
    )


def _unit_z(
    rng: np.random.Generator, size: int, units: npt.NDArray[np.int_], mean: float
) -> FloatArray:
    """z-equivalents of one-sample t statistics at each look's unit count."""
    draws = rng.standard_normal((size, int(units[-1]))) + mean
    sums, squares = (
        np.cumsum(draws, axis=1)[:, units - 1],
        np.cumsum(draws**2, axis=1)[:, units - 1],
    )
    means = sums / units
    variances = (squares - units * means**2) / (units - 1)
    t_statistics = means / np.sqrt(variances / units)
    return np.asarray(stats.norm.isf(stats.t.sf(t_statistics, units - 1)), dtype=float)
