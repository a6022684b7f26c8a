"""Sequential runs (issue #14): looks in the schedule, a monitor that stops the runner, the
design in the artifact, a resumed run that keeps its looks, and --fixed unchanged."""

from __future__ import annotations

import zlib
from dataclasses import replace
from pathlib import Path
from typing import Any

import orjson
import pytest

from benchmarks import runner
from benchmarks.arms import ArmWorker
from benchmarks.artifact import Artifact, ArtifactError, artifact_to_json, load_artifact
from benchmarks.artifact import parse_artifact as parse
from benchmarks.cli import main
from benchmarks.looks import (
    FIXED,
    FIXED_DESIGN,
    SEQUENTIAL,
    LookData,
    MonitorVerdict,
    measure_in_looks,
)
from benchmarks.profiles import PROFILES, Profile
from benchmarks.schedule import Unit, interleave, make_units, unit_looks
from packrepo.registry import load_registry
from pipeline.monitored import main as monitored_main
from pipeline.monitored import monitor_for

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).parent / "data"
CORPUS = DATA / "corpus.json"
LOOKS_PROFILE = "test-looks"
ONE_LOOK_PROFILE = "test-one-look"


# --- the schedule ------------------------------------------------------------------------


def test_the_fixed_schedule_is_the_one_before_looks_existed() -> None:
    # Recorded from benchmarks/schedule.py at 68acd8b, the last commit without looks.
    units = make_units([("a", ["q1", "q2", "q3", "q4"]), ("b", ["q1", "q2", "q3", "q4"])], [1, 3])
    firsts = [
        s.unit.id
        for s in interleave(units, ("base", "V1"), seed=7, warmup_units=[Unit("a", "q1", 1)])
        if s.position == "first"
    ]
    assert firsts == [
        "a|q1|1", "a|q1|1", "b|q2|1", "a|q3|3", "b|q2|3", "a|q4|3", "b|q4|3", "b|q4|1",
        "a|q2|3", "b|q1|1", "b|q3|1", "b|q1|3", "a|q3|1", "a|q4|1", "a|q1|3", "b|q3|3", "a|q2|1",
    ]  # fmt: skip


def test_each_look_holds_a_block_of_every_repository_at_every_budget() -> None:
    questions = [("a", [f"q{i}" for i in range(8)]), ("b", [f"q{i}" for i in range(5)])]
    units = make_units(questions, [1, 3, 5])
    looks = unit_looks(units, 4)
    for look in range(1, 5):
        chosen = [u for u, k in zip(units, looks, strict=True) if k == look]
        assert {u.repository for u in chosen} == {"a", "b"}
        assert {u.budget for u in chosen} == {1, 3, 5}
    a_looks = [looks[units.index(Unit("a", f"q{i}", 1))] for i in range(8)]
    assert a_looks == [1, 1, 2, 2, 3, 3, 4, 4]  # consecutive blocks of equal size
    b_looks = [looks[units.index(Unit("b", f"q{i}", 1))] for i in range(5)]
    assert b_looks == [1, 1, 2, 3, 4]  # sizes differ by at most one


def test_a_sequential_schedule_measures_look_by_look() -> None:
    units = make_units([("a", [f"q{i}" for i in range(4)]), ("b", ["q0", "q1"])], [1, 3])
    looks = dict(zip(units, unit_looks(units, 2), strict=True))
    schedule = interleave(units, ("base", "V1"), seed=3, looks=2)
    seen = [looks[s.unit] for s in schedule]
    assert seen == sorted(seen)  # every unit of look 1 before any of look 2
    assert sorted(s.unit.id for s in schedule) == sorted(u.id for u in units for _ in range(2))
    again = interleave(units, ("base", "V1"), seed=3, looks=2)
    assert [(s.unit, s.arm) for s in again] == [(s.unit, s.arm) for s in schedule]


# --- runs with a monitor -----------------------------------------------------------------


@pytest.fixture(autouse=True)
def _looks_profile(monkeypatch: pytest.MonkeyPatch) -> None:
    # Two repositories, two questions each, two budgets: 4 pairs per look, 2 looks.
    profile = Profile(LOOKS_PROFILE, 2, 2, 1, None, "two looks on the test corpus", looks=2)
    monkeypatch.setitem(PROFILES, LOOKS_PROFILE, profile)
    # The same run in one look, as the quick profile plans it.
    monkeypatch.setitem(
        PROFILES, ONE_LOOK_PROFILE, replace(profile, name=ONE_LOOK_PROFILE, looks=1)
    )


