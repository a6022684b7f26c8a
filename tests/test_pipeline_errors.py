"""An artifacts/ directory that cannot be written: exit 2, one line, no traceback.

Tests run as root, where chmod does not stop writes, so a full or read-only
directory is simulated by making the one atomic writer (as the orchestrator
imports it) or the lock fail the way the kernel would.
"""

from __future__ import annotations

import errno
import json
import os
from collections.abc import Mapping
from pathlib import Path

import pytest
from test_pipeline import REGISTRY, isolated_run, make_plan, simulated

import pipeline.promote
from contracts.documents import write_all_atomically
from pipeline.plan import Step
from pipeline.promote import run

__all__ = ["isolated_run"]  # the autouse fixture of test_pipeline applies here too


def disk_full(*, sparing: tuple[str, ...] = ()) -> object:
    """The atomic writer on a full disk; files named in ``sparing`` still fit."""

    def writer(outputs: Mapping[Path, bytes]) -> None:
        if all(path.name in sparing for path in outputs):
            write_all_atomically(outputs)
            return
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    return writer


def error_lines(err: str) -> list[str]:
    assert "Traceback" not in err
    # Progress lines start with a clock ("[   1.2s] ..."); errors with the program's name.
    return [line for line in err.splitlines() if line.startswith("pipeline:")]


def test_a_full_disk_before_the_gates_exits_2_with_a_partial_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    writer = disk_full(sparing=("pipeline_report.json", "report.md"))
    monkeypatch.setattr(pipeline.promote, "write_all_atomically", writer)
    plan = make_plan(tmp_path, variants=("V1",))
    assert run(plan, REGISTRY, command_for=simulated(tmp_path, {"gates": "promote"})) == 2
    [line] = error_lines(capsys.readouterr().err)
    assert f"cannot write {tmp_path / 'timings.json'}: No space left on device" in line
    assert "partial report" in line
    assert not (tmp_path / "gates.done").exists()  # the gates never judged
    report = json.loads((tmp_path / "pipeline_report.json").read_text())
    assert (report["decision"], report["complete"], report["exit_code"]) == ("error", False, 2)
    assert "No space left on device" in report["error"]
    status = {step["session"]: step["status"] for step in report["steps"]}
    assert status["bench-V1"] == "ok"
    assert status["gates"] == "pending"
    assert "could not go on" in (tmp_path / "report.md").read_text()


def test_when_nothing_can_be_written_it_still_says_so_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(pipeline.promote, "write_all_atomically", disk_full())
    plan = make_plan(tmp_path, variants=("V1",))
    assert run(plan, REGISTRY, command_for=simulated(tmp_path, {"gates": "promote"})) == 2
    [line] = error_lines(capsys.readouterr().err)
    assert "No space left on device" in line
    assert "no partial report could be written either" in line
    assert not (tmp_path / "pipeline_report.json").exists()


def test_a_timeout_on_a_full_disk_exits_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(pipeline.promote, "write_all_atomically", disk_full())
    plan = make_plan(tmp_path, variants=("V1",), timeout_seconds=1.0)
    assert run(plan, REGISTRY, command_for=simulated(tmp_path, {"boot": "sleep"})) == 2
    [line] = error_lines(capsys.readouterr().err)
    assert "stopped (timeout); cannot write the report: No space left on device" in line


def test_an_unwritable_artifacts_directory_exits_2_before_anything_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def read_only(path: Path) -> None:
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))

    monkeypatch.setattr(pipeline.promote, "acquire", read_only)
    plan = make_plan(tmp_path, variants=("V1",))
    assert run(plan, REGISTRY, command_for=simulated(tmp_path, {})) == 2
    assert error_lines(capsys.readouterr().err) == [
        f"pipeline: cannot write to {tmp_path}: Permission denied"
    ]
    assert list(tmp_path.iterdir()) == []


def test_artifacts_that_is_a_file_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    artifacts = tmp_path / "artifacts"
    artifacts.write_text("not a directory")
    plan = make_plan(artifacts, variants=("V1",))
    assert run(plan, REGISTRY, command_for=simulated(tmp_path, {})) == 2
    [line] = error_lines(capsys.readouterr().err)
    assert line.startswith(f"pipeline: cannot write to {artifacts}:")


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes through chmod 0555")
def test_a_read_only_artifacts_directory_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tmp_path.chmod(0o555)
    try:
        plan = make_plan(tmp_path, variants=("V1",))
        assert run(plan, REGISTRY, command_for=simulated(tmp_path, {})) == 2
    finally:
        tmp_path.chmod(0o755)
    [line] = error_lines(capsys.readouterr().err)
    assert "Permission denied" in line


def test_a_session_that_cannot_start_fails_alone(tmp_path: Path) -> None:
    command_for = simulated(tmp_path, {"gates": "reject"})

    def missing_interpreter(step: Step) -> list[str]:
        if step.session == "bench-V1":
            return [str(tmp_path / "no-such-interpreter")]
        return command_for(step)

    plan = make_plan(tmp_path, variants=("V1", "V3"))
    assert run(plan, REGISTRY, command_for=missing_interpreter) == 1
    steps = json.loads((tmp_path / "timings.json").read_text())["steps"]
    status = {step["session"]: step["status"] for step in steps}
    assert status["bench-V1"] == "failed"
    assert status["bench-V3"] == "ok"
