"""Other tools' results: ``python -m analysis compare BASE.json CAND.json``.

Reads two result files of the same tool and compares each benchmark present
in both as two **unpaired** samples: the relative change of the mean,
``mean(candidate) / mean(base) - 1``, with a two-sample BCa interval
(Efron 1987; :func:`analysis.bootstrap.bca`, samples resampled separately)
and a verdict. With ``k`` benchmarks the intervals are at ``1 - alpha / k``
(Bonferroni, as the benchmarks are a family; ``--correction none`` keeps the
nominal level).

Formats
-------
* **pyperf** (``pyperf`` ``-o``/``--append`` output, optionally ``.json.gz``):
  ``{"version": "1.0", "metadata": {...}, "benchmarks": [{"metadata":
  {"name": ..., "unit": ...}, "runs": [{"values": [...], "warmups":
  [...]}]}]}``. Only version ``"1.0"`` is read, as pyperf itself refuses
  other versions. A benchmark's name and unit come from its metadata or the
  file's common metadata. Each run is a separate process and values within a
  process are not independent, so with two or more runs the sample is one
  mean per run; with a single run it is the run's values. Warm-ups and runs
  without values (calibration) are left out.
* **pytest-benchmark** (``--benchmark-json``): ``{"benchmarks": [{"name",
  "fullname", "stats": {..., "data": [...]}}]}``. The raw per-round timings
  (``stats.data``, or ``data`` beside ``stats``) are present only with
  ``--benchmark-save-data``; without them the file holds summary statistics
  only and is refused, since no interval can be computed from them. The
  benchmark key is ``fullname`` (unique across modules), else ``name``.

Verdicts: for time (``second``) and size (``byte``) units lower is better:
``faster``/``slower`` (``smaller``/``larger`` for bytes, ``lower``/``higher``
otherwise) when the interval excludes 0, ``no significant change`` when it
does not, ``not computable`` when the bootstrap cannot run (fewer than two
measurements, a zero mean).
"""

from __future__ import annotations

import argparse
import math
import sys
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from analysis.bootstrap import FloatArray, bca
from analysis.errors import AnalysisInputError, DegenerateIntervalWarning
from contracts.documents import load_json, read_input
from contracts.errors import EvidenceError

__all__ = [
    "INTEROP_KIND",
    "Comparison",
    "InteropError",
    "Report",
    "Sample",
    "Suite",
    "compare_suites",
    "main",
    "parse_pyperf",
    "parse_pytest_benchmark",
    "read_suite",
    "render_text",
    "report_to_json",
]

PYPERF_VERSION = "1.0"
INTEROP_KIND = "fastpath-interop-comparison"
INTEROP_SCHEMA = 1
BAD_INPUT = 2
Tool = Literal["pyperf", "pytest-benchmark"]
CorrectionName = Literal["bonferroni", "none"]


class InteropError(AnalysisInputError):
    """A result file that cannot be compared (unknown format, no raw samples, ...)."""


@dataclass(frozen=True, eq=False)
class Sample:
    """One benchmark's independent measurements."""

    name: str
    values: FloatArray
    unit: str
    basis: str  # "run means", "values" or "rounds"


@dataclass(frozen=True)
class Suite:
    tool: Tool
    source: str
    samples: Mapping[str, Sample]  # in file order


# ---------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------


def read_suite(path: Path) -> Suite:
    """Read a pyperf or pytest-benchmark JSON file (``.gz`` allowed)."""
    try:
        document = load_json(read_input(path), str(path))
    except EvidenceError as exc:
        raise InteropError(str(exc)) from None
    if not isinstance(document, dict) or not isinstance(document.get("benchmarks"), list):
        raise InteropError(
            f"{path}: neither pyperf nor pytest-benchmark JSON (no `benchmarks` list)"
        )
    benchmarks = document["benchmarks"]
    if "version" in document and all(isinstance(b, dict) and "runs" in b for b in benchmarks):
        return parse_pyperf(document, str(path))
    if all(isinstance(b, dict) and "stats" in b for b in benchmarks):
        return parse_pytest_benchmark(document, str(path))
    raise InteropError(
        f"{path}: neither pyperf JSON (`version` and `runs`) nor pytest-benchmark JSON (`stats`)"
    )