class Scripted:
    """A monitor that says what it is told, and remembers what it saw."""

    def __init__(self, *stops: bool) -> None:
        self.stops = iter(stops)
        self.seen: list[tuple[int, int, tuple[float, ...]]] = []

    def __call__(self, data: LookData) -> MonitorVerdict:
        self.seen.append((data.look, len(data.trials), data.fractions))
        stop = next(self.stops)
        return MonitorVerdict(stop, "enough" if stop else "go on")


def _arguments(tmp_path: Path, profile: str, budgets: str, *extra: str) -> list[str]:
    return [
        "--corpus", str(CORPUS),
        "--cache-dir", str(tmp_path.parent / "cache"),
        "run", "--variant", "V1", "--budgets", budgets, "--seed", "1337",
        "--profile", profile,
        "--output", str(tmp_path / "V1_benchmark.json"),
        "--no-progress", *extra,
    ]  # fmt: skip


def _run(tmp_path: Path, monitor: Any, *extra: str, profile: str = LOOKS_PROFILE) -> int:
    return main(
        _arguments(tmp_path, profile, "1k,3k", *extra),
        monitor_for=None if monitor is None else (lambda registry, variant: monitor),
    )


@pytest.fixture
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("looks") / "run"
    path.mkdir()
    return path


def test_a_monitor_that_says_stop_at_look_1_ends_the_run_there(run_dir: Path) -> None:
    monitor = Scripted(True)
    assert _run(run_dir, monitor) == 0
    artifact = load_artifact(run_dir / "V1_benchmark.json")
    assert monitor.seen == [(1, 8, (0.5,))]  # 4 pairs of the 8 planned
    design = artifact.design
    assert (design.kind, design.looks, design.stopped_at_look) == (SEQUENTIAL, 2, 1)
    assert design.stopped_early
    assert design.reason == "look 1: enough"
    assert (len(artifact.units), len(artifact.measured_unit_ids())) == (8, 4)
    assert sum(not t.warmup for t in artifact.trials) == 8


def test_a_run_the_monitor_never_stops_ends_at_its_last_look(run_dir: Path) -> None:
    monitor = Scripted(False, False)
    assert _run(run_dir, monitor) == 0
    artifact = load_artifact(run_dir / "V1_benchmark.json")
    assert [look for look, _, _ in monitor.seen] == [1, 2]
    assert monitor.seen[-1][2] == (0.5, 1.0)
    assert artifact.design.stopped_at_look == 2
    assert not artifact.design.stopped_early
    assert [r.stop for r in artifact.design.taken] == [False, False]
    assert len(artifact.measured_unit_ids()) == 8


def test_fixed_measures_every_unit_and_records_no_look(run_dir: Path) -> None:
    monitor = Scripted()  # never asked
    assert _run(run_dir, monitor, "--fixed") == 0
    artifact = load_artifact(run_dir / "V1_benchmark.json")
    assert monitor.seen == []
    assert (artifact.design.kind, artifact.design.looks, artifact.design.taken) == (FIXED, 1, ())
    stream = (run_dir / "V1_benchmark.jsonl").read_bytes().splitlines()
    assert orjson.loads(stream[0])["design"] == {"kind": FIXED, "looks": 1}
    assert len(artifact.measured_unit_ids()) == len(artifact.units) == 8


