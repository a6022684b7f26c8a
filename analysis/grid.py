"""Synthetic benchmark cells shaped like the real grid, for the speed benchmark and simulations.

A cell is one budget: ``n`` paired units (repository x question) measured
under the baseline and each variant. Measures are skewed like the real ones:
tokens and latency are lognormal, QA scores are Beta, memory is lognormal.
Units share a repository effect (``units_per_repository`` units each), so the
cluster bootstrap has something to detect.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from analysis.batch import MeanRatio, QuantileRatio, RatioOfSums, RelativeChange
from analysis.bootstrap import FloatArray

__all__ = ["METRICS", "Cell", "synthetic_cell"]

METRICS = ("qa_per_100k", "latency_mean", "latency_p95", "memory_mean")


@dataclass(frozen=True, eq=False)
class Arm:
    """Per-unit measures of one arm in one cell."""

    score: FloatArray
    tokens: FloatArray
    latency: FloatArray
    memory: FloatArray


@dataclass(frozen=True, eq=False)
class Cell:
    """Baseline and variants over the same units, with repository labels."""

    budget: str
    baseline: Arm
    variants: dict[str, Arm]
    repository: FloatArray

    def comparisons(self, metric: str) -> list[RelativeChange]:
        """The family of one metric: every variant against the baseline."""
        base = self.baseline
        family: list[RelativeChange] = []
        for name, arm in self.variants.items():
            label = f"{self.budget}/{metric}/{name}"
            if metric == "qa_per_100k":
                family.append(RatioOfSums(arm.score, arm.tokens, base.score, base.tokens, label))
            elif metric == "latency_mean":
                family.append(MeanRatio(arm.latency, base.latency, label=label))
            elif metric == "latency_p95":
                family.append(QuantileRatio(arm.latency, base.latency, q=0.95, label=label))
            else:
                family.append(MeanRatio(arm.memory, base.memory, label=label))
        return family


def synthetic_cell(
    rng: np.random.Generator,
    budget: str,
    variants: dict[str, dict[str, float]],
    *,
    n_units: int = 300,
    units_per_repository: int = 10,
) -> Cell:
    """One budget cell; ``variants`` maps a name to true log-effects per measure.

    Effect keys: ``score``, ``tokens``, ``latency``, ``memory`` (multiplicative,
    on the log scale; missing keys mean no effect).
    """
    n_repositories = -(-n_units // units_per_repository)
    repository = np.repeat(np.arange(n_repositories), units_per_repository)[:n_units]
    repo_size = rng.lognormal(0.0, 0.5, n_repositories)[repository]
    difficulty = rng.beta(2.0, 2.0, n_repositories)[repository]
    baseline = Arm(
        score=rng.beta(1.0 + 3.0 * difficulty, 2.0),
        tokens=repo_size * rng.lognormal(10.0, 0.6, n_units),
        latency=repo_size * rng.lognormal(0.0, 0.5, n_units),
        memory=repo_size * rng.lognormal(5.0, 0.3, n_units),
    )
    arms = {}
    for name, effect in variants.items():
        arms[name] = Arm(
            score=np.clip(
                baseline.score * np.exp(effect.get("score", 0.0)) + rng.normal(0, 0.05, n_units),
                0.0,
                1.0,
            ),
            tokens=baseline.tokens * rng.lognormal(effect.get("tokens", 0.0), 0.15, n_units),
            latency=baseline.latency * rng.lognormal(effect.get("latency", 0.0), 0.25, n_units),
            memory=baseline.memory * rng.lognormal(effect.get("memory", 0.0), 0.1, n_units),
        )
    return Cell(
        budget=budget, baseline=baseline, variants=arms, repository=repository.astype(float)
    )
