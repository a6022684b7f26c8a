"""Units and the paired, interleaved order in which two arms measure them.

A *unit* is (repository, question, budget). Both arms measure every unit once.
The units are visited in a seeded random order and each unit's two trials run
back to back as a pair; consecutive pairs alternate which arm goes first
(A B, B A, A B, ...: the ABBA design), so a linear drift of the machine within
any two consecutive pairs adds the same amount to both arms and cancels in their
difference, and no arm is systematically first (warm) or second.

A sequential run (issue #14) measures in *looks*: each repository's questions are
split into ``looks`` consecutive blocks, and look ``k`` measures block ``k`` of
every repository at every budget, shuffled within the look. So every look sees
every repository and budget (its clusters are balanced), and the run can stop at
a look boundary with a complete, balanced sample. One look is the fixed design,
whose order is the whole run shuffled at once.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

FIRST = "first"
SECOND = "second"


@dataclass(frozen=True)
class Unit:
    """One thing both arms measure: a question about a repository at a budget."""

    repository: str
    question_id: str
    budget: int

    @property
    def id(self) -> str:
        return f"{self.repository}|{self.question_id}|{self.budget}"


@dataclass(frozen=True)
class ScheduledTrial:
    unit: Unit
    arm: str
    order_index: int  # index of the pair in the run (warm-ups first)
    position: str  # FIRST or SECOND within its pair
    warmup: bool


def make_units(
    questions: Sequence[tuple[str, Sequence[str]]], budgets: Sequence[int]
) -> tuple[Unit, ...]:
    """Every (repository, question, budget), in the given repository and question order."""
    return tuple(
        Unit(repository, question_id, budget)
        for repository, question_ids in questions
        for question_id in question_ids
        for budget in budgets
    )


def abba_order(pair_count: int, arms: tuple[str, str]) -> list[tuple[str, str]]:
    """Who goes first in each pair: A B, B A, A B, B A, ..."""
    first, second = arms
    return [(first, second) if k % 2 == 0 else (second, first) for k in range(pair_count)]


def unit_looks(units: Sequence[Unit], looks: int) -> tuple[int, ...]:
    """The look (1-based) of each unit: its question's block within its repository.

    A repository's questions are ranked in the order they first appear in
    ``units`` (the plan's order); rank ``r`` of ``n`` goes to look
    ``floor(r * looks / n) + 1``, so the blocks differ in size by at most one.
    """
    if isinstance(looks, bool) or not isinstance(looks, int) or looks < 1:
        raise ValueError(f"looks must be a positive integer, got {looks!r}")
    ranks: dict[str, dict[str, int]] = {}
    for unit in units:
        ranks.setdefault(unit.repository, {}).setdefault(
            unit.question_id, len(ranks[unit.repository])
        )
    return tuple(
        ranks[u.repository][u.question_id] * looks // len(ranks[u.repository]) + 1 for u in units
    )


def interleave(
    units: Sequence[Unit],
    arms: tuple[str, str],
    *,
    seed: int,
    warmup_units: Sequence[Unit] = (),
    looks: int = 1,
) -> list[ScheduledTrial]:
    """The whole run: warm-up pairs, then every unit as a pair, ABBA across pairs.

    The measured units are shuffled with ``random.Random(f"{seed}:schedule")``,
    so the same seed gives the same order; with ``looks`` > 1, look by look
    (:func:`unit_looks`), each look shuffled by the same generator in turn.
    Warm-ups alternate too, and they are followed by the first measured pair in
    the order that continues the pattern.
    """
    # Ordering trials, not security.
    generator = random.Random(f"{seed}:schedule")  # noqa: S311  # nosec B311
    if looks == 1:
        shuffled = list(units)
        generator.shuffle(shuffled)
    else:
        shuffled = []
        assigned = unit_looks(units, looks)
        for look in range(1, looks + 1):
            block = [u for u, k in zip(units, assigned, strict=True) if k == look]
            generator.shuffle(block)
            shuffled += block
    pairs = [(unit, True) for unit in warmup_units] + [(unit, False) for unit in shuffled]
    schedule: list[ScheduledTrial] = []
    for order_index, ((unit, warmup), arm_order) in enumerate(
        zip(pairs, abba_order(len(pairs), arms), strict=True)
    ):
        for position, arm in zip((FIRST, SECOND), arm_order, strict=True):
            schedule.append(ScheduledTrial(unit, arm, order_index, position, warmup))
    return schedule