def parse_pyperf(document: Mapping[str, Any], source: str) -> Suite:
    """pyperf's JSON format, version 1.0."""
    version = document.get("version")
    if version != PYPERF_VERSION:
        raise InteropError(
            f"{source}: pyperf JSON version {version!r} is not supported (this reads"
            f" {PYPERF_VERSION!r})"
        )
    common = document.get("metadata") or {}
    samples: dict[str, Sample] = {}
    for index, benchmark in enumerate(document["benchmarks"]):
        where = f"{source}: benchmarks[{index}]"
        metadata = {**common, **(benchmark.get("metadata") or {})}
        name = metadata.get("name")
        if not isinstance(name, str) or not name:
            raise InteropError(f"{where} has no metadata `name`")
        runs = benchmark.get("runs")
        if not isinstance(runs, list):
            raise InteropError(f"{where}.runs must be a list")
        measured = [
            _finite(run["values"], f"{where} ({name}) run values")
            for run in runs
            if isinstance(run, dict) and run.get("values")
        ]
        if not measured:
            raise InteropError(f"{where} ({name}) has no run with values")
        if len(measured) >= 2:
            values = np.array([run.mean() for run in measured])
            basis = "run means"
        else:
            values, basis = measured[0], "values"
        samples[name] = Sample(name, values, str(metadata.get("unit", "second")), basis)
    return Suite("pyperf", source, samples)


def parse_pytest_benchmark(document: Mapping[str, Any], source: str) -> Suite:
    """pytest-benchmark's ``--benchmark-json`` output; needs ``--benchmark-save-data``."""
    samples: dict[str, Sample] = {}
    for index, benchmark in enumerate(document["benchmarks"]):
        where = f"{source}: benchmarks[{index}]"
        name = benchmark.get("fullname") or benchmark.get("name")
        if not isinstance(name, str) or not name:
            raise InteropError(f"{where} has no `name`")
        stats = benchmark.get("stats")
        if not isinstance(stats, dict):
            raise InteropError(f"{where} ({name}).stats must be an object")
        data = stats.get("data", benchmark.get("data"))
        if data is None:
            raise InteropError(
                f"{source}: pytest-benchmark JSON holds only summary statistics for {name!r},"
                " no raw timings; rerun pytest with --benchmark-save-data"
            )
        values = _finite(data, f"{where} ({name}) data")
        samples[name] = Sample(name, values, "second", "rounds")
    return Suite("pytest-benchmark", source, samples)


def _finite(values: object, where: str) -> FloatArray:
    if not isinstance(values, list) or not all(
        isinstance(v, int | float) and not isinstance(v, bool) for v in values
    ):
        raise InteropError(f"{where} must be a list of numbers")
    array = np.array(values, dtype=np.float64)
    if array.size == 0 or not np.all(np.isfinite(array)) or np.any(array < 0):
        raise InteropError(f"{where} must be non-empty, finite and non-negative")
    return array


# ---------------------------------------------------------------------------
# Comparing
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Comparison:
    name: str
    unit: str
    basis: str
    n_base: int
    n_candidate: int
    base_mean: float
    candidate_mean: float
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
    """Each benchmark in both suites: relative change of the mean, BCa interval, verdict."""
    if base.tool != candidate.tool:
        raise InteropError(
            f"{base.source} is {base.tool} JSON but {candidate.source} is {candidate.tool} JSON"
        )
    common = [name for name in base.samples if name in candidate.samples]
    if not common:
        raise InteropError(f"{base.source} and {candidate.source} have no benchmark in common")
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


def _compare(
    base: Sample, candidate: Sample, level: float, n_resamples: int, key: tuple[int, int]
) -> Comparison:
    base_mean, candidate_mean = float(base.values.mean()), float(candidate.values.mean())
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
        point = candidate_mean / base_mean - 1.0 if base_mean > 0 else None
        low = high = p_value = None
        change, method, verdict = point, "none", f"not computable: {exc}"
    else:
        change, low, high = result.estimate, result.low, result.high
        method, p_value = result.method, result.p_value(0.0)
        verdict = _verdict(result.low, result.high, base.unit)
    return Comparison(
        name=base.name,
        unit=base.unit,
        basis=base.basis,
        n_base=int(base.values.size),
        n_candidate=int(candidate.values.size),
        base_mean=base_mean,
        candidate_mean=candidate_mean,
        relative_change=change,
        ci_low=low,
        ci_high=high,
        method=method,
        p_value=p_value,
        verdict=verdict,
    )


_DIRECTIONS = {"second": ("faster", "slower"), "byte": ("smaller", "larger")}


def _verdict(low: float, high: float, unit: str) -> str:
    lower, higher = _DIRECTIONS.get(unit, ("lower", "higher"))
    if high < 0:
        return lower
    if low > 0:
        return higher
    return "no significant change"


# ---------------------------------------------------------------------------
# Output
# ---------------------------------------------------------------------------


