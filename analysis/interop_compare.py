"""Two suites of another tool's results, compared benchmark by benchmark.

Each benchmark present in both suites is compared as two **unpaired**
samples: the relative change of the mean, ``mean(candidate) / mean(base) - 1``,
with a two-sample BCa interval (Efron 1987; :func:`analysis.bootstrap.bca`,
samples resampled separately) and a verdict. With ``k`` benchmarks the
intervals are at ``1 - alpha / k`` (Bonferroni, as the benchmarks are a
family; ``correction="none"`` keeps the nominal level). A benchmark measured
in different units in the two suites is refused, not compared.

Verdicts: for time (``second``) and size (``byte``) units lower is better:
``faster``/``slower`` (``smaller``/``larger`` for bytes, ``lower``/``higher``
otherwise) when the interval excludes 0, ``no significant change`` when it
does not, ``not computable: <why>`` when no finite interval exists: fewer than
two measurements, a zero base mean, or a mean, ratio or interval that
overflows the float range (values near 1e308). A number that is not finite
never reaches a verdict, so an overflow is never read as "no change".
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from analysis.bootstrap import BCaResult, bca
from analysis.errors import AnalysisInputError, DegenerateIntervalWarning
from analysis.interop_formats import InteropError, Sample, Suite, Tool

__all__ = ["NOT_COMPUTABLE", "Comparison", "CorrectionName", "Report", "compare_suites"]

NOT_COMPUTABLE = "not computable"
CorrectionName = Literal["bonferroni", "none"]


@dataclass(frozen=True)
class Comparison:
    """One benchmark in both files. Every number is finite or None: ``None`` where it
    cannot be computed (the verdict then starts with ``not computable``)."""

    name: str
    unit: str
    basis: str
    n_base: int
    n_candidate: int
    base_mean: float | None
    candidate_mean: float | None
    relative_change: float | None
    ci_low: float | None
    ci_high: float | None
    method: str
    p_value: float | None
    verdict: str


@dataclass(frozen=True)
class Report:
    tool: Tool
    base: str
    candidate: str
    confidence_level: float  # per interval, after the correction
    nominal_level: float
    correction: CorrectionName
    n_resamples: int
    seed: int
    comparisons: tuple[Comparison, ...]
    only_in_base: tuple[str, ...]
    only_in_candidate: tuple[str, ...]


def _relative_change_of_means(
    base: NDArray[np.float64], candidate: NDArray[np.float64], axis: int = -1
) -> NDArray[np.float64]:
    ratio: NDArray[np.float64] = np.mean(candidate, axis=axis) / np.mean(base, axis=axis) - 1.0
    return ratio


def compare_suites(
    base: Suite,
    candidate: Suite,
    *,
    confidence_level: float = 0.95,
    n_resamples: int = 10_000,
    seed: int = 0,
    correction: CorrectionName = "bonferroni",
) -> Report:
    """Each benchmark in both suites: relative change of the mean, BCa interval, verdict.

    Raises :class:`InteropError` for files of two tools, no benchmark in common, or a
    benchmark measured in different units in the two files.
    """
    if base.tool != candidate.tool:
        raise InteropError(
            f"{base.source} is {base.tool} JSON but {candidate.source} is {candidate.tool} JSON"
        )
    common = [name for name in base.samples if name in candidate.samples]
    if not common:
        raise InteropError(f"{base.source} and {candidate.source} have no benchmark in common")
    _check_units(base, candidate, common)
    level = confidence_level
    if correction == "bonferroni":
        level = 1.0 - (1.0 - confidence_level) / len(common)
    comparisons = tuple(
        _compare(base.samples[name], candidate.samples[name], level, n_resamples, (seed, index))
        for index, name in enumerate(common)
    )
    return Report(
        tool=base.tool,
        base=base.source,
        candidate=candidate.source,
        confidence_level=level,
        nominal_level=confidence_level,
        correction=correction,
        n_resamples=n_resamples,
        seed=seed,
        comparisons=comparisons,
        only_in_base=tuple(n for n in base.samples if n not in candidate.samples),
        only_in_candidate=tuple(n for n in candidate.samples if n not in base.samples),
    )


def _check_units(base: Suite, candidate: Suite, common: Sequence[str]) -> None:
    """A ratio of seconds to bytes is a number without a meaning: refuse it."""
    differing = [name for name in common if base.samples[name].unit != candidate.samples[name].unit]
    if not differing:
        return
    name = differing[0]
    more = f" (and {len(differing) - 1} more benchmark(s))" if len(differing) > 1 else ""
    raise InteropError(
        f"benchmark {name!r} is measured in {base.samples[name].unit!r} in {base.source}"
        f" but in {candidate.samples[name].unit!r} in {candidate.source}{more};"
        " results in different units cannot be compared"
    )


def _compare(
    base: Sample, candidate: Sample, level: float, n_resamples: int, key: tuple[int, int]
) -> Comparison:
    # Every number here is checked for finiteness before it reaches the verdict, so
    # numpy's overflow warnings would only repeat, on stderr, what the verdict says.
    with np.errstate(all="ignore"):
        base_mean, candidate_mean = float(base.values.mean()), float(candidate.values.mean())
        outcome = _bootstrap(base, candidate, base_mean, candidate_mean, level, n_resamples, key)
    change: float | None = _relative_change(base_mean, candidate_mean)
    low: float | None = None
    high: float | None = None
    p_value: float | None = None
    if isinstance(outcome, str):
        method, verdict = "none", f"{NOT_COMPUTABLE}: {outcome}"
    else:
        result, p_value = outcome
        change, low, high = result.estimate, result.low, result.high
        method, verdict = result.method, _verdict(result.low, result.high, base.unit)
    return Comparison(
        name=base.name,
        unit=base.unit,
        basis=base.basis,
        n_base=int(base.values.size),
        n_candidate=int(candidate.values.size),
        base_mean=_finite_or_none(base_mean),
        candidate_mean=_finite_or_none(candidate_mean),
        relative_change=change,
        ci_low=low,
        ci_high=high,
        method=method,
        p_value=p_value,
        verdict=verdict,
    )


def _bootstrap(
    base: Sample,
    candidate: Sample,
    base_mean: float,
    candidate_mean: float,
    level: float,
    n_resamples: int,
    key: tuple[int, int],
) -> tuple[BCaResult, float] | str:
    """The BCa interval and the p-value of no change, all finite; else why there are none."""
    problem = _why_no_interval(base, candidate, base_mean, candidate_mean)
    if problem is not None:
        return problem
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DegenerateIntervalWarning)
            result = bca(
                [base.values, candidate.values],
                _relative_change_of_means,
                confidence_level=level,
                n_resamples=n_resamples,
                seed=np.random.SeedSequence(list(key)),
            )
    except AnalysisInputError as exc:
        return str(exc)
    p_value = result.p_value(0.0)
    return _not_finite(result, p_value) or (result, p_value)


def _why_no_interval(
    base: Sample, candidate: Sample, base_mean: float, candidate_mean: float
) -> str | None:
    """Why the bootstrap cannot give a finite interval, checked before it runs."""
    for role, sample, mean in (("base", base, base_mean), ("candidate", candidate, candidate_mean)):
        if not math.isfinite(mean):
            return f"the {role} mean overflows the float range (values near 1e308)"
        if sample.values.size < 2:
            return f"the {role} has {sample.values.size} measurement; an interval needs two"
    if base_mean == 0.0:
        return "the base mean is 0, so a relative change is undefined"
    if _relative_change(base_mean, candidate_mean) is None:
        return (
            f"the ratio of the means ({candidate_mean:.3g} / {base_mean:.3g})"
            " overflows the float range"
        )
    return None


def _not_finite(result: BCaResult, p_value: float) -> str | None:
    """The bootstrap ran but overflowed somewhere (the acceleration's cubed influence
    values overflow first, from about 1e103 times the base on): no interval to judge by.
    ``z0`` is left out: it is infinite by design when the percentile fallback is used."""
    numbers = {
        "estimate": result.estimate,
        "low": result.low,
        "high": result.high,
        "acceleration": result.acceleration,
        "p-value": p_value,
    }
    bad = [name for name, value in numbers.items() if not math.isfinite(value)]
    if not bad:
        return None
    return f"the bootstrap overflows the float range ({', '.join(bad)} not finite)"


def _relative_change(base_mean: float, candidate_mean: float) -> float | None:
    if not (math.isfinite(base_mean) and math.isfinite(candidate_mean)) or base_mean == 0.0:
        return None
    with np.errstate(all="ignore"):
        change = candidate_mean / base_mean - 1.0
    return _finite_or_none(change)


def _finite_or_none(value: float) -> float | None:
    return value if math.isfinite(value) else None


_DIRECTIONS = {"second": ("faster", "slower"), "byte": ("smaller", "larger")}


def _verdict(low: float, high: float, unit: str) -> str:
    """The word for an interval; one that is not finite is never "no significant change"."""
    if not (math.isfinite(low) and math.isfinite(high)):
        return f"{NOT_COMPUTABLE}: the interval is not finite"
    lower, higher = _DIRECTIONS.get(unit, ("lower", "higher"))
    if high < 0:
        return lower
    if low > 0:
        return higher
    return "no significant change"
