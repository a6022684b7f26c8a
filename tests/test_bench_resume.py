"""run --resume: an interrupted benchmark continues its own schedule, or is refused."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from benchmarks import runner
from benchmarks.artifact import Artifact, load_artifact
from benchmarks.cli import main

DATA = Path(__file__).parent / "data"
CORPUS = DATA / "corpus.json"


def _run(tmp_path: Path, *extra: str, seed: str = "1337") -> int:
    return main(
        [
            "--corpus",
            str(CORPUS),
            "--cache-dir",
            str(tmp_path.parent / "cache"),  # one corpus cache for the module's runs
            "run",
            "--variant",
            "V1",
            "--budgets",
            "1k,3k",
            "--seed",
            seed,
            "--profile",
            "quick",
            "--output",
            str(tmp_path / "V1_benchmark.json"),
            "--no-progress",
            *extra,
        ]
    )


def _interrupt_after(monkeypatch: pytest.MonkeyPatch, trials: int) -> None:
    """Ctrl-C arrives while trial number ``trials + 1`` is being measured."""
    measure = runner._measure
    calls = iter(range(10**6))

    def interrupted(*args: Any) -> dict[str, Any]:
        if next(calls) == trials:
            raise KeyboardInterrupt
        return measure(*args)

    monkeypatch.setattr(runner, "_measure", interrupted)


def _count_measurements(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    measure = runner._measure
    calls: list[str] = []

    def counted(worker: Any, request: Any, timeout_s: float) -> dict[str, Any]:
        calls.append(worker.arm.name)
        return measure(worker, request, timeout_s)

    monkeypatch.setattr(runner, "_measure", counted)
    return calls


def _identity(artifact: Artifact) -> list[tuple[object, ...]]:
    return [(t.unit_id, t.arm, t.order_index, t.position, t.warmup) for t in artifact.trials]


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory: pytest.TempPathFactory) -> Artifact:
    tmp_path = tmp_path_factory.mktemp("runs") / "whole"
    tmp_path.mkdir()
    assert _run(tmp_path) == 0
    return load_artifact(tmp_path / "V1_benchmark.json")


@pytest.fixture
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("runs") / "interrupted"
    path.mkdir()
    return path


def test_a_resumed_run_keeps_what_was_measured_and_finishes_the_same_schedule(
    run_dir: Path, monkeypatch: pytest.MonkeyPatch, uninterrupted: Artifact
) -> None:
    stream = run_dir / "V1_benchmark.jsonl"
    with monkeypatch.context() as patch:
        _interrupt_after(patch, 7)  # three whole pairs and half of the fourth
        assert _run(run_dir) == 2
    before = stream.read_bytes().splitlines()
    assert len(before) == 1 + 7
    assert not (run_dir / "V1_benchmark.json").exists()

    calls = _count_measurements(monkeypatch)
    assert _run(run_dir, "--resume") == 0
    after = stream.read_bytes().splitlines()
    # The new workers are warmed first (unrecorded), then the schedule goes on from pair 4.
    warmups = sum(t.warmup for t in uninterrupted.trials)
    assert len(calls) == warmups + len(uninterrupted.trials) - 6
    # The three whole pairs are kept byte for byte; the half pair is measured again whole.
    assert after[:7] == before[:7]
    assert orjson.loads(after[7])["order_index"] == orjson.loads(before[7])["order_index"]
    artifact = load_artifact(run_dir / "V1_benchmark.json")
    assert _identity(artifact) == _identity(uninterrupted)
    assert len(after) == 1 + len(artifact.trials)
    assert [t.qa_score for t in artifact.trials] == [t.qa_score for t in uninterrupted.trials]
    resumed = artifact.timings["resumed"]
    assert (resumed["after_trials"], resumed["dropped_trials"]) == (6, 1)
    assert artifact.timings["started_at"] == orjson.loads(before[0])["started_at"]


def test_a_torn_last_line_is_dropped_and_measured_again(
    run_dir: Path, monkeypatch: pytest.MonkeyPatch, uninterrupted: Artifact
) -> None:
    stream = run_dir / "V1_benchmark.jsonl"
    with monkeypatch.context() as patch:
        _interrupt_after(patch, 8)
        assert _run(run_dir) == 2
    whole = stream.read_bytes()
    stream.write_bytes(whole[: whole.rstrip(b"\n").rfind(b"\n") + 1] + b'{"record": "tri')
    assert _run(run_dir, "--resume") == 0
    artifact = load_artifact(run_dir / "V1_benchmark.json")
    assert _identity(artifact) == _identity(uninterrupted)
    resumed = artifact.timings["resumed"]
    assert (resumed["after_trials"], resumed["dropped_trials"]) == (6, 2)


def _refused(run_dir: Path, capsys: pytest.CaptureFixture[str], *args: str, **kw: str) -> str:
    stream = run_dir / "V1_benchmark.jsonl"
    before = stream.read_bytes() if stream.exists() else None
    capsys.readouterr()
    assert _run(run_dir, "--resume", *args, **kw) == 2
    error = capsys.readouterr().err
    assert len(error.strip().splitlines()) == 1, error
    assert (stream.read_bytes() if stream.exists() else None) == before  # nothing lost
    assert not (run_dir / "V1_benchmark.json").exists()
    return error


@pytest.fixture
def interrupted_run(run_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    with monkeypatch.context() as patch:
        _interrupt_after(patch, 6)
        assert _run(run_dir) == 2
    return run_dir


def test_nothing_to_resume_is_one_line_and_exit_2(
    run_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert "nothing to resume" in _refused(run_dir, capsys)


def test_another_seed_cannot_continue_the_stream(
    interrupted_run: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert "its seed is 1337, this run's is 7" in _refused(interrupted_run, capsys, seed="7")


def test_other_measurement_code_cannot_continue_the_stream(
    interrupted_run: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runner, "measurement_code", lambda: "0" * 64)
    assert "measurement code" in _refused(interrupted_run, capsys)


def test_a_stream_out_of_schedule_order_is_refused(
    interrupted_run: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stream = interrupted_run / "V1_benchmark.jsonl"
    header, first, second, *rest = stream.read_bytes().splitlines()
    stream.write_bytes(b"\n".join([header, second, first, *rest]) + b"\n")
    assert "does not follow this run's schedule" in _refused(interrupted_run, capsys)


def test_another_trial_timeout_cannot_continue_the_stream(
    interrupted_run: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    error = _refused(interrupted_run, capsys, "--trial-timeout", "5")
    assert "its trial_timeout_s is 600.0, this run's is 5.0" in error


def test_an_edited_record_is_refused(
    interrupted_run: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stream = interrupted_run / "V1_benchmark.jsonl"
    header, first, *rest = stream.read_bytes().splitlines()
    edited = orjson.loads(first)
    edited["budget"] = 9999  # the unit still names 1k or 3k
    stream.write_bytes(b"\n".join([header, orjson.dumps(edited), *rest]) + b"\n")
    assert "does not follow this run's schedule" in _refused(interrupted_run, capsys)


def test_a_run_without_resume_keeps_the_interrupted_trials_aside(
    interrupted_run: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stream = interrupted_run / "V1_benchmark.jsonl"
    measured = stream.read_bytes()
    capsys.readouterr()
    assert _run(interrupted_run) == 0
    kept = interrupted_run / "V1_benchmark.interrupted.jsonl"
    assert kept.read_bytes() == measured
    assert f"kept as {kept}" in capsys.readouterr().err
    # A finished run's stream is simply replaced by the next run's.
    assert _run(interrupted_run) == 0
    assert kept.read_bytes() == measured
    assert "interrupted" not in capsys.readouterr().err
