"""The GitHub workflows are valid, and the promote matrix follows the registry."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

WORKFLOWS = Path(__file__).parent.parent / ".github" / "workflows"


@pytest.mark.skipif(shutil.which("actionlint") is None, reason="actionlint not installed")
@pytest.mark.parametrize("workflow", ["ci.yml", "promote.yml", "release.yml"])
def test_workflow_passes_actionlint(workflow: str) -> None:
    result = subprocess.run(
        ["actionlint", "-no-color", str(WORKFLOWS / workflow)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_catches_a_broken_workflow(tmp_path: Path) -> None:
    """Guards the test above: a workflow with an undefined job dependency must fail."""
    if shutil.which("actionlint") is None:
        pytest.skip("actionlint not installed")
    broken = tmp_path / "broken.yml"
    broken.write_text(
        "on: push\njobs:\n  a:\n    needs: missing\n    runs-on: ubuntu-latest\n"
        "    steps:\n      - run: echo hi\n"
    )
    result = subprocess.run(
        ["actionlint", "-no-color", str(broken)], capture_output=True, check=False
    )
    assert result.returncode != 0


def test_promote_matrix_is_read_from_the_bench_sessions() -> None:
    """The fan-out must not list variants by hand: the registry is the single source."""
    text = (WORKFLOWS / "promote.yml").read_text()
    assert "fromJSON(needs.plan.outputs.variants)" in text
    assert 'startswith("bench-")' in text
    for name in ("V1", "V2", "V3", "V4", "V5"):
        assert f"- {name}" not in text
