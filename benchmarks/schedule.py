"""Units and the paired, interleaved order in which two arms measure them.

A *unit* is (repository, question, budget). Both arms measure every unit once.
The units are visited in a seeded random order and each unit's two trials run
back to back as a pair; consecutive pairs alternate which arm goes first
(A B, B A, A B, ...: the ABBA design), so a linear drift of the machine within
any two consecutive pairs adds the same amount to both arms and cancels in their
difference, and no arm is systematically first (warm) or second.
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


def interleave(
    units: Sequence[Unit],
    arms: tuple[str, str],
    *,
    seed: int,
    warmup_units: Sequence[Unit] = (),
) -> list[ScheduledTrial]:
    """The whole run: warm-up pairs, then every unit as a pair, ABBA across pairs.

    The measured units are shuffled with ``random.Random(f"{seed}:schedule")``,
    so the same seed gives the same order. Warm-ups alternate too, and they are
    followed by the first measured pair in the order that continues the pattern.
    """
    shuffled = list(units)
    # Ordering trials, not security.
    random.Random(f"{seed}:schedule").shuffle(shuffled)  # noqa: S311  # nosec B311
    pairs = [(unit, True) for unit in warmup_units] + [(unit, False) for unit in shuffled]
    schedule: list[ScheduledTrial] = []
    for order_index, ((unit, warmup), arm_order) in enumerate(
        zip(pairs, abba_order(len(pairs), arms), strict=True)
    ):
        for position, arm in zip((FIRST, SECOND), arm_order, strict=True):
            schedule.append(ScheduledTrial(unit, arm, order_index, position, warmup))
    return schedule
