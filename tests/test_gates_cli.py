"""``python -m gates`` end to end, in a subprocess: exit codes, one-line errors, outputs."""

from __future__ import annotations

import copy
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest

from contracts.documents import write_all_atomically
from contracts.exitcodes import ExitCode
from contracts.names import ANALYSIS_FILE, SMOKE_FILE
from gates import fixtures
from gates.cli import OUTPUT_FILES, main
from gates.fixtures import find_row
from packrepo.registry import load_registry

ROOT = Path(__file__).resolve().parents[1]
REGISTRY = load_registry(ROOT / "pyproject.toml")
QUALITY = next(v.name for v in REGISTRY.candidates if v.intent == "quality")
# gates.fixtures stamps its evidence as fixture; these tests judge it as a demonstration
# (tests/test_custody.py shows it refused without the flag).
DEMO = ("--accept-fixtures", "--allow-dirty")  # and outside a git checkout


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """A copy of the registry outside any git checkout, and a passing artifacts directory."""
    shutil.copyfile(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    write_documents(tmp_path / "artifacts", fixtures.passing_documents(REGISTRY))
    return tmp_path


def write_documents(directory: Path, documents: dict[str, dict[str, Any]]) -> None:
    directory.mkdir(exist_ok=True)
    files = fixtures.encode(documents, REGISTRY.config_sha256)
    write_all_atomically({directory / name: payload for name, payload in files.items()})


def run_gates(
    workspace: Path, *extra: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k != "GITHUB_STEP_SUMMARY"}
    environment["PYTHONPATH"] = str(ROOT)
    environment.update(env or {})
    arguments = ["--artifacts", "artifacts", "--config", "pyproject.toml", *DEMO, *extra]
    return subprocess.run(
        [sys.executable, "-m", "gates", *arguments],
        cwd=workspace,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@dataclass(frozen=True)
class Run:
    returncode: int
    stdout: str
    stderr: str


def run_in_process(
    workspace: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    env: dict[str, str] | None = None,
    extra: tuple[str, ...] = (),
) -> Run:
    """The same CLI without a new interpreter: cheaper for the many error cases."""
    monkeypatch.chdir(workspace)
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    for key, value in (env or {}).items():
        monkeypatch.setenv(key, value)
    capsys.readouterr()
    code = main(["--artifacts", "artifacts", "--config", "pyproject.toml", *DEMO, *extra])
    captured = capsys.readouterr()
    return Run(code, captured.out, captured.err)


def test_promote_exits_0_and_writes_every_output(workspace: Path) -> None:
    completed = run_gates(workspace)
    assert completed.returncode == ExitCode.PROMOTE, completed.stderr
    assert completed.stdout.startswith(f"gates: PROMOTE: {QUALITY} passed every gate")
    assert completed.stderr == ""
    artifacts = workspace / "artifacts"
    gates = orjson.loads((artifacts / "gates.json").read_bytes())
    assert (gates["schema"], gates["kind"]) == (2, "fastpath-gates")
    assert (gates["decision"], gates["chosen"]) == ("promote", QUALITY)
    first = gates["variants"][QUALITY]["gates"][0]
    assert set(first) >= {"name", "threshold", "observed", "interval", "passed", "reason"}
    report = orjson.loads((artifacts / "pipeline_report.json").read_bytes())
    assert report["kind"] == "fastpath-pipeline-report"
    provenance = report["provenance"]
    assert provenance["git_sha"] == fixtures.GIT_SHA
    assert provenance["config_sha256"] == REGISTRY.config_sha256
    assert provenance["seeds"]["registry"] == REGISTRY.seed
    assert provenance["environment"]["machines"] == [fixtures.MACHINE]
    assert provenance["timings"]["benchmarks"] > 0
    pooled = report["variants"][QUALITY]["comparisons"]["qa_per_100k"]["pooled"]
    assert pooled["interval"]["low"] < pooled["relative_change"] < pooled["interval"]["high"]
    assert (artifacts / "report.md").read_text(encoding="utf-8").startswith("## FastPath gates:")
    assert (artifacts / "report.html").read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def test_reject_exits_1_and_names_the_blocking_gates(workspace: Path) -> None:
    documents = fixtures.passing_documents(REGISTRY)
    for variant in REGISTRY.candidates:
        find_row(documents[ANALYSIS_FILE], variant.name, "latency_mean", "200k").update(
            ci_high=0.15
        )
    write_documents(workspace / "artifacts", documents)
    completed = run_gates(workspace)
    assert completed.returncode == ExitCode.REJECT, completed.stderr
    assert "REJECT: no variant passed every gate" in completed.stdout
    assert f"{QUALITY}: latency_non_inferiority" in completed.stdout
    gates = orjson.loads((workspace / "artifacts" / "gates.json").read_bytes())
    assert gates["chosen"] is None
    assert gates["variants"][QUALITY]["blocking"] == ["latency_non_inferiority"]


def test_missing_evidence_rejects_rather_than_erring(
    workspace: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (workspace / "artifacts" / SMOKE_FILE).unlink()
    completed = run_in_process(workspace, capsys, monkeypatch)
    assert completed.returncode == ExitCode.REJECT
    assert "smoke_tests" in completed.stdout


BAD_INPUTS = [
    ("malformed JSON", ANALYSIS_FILE, b'{"schema": 1,'),
    ("unknown schema", ANALYSIS_FILE, None),
    ("wrong type", SMOKE_FILE, None),
]


def _bad_bytes(label: str, file: str, raw: bytes | None) -> bytes:
    if raw is not None:
        return raw
    document = copy.deepcopy(fixtures.passing_documents(REGISTRY)[file])
    if label == "unknown schema":
        document["schema"] = 99
    else:
        document["failed"] = "none"
    return orjson.dumps(document)


@pytest.mark.parametrize(("label", "file", "raw"), BAD_INPUTS, ids=[b[0] for b in BAD_INPUTS])
def test_bad_input_exits_2_with_one_line_and_no_outputs(
    workspace: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    label: str,
    file: str,
    raw: bytes | None,
) -> None:
    artifacts = workspace / "artifacts"
    earlier = run_in_process(workspace, capsys, monkeypatch)  # leaves a decision behind
    assert earlier.returncode == ExitCode.PROMOTE
    (artifacts / file).write_bytes(_bad_bytes(label, file, raw))
    completed = run_in_process(workspace, capsys, monkeypatch)
    assert completed.returncode == ExitCode.BAD_INPUT
    assert completed.stdout == ""
    lines = completed.stderr.splitlines()
    assert len(lines) == 1, completed.stderr
    assert lines[0].startswith(f"gates: error: artifacts/{file}: ")
    assert "Traceback" not in completed.stderr
    # No decision survives from the earlier run, and nothing half-written appears.
    assert not any((artifacts / name).exists() for name in OUTPUT_FILES)
    assert not [p for p in artifacts.iterdir() if p.name.startswith(".")]


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda text: text.replace("schema = 1", "schema = 7", 1), "`schema` is 7"),
        (lambda text: text.replace("power = 0.80", "power = 'high'"), "`power` must be a number"),
        (lambda text: text.replace('metric = "memory"', 'metric = "joy"'), "`metric` must be one"),
        (lambda text: text + "\n[[[", "not valid TOML"),
    ],
    ids=["no-registry", "bad-threshold", "bad-metric", "bad-toml"],
)
def test_bad_config_exits_2_with_one_line(
    workspace: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    edit: Any,
    message: str,
) -> None:
    config = workspace / "pyproject.toml"
    config.write_text(edit(config.read_text(encoding="utf-8")), encoding="utf-8")
    completed = run_in_process(workspace, capsys, monkeypatch)
    assert completed.returncode == ExitCode.BAD_INPUT
    assert len(completed.stderr.splitlines()) == 1, completed.stderr
    assert completed.stderr.startswith("gates: error: pyproject.toml")
    assert message in completed.stderr


