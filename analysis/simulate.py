"""Monte-Carlo checks of the engine: interval coverage and A/A family-wise error.

Run::

    python -m analysis.simulate --seed 1

(a) Coverage. Paired units with skewed token counts (lognormal; sigma 0.5,
    skewness 1.75, by default, and a heavy-tailed stress case with sigma 1,
    skewness 6.2) and Beta quality scores; the variant changes scores by ``q -> q^0.8`` (times
    independent Uniform(0.7, 1.3) noise) and tokens by a lognormal factor.
    The true relative change of QA per 100k tokens,
    ``(E s_v / E t_v) / (E s_b / E t_b) - 1``, is known in closed form:
    ``[B(2.8, 3) / B(2, 3)] / [E q] / exp(nu + tau^2 / 2) - 1``. Each
    replication draws ``--units`` units, builds the nominal 95% BCa interval
    and records whether it covers the truth. (The bootstrap standard error of
    a ratio of sums underestimates the true one by a few percent when the
    denominators are heavy-tailed, so the stress case covers a little less.)

(b) A/A family-wise false positives. Every variant is the baseline again
    (same distribution, paired by unit, independent noise). A family is the
    registry's candidate variants (``m`` of them); the intervals are at the
    Bonferroni level ``1 - alpha / m`` from one shared draw; a family counts
    as a false positive if any interval excludes 0. Holm decisions from the
    matching p-values are counted too. Metrics: QA per 100k tokens (ratio of
    sums) and p95 latency (quantile ratio), each with both interval methods
    (BCa and percentile) on the same data and bootstrap draw.

Both print a Monte-Carlo standard error.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

import numpy as np
from scipy import special  # type: ignore[import-untyped]

from analysis.batch import (
    INTERVAL_METHODS,
    IntervalMethod,
    QuantileRatio,
    RatioOfSums,
    RelativeChange,
    bca_relative_change,
)
from analysis.bootstrap import FloatArray
from analysis.effects import holm

__all__ = ["main", "true_relative_change"]

# The interval each metric uses by default in analysis.batch.
_DEFAULT_METHOD = {"qa_per_100k": "BCa", "latency_p95": "percentile"}

# Data-generating process of the coverage study.
_Q_BETA = (2.0, 3.0)  # unit quality q ~ Beta(2, 3); baseline score = q
_SCORE_POWER = 0.8  # variant score = q^0.8 * Uniform(0.7, 1.3)
_TOKEN_MU = 8.0  # baseline tokens ~ lognormal(8, sigma)
_TOKEN_FACTOR = (-0.1, 0.3)  # variant tokens = baseline tokens * lognormal(nu, tau)


def true_relative_change() -> float:
    """Closed-form relative change of the ratio of expected sums in the coverage study."""
    a, b = _Q_BETA
    mean_q = a / (a + b)
    mean_q_power = special.beta(a + _SCORE_POWER, b) / special.beta(a, b)
    nu, tau = _TOKEN_FACTOR
    token_ratio = math.exp(nu + tau**2 / 2.0)
    return float(mean_q_power / mean_q / token_ratio - 1.0)


def _coverage_comparison(rng: np.random.Generator, n: int, token_sigma: float) -> RatioOfSums:
    quality = rng.beta(*_Q_BETA, size=n)
    tokens_b = rng.lognormal(_TOKEN_MU, token_sigma, size=n)
    tokens_v = tokens_b * rng.lognormal(*_TOKEN_FACTOR, size=n)
    score_v = quality**_SCORE_POWER * rng.uniform(0.7, 1.3, size=n)
    return RatioOfSums(score_v, tokens_v, quality, tokens_b)


def _aa_family(
    rng: np.random.Generator, n: int, m: int, metric: str, method: IntervalMethod = "BCa"
) -> list[RelativeChange]:
    """``m`` variants identical in distribution to the baseline, paired by unit."""
    repository_size = rng.lognormal(0.0, 0.5, size=n)
    quality = rng.beta(2.0, 2.0, size=n)

    def arm() -> tuple[FloatArray, FloatArray, FloatArray]:
        score = np.clip(quality + rng.normal(0.0, 0.1, size=n), 0.0, 1.0)
        tokens = repository_size * rng.lognormal(10.0, 0.3, size=n)
        latency = repository_size * rng.lognormal(0.0, 0.3, size=n)
        return score, tokens, latency

    score_b, tokens_b, latency_b = arm()
    family: list[RelativeChange] = []
    for _ in range(m):
        score_v, tokens_v, latency_v = arm()
        if metric == "qa_per_100k":
            family.append(RatioOfSums(score_v, tokens_v, score_b, tokens_b, method=method))
        else:
            family.append(QuantileRatio(latency_v, latency_b, q=0.95, method=method))
    return family


@dataclass(frozen=True)
class _Job:
    kind: str
    seed: np.random.SeedSequence
    reps: int
    units: int
    n_resamples: int
    m: int = 1
    alpha: float = 0.05
    metric: str = "qa_per_100k"
    token_sigma: float = 0.5


def _run_coverage(job: _Job) -> tuple[int, int, int, float]:
    """(covered, missed low, missed high, summed width) over ``job.reps`` replications."""
    rng = np.random.default_rng(job.seed)
    truth = true_relative_change()
    covered = missed_low = missed_high = 0
    width = 0.0
    for _ in range(job.reps):
        result = bca_relative_change(
            [_coverage_comparison(rng, job.units, job.token_sigma)],
            n_resamples=job.n_resamples,
            seed=rng,
        )
        low, high = float(result.low[0]), float(result.high[0])
        covered += low <= truth <= high
        missed_low += truth < low
        missed_high += truth > high
        width += high - low
    return covered, missed_low, missed_high, width


def _run_aa(job: _Job) -> tuple[int, ...]:
    """Per interval method: (Bonferroni families with a false positive, Holm families,
    false intervals). Every method sees the same data and the same bootstrap draw."""
    rng = np.random.default_rng(job.seed)
    counts = np.zeros((len(INTERVAL_METHODS), 3), dtype=int)
    for _ in range(job.reps):
        state = rng.bit_generator.state
        families = []
        for method in INTERVAL_METHODS:
            rng.bit_generator.state = state  # same data for every method
            families.extend(_aa_family(rng, job.units, job.m, job.metric, method))
        result = bca_relative_change(
            families,
            confidence_level=1.0 - job.alpha / job.m,
            n_resamples=job.n_resamples,
            seed=rng,
        )
        excludes_zero = ((result.low > 0.0) | (result.high < 0.0)).reshape(-1, job.m)
        p_values = result.p_values(0.0).reshape(-1, job.m)
        for row, (excluded, p_family) in enumerate(zip(excludes_zero, p_values, strict=True)):
            counts[row] += (
                int(excluded.any()),
                int(holm(p_family, job.alpha).reject.any()),
                int(excluded.sum()),
            )
    return tuple(int(value) for value in counts.ravel())


def _split(
    kind: str, seed: np.random.SeedSequence, reps: int, jobs: int, **options: object
) -> list[_Job]:
    counts = [reps // jobs + (i < reps % jobs) for i in range(jobs)]
    return [
        _Job(kind, child, count, **options)  # type: ignore[arg-type]
        for child, count in zip(seed.spawn(jobs), counts, strict=True)
        if count
    ]


def _dispatch(job: _Job) -> tuple[float, ...]:  # coverage floats or A/A counts
    if job.kind == "coverage":
        return _run_coverage(job)
    return _run_aa(job)


def _map(jobs: Sequence[_Job], workers: int) -> list[tuple[float, ...]]:
    if workers <= 1:
        return [_dispatch(job) for job in jobs]
    with ProcessPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(_dispatch, jobs))


def _registry_defaults() -> tuple[int, float, int]:
    """(family size m, alpha, bootstrap samples) from ``[tool.fastpath]``."""
    from packrepo.registry import load_registry

    registry = load_registry()
    return (
        len(registry.candidates),
        float(registry.gates["alpha"]),
        int(registry.gates["bootstrap_samples"]),
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run both studies and print coverage and family-wise error with MC errors."""
    m_default, alpha_default, resamples_default = _registry_defaults()
    parser = argparse.ArgumentParser(prog="python -m analysis.simulate", description=__doc__)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--reps", type=int, default=2000, help="coverage replications")
    parser.add_argument("--aa-reps", type=int, default=1000, help="A/A families per metric")
    parser.add_argument("--units", type=int, default=300, help="paired units per replication")
    parser.add_argument("--token-sigma", type=float, default=0.5, help="lognormal sigma, tokens")
    parser.add_argument("--stress-sigma", type=float, default=1.0, help="heavy-tailed case")
    parser.add_argument("--stress-reps", type=int, default=1000, help="0 skips the stress case")
    parser.add_argument("--resamples", type=int, default=resamples_default)
    parser.add_argument("--family-size", type=int, default=m_default)
    parser.add_argument("--alpha", type=float, default=alpha_default)
    parser.add_argument("--jobs", type=int, default=2, help="worker processes")
    args = parser.parse_args(argv)

    command = "python -m analysis.simulate " + " ".join(sys.argv[1:] if argv is None else argv)
    print(f"command: {command.strip()}")
    root = np.random.SeedSequence(args.seed)
    coverage_seed, aa_seed, stress_seed = root.spawn(3)
    start = time.perf_counter()

    scenarios = [(args.token_sigma, args.reps, coverage_seed)]
    if args.stress_reps:
        scenarios.append((args.stress_sigma, args.stress_reps, stress_seed))
    for sigma, reps, seed in scenarios:
        jobs = _split("coverage", seed, reps, args.jobs, units=args.units,
                      n_resamples=args.resamples, token_sigma=sigma)  # fmt: skip
        covered, missed_low, missed_high, width = np.sum(_map(jobs, args.jobs), axis=0)
        coverage = covered / reps
        se = math.sqrt(coverage * (1 - coverage) / reps)
        skewness = (math.exp(sigma**2) + 2) * math.sqrt(math.exp(sigma**2) - 1)
        print(
            f"(a) coverage of nominal 95% BCa intervals, paired ratio-of-sums relative change "
            f"(true {true_relative_change():+.4f}), tokens lognormal sigma {sigma:g} "
            f"(skewness {skewness:.2f}), n = {args.units}, B = {args.resamples}, {reps} reps: "
            f"{coverage:.1%} (MC se {se:.1%}); misses below {missed_low / reps:.1%}, "
            f"above {missed_high / reps:.1%}; mean width {width / reps:.4f}"
        )

    for metric_seed, metric in zip(aa_seed.spawn(2), ("qa_per_100k", "latency_p95"), strict=True):
        jobs = _split("aa", metric_seed, args.aa_reps, args.jobs, units=args.units,
                      n_resamples=args.resamples, m=args.family_size, alpha=args.alpha,
                      metric=metric)  # fmt: skip
        totals = np.sum(_map(jobs, args.jobs), axis=0).reshape(len(INTERVAL_METHODS), 3)
        for method, (bonferroni_families, holm_families, false_intervals) in zip(
            INTERVAL_METHODS, totals, strict=True
        ):
            fwer = bonferroni_families / args.aa_reps
            fwer_se = math.sqrt(max(fwer * (1 - fwer), 1e-12) / args.aa_reps)
            default = "default" if method == _DEFAULT_METHOD[metric] else "alternative"
            print(
                f"(b) A/A family-wise false-positive rate, {metric}, {method} ({default}), "
                f"m = {args.family_size} variants, alpha = {args.alpha}, Bonferroni intervals at "
                f"{1 - args.alpha / args.family_size:.3f}, {args.aa_reps} families: {fwer:.1%} "
                f"(MC se {fwer_se:.1%}); Holm {holm_families / args.aa_reps:.1%}; per interval "
                f"{false_intervals / (args.aa_reps * args.family_size):.2%} "
                f"(nominal {args.alpha / args.family_size:.2%})"
            )
    print(f"elapsed: {time.perf_counter() - start:.0f} s with {args.jobs} worker(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
