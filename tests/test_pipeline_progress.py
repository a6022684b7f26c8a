"""Live progress: the stages' progress lines, the board, the heartbeat and the closing line."""

from __future__ import annotations

import io
import json
import os
import re
from pathlib import Path

import pytest
from test_pipeline import REGISTRY, make_plan, simulated

import pipeline.progress as progress_module
from contracts.documents import Fields
from contracts.progress import (
    PROGRESS_ENV,
    ProgressEvent,
    ProgressReporter,
    format_event,
    parse_event,
)
from contracts.runfacts import parse_run_facts
from pipeline.log import Log
from pipeline.progress import Board, duration
from pipeline.promote import run


def test_a_progress_line_round_trips_and_anything_else_is_ordinary_output() -> None:
    event = ProgressEvent("trials", 12, 240)
    line = format_event(event)
    assert line == '@packrepo-progress 1 {"what":"trials","done":12,"total":240}'
    assert parse_event(line + "\n") == event
    for other in (
        '@packrepo-progress 2 {"what":"trials","done":1,"total":2}',  # another version
        '@packrepo-progress 1 {"what":"trials","done":-1,"total":2}',
        "@packrepo-progress 1 not json",
        "nox > Running session bench-V1",
    ):
        assert parse_event(other) is None, other


def test_a_stage_reports_only_when_the_orchestrator_asks(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv(PROGRESS_ENV, raising=False)
    ProgressReporter("mutants", 3).update(3)
    assert capsys.readouterr().err == ""
    monkeypatch.setenv(PROGRESS_ENV, "1")
    reporter = ProgressReporter("mutants", 300)
    for done in range(1, 301):
        reporter.update(done)  # at most a line a second, and always the last
    lines = capsys.readouterr().err.splitlines()
    assert [parse_event(line) for line in (lines[0], lines[-1])] == [
        ProgressEvent("mutants", 0, 300),
        ProgressEvent("mutants", 300, 300),
    ]
    assert len(lines) <= 3


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_board_says_what_runs_how_far_and_when_it_ends() -> None:
    clock, terminal = Clock(), io.StringIO()
    board = Board(terminal, total_sessions=5, live=False, clock=clock)
    board.started("bench-V1", "R1")
    board.started("advanced", "R2")
    board.update("bench-V1", ProgressEvent("trials", 0, 240))
    clock.now += 60
    board.update("bench-V1", ProgressEvent("trials", 60, 240))
    assert board.heartbeat() == (
        "… 0/5 sessions done, running R1 bench-V1: trials 60/240, 1 min 00 s, ETA 3 min 00 s;"
        " R2 advanced: 1 min 00 s"
    )
    board.print("a line")
    clock.now += progress_module.HEARTBEAT_SECONDS - 1
    assert board.heartbeat() is None, "a line was printed less than a heartbeat ago"
    board.finished("advanced")
    clock.now += 1
    assert board.heartbeat() is not None
    assert board.status_line().startswith("… 1/5 sessions done, running R1 bench-V1")


def test_the_live_table_lists_the_running_sessions() -> None:
    pytest.importorskip("rich")
    clock = Clock()
    board = Board(io.StringIO(), total_sessions=2, live=False, clock=clock)
    board.started("shadow", "R4")
    board.update("shadow", ProgressEvent("packs", 500, 2000))
    from rich.console import Console

    console = Console(file=io.StringIO(), width=100)
    console.print(board.table())
    text = console.file.getvalue()  # type: ignore[attr-defined]
    assert "0/2 sessions done" in text
    assert re.search(r"R4\s+│\s+shadow\s+│\s+packs 500/2000", text), text


def test_the_corpus_fetch_is_shown_and_other_output_only_logged(tmp_path: Path) -> None:
    terminal = io.StringIO()
    log = Log(tmp_path / "pipeline.log", verbose=False, terminal=terminal, live=False)
    log.child("bench-baseline", "corpus: fetched flask-3.0.3.tar.gz: 0.7 MB in 0.1 s\n")
    log.child("bench-baseline", "nox > uv pip install .\n")
    log.close()
    assert (
        terminal.getvalue()
        == "  bench-baseline | corpus: fetched flask-3.0.3.tar.gz: 0.7 MB in 0.1 s\n"
    )
    assert "uv pip install" in (tmp_path / "pipeline.log").read_text()


@pytest.mark.parametrize(
    ("seconds", "text"), [(4.6, "5 s"), (185, "3 min 05 s"), (3720, "1 h 02 min")]
)
def test_durations_read_as_a_person_would_say_them(seconds: float, text: str) -> None:
    assert duration(seconds) == text


def test_a_run_shows_heartbeats_with_counts_and_ends_naming_decision_variant_and_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(progress_module, "HEARTBEAT_SECONDS", 0.25)
    plan = make_plan(tmp_path, variants=("V1",), skip_building=False)
    actions = {"bench-V1": "count:8", "gates": "promote"}
    assert run(plan, REGISTRY, command_for=simulated(tmp_path, actions)) == 0
    err = capsys.readouterr().err
    assert re.search(r"… \d+/\d+ sessions done, running R1 bench-V1: trials [1-8]/8", err), err
    last = err.strip().splitlines()[-1]
    assert re.search(r"decision: PROMOTE V1 \(exit 0, after \d+ s\); report: .*report\.html$", last)
    log = (tmp_path / "pipeline.log").read_text()
    assert "@packrepo-progress" not in log, "progress lines feed the board, not the log"
    assert "running R1 bench-V1" in log, "heartbeats are logged"
    # The report's header facts, recorded as the gates are about to run.
    fields = Fields(json.loads((tmp_path / "timings.json").read_text())["run"], "run")
    facts = parse_run_facts(fields)
    assert (facts.profile, facts.concurrency) == ("standard", plan.concurrency)
    assert 0 < facts.wall_seconds < 120
    assert facts.cpu_count == os.cpu_count()
