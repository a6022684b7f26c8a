"""``python -m gates.simulate``: the end-to-end study's command line (see :mod:`gates.simulate`).

Prints the command, the registry's level and the timed-trial shape, then a table of
rates with exact 95% binomial intervals, the units each candidate measured (the
sequential design stops early; ``--fixed`` measures every unit), and the coverage
of the gated intervals. Bad arguments (a size the study cannot run, an unknown case,
an unreadable registry): one line on stderr and exit code 2, before anything runs.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from benchmarks.looks import LookError, look_ends
from benchmarks.schedule import Unit, make_units, unit_looks
from contracts.errors import InputError, OneLineParser
from contracts.exitcodes import ExitCode
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
from gates.simulate_model import (
    BUDGETS,
    MACHINE_SLOTS,
    POOL,
    STANDARD,
    Shape,
    gain_effect,
    load_pool,
    model_pool,
    write_pool,
)
from packrepo.registry import RegistryError, load_registry

PROGRAM = "gates.simulate"


def _parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="python -m gates.simulate", description=__doc__)
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
        "--quality-questions",
        type=int,
        help="quality-stage questions per repository in the standard-shaped cases, resampled"
        " within each repository from the measured pool (default: the standard profile's"
        f" {STANDARD.quality_questions}): how many the QA and recall guards would need",
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
    started = time.perf_counter()
    try:
        args = _parser().parse_args(argv)
        check_sizes(args)
        if args.write_pool is not None:
            write_pool(args.write_pool)
            print(f"wrote {POOL}")
            return 0
        registry = load_registry(args.config)
        thresholds = thresholds_from_registry(registry)
        family = len(gated_bounds(registry, thresholds, registry.budgets))
        pool = load_pool() or model_pool(args.seed)
        gains = {gain: gain_effect(pool, gain) for gain in (0.10, 0.13, 0.20)}
        chosen = choose(scenarios(registry, thresholds.alpha, family, gains), args.scenarios)
    except (InputError, RegistryError) as exc:
        print(f"{PROGRAM}: error: {' '.join(str(exc).split())}", file=sys.stderr)
        return int(ExitCode.BAD_INPUT)
    argv = list(sys.argv[1:] if argv is None else argv)
    timed = timed_shape(args.timed_questions, args.quality_questions, fixed=args.fixed)
    chosen = [replace(s, shape=timed) if s.shape == STANDARD else s for s in chosen]
    design = "fixed" if timed.looks == 1 else f"sequential, {timed.looks} looks"
    print(
        f"command: python -m gates.simulate {' '.join(argv)}".rstrip()
        + f"\nregistry: alpha {thresholds.alpha:g} one-sided, {family} gated bounds, each at"
        f" {1 - thresholds.alpha / family:.5f}; quality scores from"
        f" {pool.note}\ntimed trials of the standard-shaped cases: {timed.repositories}"
        f" repositories x {timed.questions} questions x {len(registry.budgets)} budgets"
        f" ({design}; the A/A run measures every unit)\nquality stage of the standard-shaped"
        f" cases: {timed.quality_repositories} repositories x {timed.quality_questions} questions"
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


def timed_shape(
    questions: int | None, quality_questions: int | None = None, *, fixed: bool
) -> Shape:
    """The standard-shaped cases' shape: ``questions`` timed per repository (None: the
    standard profile's), in the standard profile's looks or, ``fixed``, in one; and
    ``quality_questions`` scored per repository by the quality stage (None: the pool's)."""
    return replace(
        STANDARD,
        questions=questions or STANDARD.questions,
        quality_questions=quality_questions or STANDARD.quality_questions,
        looks=1 if fixed else STANDARD.looks,
    )


def look_pairs(shape: Shape) -> list[int]:
    """The ABBA pairs (one a unit) in each of ``shape``'s looks, split as the runner
    splits them (``benchmarks.schedule.unit_looks``)."""
    assigned = unit_looks(_units(shape), shape.looks)
    return [assigned.count(look) for look in range(1, shape.looks + 1)]


def looks_hold_pairs(shape: Shape) -> bool:
    """Whether the runner, and ``stopped_by`` after it, can measure ``shape`` look by look
    (``benchmarks.looks.look_ends``): with several looks, each an even, non-zero number
    of pairs, so the ABBA counterbalancing holds within it."""
    try:
        look_ends([], _units(shape), shape.looks)
    except LookError:
        return False
    return True


def _units(shape: Shape) -> tuple[Unit, ...]:
    questions = [f"q{q}" for q in range(shape.questions)]
    return make_units([(f"repo{r}", questions) for r in range(shape.repositories)], BUDGETS)


def most_questions(shape: Shape) -> int:
    """The most timed questions per repository whose run fits the simulated machine: one
    warm-up pair per repository and one pair per unit, two trial slots a pair."""
    per_question = shape.repositories * len(BUDGETS)
    return (MACHINE_SLOTS // 2 - shape.repositories) // per_question


def check_sizes(args: argparse.Namespace) -> None:
    """Refuse, naming the argument and what it may be, any size the study cannot run:
    caught here, before a worker starts, rather than as a traceback mid-study."""
    for name, value, least in (
        ("--replications", args.replications, 1),
        ("--coverage-replications", args.coverage_replications, 1),
        ("--bca-replications", args.bca_replications, 0),
        ("--jobs", args.jobs, 1),
        ("--seed", args.seed, 0),  # numpy's generators take no negative seed
        # A cluster t needs two clusters; None is the pool's own size.
        ("--quality-questions", 2 if args.quality_questions is None else args.quality_questions, 2),
    ):
        if value < least:
            raise InputError(f"{name} must be at least {least}; got {value}")
    if args.timed_questions is None:
        return
    questions = args.timed_questions
    shape = timed_shape(max(questions, 1), fixed=args.fixed)
    most = most_questions(shape)
    if 1 <= questions <= most and looks_hold_pairs(shape):
        return
    allowed = [q for q in range(1, most + 1) if looks_hold_pairs(replace(shape, questions=q))]
    design = (
        "the fixed design" if shape.looks == 1 else f"the sequential design's {shape.looks} looks"
    )
    if questions > most:
        why = f"; more overrun the simulated machine's {MACHINE_SLOTS} trial slots"
    elif questions >= 1:
        why = (
            f"; {questions} splits into looks of {look_pairs(shape)} ABBA pairs, and each"
            " look needs an even, non-zero number (or --fixed)"
        )
    else:
        why = ""
    raise InputError(
        f"--timed-questions must be from {allowed[0]} to {allowed[-1]} with {design}"
        f"{why}; got {questions}"
    )


def choose(every: Sequence[Scenario], names: str | None) -> list[Scenario]:
    """The cases ``--scenarios`` names (None or empty: all); an unknown name is refused
    rather than leaving an empty or smaller study that looks complete."""
    wanted = [name.strip() for name in (names or "").split(",") if name.strip()]
    if not wanted:
        return list(every)
    known = [s.name for s in every]
    unknown = [name for name in wanted if name not in known]
    if unknown:
        raise InputError(
            f"--scenarios: unknown case {', '.join(unknown)}; the cases are {', '.join(known)}"
        )
    return [s for s in every if s.name in wanted]
