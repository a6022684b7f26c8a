"""pipeline.designs: the side-by-side table and when two designs decided the same."""

from __future__ import annotations

from pipeline.designs import Arm, Outcome, same_decisions, table


def _outcome(decision: str, v1: str, units: int, seconds: float, wall: float) -> Outcome:
    return Outcome(
        decision,
        wall,
        {"baseline": Arm("A/A", 288, 288, 200.0), "V1": Arm(v1, units, 288, seconds)},
    )


def test_the_table_puts_the_designs_side_by_side_with_ratios() -> None:
    sequential = _outcome("promote V1", "passed", 144, 50.0, 600.0)
    fixed = _outcome("promote V1", "passed", 288, 100.0, 900.0)
    text = table(sequential, fixed)
    assert "| V1 | passed | passed | 144 / 288 (50%) | 50 / 100 (50%) |" in text
    assert "| every benchmark | | | | 250 / 300 (83%) |" in text
    assert "pipeline wall time 600 s / 900 s (67%)" in text
    assert same_decisions(sequential, fixed)


def test_another_verdict_or_decision_is_not_the_same() -> None:
    fixed = _outcome("promote V1", "passed", 288, 100.0, 900.0)
    assert not same_decisions(_outcome("reject", "failed power", 144, 50.0, 600.0), fixed)
    # The failed gates may differ; the verdict (passed or not) may not.
    failed = _outcome("reject", "failed latency_non_inferiority", 72, 30.0, 600.0)
    also_failed = _outcome("reject", "failed latency_non_inferiority, power", 288, 90.0, 900.0)
    assert same_decisions(failed, also_failed)
