"""``python -m gates.simulate``: an argument the study cannot run is one line and exit 2.

Each refusal is checked in process (``main``), with the study itself replaced by a
function that fails the test: a refusal must come before anything runs.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from analysis.fixtures import benchmark_run, write_registry
from benchmarks.artifact import GoldRef, UnitRecord
from gates import simulate_cli
from gates.simulate_cli import MACHINE_SLOTS, check_sizes, main, most_questions, timed_shape
from gates.simulate_model import (
    BUDGETS,
    MACHINE,
    STANDARD,
    draw_quality,
    model_pool,
    simulated_machine,
)

REFUSED = {
    # A look with no ABBA pair: 3 questions in 4 looks leave the last one empty.
    "one-question-short": (["--timed-questions", "3"], "--timed-questions must be from 4 to 85"),
    "one-question": (["--timed-questions", "1"], "looks of [24, 0, 0, 0] ABBA pairs"),
    "zero-questions": (["--timed-questions", "0"], "got 0"),
    "negative-questions": (["--timed-questions", "-4"], "got -4"),
    "past-the-machine": (["--timed-questions", "86"], "4096 trial slots; got 86"),
    "past-the-machine-fixed": (
        ["--timed-questions", "86", "--fixed"],
        "must be from 1 to 85 with the fixed design",
    ),
    "zero-questions-fixed": (["--timed-questions", "0", "--fixed"], "from 1 to 85"),
    "not-a-number": (["--timed-questions", "four"], "invalid int value: 'four'"),
    "one-quality-question": (["--quality-questions", "1"], "--quality-questions must be at"),
    "no-quality-questions": (["--quality-questions", "0"], "at least 2; got 0"),
    "no-replications": (["--replications", "0"], "--replications must be at least 1; got 0"),
    "negative-replications": (["--replications", "-3"], "--replications must be at least 1"),
    "no-coverage-runs": (["--coverage-replications", "0"], "--coverage-replications must be"),
    "negative-bca": (["--bca-replications", "-1"], "--bca-replications must be at least 0"),
    "no-jobs": (["--jobs", "0"], "--jobs must be at least 1; got 0"),
    "negative-jobs": (["--jobs", "-2"], "--jobs must be at least 1; got -2"),
    "negative-seed": (["--seed", "-1"], "--seed must be at least 0; got -1"),
    "unknown-option": (["--bogus"], "unrecognized arguments: --bogus"),
    "unknown-case": (["--scenarios", "null,nul"], "--scenarios: unknown case nul; the cases are"),
    "no-registry": (["--config", "no/such/pyproject.toml"], "cannot read registry"),
}


@pytest.fixture
def no_study(monkeypatch: pytest.MonkeyPatch) -> None:
    def ran(*_: object, **__: object) -> None:
        raise AssertionError("the study ran on arguments it should have refused")

    monkeypatch.setattr(simulate_cli, "run_study", ran)
    monkeypatch.setattr(simulate_cli, "coverage_study", ran)
    monkeypatch.setattr(simulate_cli, "write_pool", ran)


@pytest.mark.parametrize(("arguments", "problem"), REFUSED.values(), ids=REFUSED.keys())
@pytest.mark.usefixtures("no_study")
def test_an_argument_the_study_cannot_run_is_one_line_and_exit_2(
    arguments: list[str], problem: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(arguments) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("gates.simulate: error: ")
    assert problem in lines[0]


@pytest.mark.usefixtures("no_study")
def test_a_bad_size_is_refused_before_the_pool_is_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # --write-pool ignores the sizes, but a command with a nonsense one is still refused.
    assert main(["--write-pool", str(tmp_path / "quality.json"), "--jobs", "0"]) == 2
    assert capsys.readouterr().err.startswith("gates.simulate: error: --jobs")


@pytest.mark.parametrize(
    ("questions", "fixed"),
    [(4, False), (5, False), (12, False), (85, False), (1, True), (85, True)],
)
def test_every_size_the_runner_can_measure_is_accepted(questions: int, fixed: bool) -> None:
    arguments = ["--timed-questions", str(questions), *(["--fixed"] if fixed else [])]
    check_sizes(simulate_cli._parser().parse_args(arguments))  # no error


def test_the_defaults_are_accepted() -> None:
    check_sizes(simulate_cli._parser().parse_args([]))
    assert simulate_cli.looks_hold_pairs(timed_shape(None, fixed=False))


def test_the_quality_questions_reach_the_standard_shape_and_its_draw() -> None:
    shape = timed_shape(None, 135, fixed=False)
    assert (shape.questions, shape.quality_questions, shape.looks) == (12, 135, 4)
    assert timed_shape(None, fixed=False).quality_questions == STANDARD.quality_questions
    pool = model_pool(3)
    drawn = draw_quality(pool, shape, np.random.default_rng(3))
    assert drawn.scores.shape == (10 * 135, len(BUDGETS))
    assert {drawn.repositories.count(name) for name in set(drawn.repositories)} == {135}


def test_the_slot_limit_is_the_simulated_machines() -> None:
    measure = simulated_machine(MACHINE, (0.0,) * len(BUDGETS), 0.0, np.random.default_rng(1))
    unit = UnitRecord("repo0|q0|50000", "repo0", "q0", BUDGETS[0], "", GoldRef("m.py", 1, 2))
    measure(unit, False, MACHINE_SLOTS - 1)
    with pytest.raises(IndexError):
        measure(unit, False, MACHINE_SLOTS)


def test_the_largest_accepted_run_fits_the_machine(tmp_path: Path) -> None:
    registry = write_registry(tmp_path / "pyproject.toml")
    most = most_questions(STANDARD)
    slots: list[int] = []

    def measure(unit: UnitRecord, is_second: bool, slot: int) -> tuple[float, float]:
        slots.append(slot)
        return 1e8, 6e7

    benchmark_run(
        registry, registry.baseline.name, repositories=STANDARD.repositories,
        questions=most, budgets=BUDGETS, measure=measure, looks=STANDARD.looks,
    )  # fmt: skip
    # It fits, and one more question (a pair per repository and budget) would not.
    assert max(slots) < MACHINE_SLOTS <= max(slots) + 2 * STANDARD.repositories * len(BUDGETS)


@pytest.mark.parametrize(
    "document",
    [{}, {"budgets": [50000], "arms": {}}, {"budgets": [50000], "arms": {"b": {"intent": 1}}}],
)
def test_a_quality_file_without_what_the_pool_needs_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], document: object
) -> None:
    before = simulate_cli.POOL.read_bytes()
    source = tmp_path / "quality.json"
    source.write_text(json.dumps(document), encoding="utf-8")
    assert main(["--write-pool", str(source)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"gates.simulate: error: {source}: not a quality.json the study can read")
    assert len(err.splitlines()) == 1
    assert simulate_cli.POOL.read_bytes() == before  # the measured pool is not touched