def test_missing_artifacts_directory_exits_2(
    workspace: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.rmtree(workspace / "artifacts")
    completed = run_in_process(workspace, capsys, monkeypatch)
    assert completed.returncode == ExitCode.BAD_INPUT
    assert completed.stderr.strip() == "gates: error: artifacts: artifacts directory not found"


def test_bad_input_in_a_real_process_prints_no_traceback(workspace: Path) -> None:
    (workspace / "artifacts" / ANALYSIS_FILE).write_bytes(b"{")
    completed = run_gates(workspace)
    assert completed.returncode == ExitCode.BAD_INPUT
    assert completed.stdout == ""
    assert completed.stderr.startswith(f"gates: error: artifacts/{ANALYSIS_FILE}: not valid JSON")
    assert len(completed.stderr.splitlines()) == 1


def test_same_inputs_give_byte_identical_outputs(
    workspace: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    artifacts = workspace / "artifacts"
    assert run_in_process(workspace, capsys, monkeypatch).returncode == ExitCode.PROMOTE
    first = {name: (artifacts / name).read_bytes() for name in OUTPUT_FILES}
    assert run_in_process(workspace, capsys, monkeypatch).returncode == ExitCode.PROMOTE
    for name in ("gates.json", "report.md", "report.html"):
        assert (artifacts / name).read_bytes() == first[name], name
    # pipeline_report.json differs only by when the decision was made.
    again = orjson.loads((artifacts / "pipeline_report.json").read_bytes())
    before = orjson.loads(first["pipeline_report.json"])
    again["provenance"].pop("decided_unix")
    before["provenance"].pop("decided_unix")
    assert again == before


def test_report_is_appended_to_the_step_summary(
    workspace: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    summary = workspace / "summary.md"
    summary.write_text("# earlier step\n", encoding="utf-8")
    completed = run_in_process(
        workspace, capsys, monkeypatch, env={"GITHUB_STEP_SUMMARY": str(summary)}
    )
    assert completed.returncode == ExitCode.PROMOTE
    report = (workspace / "artifacts" / "report.md").read_text(encoding="utf-8")
    assert summary.read_text(encoding="utf-8") == "# earlier step\n" + report


def test_unwritable_step_summary_warns_but_keeps_the_decision(
    workspace: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    completed = run_in_process(
        workspace, capsys, monkeypatch, env={"GITHUB_STEP_SUMMARY": str(workspace / "no" / "x.md")}
    )
    assert completed.returncode == ExitCode.PROMOTE
    assert completed.stderr.startswith("gates: warning: cannot append to $GITHUB_STEP_SUMMARY")


def test_variants_restricts_the_candidates_judged(
    workspace: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    performance = [v.name for v in REGISTRY.candidates if v.intent == "performance"]
    chosen = ",".join(performance)
    completed = run_in_process(workspace, capsys, monkeypatch, extra=("--variants", chosen))
    assert completed.returncode == ExitCode.REJECT  # reported, never promoted
    assert "EXPLORATORY: judging only" in completed.stdout
    gates = orjson.loads((workspace / "artifacts" / "gates.json").read_bytes())
    assert list(gates["variants"]) == performance
    assert gates["chosen"] is None
    assert gates["decision"] == "exploratory"


def test_unknown_variant_is_a_configuration_error(
    workspace: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    completed = run_in_process(workspace, capsys, monkeypatch, extra=("--variants", "V9"))
    assert completed.returncode == ExitCode.BAD_INPUT
    assert "unknown variant `V9`" in completed.stderr


def test_interrupt_exits_130(
    workspace: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupted(*_: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("gates.cli.decide", interrupted)
    assert run_in_process(workspace, capsys, monkeypatch).returncode == ExitCode.INTERRUPTED


def test_unwritable_artifacts_exit_2_with_one_line(
    workspace: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def full_disk(outputs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("gates.cli.write_all_atomically", full_disk)
    completed = run_in_process(workspace, capsys, monkeypatch)
    assert completed.returncode == ExitCode.BAD_INPUT
    assert completed.stderr == "gates: error: cannot write to artifacts: No space left on device\n"
