"""The GitHub workflows are valid, the promote matrix follows the registry, every
fan-out artifact is attested and verified, and the decide job fails on reject."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).parent.parent
WORKFLOWS = ROOT / ".github" / "workflows"


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


# --- promote.yml: attestation, and the decide job's exit contract ----------------

ATTEST = "actions/attest-build-provenance@v2"
UPLOAD = "actions/upload-artifact@"
DOWNLOAD = "actions/download-artifact@"
FAN_IN = "decide"


def promote_jobs() -> dict[str, dict[str, Any]]:
    workflow = yaml.safe_load((WORKFLOWS / "promote.yml").read_text())
    return dict(workflow["jobs"])


def uses(step: dict[str, Any], action: str) -> bool:
    return str(step.get("uses", "")).startswith(action)


def paths(step: dict[str, Any], key: str) -> set[str]:
    return {line.strip() for line in str(step["with"][key]).splitlines() if line.strip()}


def step_running(steps: list[dict[str, Any]], command: str) -> int:
    [index] = [i for i, step in enumerate(steps) if command in str(step.get("run", ""))]
    return index


def test_every_fan_out_upload_is_attested_first_over_the_same_paths() -> None:
    fan_out = {name: job for name, job in promote_jobs().items() if name != FAN_IN}
    attested_jobs = 0
    for name, job in fan_out.items():
        steps = job["steps"]
        for index, step in enumerate(steps):
            if not uses(step, UPLOAD):
                continue
            attests = [earlier for earlier in steps[:index] if uses(earlier, ATTEST)]
            assert attests, f"{name}: upload-artifact without an attestation before it"
            assert paths(attests[-1], "subject-path") == paths(step, "path"), name
            assert attests[-1].get("if") == step.get("if"), f"{name}: attested less often"
            attested_jobs += 1
        if any(uses(step, UPLOAD) for step in steps):
            assert job["permissions"] == {
                "contents": "read",
                "id-token": "write",
                "attestations": "write",
            }, name
    assert attested_jobs == 2  # bench (every arm) and evidence


def test_the_fan_in_verifies_every_download_before_the_analysis() -> None:
    steps = promote_jobs()[FAN_IN]["steps"]
    [download] = [i for i, step in enumerate(steps) if uses(step, DOWNLOAD)]
    downloaded = steps[download]["with"]["path"].rstrip("/")
    assert downloaded != "artifacts"  # nothing unverified lands where the stages read
    verify = step_running(steps, "gh attestation verify")
    analyze = step_running(steps, "nox -s analyze")
    gates = step_running(steps, "nox -s gates")
    assert download < verify < analyze < gates
    script = steps[verify]["run"]
    assert f"({downloaded}/*)" in script  # every downloaded file...
    assert 'gh attestation verify "$file" --repo "${{ github.repository }}"' in script
    # Bound to this workflow and this commit, so no other workflow, branch or older run
    # of the repository can vouch for a file.
    assert '--signer-workflow "${{ github.repository }}/.github/workflows/promote.yml"' in script
    assert '--source-digest "${{ github.sha }}"' in script
    assert steps[verify]["env"]["GH_TOKEN"] == "${{ github.token }}"
    assert "steps.verify.outcome == 'success'" in steps[gates]["if"]


def run_verify_step(tmp_path: Path, downloads: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """The fan-in's verify script, as the runner runs it, with ``gh`` a stand-in that
    accepts every file whose content does not say "forged"."""
    steps = promote_jobs()[FAN_IN]["steps"]
    script = steps[step_running(steps, "gh attestation verify")]["run"]
    script = script.replace("${{ github.repository }}", "octo/packrepo")
    script = script.replace("${{ github.sha }}", "c0ffee")
    (tmp_path / "downloaded").mkdir()
    (tmp_path / "artifacts").mkdir()
    for name, content in downloads.items():
        (tmp_path / "downloaded" / name).write_text(content)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    gh = bin_dir / "gh"
    gh.write_text(
        '#!/bin/sh\necho "$*" >> "$GH_CALLS"\nif grep -q forged "$3"; then exit 1; fi\nexit 0\n'
    )
    gh.chmod(0o755)
    (tmp_path / "step.sh").write_text(script)
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    env["GH_CALLS"] = str(tmp_path / "gh-calls")
    return subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(tmp_path / "step.sh")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_verify_step_admits_only_attested_files(tmp_path: Path) -> None:
    downloads = {"V1_benchmark.json": "{}", "forged.json": "forged", "shadow.json": "{}"}
    result = run_verify_step(tmp_path, downloads)
    assert result.returncode != 0
    calls = (tmp_path / "gh-calls").read_text().splitlines()
    assert sorted(calls) == sorted(
        f"attestation verify downloaded/{name} --repo octo/packrepo --signer-workflow"
        " octo/packrepo/.github/workflows/promote.yml --source-digest c0ffee"
        for name in downloads
    )
    assert sorted(path.name for path in (tmp_path / "artifacts").iterdir()) == [
        "V1_benchmark.json",
        "shadow.json",
    ]
    assert "::error file=downloaded/forged.json::" in result.stdout


def test_the_verify_step_passes_when_everything_is_attested(tmp_path: Path) -> None:
    assert run_verify_step(tmp_path, {"baseline.json": "{}"}).returncode == 0
    (tmp_path / "none").mkdir()
    assert run_verify_step(tmp_path / "none", {}).returncode != 0  # nothing came


def test_the_decide_job_fails_on_rejecting_evidence(tmp_path: Path) -> None:
    """The decide job's gate command, from the YAML, on evidence the gates reject."""
    steps = promote_jobs()[FAN_IN]["steps"]
    command = steps[step_running(steps, "nox -s gates")]["run"]
    project = tmp_path / "checkout"
    project.mkdir()
    for name in ("noxfile.py", "pyproject.toml"):
        shutil.copy(ROOT / name, project / name)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "gates.fixtures",
            str(project / "artifacts"),
            "--scenario",
            "reject",
        ],
        cwd=ROOT,
        check=True,
    )
    # nox in this environment, offline: the sessions run here, and install nothing.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    nox = bin_dir / "nox"
    nox.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m nox --no-venv --no-install "$@"\n')
    nox.chmod(0o755)
    search_path = os.pathsep.join([str(bin_dir), str(Path(sys.executable).parent)])
    env = {**os.environ, "PATH": f"{search_path}{os.pathsep}{os.environ['PATH']}"}
    env["PYTHONPATH"] = str(ROOT)
    env.pop("GITHUB_STEP_SUMMARY", None)
    result = subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", command],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    output = result.stdout + result.stderr
    assert "Running session gates" in output
    # Reject (1), or the gates' refusal of fixture evidence (2): either fails the job.
    assert "gates: REJECT" in output or "gates: error" in output, output
    assert result.returncode != 0, output
