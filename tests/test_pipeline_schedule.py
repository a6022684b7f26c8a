"""One benchmark at a time, proven from ``timings.json`` in every schedule.

The orchestrator runs the full plan with simulated sessions (short sleeps) and
the test reads back only what a reader of the artifacts has: each step's
interval in ``timings.json`` ``steps[]``. No two benchmark sessions may overlap,
and no benchmark may overlap R3 or R4 (which spread over every core).
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import time
from pathlib import Path

import pytest
from test_pipeline import REGISTRY, isolated_run, make_plan, simulated
from test_pipeline_building import needs_a_checkout, write_building_evidence

import pipeline.run
from pipeline.plan import Plan, Step
from pipeline.promote import run

__all__ = ["isolated_run"]  # the autouse fixture of test_pipeline applies here too
SPREADING = ("differential", "shadow")

# name: (options, concurrency forced onto the plan, as on a machine with that many cores)
SCHEDULES: dict[str, tuple[dict[str, object], int | None]] = {
    "parallel on 2 cores": ({"parallel": True}, 2),
    "parallel on 4 cores": ({"parallel": True}, 4),
    "sequential": ({"parallel": False}, None),
    "skip-building": ({"parallel": True, "skip_building": True, "allow_dirty": True}, 3),
    "reduced variants": ({"parallel": True, "variants": ("V2", "V4")}, 3),
    "reduced variants, sequential": ({"parallel": False, "variants": ("V1",)}, None),
}


@dataclasses.dataclass(frozen=True)
class Interval:
    """One entry of ``timings.json`` ``steps[]``."""

    session: str
    benchmark: bool
    status: str
    start: float
    end: float

    def overlaps(self, other: Interval) -> bool:
        return self.start < other.end and other.start < self.end


def intervals(timings: Path) -> list[Interval]:
    steps = json.loads(timings.read_text())["steps"]
    return [
        Interval(
            step["session"],
            step["benchmark"],
            step["status"],
            # A step that never started has no interval; timings.json precedes E1.
            step["start_seconds"] if step["start_seconds"] is not None else float("inf"),
            step["end_seconds"] if step["end_seconds"] is not None else float("inf"),
        )
        for step in steps
    ]


def actions_for(plan: Plan) -> dict[str, str]:
    actions = {step.session: "nap:0.1" for step in plan.steps}
    # R2 ends first, so that under the old rule the benchmarks behind it paired up.
    actions["advanced"] = "nap:0.02"
    for step in plan.steps:
        if step.is_benchmark:
            actions[step.session] = "nap:0.25"
    actions["gates"] = "reject"
    return actions


def run_schedule(tmp_path: Path, name: str) -> tuple[Plan, list[Interval]]:
    options, cores = SCHEDULES[name]
    plan = make_plan(tmp_path, **options)
    if cores is not None:
        plan = dataclasses.replace(plan, concurrency=cores)
    if plan.options.skip_building:
        write_building_evidence(tmp_path)
    assert run(plan, REGISTRY, command_for=simulated(tmp_path, actions_for(plan))) == 1
    return plan, intervals(tmp_path / "timings.json")


def overlaps_with_a_benchmark(steps: list[Interval]) -> list[tuple[str, str]]:
    benchmarks = [step for step in steps if step.benchmark]
    spreading = [step for step in steps if step.session in SPREADING]
    pairs = [*itertools.combinations(benchmarks, 2), *itertools.product(benchmarks, spreading)]
    return [(one.session, other.session) for one, other in pairs if one.overlaps(other)]


def peak_concurrency(steps: list[Interval]) -> int:
    # At one instant, an end counts before a start: the next session starts after one ends.
    edges = sorted([(step.start, 1) for step in steps] + [(step.end, -1) for step in steps])
    running = peak = 0
    for _, change in edges:
        running += change
        peak = max(peak, running)
    return peak


@pytest.mark.parametrize(
    "name",
    [
        pytest.param(name, marks=needs_a_checkout) if "skip_building" in options else name
        for name, (options, _) in SCHEDULES.items()
    ],
)
def test_no_two_benchmarks_overlap_in_any_schedule(tmp_path: Path, name: str) -> None:
    plan, steps = run_schedule(tmp_path, name)
    assert [step.session for step in steps] == [step.session for step in plan.steps]
    ran = [step for step in steps if step.session != "gates"]  # timings.json precedes E1
    assert {step.status for step in ran} == {"ok"}
    assert overlaps_with_a_benchmark(steps) == []
    # The benchmarks follow one another in plan order, each after the last one ended...
    benchmarks = [step for step in steps if step.benchmark]
    assert [step.session for step in benchmarks] == [
        s.session for s in plan.steps if s.is_benchmark
    ]
    for earlier, later in itertools.pairwise(benchmarks):
        assert earlier.end <= later.start
    # ...and the plan's concurrency is a ceiling, never passed.
    assert peak_concurrency(ran) <= plan.concurrency


def test_the_check_catches_benchmarks_side_by_side(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The rule before the fix (one benchmark per core) fails the check above."""

    def one_benchmark_per_core(step: Step, others: list[Step]) -> bool:
        if step.uses_every_core:
            return not any(other.is_benchmark for other in others)
        return not (step.is_benchmark and any(other.uses_every_core for other in others))

    monkeypatch.setattr(pipeline.run, "may_start", one_benchmark_per_core)
    _, steps = run_schedule(tmp_path, "parallel on 4 cores")
    assert ("bench-baseline", "bench-V1") in overlaps_with_a_benchmark(steps)


def test_a_session_ends_only_when_its_process_group_is_gone(tmp_path: Path) -> None:
    """A worker left behind by a benchmark session must not run beside the next one."""
    late_write = tmp_path / "written-by-a-leftover"
    plan = make_plan(tmp_path, variants=("V1",), parallel=True)
    actions = {"bench-baseline": f"orphan:{late_write}", "gates": "reject"}
    assert run(plan, REGISTRY, command_for=simulated(tmp_path, actions)) == 1
    time.sleep(2.0)  # the leftover would have written by now
    assert not late_write.exists()
