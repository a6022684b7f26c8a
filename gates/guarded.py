"""Why a per-budget guard failed, budget by budget: its estimate beyond the margin too,
futile, inconclusive, or not shown with the registry's power.

A guard's bound beyond its margin is read four ways, and a report that said only
"beyond" would read every one of them as a regression:

* **beyond on its estimate too**: the estimate is beyond the margin as well (more units
  would not be expected to rescue it, so it is not called inconclusive; a regression is
  not claimed either, since the interval may still reach inside the margin);
* **futile**: a sequential run stopped at its futility boundary, which its planned
  maximum was sized with, so the bound was decided and not short of units (a bound that
  was not itself futile is said to be undecided when the run stopped);
* **inconclusive**: the estimate is within the margin and the bound had less than the
  registry's design-stage power: the interval is too wide to tell, and the reason
  names the units (timed) or questions (quality, at one budget) a decision needs;
* **not shown**: the estimate is within the margin and the bound had the power; a
  negative result.

Pure functions of the rows; :mod:`gates.rules` passes what it knows of the run.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from contracts.family import POOLED, UPPER
from contracts.thresholds import QA, RECALL
from gates import fmt
from gates.evidence import Comparison, Power

# Comparisons forgive floating-point rounding only: 1.13 / 1.0 - 1 is 0.12999999999999989.
# (gates.rules judges every threshold with this one tolerance.)
ROUNDING = 1e-12


def regressed(row: Comparison, side: str, threshold: float) -> bool:
    """The estimate itself is beyond the margin (not only its bound)."""
    estimate = row.relative_change
    if estimate is None:
        return False
    if side == UPPER:
        return estimate > threshold + ROUNDING
    return estimate < threshold - ROUNDING


def units(row: Comparison) -> str:
    """What a row's units are: timed units, or questions scored at one budget or all."""
    if row.metric not in (QA, RECALL):
        return "units"
    return "question-budgets" if row.budget == POOLED else "questions"


def power_phrase(row: Comparison, power: Power) -> str:
    """``power 0.3% to ...`` at the bound's design point: a gain to detect (the pooled QA
    bound), or a non-inferiority margin to clear if the truth is no change (a guard)."""
    target = fmt.change(power.target_effect)
    guard = row.budget != POOLED or row.metric not in (QA, RECALL)
    aim = f"to clear {target} if unchanged" if guard else f"to detect {target}"
    return f"power {fmt.share(power.achieved)} {aim} with {fmt.count(row.n_units)} {units(row)}"


def needed(row: Comparison, power: Power) -> str:
    """``: 29513 questions needed`` (empty when the power model gave no size)."""
    if power.units_for_80 is None:
        return ""
    return f": {fmt.count(power.units_for_80)} {units(row)} needed"


def why_beyond(
    failing: Sequence[Comparison],
    side: str,
    threshold: float,
    target_power: float,
    stopped: Callable[[Comparison], str | None],
) -> str:
    """One clause per failing budget, in budget order: ``; at 50k inconclusive: ...``.
    ``stopped`` says how a sequential run's stop at its futility boundary left a row
    ("futile at look 1 of 4", or undecided when another bound was), None otherwise."""
    clauses = []
    for row in failing:
        estimate = "n/a" if row.relative_change is None else fmt.change(row.relative_change)
        power = row.power
        stop = stopped(row)
        if regressed(row, side, threshold):
            clauses.append(f"at {row.budget} the estimate is beyond the margin too ({estimate})")
        elif stop is not None:
            clauses.append(f"at {row.budget} estimate {estimate}, {stop}")
        elif power is not None and power.achieved < target_power - ROUNDING:
            clauses.append(
                f"at {row.budget} inconclusive{needed(row, power)}"
                f" (estimate {estimate}, {power_phrase(row, power)})"
            )
        else:
            clauses.append(
                f"at {row.budget} not shown with the registry's power (estimate {estimate})"
            )
    return "".join(f"; {clause}" for clause in clauses)
