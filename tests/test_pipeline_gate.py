"""The exit contract of E1 everywhere: ``python -m pipeline gate`` (``invoke gate``)
exits with the gates' exact code; ``nox -s gates`` fails unless they promote."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from test_pipeline import ROOT, isolated_run, make_plan, simulated

from contracts.provenance import RUN_ID_ENV
from pipeline.plan import Step
from pipeline.promote import gate

__all__ = ["isolated_run"]  # the autouse fixture of test_pipeline applies here too


@pytest.mark.parametrize(("action", "code"), [("promote", 0), ("reject", 1), ("fail", 2)])
def test_gate_exits_with_the_gates_exact_code(tmp_path: Path, action: str, code: int) -> None:
    plan = make_plan(tmp_path, variants=("V1",), allow_dirty=True)
    assert gate(plan, command_for=simulated(tmp_path, {"gates": action})) == code
    assert (tmp_path / "gates.run_id").read_text()  # the session got a run id
    assert not (tmp_path / "bench-V1.done").exists()  # E1 alone


def test_a_gates_session_that_never_decided_is_not_read_as_the_last_decision(
    tmp_path: Path,
) -> None:
    earlier = {"schema": 2, "kind": "fastpath-pipeline-report", "decision": "promote"}
    (tmp_path / "pipeline_report.json").write_text(json.dumps(earlier))
    (tmp_path / "timings.json").write_text("{}")  # an input of the gates: stays
    plan = make_plan(tmp_path)
    assert gate(plan, command_for=simulated(tmp_path, {"gates": "fail"})) == 2
    assert json.loads((tmp_path / "previous" / "pipeline_report.json").read_text()) == earlier
    assert (tmp_path / "timings.json").exists()


def test_gate_passes_the_variants_and_allow_dirty_to_the_gates(tmp_path: Path) -> None:
    seen: list[list[str]] = []

    def recording(step: Step) -> list[str]:
        seen.append(step.command("python"))
        return [sys.executable, "-c", "import os, sys; sys.exit(0)"]

    gate(make_plan(tmp_path, variants=("V3",), allow_dirty=True), command_for=recording)
    assert seen == [
        ["python", "-m", "nox", "-s", "gates", "--", "--variants", "baseline,V3", "--allow-dirty"]
    ]


def nox_in_place(tmp_path: Path, python_exit: int) -> subprocess.CompletedProcess[str]:
    """``nox -s gates`` from this checkout's noxfile, with ``python`` on PATH a stand-in
    that exits ``python_exit`` (nox runs in this environment: no virtualenv, no install)."""
    project = tmp_path / "project"
    project.mkdir()
    for name in ("noxfile.py", "pyproject.toml"):
        shutil.copy(ROOT / name, project / name)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    stand_in = bin_dir / "python"
    stand_in.write_text(f'#!/bin/sh\necho "gates stand-in: $*"\nexit {python_exit}\n')
    stand_in.chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    env.pop(RUN_ID_ENV, None)
    command = [sys.executable, "-m", "nox", "--no-venv", "--no-install", "-s", "gates"]
    return subprocess.run(
        command, cwd=project, env=env, capture_output=True, text=True, timeout=120, check=False
    )


@pytest.mark.parametrize(("gates_exit", "promotes"), [(0, True), (1, False), (2, False)])
def test_nox_gates_fails_unless_the_gates_promote(
    tmp_path: Path, gates_exit: int, promotes: bool
) -> None:
    result = nox_in_place(tmp_path, gates_exit)
    assert "gates stand-in: -m gates --artifacts artifacts" in result.stdout + result.stderr
    assert (result.returncode == 0) is promotes, textwrap.indent(result.stderr, "  ")