def report_to_json(report: Report) -> dict[str, Any]:
    return {
        "schema": INTEROP_SCHEMA,
        "kind": INTEROP_KIND,
        "tool": report.tool,
        "base": report.base,
        "candidate": report.candidate,
        "statistic": "relative change of the mean, mean(candidate) / mean(base) - 1",
        "confidence_level": report.confidence_level,
        "nominal_confidence_level": report.nominal_level,
        "correction": report.correction,
        "family_size": len(report.comparisons),
        "n_resamples": report.n_resamples,
        "seed": report.seed,
        "benchmarks": [
            {
                "name": c.name,
                "unit": c.unit,
                "sample": c.basis,
                "n_base": c.n_base,
                "n_candidate": c.n_candidate,
                "base_mean": c.base_mean,
                "candidate_mean": c.candidate_mean,
                "relative_change": c.relative_change,
                "ci_low": c.ci_low,
                "ci_high": c.ci_high,
                "interval_method": c.method,
                "p_value": c.p_value,
                "verdict": c.verdict,
            }
            for c in report.comparisons
        ],
        "only_in_base": list(report.only_in_base),
        "only_in_candidate": list(report.only_in_candidate),
    }


def _quantity(value: float, unit: str) -> str:
    if unit == "second":
        for scale, suffix in ((1.0, "s"), (1e-3, "ms"), (1e-6, "us")):
            if value >= scale:
                return f"{value / scale:.4g} {suffix}"
        return f"{value / 1e-9:.4g} ns"
    if unit == "byte":
        for scale, suffix in ((2.0**30, "GiB"), (2.0**20, "MiB"), (2.0**10, "KiB")):
            if value >= scale:
                return f"{value / scale:.4g} {suffix}"
        return f"{value:.4g} B"
    return f"{value:.4g}"


def _percent(value: float | None) -> str:
    return "n/a" if value is None or not math.isfinite(value) else f"{value:+.1%}"


def render_text(report: Report) -> str:
    """A table for people: one line per benchmark."""
    width = max(9, *(len(c.name) for c in report.comparisons))
    adjusted = (
        f" (Bonferroni over {len(report.comparisons)})" if report.correction == "bonferroni" else ""
    )
    lines = [
        f"{report.tool}: {report.base} -> {report.candidate}",
        f"relative change of the mean, BCa interval at {report.confidence_level:.4g}{adjusted},"
        f" {report.n_resamples} resamples, seed {report.seed}",
        f"{'benchmark':<{width}}  {'base':>10}  {'candidate':>10}  {'change':>8}"
        f"  {'interval':<19}  verdict",
    ]
    for c in report.comparisons:
        interval = (
            "none"
            if c.ci_low is None or c.ci_high is None
            else f"[{_percent(c.ci_low)}, {_percent(c.ci_high)}]"
        )
        lines.append(
            f"{c.name:<{width}}  {_quantity(c.base_mean, c.unit):>10}"
            f"  {_quantity(c.candidate_mean, c.unit):>10}  {_percent(c.relative_change):>8}"
            f"  {interval:<19}  {c.verdict}"
        )
    if report.only_in_base:
        lines.append(f"only in base (not compared): {', '.join(report.only_in_base)}")
    if report.only_in_candidate:
        lines.append(f"only in candidate (not compared): {', '.join(report.only_in_candidate)}")
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m analysis compare",
        description="Compare two pyperf or pytest-benchmark JSON files, benchmark by"
        " benchmark: relative change of the mean with a two-sample BCa interval and a verdict.",
    )
    parser.add_argument("base", type=Path, help="the reference results")
    parser.add_argument("candidate", type=Path, help="the results to judge")
    parser.add_argument("--json", action="store_true", help="print JSON for machines")
    parser.add_argument("--bootstrap-samples", type=int, default=10_000)
    parser.add_argument("--confidence-level", type=float, default=0.95)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--correction", choices=("bonferroni", "none"), default="bonferroni")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    options = build_parser().parse_args(argv)
    try:
        if not 0.0 < options.confidence_level < 1.0:
            raise InteropError(
                f"`--confidence-level` must be in (0, 1); got {options.confidence_level}"
            )
        if options.bootstrap_samples < 1 or options.seed < 0:
            raise InteropError("`--bootstrap-samples` must be positive and `--seed` non-negative")
        report = compare_suites(
            read_suite(options.base),
            read_suite(options.candidate),
            confidence_level=options.confidence_level,
            n_resamples=options.bootstrap_samples,
            seed=options.seed,
            correction=options.correction,
        )
    except AnalysisInputError as exc:
        print(f"analysis compare: error: {' '.join(str(exc).split())}", file=sys.stderr)
        return BAD_INPUT
    if options.json:
        from analysis.documents import encode

        sys.stdout.write(encode(report_to_json(report)).decode("utf-8"))
    else:
        print(render_text(report))
    return 0
