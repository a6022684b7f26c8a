"""--skip-building reuses B0-B2's evidence only when its provenance shows it current."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from test_pipeline import REGISTRY, ROOT, isolated_run, make_plan, simulated

from contracts.documents import SCHEMA, dumps
from contracts.names import BANDIT_PROVENANCE_FILE, KINDS, stamp_file
from contracts.provenance import RUN_ID_ENV, Provenance, checkout_dirty, checkout_git_sha
from pipeline.building import (
    Checkout,
    StaleBuildingError,
    current_building_evidence,
    evidence_files,
)
from pipeline.promote import run

__all__ = ["isolated_run", "write_building_evidence"]  # isolated_run: autouse, applies here too
HEAD = checkout_git_sha(ROOT)
needs_a_checkout = pytest.mark.skipif(HEAD is None, reason="not a git checkout")
CLEAN = Checkout(git_sha=HEAD or "0" * 40, config_sha256=REGISTRY.config_sha256, dirty=False)
REPORTS = {  # what the tools write: none of these has room for provenance
    "boot_env.json": b'{"kind": "fastpath-boot-env", "schema": 1}\n',
    "ruff.json": b"[]\n",
    "mypy.json": b"",  # mypy -O json writes one line per finding, none here
    "bandit.json": b'{"results": [], "errors": []}\n',
}


def stamp(provenance: Provenance, subject: str, payload: bytes) -> bytes:
    return dumps(
        {
            "schema": SCHEMA,
            "kind": KINDS[BANDIT_PROVENANCE_FILE],
            "subject": subject,
            "subject_sha256": hashlib.sha256(payload).hexdigest(),
            "provenance": provenance.to_json(),
        }
    )


def write_building_evidence(
    artifacts: Path,
    *,
    git_sha: str | None = None,
    config_sha256: str | None = None,
    dirty: bool | None = None,
    producer: str = "nox:lint",
) -> None:
    """B0-B2's outputs as the sessions write them, made at ``git_sha`` (default: HEAD)."""
    provenance = Provenance(
        git_sha=git_sha or CLEAN.git_sha or "",
        config_sha256=config_sha256 or REGISTRY.config_sha256,
        created_unix=1_767_225_600.0,
        dirty=checkout_dirty(ROOT) if dirty is None else dirty,
        producer=producer,
        run_id="an-earlier-run",
    )
    for name, payload in REPORTS.items():
        (artifacts / name).write_bytes(payload)
        (artifacts / stamp_file(name)).write_bytes(stamp(provenance, name, payload))
    smoke = {"schema": SCHEMA, "kind": "fastpath-smoke", "passed": 3, "failed": 0}
    smoke |= {"errors": 0, "skipped": 0, "exitstatus": 0, "provenance": provenance.to_json()}
    (artifacts / "smoke_tests.json").write_bytes(dumps(smoke))


def test_current_evidence_is_reused_file_by_file(tmp_path: Path) -> None:
    write_building_evidence(tmp_path, dirty=False)
    reused = current_building_evidence(tmp_path, CLEAN, allow_dirty=False)
    assert [item.name for item in reused] == list(evidence_files())
    assert set(evidence_files()) == {*REPORTS, "smoke_tests.json"}
    by_name = {item.name: item for item in reused}
    assert by_name["ruff.json"].sha256 == hashlib.sha256(b"[]\n").hexdigest()
    assert by_name["smoke_tests.json"].provenance.git_sha == CLEAN.git_sha


def another_commit(artifacts: Path) -> None:
    write_building_evidence(artifacts, git_sha="1" * 40)


def another_registry(artifacts: Path) -> None:
    write_building_evidence(artifacts, config_sha256="2" * 64)


def a_dirty_tree(artifacts: Path) -> None:
    write_building_evidence(artifacts, dirty=True)


def a_fixture(artifacts: Path) -> None:
    write_building_evidence(artifacts, dirty=False, producer="fixture")


# How the evidence is spoiled -> the file named, and why.
SPOILED = {
    another_commit: ("boot_env.json", "made at commit 111111111111"),
    another_registry: ("boot_env.json", "another [tool.fastpath] registry"),
    a_dirty_tree: ("boot_env.json", "made from a tree with uncommitted changes"),
    a_fixture: ("boot_env.json", "hand-built fixture evidence"),
    lambda d: (d / "mypy.json").unlink(): ("mypy.json", "cannot read"),
    lambda d: (d / "bandit.json").write_text("{}"): ("bandit.provenance.json", "different"),
    lambda d: (d / "ruff.provenance.json").unlink(): ("ruff.json", "no stamp"),
    lambda d: (d / "smoke_tests.json").write_text("{}"): ("smoke_tests.json", "no provenance"),
}