def test_a_resumed_run_asks_the_same_looks_again_and_goes_on(
    run_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    whole = run_dir / "whole"
    whole.mkdir()
    assert _run(whole, Scripted(False, True)) == 0
    reference = load_artifact(whole / "V1_benchmark.json")

    measure = runner._measure
    calls = iter(range(10**6))
    warmups = sum(t.warmup for t in reference.trials)

    def interrupted(*args: Any) -> dict[str, Any]:
        if next(calls) == warmups + 8 + 3:  # look 1 done, a pair and a half into look 2
            raise KeyboardInterrupt
        return measure(*args)

    with monkeypatch.context() as patch:
        patch.setattr(runner, "_measure", interrupted)
        assert _run(run_dir, Scripted(False)) == 2
    resumed = Scripted(False, True)
    assert _run(run_dir, resumed, "--resume") == 0
    artifact = load_artifact(run_dir / "V1_benchmark.json")
    # Look 1 is asked again on the very trials it saw before: the same look, not a new one.
    assert resumed.seen == [(1, 8, (0.5,)), (2, 16, (0.5, 1.0))]
    assert [(t.unit_id, t.arm, t.order_index) for t in artifact.trials] == [
        (t.unit_id, t.arm, t.order_index) for t in reference.trials
    ]
    assert artifact.design.taken == reference.design.taken
    assert artifact.timings["resumed"]["after_trials"] == warmups + 8 + 2


def test_a_resume_under_the_other_design_is_refused(
    run_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    measure = runner._measure
    calls = iter(range(10**6))

    def interrupted(*args: Any) -> dict[str, Any]:
        if next(calls) == 5:
            raise KeyboardInterrupt
        return measure(*args)

    with monkeypatch.context() as patch:
        patch.setattr(runner, "_measure", interrupted)
        assert _run(run_dir, Scripted(False)) == 2
    before = (run_dir / "V1_benchmark.jsonl").read_bytes()
    capsys.readouterr()
    assert _run(run_dir, Scripted(False), "--resume", "--fixed") == 2
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1
    assert "design" in error[0]
    assert (run_dir / "V1_benchmark.jsonl").read_bytes() == before


# --- one look is the fixed design, monitor or not ------------------------------------------


def test_one_look_measures_every_trial_without_asking_the_monitor() -> None:
    units = make_units([("a", ["q1", "q2"])], [1])
    made: list[Any] = [f"trial {i}" for i in range(6)]  # one look reads none of them
    asked = Scripted()  # it has nothing to say: asking it would fail
    trials, design = measure_in_looks(asked, units, [6], made[:2], lambda s, e: made[s:e])
    assert (trials, design, asked.seen) == (made, FIXED_DESIGN, [])


def test_a_monitor_on_a_one_look_profile_runs_the_fixed_design(run_dir: Path) -> None:
    monitor = Scripted()  # never asked
    assert _run(run_dir, monitor, profile=ONE_LOOK_PROFILE) == 0
    artifact = load_artifact(run_dir / "V1_benchmark.json")
    assert monitor.seen == []
    assert artifact.design == FIXED_DESIGN
    assert artifact.profile["looks"] == 1
    assert len(artifact.measured_unit_ids()) == len(artifact.units) == 8
    stream = (run_dir / "V1_benchmark.jsonl").read_bytes().splitlines()
    assert orjson.loads(stream[0])["design"] == {"kind": FIXED, "looks": 1}


@pytest.mark.parametrize(
    "started_fixed", [False, True], ids=["monitor-then-fixed", "fixed-then-monitor"]
)
def test_a_one_look_run_resumes_with_or_without_a_monitor(
    run_dir: Path, monkeypatch: pytest.MonkeyPatch, started_fixed: bool
) -> None:
    # Both sessions are the fixed design: the same header, so either continues the other.
    def session(fixed: bool, *extra: str) -> int:
        flags = ("--fixed",) if fixed else ()  # else the monitor watches (and is not asked)
        return _run(run_dir, Scripted(), *flags, *extra, profile=ONE_LOOK_PROFILE)

    measure = runner._measure
    calls = iter(range(10**6))

    def interrupted(*args: Any) -> dict[str, Any]:
        if next(calls) == 9:
            raise KeyboardInterrupt
        return measure(*args)

    with monkeypatch.context() as patch:
        patch.setattr(runner, "_measure", interrupted)
        assert session(started_fixed) == 2
    header = (run_dir / "V1_benchmark.jsonl").read_bytes().splitlines()[0]
    assert session(not started_fixed, "--resume") == 0
    artifact = load_artifact(run_dir / "V1_benchmark.json")
    assert artifact.design == FIXED_DESIGN
    assert artifact.timings["resumed"]["after_trials"] > 0
    assert len(artifact.measured_unit_ids()) == len(artifact.units)
    assert (run_dir / "V1_benchmark.jsonl").read_bytes().splitlines()[0] == header


# --- the real monitor (pipeline.monitored) -----------------------------------------------


def test_the_real_monitor_stops_a_hundredfold_slowdown_at_look_1_as_futile(
    run_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    measure = runner._measure

    def fabricated(worker: ArmWorker, request: dict[str, Any], timeout_s: float) -> dict[str, Any]:
        # Real packs, made-up times: a deterministic jitter per trial, V1 100 times slower.
        response = measure(worker, request, timeout_s)
        if response.get("ok"):
            key = f"{request['query']}|{request['budget']}|{worker.arm.name}".encode()
            jitter = 1.0 + zlib.crc32(key) % 100 / 1000
            slowdown = 100.0 if worker.arm.name == "V1" else 1.0
            response["latency_ns"] = int(1_000_000 * jitter * slowdown)
        return response

    monkeypatch.setattr(runner, "_measure", fabricated)
    registry = load_registry(ROOT / "pyproject.toml")
    budgets = ",".join(str(b) for b in registry.budgets)  # the budgets the monitor decides
    assert monitored_main(_arguments(run_dir, LOOKS_PROFILE, budgets)) == 0
    artifact = load_artifact(run_dir / "V1_benchmark.json")
    design = artifact.design
    assert (design.kind, design.looks) == (SEQUENTIAL, PROFILES[LOOKS_PROFILE].looks)
    assert design.stopped_at_look == 1
    assert design.reason.startswith("look 1: futile (non-binding): latency pooled")
    assert (len(artifact.units), len(artifact.measured_unit_ids())) == (12, 6)
    # The record is what the monitor says of the artifact's own trials at that look.
    units = [u.unit for u in artifact.units]
    seen = LookData(
        1, 2, units, artifact.unit_looks(), [t for t in artifact.trials if not t.warmup]
    )
    monitor = monitor_for(registry, "V1")
    assert monitor is not None
    verdict = monitor(seen)
    assert (verdict.stop, verdict.summary) == (True, design.taken[-1].summary)


# --- the design in the artifact: what cannot be forged -----------------------------------


@pytest.fixture(scope="module")
def stopped(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    path = tmp_path_factory.mktemp("stopped") / "run"
    path.mkdir()
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(
            PROFILES, LOOKS_PROFILE, Profile(LOOKS_PROFILE, 2, 2, 1, None, "test", looks=2)
        )
        assert _run(path, Scripted(True)) == 0
    document: dict[str, Any] = orjson.loads((path / "V1_benchmark.json").read_bytes())
    return document


def _edited(document: dict[str, Any], **design: Any) -> dict[str, Any]:
    edited = orjson.loads(orjson.dumps(document))
    edited["design"].update(design)
    return edited


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        ({"stopped_at_look": 2}, "every unit of a look taken"),  # look 2's trials are missing
        ({"stopped_at_look": 3}, "between 1 and looks"),
        ({"kind": "bayesian"}, "kind must be one of"),
        ({"kind": "fixed"}, "the fixed design has one look"),
        ({"looks": 1}, "a sequential design of one look is the fixed design"),
    ],
)
def test_a_design_that_does_not_fit_the_trials_is_refused(
    stopped: dict[str, Any], edit: dict[str, Any], message: str
) -> None:
    with pytest.raises(ArtifactError, match=message):
        parse(_edited(stopped, **edit))


def test_look_records_must_be_the_looks_taken(stopped: dict[str, Any]) -> None:
    assert parse(stopped).design.stopped_at_look == 1
    record = stopped["design"]["taken"][0]
    with pytest.raises(ArtifactError, match="unit counts"):
        parse(_edited(stopped, taken=[{**record, "units": 3}]))
    with pytest.raises(ArtifactError, match="said stop at looks none"):
        parse(_edited(stopped, taken=[{**record, "stop": False}]))
    with pytest.raises(ArtifactError, match="must record looks 1 to 1"):
        parse(_edited(stopped, taken=[]))


def test_an_artifact_without_a_design_must_hold_every_unit(stopped: dict[str, Any]) -> None:
    edited = orjson.loads(orjson.dumps(stopped))
    del edited["design"]  # read as the fixed design: the stopped run's missing looks show
    with pytest.raises(ArtifactError, match="every unit of a look taken needs exactly one"):
        parse(edited)


def test_a_stopped_artifact_round_trips(stopped: dict[str, Any]) -> None:
    artifact: Artifact = parse(stopped)
    assert orjson.loads(orjson.dumps(artifact_to_json(replace(artifact)))) == stopped


def test_a_registry_that_gates_p95_runs_the_fixed_design(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The monitor cannot decide p95: a run stopped for the other bounds would leave p95
    # judged on part of the units at the fixed level.
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    gated = 'non_inferiority_metrics = ["latency_mean", "latency_p95"]'
    config = tmp_path / "pyproject.toml"
    config.write_text(text.replace('non_inferiority_metrics = ["latency_mean"]', gated))
    assert monitor_for(load_registry(ROOT / "pyproject.toml"), "V1") is not None
    assert monitor_for(load_registry(config), "V1") is None
    assert "latency_p95 is gated" in capsys.readouterr().err
