"""One cell's comparisons (a variant, a budget or pooled, its metrics): the gated interval,
the descriptive bootstrap, the repository-level interval and power.

* **Gated** (the gates read it): the cluster t of :mod:`analysis.calibrated`,
  clusters the *questions* (the claim: these pinned repositories, questions
  like the oracle's on them), at the two-sided level ``1 - 2 alpha / m`` whose
  bounds are each one-sided at ``1 - alpha / m``. p95 has no smooth
  linearisation: its interval is the percentile bootstrap, labelled as such.
* **Repositories like them** (reported, never gated): the same cluster t with
  repositories as clusters, on ``R - 1`` degrees of freedom.
* **Descriptive**: BCa (Efron 1987) from one shared bootstrap draw per cell
  (:mod:`analysis.batch`), seeded by ``SeedSequence([seed, cell, 0])``, kept
  for comparison with scipy and earlier reports.
* **Power**: design-stage power of the gated bound against the gate's target
  (noncentral t on ``G - 1`` degrees of freedom; :func:`analysis.calibrated.t_power`).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats  # type: ignore[import-untyped]

from analysis.batch import MeanRatio, QuantileRatio, RatioOfSums, RelativeChange
from analysis.batch import bca_relative_change as _bca_relative_change
from analysis.bootstrap import FloatArray
from analysis.calibrated import METHOD as CLUSTER_T
from analysis.calibrated import ClusterT, LogRatio, TPower, cluster_t, t_power
from analysis.errors import AnalysisInputError, DegenerateIntervalWarning

DISTRIBUTION_LEVELS = (0.005, 0.025, 0.05, 0.25, 0.5, 0.75, 0.95, 0.975, 0.995)


@dataclass(frozen=True)
class Metric:
    """One comparison of a cell: the gated statistic, its bootstrap twin, the two values."""

    name: str
    log_ratio: LogRatio | None  # None: not smooth (p95), the percentile bootstrap decides
    bootstrap: RelativeChange
    baseline_value: float
    variant_value: float
    target: float  # the effect its power is computed for


@dataclass(frozen=True)
class BootstrapSummary:
    mean: float
    sd: float
    quantiles: tuple[tuple[float, float], ...]


@dataclass(frozen=True)
class Descriptive:
    """A bootstrap interval (BCa, or percentile for p95), reported beside the gated one."""

    estimate: float
    low: float
    high: float
    confidence_level: float
    method: str
    resampling: str
    n_resampled: int
    z0: float
    acceleration: float
    standard_error: float
    n_resamples: int
    mc_se_low: float
    mc_se_high: float
    p_value: float
    distribution: BootstrapSummary


@dataclass(frozen=True)
class Gated:
    """The interval a gate reads: each bound one-sided at ``(1 + confidence_level) / 2``."""

    estimate: float
    low: float
    high: float
    confidence_level: float
    method: str
    resampling: str
    n_clusters: int
    standard_error: float  # of the log ratio (cluster t) or the bootstrap sd (percentile)
    p_value: float  # two-sided, unadjusted

    @property
    def excludes_zero(self) -> bool:
        return self.low > 0.0 or self.high < 0.0


@dataclass(frozen=True)
class CellResult:
    metric: Metric
    gated: Gated | None
    repository: Gated | None
    descriptive: Descriptive | None
    problem: str | None
    repository_problem: str | None
    power: TPower | None


def compare_cell(
    metrics: Sequence[Metric],
    *,
    questions: Sequence[str],
    repositories: Sequence[str],
    level: float,
    alpha_bound: float,
    target_power: float,
    n_resamples: int,
    seed: Sequence[int],
    resampling: str,
) -> list[CellResult]:
    """Every metric of one cell; ``questions`` and ``repositories`` label each unit."""
    descriptive = _bootstrap([m.bootstrap for m in metrics], level, n_resamples, seed, questions)
    results = []
    for metric, boot in zip(metrics, descriptive, strict=True):
        gated, problem = _gated(metric, boot, questions, level, resampling)
        repository, repository_problem = _gated(metric, None, repositories, level, "repository")
        power = None
        if isinstance(gated, Gated) and metric.log_ratio is not None:
            power = t_power(_as_cluster_t(gated), metric.target, alpha_bound, target_power)
        results.append(
            CellResult(
                metric=metric,
                gated=gated,
                repository=repository,
                descriptive=boot if isinstance(boot, Descriptive) else None,
                problem=problem,
                repository_problem=repository_problem,
                power=power,
            )
        )
    return results


def _gated(
    metric: Metric,
    boot: Descriptive | str | None,
    clusters: Sequence[str],
    level: float,
    resampling: str,
) -> tuple[Gated | None, str | None]:
    if metric.log_ratio is None:
        if boot is None:
            return None, "p95 has no repository-level interval"
        if isinstance(boot, str):
            return None, boot
        return _from_percentile(boot), None
    try:
        interval = cluster_t(metric.log_ratio, clusters, level)
    except AnalysisInputError as exc:
        return None, str(exc)
    return _from_cluster_t(interval, resampling), None


def _from_cluster_t(interval: ClusterT, resampling: str) -> Gated:
    df = interval.n_clusters - 1
    if interval.standard_error > 0:
        statistic = interval.log_estimate / interval.standard_error
        p_value = float(2.0 * stats.t.sf(abs(statistic), df))
    else:
        p_value = 1.0 if interval.log_estimate == 0 else 0.0
    return Gated(
        estimate=interval.estimate,
        low=interval.low,
        high=interval.high,
        confidence_level=interval.confidence_level,
        method=CLUSTER_T,
        resampling=resampling,
        n_clusters=interval.n_clusters,
        standard_error=interval.standard_error,
        p_value=p_value,
    )


def _as_cluster_t(gated: Gated) -> ClusterT:
    return ClusterT(
        estimate=gated.estimate,
        low=gated.low,
        high=gated.high,
        log_estimate=math.log1p(gated.estimate),
        standard_error=gated.standard_error,
        n_clusters=gated.n_clusters,
        confidence_level=gated.confidence_level,
        t_quantile=math.nan,
    )


def _from_percentile(boot: Descriptive) -> Gated:
    return Gated(
        estimate=boot.estimate,
        low=boot.low,
        high=boot.high,
        confidence_level=boot.confidence_level,
        method=boot.method,
        resampling=boot.resampling,
        n_clusters=boot.n_resampled,
        standard_error=boot.standard_error,
        p_value=boot.p_value,
    )


def _bootstrap(
    comparisons: Sequence[RelativeChange],
    level: float,
    n_resamples: int,
    seed: Sequence[int],
    clusters: Sequence[str],
) -> list[Descriptive | str]:
    """One shared draw for the cell; a failing comparison is redone alone, same seed."""
    try:
        return _intervals(comparisons, level, n_resamples, seed, clusters)
    except AnalysisInputError:
        pass
    found: list[Descriptive | str] = []
    for comparison in comparisons:
        try:
            found += _intervals([comparison], level, n_resamples, seed, clusters)
        except AnalysisInputError as exc:
            found.append(str(exc))
    return found


def _intervals(
    comparisons: Sequence[RelativeChange],
    level: float,
    n_resamples: int,
    seed: Sequence[int],
    clusters: Sequence[str],
) -> list[Descriptive | str]:
    with warnings.catch_warnings():
        # The fallbacks are reported per interval in `method`.
        warnings.simplefilter("ignore", DegenerateIntervalWarning)
        batch = _bca_relative_change(
            comparisons,
            confidence_level=level,
            n_resamples=n_resamples,
            seed=np.random.SeedSequence(list(seed)),
            clusters=np.asarray(clusters),
        )
    p_values = batch.p_values(0.0)
    mc_low, mc_high = batch.monte_carlo_se()
    quantiles = np.quantile(batch.bootstrap_distribution, DISTRIBUTION_LEVELS, axis=1)
    found: list[Descriptive | str] = []
    for j in range(len(batch)):
        found.append(
            Descriptive(
                estimate=float(batch.estimate[j]),
                low=float(batch.low[j]),
                high=float(batch.high[j]),
                confidence_level=float(batch.confidence_level[j]),
                method=batch.method[j],
                resampling="question",
                n_resampled=batch.degrees_of_freedom + 1,
                z0=float(batch.z0[j]),
                acceleration=float(batch.acceleration[j]),
                standard_error=float(batch.standard_error[j]),
                n_resamples=batch.n_resamples,
                mc_se_low=float(mc_low[j]),
                mc_se_high=float(mc_high[j]),
                p_value=float(p_values[j]),
                distribution=BootstrapSummary(
                    mean=float(batch.bootstrap_distribution[j].mean()),
                    sd=float(batch.standard_error[j]),
                    quantiles=tuple(
                        (q, float(v))
                        for q, v in zip(DISTRIBUTION_LEVELS, quantiles[:, j], strict=True)
                    ),
                ),
            )
        )
    return found


# --- the metrics of a cell ----------------------------------------------------------------


def mean_metric(name: str, variant: FloatArray, baseline: FloatArray, target: float) -> Metric:
    return Metric(
        name=name,
        log_ratio=LogRatio.mean_ratio(variant, baseline, name),
        bootstrap=MeanRatio(variant, baseline, label=name),
        baseline_value=float(baseline.mean()),
        variant_value=float(variant.mean()),
        target=target,
    )


def quantile_metric(
    name: str, variant: FloatArray, baseline: FloatArray, q: float, target: float
) -> Metric:
    return Metric(
        name=name,
        log_ratio=None,
        bootstrap=QuantileRatio(variant, baseline, q=q, label=name),
        baseline_value=float(np.quantile(baseline, q)),
        variant_value=float(np.quantile(variant, q)),
        target=target,
    )


QA_SCALE = 100_000.0


def qa_metric(
    name: str,
    scores_v: FloatArray,
    tokens_v: FloatArray,
    scores_b: FloatArray,
    tokens_b: FloatArray,
    target: float,
) -> Metric:
    return Metric(
        name=name,
        log_ratio=LogRatio.ratio_of_ratios(scores_v, tokens_v, scores_b, tokens_b, name),
        bootstrap=RatioOfSums(scores_v, tokens_v, scores_b, tokens_b, label=name),
        baseline_value=QA_SCALE * math.fsum(scores_b) / float(tokens_b.sum()),
        variant_value=QA_SCALE * math.fsum(scores_v) / float(tokens_v.sum()),
        target=target,
    )
