"""``python -m analysis.sequential``: print a sequential design, so a README can quote it.

Prints each planned look's efficacy boundary, its nominal one-sided level, the
cumulative alpha spent, the non-binding futility boundary, and the inflation
factor of the maximum information over the fixed design (with and without
futility). ``--simulate N`` adds the seeded simulation of
:func:`analysis.sequential_simulation.simulate_design` under the null and at
the design effect. Bad input: one line on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from analysis.errors import AnalysisInputError
from analysis.sequential import (
    SequentialDesign,
    design_boundaries,
    maximum_information,
    plan_design,
)
from analysis.sequential_simulation import simulate_design
from analysis.spending import SPENDING_FUNCTIONS
from contracts.errors import OneLineParser
from contracts.exitcodes import ExitCode

PROGRAM = "python -m analysis.sequential"
NO_FUTILITY = "none"


class _Parser(OneLineParser):
    error_type = AnalysisInputError


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=PROGRAM, description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--alpha", type=float, default=0.025, help="one-sided family-wise alpha")
    parser.add_argument(
        "--family-size", type=int, default=1, help="bounds m sharing alpha (level alpha / m)"
    )
    parser.add_argument("--looks", type=int, default=4, help="equally spaced looks")
    parser.add_argument("--fractions", help="planned information fractions, e.g. 0.3,0.6,1")
    parser.add_argument("--power", type=float, default=0.8, help="power at the design effect")
    parser.add_argument("--spending", choices=SPENDING_FUNCTIONS, default="obrien-fleming")
    parser.add_argument(
        "--futility", choices=(*SPENDING_FUNCTIONS, NO_FUTILITY), default="obrien-fleming"
    )
    parser.add_argument("--simulate", type=int, default=0, help="replications (0: none)")
    parser.add_argument("--seed", type=int, default=20240614, help="simulation seed")
    parser.add_argument(
        "--fixed-units", type=int, help="simulate whole units and t statistics (n_fixed)"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    try:
        options = build_parser().parse_args(argv)
        print(render(options))
    except AnalysisInputError as exc:
        print(f"{PROGRAM}: error: {' '.join(str(exc).split())}", file=sys.stderr)
        return int(ExitCode.BAD_INPUT)
    return 0


def render(options: argparse.Namespace) -> str:
    if options.family_size < 1:
        raise AnalysisInputError(f"`--family-size` must be at least 1; got {options.family_size}")
    fractions = None
    if options.fractions is not None:
        try:
            fractions = [float(part) for part in options.fractions.split(",")]
        except ValueError:
            raise AnalysisInputError(
                f"`--fractions` must be numbers; got {options.fractions!r}"
            ) from None
    level = options.alpha / options.family_size
    futility = None if options.futility == NO_FUTILITY else options.futility
    design = plan_design(
        level,
        options.power,
        looks=options.looks,
        fractions=fractions,
        efficacy_spending=options.spending,
        futility_spending=futility,
    )
    lines = _design_lines(design, options.alpha, options.family_size)
    if options.simulate:
        lines += _simulation_lines(design, options.simulate, options.seed, options.fixed_units)
    return "\n".join(lines)


def _design_lines(design: SequentialDesign, alpha: float, family_size: int) -> list[str]:
    bounds = design_boundaries(design)
    futility = design.futility_spending or NO_FUTILITY
    lines = [
        f"one-sided level a = {design.alpha:.6g} (alpha {alpha:g} / {family_size} bounds),"
        f" {len(bounds.fractions)} looks, power {design.power:g} at the design effect",
        f"efficacy spending: {design.efficacy_spending}; futility: {futility} beta-spending,"
        " non-binding (efficacy boundaries ignore it)",
        f"{'look':>4} {'fraction':>8} {'efficacy z':>10} {'nominal p':>10} {'alpha spent':>11}"
        f" {'futility z':>10}",
    ]
    for look, fraction in enumerate(bounds.fractions):
        lines.append(
            f"{look + 1:>4} {fraction:>8.3f} {bounds.efficacy[look]:>10.4f}"
            f" {bounds.nominal_levels[look]:>10.3g} {bounds.alpha_spent[look]:>11.3g}"
            f" {bounds.futility[look]:>10.4f}"
        )
    efficacy_only = maximum_information(
        design.alpha,
        design.power,
        design.planned_fractions,
        efficacy_spending=design.efficacy_spending,
    )
    lines += [
        f"null crossing probability by integration: {sum(bounds.null_crossing):.6g}",
        f"inflation I_max / I_fixed, efficacy only: {efficacy_only:.4f}",
        f"inflation of this design (n_max = inflation * n_fixed): {design.inflation:.4f}",
    ]
    return lines


def _simulation_lines(
    design: SequentialDesign, replications: int, seed: int, fixed_units: int | None
) -> list[str]:
    model = "Gaussian increments" if fixed_units is None else f"{fixed_units} units, t statistics"
    lines = [
        f"simulation: {replications} replications, seed {seed}, {model};"
        " established with futility obeyed, and if futility is ignored",
        f"{'effect':>6} {'established':>11} {'futile':>8} {'if ignored':>11} {'E[n]/n_fixed':>12}",
    ]
    for multiple in (0.0, 1.0):
        result = simulate_design(
            design,
            effect_multiple=multiple,
            replications=replications,
            seed=seed,
            fixed_units=fixed_units,
        )
        lines.append(
            f"{multiple:>6g} {result.established:>11.5f} {result.futile:>8.4f}"
            f" {result.established_ignoring_futility:>11.5f}"
            f" {result.expected_fraction_of_fixed:>12.4f}"
        )
    return lines