@pytest.mark.parametrize(("spoil", "named"), SPOILED.items())
def test_stale_or_missing_evidence_is_refused_naming_the_file(
    tmp_path: Path, spoil: Callable[[Path], object], named: tuple[str, str]
) -> None:
    write_building_evidence(tmp_path, dirty=False)
    spoil(tmp_path)
    with pytest.raises(StaleBuildingError, match="--skip-building") as raised:
        current_building_evidence(tmp_path, CLEAN, allow_dirty=False)
    file, reason = named
    assert str(tmp_path / file) in str(raised.value)
    assert reason in str(raised.value)


def test_a_dirty_tree_needs_allow_dirty(tmp_path: Path) -> None:
    write_building_evidence(tmp_path, dirty=True)
    dirty_checkout = Checkout(CLEAN.git_sha, CLEAN.config_sha256, dirty=True)
    with pytest.raises(StaleBuildingError, match="uncommitted changes"):
        current_building_evidence(tmp_path, dirty_checkout, allow_dirty=False)
    assert current_building_evidence(tmp_path, dirty_checkout, allow_dirty=True)


def test_outside_a_checkout_nothing_can_be_reused(tmp_path: Path) -> None:
    write_building_evidence(tmp_path, dirty=False)
    with pytest.raises(StaleBuildingError, match="not a git checkout"):
        current_building_evidence(
            tmp_path, Checkout(None, CLEAN.config_sha256, dirty=False), allow_dirty=False
        )


@needs_a_checkout
def test_a_run_reuses_current_evidence_and_records_it(tmp_path: Path) -> None:
    write_building_evidence(tmp_path)
    before = {name: (tmp_path / name).read_bytes() for name in evidence_files()}
    plan = make_plan(tmp_path, variants=("V1",), skip_building=True, allow_dirty=True)
    assert run(plan, REGISTRY, command_for=simulated(tmp_path, {"gates": "reject"})) == 1
    # Not set aside, not rewritten: the gates read the reused files where they were.
    assert {name: (tmp_path / name).read_bytes() for name in evidence_files()} == before
    assert not (tmp_path / "previous").exists()
    timings = json.loads((tmp_path / "timings.json").read_text())
    assert timings["building"]["skipped"] is True
    assert set(timings["building"]["reused"]) == set(evidence_files())
    assert timings["building"]["reused"]["ruff.json"]["git_sha"] == HEAD
    assert {step["session"] for step in timings["steps"]}.isdisjoint({"boot", "lint", "smoke"})


@needs_a_checkout
def test_a_partial_report_says_building_was_skipped(tmp_path: Path) -> None:
    write_building_evidence(tmp_path)
    plan = make_plan(
        tmp_path, variants=("V1",), skip_building=True, allow_dirty=True, timeout_seconds=2.0
    )
    assert run(plan, REGISTRY, command_for=simulated(tmp_path, {"bench-V1": "sleep"})) == 124
    report = json.loads((tmp_path / "pipeline_report.json").read_text())
    assert report["building"]["skipped"] is True
    assert "smoke_tests.json" in report["building"]["reused"]
    assert "Building skipped (--skip-building)" in (tmp_path / "report.md").read_text()


@needs_a_checkout
def test_stale_evidence_stops_the_run_before_anything_moves(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(RUN_ID_ENV, raising=False)
    write_building_evidence(tmp_path, git_sha="1" * 40)
    (tmp_path / "V1_benchmark.json").write_text('{"old": true}')
    plan = make_plan(tmp_path, variants=("V1",), skip_building=True, allow_dirty=True)
    assert run(plan, REGISTRY, command_for=simulated(tmp_path, {})) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert err.startswith("pipeline: --skip-building:")
    assert "boot_env.json is stale" in err
    assert "run without --skip-building" in err
    assert (tmp_path / "V1_benchmark.json").exists()  # nothing set aside, nothing ran
    assert not list(tmp_path.glob("*.done"))
    assert not (tmp_path / "pipeline.log").exists()
