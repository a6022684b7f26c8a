"""Other tools' results: ``python -m analysis compare BASE.json CAND.json [--json]``.

Reads two pyperf or pytest-benchmark JSON files (:mod:`analysis.interop_formats`),
compares each benchmark present in both (:mod:`analysis.interop_compare`: the
relative change of the mean with a two-sample BCa interval and a verdict) and
prints a table, or JSON for machines. An unusable file, files of two tools, no
common benchmark or a benchmark in different units is one line on stderr and
exit code 2; a benchmark whose interval cannot be computed is reported as
``not computable: <why>`` and the others are still compared.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from analysis.errors import AnalysisInputError
from analysis.interop_compare import Comparison, Report, compare_suites
from analysis.interop_formats import (
    InteropError,
    Sample,
    Suite,
    parse_pyperf,
    parse_pytest_benchmark,
    read_suite,
)
from contracts.exitcodes import ExitCode

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

INTEROP_KIND = "fastpath-interop-comparison"
INTEROP_SCHEMA = 1


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


def _quantity(value: float | None, unit: str) -> str:
    if value is None or not math.isfinite(value):
        return "n/a"
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
    """A signed percentage; past a million percent in powers of ten, computed exactly
    (``1e308`` times 100 would overflow to ``inf`` in floats)."""
    if value is None or not math.isfinite(value):
        return "n/a"
    if abs(value) < 1e4:
        return f"{value:+.1%}"
    return f"{Decimal(value) * 100:+.1e}%"


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
        return ExitCode.BAD_INPUT
    if options.json:
        from analysis.documents import encode

        sys.stdout.write(encode(report_to_json(report)).decode("utf-8"))
    else:
        print(render_text(report))
    return 0
