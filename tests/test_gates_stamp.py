"""``python -m gates.stamp``: the sidecar that lets bandit.json be checked for staleness."""

from __future__ import annotations

import shutil
from pathlib import Path

import orjson
import pytest

from contracts.documents import dumps
from contracts.exitcodes import ExitCode
from contracts.names import BANDIT_FILE, BANDIT_PROVENANCE_FILE
from gates import fixtures
from gates.evidence import SecurityScan
from gates.load import evidence_from_files
from gates.stamp import main, sidecar_path
from packrepo.registry import load_registry

ROOT = Path(__file__).resolve().parents[1]


def test_sidecar_sits_beside_its_subject() -> None:
    assert sidecar_path(Path("artifacts/bandit.json")) == Path("artifacts/bandit.provenance.json")


def test_stamp_writes_a_sidecar_the_gates_accept(tmp_path: Path) -> None:
    config = tmp_path / "pyproject.toml"
    shutil.copyfile(ROOT / "pyproject.toml", config)
    report = dumps(fixtures.bandit_report())
    (tmp_path / BANDIT_FILE).write_bytes(report)
    assert main([str(tmp_path / BANDIT_FILE), "--config", str(config)]) == 0
    sidecar = (tmp_path / BANDIT_PROVENANCE_FILE).read_bytes()
    stamp = orjson.loads(sidecar)
    registry = load_registry(config)
    assert stamp["provenance"]["config_sha256"] == registry.config_sha256
    assert stamp["provenance"]["git_sha"] == "unknown"  # tmp_path is not a git checkout
    files = {BANDIT_FILE: report, BANDIT_PROVENANCE_FILE: sidecar}
    security = evidence_from_files(files, None).security
    assert isinstance(security, SecurityScan)
    assert security.provenance is not None
    assert security.provenance_problem is None


def test_stamping_a_missing_file_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main([str(tmp_path / BANDIT_FILE), "--config", str(ROOT / "pyproject.toml")])
    assert code == ExitCode.BAD_INPUT
    assert capsys.readouterr().err.startswith("gates.stamp: error: ")
