"""The interleaving order: every unit once per arm, pairs alternating A B / B A (ABBA)."""

from __future__ import annotations

from collections import Counter

from hypothesis import given
from hypothesis import strategies as st

from benchmarks.schedule import FIRST, SECOND, Unit, abba_order, interleave, make_units

ARMS = ("baseline", "V3")


def _units(count: int) -> list[Unit]:
    return [Unit("repo", f"q{i}", 1000) for i in range(count)]


def test_abba_alternates_who_goes_first() -> None:
    assert abba_order(4, ("A", "B")) == [("A", "B"), ("B", "A"), ("A", "B"), ("B", "A")]


def test_pairs_are_back_to_back_and_alternate() -> None:
    schedule = interleave(_units(6), ARMS, seed=1)
    arms = [trial.arm for trial in schedule]
    assert arms == ["baseline", "V3", "V3", "baseline"] * 3
    for first, second in zip(schedule[::2], schedule[1::2], strict=True):
        assert first.unit == second.unit
        assert first.order_index == second.order_index
        assert (first.position, second.position) == (FIRST, SECOND)
    assert [t.order_index for t in schedule[::2]] == list(range(6))


def test_warmups_come_first_flagged_and_the_pattern_continues() -> None:
    warmups = [Unit("repo", "w", 1000)]
    schedule = interleave(_units(2), ARMS, seed=1, warmup_units=warmups)
    assert [t.warmup for t in schedule] == [True, True, False, False, False, False]
    assert [t.arm for t in schedule] == ["baseline", "V3", "V3", "baseline", "baseline", "V3"]


@given(st.integers(1, 40), st.integers(0, 2**32))
def test_every_unit_once_per_arm_and_each_arm_first_half_the_time(count: int, seed: int) -> None:
    units = _units(count)
    schedule = interleave(units, ARMS, seed=seed)
    assert Counter((t.unit, t.arm) for t in schedule) == Counter(
        {(u, a): 1 for u in units for a in ARMS}
    )
    firsts = Counter(t.arm for t in schedule if t.position == FIRST)
    assert abs(firsts["baseline"] - firsts["V3"]) <= 1


def test_the_order_is_seeded() -> None:
    units = make_units([("r", [f"q{i}" for i in range(10)])], [1000, 2000])
    first = [t.unit for t in interleave(units, ARMS, seed=1337)]
    assert first == [t.unit for t in interleave(units, ARMS, seed=1337)]
    assert first != [t.unit for t in interleave(units, ARMS, seed=1338)]
    assert first != list(units) or len(units) < 2


def test_units_are_repository_question_budget() -> None:
    units = make_units([("a", ["q1"]), ("b", ["q2", "q3"])], [50_000, 120_000])
    assert len(units) == 6
    assert units[0].id == "a|q1|50000"
