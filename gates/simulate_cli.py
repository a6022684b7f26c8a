"""``python -m gates.simulate``: the end-to-end study's command line (see :mod:`gates.simulate`).

Prints the command, the registry's level and the timed-trial shape, then a table of
rates with exact 95% binomial intervals, the units each candidate measured (the
sequential design stops early; ``--fixed`` measures every unit), and the coverage
of the gated intervals.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from contracts.family import gated_bounds, two_sided_level
from contracts.thresholds import thresholds_from_registry
from gates.simulate import (
    Scenario,
    binomial_interval,
    coverage_study,
    default_jobs,
    passing_other_evidence,
    run_study,
    scenarios,
    study_registry,
    verdict_mark,
)
from gates.simulate_model import POOL, STANDARD, gain_effect, load_pool, model_pool, write_pool
from packrepo.registry import load_registry


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m gates.simulate", description=__doc__)
    parser.add_argument("--replications", type=int, default=200)
    parser.add_argument("--coverage-replications", type=int, default=2000)
    parser.add_argument("--bca-replications", type=int, default=300)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--jobs", type=int, default=default_jobs())
    parser.add_argument("--scenarios", help="comma-separated names (default: all)")
    parser.add_argument("--config", type=Path, default=Path("pyproject.toml"))
    parser.add_argument(
        "--timed-questions",
        type=int,
        help="timed questions per repository in the standard-shaped cases (default: the"
        " standard profile's): how many a decision would need",
    )
    parser.add_argument(
        "--fixed",
        action="store_true",
        help="the fixed design: every candidate measures every unit (default: the standard"
        " profile's sequential looks, each stopped by the real monitor)",
    )
    parser.add_argument(
        "--write-pool", type=Path, help="write gates/data/quality_pool.json from a quality.json"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.write_pool is not None:
        write_pool(args.write_pool)
        print(f"wrote {POOL}")
        return 0
    argv = list(sys.argv[1:] if argv is None else argv)
    started = time.perf_counter()
    registry = load_registry(args.config)
    thresholds = thresholds_from_registry(registry)
    family = len(gated_bounds(registry, thresholds, registry.budgets))
    pool = load_pool() or model_pool(args.seed)
    gains = {gain: gain_effect(pool, gain) for gain in (0.10, 0.13, 0.20)}
    chosen = scenarios(registry, thresholds.alpha, family, gains)
    if args.scenarios:
        wanted = set(args.scenarios.split(","))
        chosen = [s for s in chosen if s.name in wanted]
    if args.timed_questions is not None and args.timed_questions < 1:
        print("gates.simulate: error: --timed-questions must be at least 1", file=sys.stderr)
        return 2
    timed = replace(
        STANDARD,
        questions=args.timed_questions or STANDARD.questions,
        looks=1 if args.fixed else STANDARD.looks,
    )
    chosen = [replace(s, shape=timed) if s.shape == STANDARD else s for s in chosen]
    design = "fixed" if timed.looks == 1 else f"sequential, {timed.looks} looks"
    print(
        f"command: python -m gates.simulate {' '.join(argv)}".rstrip()
        + f"\nregistry: alpha {thresholds.alpha:g} one-sided, {family} gated bounds, each at"
        f" {1 - thresholds.alpha / family:.5f}; quality scores from"
        f" {pool.note}\ntimed trials of the standard-shaped cases: {timed.repositories}"
        f" repositories x {timed.questions} questions x {len(registry.budgets)} budgets"
        f" ({design}; the A/A run measures every unit)"
    )
    with tempfile.TemporaryDirectory(prefix="e2e-registry-") as scratch:
        path = study_registry(Path(scratch), args.config)
        other = passing_other_evidence(load_registry(path))
        results, units = run_study(
            chosen, path, other, replications=args.replications, seed=args.seed, jobs=args.jobs
        )
    print("\n| case | truth | counted | measured (exact 95% interval) | design | |")
    print("|---|---|---|---|---|---|")
    for scenario, measure, wanted, hits, trials in results:
        low, high = binomial_interval(hits, trials)
        rate = hits / trials
        print(
            f"| {scenario.name} | {scenario.truth} | {measure} | {rate:.1%} [{low:.1%},"
            f" {high:.1%}] ({hits} of {trials}) | {wanted} |"
            f" {verdict_mark(scenario, measure, rate, high)} |"
        )
    _print_units(chosen, units, registry.baseline.name)
    levels = (0.95, two_sided_level(thresholds.alpha, family))
    coverage = coverage_study(args.coverage_replications, args.seed, levels, args.bca_replications)
    print("\n| interval | method | nominal | coverage (exact 95% interval) |")
    print("|---|---|---|---|")
    for entry in coverage:
        low, high = binomial_interval(entry.covered, entry.trials)
        print(
            f"| {entry.label} | {entry.method} | {entry.level:.4%} |"
            f" {entry.covered / entry.trials:.2%} [{low:.2%}, {high:.2%}] ({entry.trials} runs) |"
        )
    print(f"\n{time.perf_counter() - started:.0f} s")
    return 0


def _print_units(
    chosen: Sequence[Scenario], units: dict[tuple[str, str], tuple[int, int]], baseline: str
) -> None:
    """The expected share of the planned units each candidate measured, per case."""
    print("\n| case | units measured, mean share of the planned maximum, per candidate |")
    print("|---|---|")
    for scenario in chosen:
        name = scenario.name
        shares = [
            f"{variant} {measured / planned:.0%}"
            for (case, variant), (measured, planned) in units.items()
            if case == name and variant != baseline and planned
        ]
        print(f"| {name} | {', '.join(shares)} |")
