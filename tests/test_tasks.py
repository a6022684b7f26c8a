"""invoke's tasks: argument lists (never a shell), exact exit codes, the run lock."""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest
from invoke.context import Context
from invoke.exceptions import Exit

import pipeline.promote
import tasks
from contracts.lock import acquire, lock_path

ROOT = Path(__file__).parent.parent


@pytest.fixture
def artifacts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The tasks' artifacts/ in a temporary directory, and the cwd restored afterwards."""
    directory = tmp_path / "artifacts"
    directory.mkdir()
    monkeypatch.setattr(tasks, "ARTIFACTS", directory)
    monkeypatch.chdir(tmp_path)
    return directory


@pytest.fixture
def commands(monkeypatch: pytest.MonkeyPatch) -> list[tuple[object, dict[str, object]]]:
    """Every subprocess.run of the tasks, recorded, then run for real."""
    seen: list[tuple[object, dict[str, object]]] = []
    real_run = subprocess.run

    def recording(command: object, **options: object) -> subprocess.CompletedProcess[bytes]:
        seen.append((command, options))
        return real_run(command, **options)  # type: ignore[call-overload,no-any-return]

    monkeypatch.setattr(tasks.subprocess, "run", recording)
    return seen


def exit_code(task: object, **arguments: object) -> int:
    try:
        task(Context(), **arguments)  # type: ignore[operator]
    except Exit as exc:
        return int(exc.code)
    return 0


def test_a_variant_never_reaches_a_shell(
    artifacts: Path, commands: list[tuple[object, dict[str, object]]], tmp_path: Path
) -> None:
    planted = tmp_path / "planted"
    variant = f"V1; touch {planted}"
    assert exit_code(tasks.bench, variant=variant) != 0  # nox: no such session
    assert not planted.exists()
    [(command, options)] = commands
    assert isinstance(command, list)
    assert f"bench-{variant}" in command  # one argument, as typed
    assert not options.get("shell")


def test_the_tasks_use_no_shell_string() -> None:
    """``c.run`` takes one string for a shell; the tasks build argument lists instead."""
    tree = ast.parse((ROOT / "tasks.py").read_text())
    calls = [node for node in ast.walk(tree) if isinstance(node, ast.Call)]
    attributes = {call.func.attr for call in calls if isinstance(call.func, ast.Attribute)}
    assert "run" in attributes  # subprocess.run, with a list
    assert not any(
        isinstance(call.func, ast.Attribute)
        and call.func.attr == "run"
        and isinstance(call.func.value, ast.Name)
        and call.func.value.id == "c"
        for call in calls
    )
    assert not any(keyword.arg == "shell" for call in calls for keyword in call.keywords)


@pytest.mark.parametrize("code", [0, 1, 2, 124, 130])
def test_gate_and_promote_exit_with_the_pipelines_exact_code(
    artifacts: Path, monkeypatch: pytest.MonkeyPatch, code: int
) -> None:
    seen: list[Sequence[str]] = []

    def pipeline_main(argv: Sequence[str]) -> int:
        seen.append(list(argv))
        return code

    monkeypatch.setattr(pipeline.promote, "main", pipeline_main)
    assert exit_code(tasks.gate, variants="V1", allow_dirty=True) == code
    assert exit_code(tasks.promote, skip_building=True, allow_dirty=True) == code
    assert seen[0] == ["gate", "--variants", "V1", "--allow-dirty"]
    assert {"--skip-building", "--allow-dirty", "--parallel"} <= set(seen[1])


@pytest.mark.parametrize(
    ("task", "arguments"),
    [(tasks.bench, {"variant": "V1"}), (tasks.analyze, {}), (tasks.clean, {})],
)
def test_tasks_that_write_artifacts_wait_for_no_one(
    artifacts: Path,
    commands: list[tuple[object, dict[str, object]]],
    capsys: pytest.CaptureFixture[str],
    task: object,
    arguments: dict[str, object],
) -> None:
    (artifacts / "V1_benchmark.json").write_text("{}")
    with acquire(lock_path(artifacts)), pytest.raises(Exit) as raised:
        task(Context(), **arguments)  # type: ignore[operator]
    assert raised.value.code == 2
    assert "another run holds" in str(raised.value.message)
    assert commands == []  # nox never started
    assert (artifacts / "V1_benchmark.json").exists()


def test_clean_keeps_the_readme_and_the_lock(artifacts: Path) -> None:
    (artifacts / "README.md").write_text("kept")
    (artifacts / "V1_benchmark.json").write_text("{}")
    (artifacts / "previous").mkdir()
    (artifacts / "previous" / "gates.json").write_text("{}")
    assert exit_code(tasks.clean) == 0
    assert sorted(path.name for path in artifacts.iterdir()) == [".pipeline.lock", "README.md"]


def test_invoke_lists_every_task() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "invoke", "--search-root", str(ROOT), "--list"],
        capture_output=True,
        text=True,
        check=True,
    )
    for name in ("promote", "plan", "bench", "analyze", "gate", "report", "clean"):
        assert name in result.stdout
