"""The analysis reads a sequential run's looks as its profile planned them (issue #14).

The boundaries' information fractions come from the profile's looks, so a run that
planned looks of its own (another count, or a profile nobody defines) is bad input:
one line naming the file, exit 2. A fixed run has no looks to check.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from analysis.artifacts import BenchmarkInputError, load_run
from analysis.cli import main as analysis_main
from analysis.fixtures import benchmark_run, write_registry, write_run
from benchmarks.artifact import Artifact
from benchmarks.looks import (
    FIXED,
    SEQUENTIAL,
    LookData,
    MonitorVerdict,
    look_ends,
    measure_in_looks,
)
from benchmarks.profiles import PROFILES
from packrepo.registry import Registry

VARIANT = "P1"
STANDARD = PROFILES["standard"].looks  # 4; any count but 2 makes the refused runs below


@pytest.fixture
def registry(tmp_path: Path) -> Registry:
    return write_registry(tmp_path / "pyproject.toml")


def go_on(data: LookData) -> MonitorVerdict:
    return MonitorVerdict(False, "go on")


def sequential_run(
    registry: Registry, profile: str, looks: int, variant: str = VARIANT
) -> Artifact:
    """A run of ``profile`` measured in ``looks`` looks, every look taken (the runner's loop)."""
    run = benchmark_run(
        registry, variant, repositories=2, questions=4, profile=profile, looks=looks
    )
    units = [u.unit for u in run.units]
    made = list(run.trials)
    ends = look_ends(made, units, looks)
    kept, design = measure_in_looks(go_on, units, ends, [], lambda start, end: made[start:end])
    assert (kept, design.kind, design.stopped_at_look) == (made, SEQUENTIAL, looks)
    return replace(run, design=design)


def load(
    directory: Path, registry: Registry, run: Artifact, variant: str = VARIANT
) -> Artifact | None:
    write_run(directory, registry, run)
    return load_run(directory, registry.variant(variant), registry).artifact


def test_a_run_in_its_profile_s_looks_is_read(tmp_path: Path, registry: Registry) -> None:
    artifact = load(tmp_path, registry, sequential_run(registry, "standard", STANDARD))
    assert artifact is not None
    assert (artifact.design.kind, artifact.design.looks) == (SEQUENTIAL, STANDARD)


def test_a_fixed_run_has_no_looks_to_check(tmp_path: Path, registry: Registry) -> None:
    run = benchmark_run(registry, VARIANT, repositories=2, questions=4, profile="nightly")
    artifact = load(tmp_path, registry, run)
    assert artifact is not None
    assert artifact.design.kind == FIXED


@pytest.mark.parametrize(
    ("profile", "looks", "message"),
    [
        (
            "standard",
            2,
            f"the run was planned in 2 looks, but the 'standard' profile plans {STANDARD}",
        ),
        ("quick", 2, "the run was planned in 2 looks, but the 'quick' profile plans 1"),
        (
            "nightly",
            2,
            "a sequential run of profile 'nightly', which benchmarks.profiles does not define,"
            f" so its looks cannot be checked (profiles: {', '.join(PROFILES)})",
        ),
    ],
)
def test_a_run_in_other_looks_than_its_profile_s_is_refused(
    tmp_path: Path, registry: Registry, profile: str, looks: int, message: str
) -> None:
    with pytest.raises(BenchmarkInputError) as refused:
        load(tmp_path, registry, sequential_run(registry, profile, looks))
    assert str(refused.value) == f"{tmp_path / f'{VARIANT}_benchmark.json'}: {message}"


def test_the_cli_refuses_it_in_one_line_with_exit_2(
    tmp_path: Path, registry: Registry, capsys: pytest.CaptureFixture[str]
) -> None:
    artifacts = tmp_path / "artifacts"
    artifacts.mkdir()
    write_run(artifacts, registry, sequential_run(registry, "standard", 2))
    arguments = ["--input", str(artifacts), "--output", str(artifacts)]
    arguments += ["--config", str(tmp_path / "pyproject.toml"), "--variants", f"baseline,{VARIANT}"]
    assert analysis_main(arguments) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.splitlines() == [
        f"analysis: error: {artifacts / f'{VARIANT}_benchmark.json'}: the run was planned in"
        f" 2 looks, but the 'standard' profile plans {STANDARD}"
    ]


def test_an_a_a_run_in_looks_is_refused(tmp_path: Path, registry: Registry) -> None:
    # The noise floor measures every unit: no monitor watches the A/A run.
    baseline = registry.baseline.name
    with pytest.raises(BenchmarkInputError, match="the A/A run is the fixed design"):
        load(tmp_path, registry, sequential_run(registry, "standard", STANDARD, baseline), baseline)
