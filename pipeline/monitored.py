"""``python -m pipeline.monitored run ...``: a benchmark run in the sequential design.

The arguments are ``python -m benchmarks run``'s. The runner (a producer) cannot
import the statistics that decide when its evidence is enough, so this
orchestrator hands it the monitor of ``analysis.monitor``: after each look the
variant's timed comparisons are decided as the analysis will decide them, and
the run stops at the first look where its verdict is known. The A/A run and
``--fixed`` runs measure every unit. The nox ``bench-*`` sessions run this.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from analysis.errors import AnalysisInputError
from analysis.monitor import timed_monitor
from benchmarks.cli import main as benchmarks_main
from benchmarks.looks import Monitor
from contracts.errors import ConfigError
from contracts.thresholds import LATENCY_P95, thresholds_from_registry
from packrepo.registry import Registry


def monitor_for(registry: Registry, variant: str) -> Monitor | None:
    """The variant's monitor; the baseline's A/A run measures every unit (the noise floor).

    A registry that gates p95 latency gets the fixed design too: p95 has no sequential
    test (docs/sequential.md), and a run stopped once its mean and memory bounds are
    decided would leave the p95 bound judged on a part of the units at the fixed level."""
    if registry.variant(variant).is_baseline:
        return None
    thresholds = thresholds_from_registry(registry)
    if LATENCY_P95 in thresholds.non_inferiority_metrics:
        print(
            f"{variant}: latency_p95 is gated, and the sequential design cannot decide it:"
            " the fixed design, every unit",
            file=sys.stderr,
        )
        return None
    return timed_monitor(registry, thresholds, variant)


def main(argv: Sequence[str] | None = None) -> int:
    return benchmarks_main(
        argv, monitor_for=monitor_for, expected_errors=(AnalysisInputError, ConfigError)
    )


if __name__ == "__main__":
    raise SystemExit(main())
