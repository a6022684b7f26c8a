"""Bad input to ``python -m analysis`` and ``python -m gates``, run as real processes.

Whatever is wrong (JSON nested 100,000 deep, a FIFO where an artifact should be, a
schema of ``true`` or ``2.0``, damaged gzip, benchmarks in different units, values
near 1e308), each command ends with exit code 2 and one line on stderr naming the
file and the problem: no traceback, no hang, and no earlier output of that command
left behind to be mistaken for this run's. ``timeout=60`` makes a hang fail.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
import sys
import time
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest

from analysis.documents import OUTPUT_FILES as ANALYSIS_OUTPUTS
from analysis.fixtures import Effect, benchmark_run, write_registry, write_run
from contracts.documents import SCHEMA, write_all_atomically
from contracts.names import ANALYSIS_FILE
from gates import fixtures as gates_fixtures
from gates.cli import OUTPUT_FILES as GATES_OUTPUTS
from packrepo.registry import load_registry

ROOT = Path(__file__).resolve().parents[1]
DEEP_JSON = b"[" * 100_000
EFFECTS = {"P1": Effect(latency=-0.3), "M1": Effect(memory=-0.2), "Q1": Effect(qa=0.4)}
STALE = b"an earlier run's output: PROMOTE V4\n"


def run(module: str, *arguments: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k != "GITHUB_STEP_SUMMARY"}
    environment["PYTHONPATH"] = str(ROOT)
    return subprocess.run(
        [sys.executable, "-m", module, *arguments],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def error_line(completed: subprocess.CompletedProcess[str], program: str) -> str:
    """The one line of a refusal: exit 2, nothing on stdout, no traceback."""
    assert completed.returncode == 2, completed.stdout + completed.stderr
    assert "Traceback" not in completed.stderr
    assert completed.stdout == ""
    lines = completed.stderr.splitlines()
    assert len(lines) == 1, completed.stderr
    assert lines[0].startswith(f"{program}: error: ")
    return lines[0]


def replace_with_fifo(path: Path) -> None:
    path.unlink()
    os.mkfifo(path)  # in tmp_path; nobody ever writes to it, so a blocking read would hang


def nested_too_deeply(path: Path) -> None:
    path.write_bytes(DEEP_JSON)


def with_schema(value: object) -> Callable[[Path], None]:
    def damage(path: Path) -> None:
        document = orjson.loads(path.read_bytes())
        document["schema"] = value
        path.write_bytes(orjson.dumps(document))

    return damage


DAMAGES: dict[str, tuple[Callable[[Path], None], str]] = {
    "deep-json": (nested_too_deeply, "not valid JSON (nested too deeply)"),
    "fifo": (replace_with_fifo, "not a regular file (a FIFO)"),
    "schema-true": (with_schema(True), f"must be the integer {SCHEMA}, got True"),
    "schema-float": (
        with_schema(float(SCHEMA)),
        f"must be the integer {SCHEMA}, got {float(SCHEMA)!r}",
    ),
}


# --- python -m analysis: a benchmark artifact -------------------------------------------


@pytest.fixture
def analysis_inputs(tmp_path: Path) -> Path:
    """The fixture registry, a run per arm, and an earlier run's three documents."""
    registry = write_registry(tmp_path / "pyproject.toml")
    artifacts = tmp_path / "artifacts"
    artifacts.mkdir()
    write_run(artifacts, registry, benchmark_run(registry, "baseline"))
    for seed, (name, effect) in enumerate(EFFECTS.items(), start=1):
        write_run(artifacts, registry, benchmark_run(registry, name, effect=effect, seed=seed))
    for name in ANALYSIS_OUTPUTS:
        (artifacts / name).write_bytes(STALE)
    return tmp_path


@pytest.mark.parametrize(("damage", "problem"), DAMAGES.values(), ids=DAMAGES.keys())
def test_analysis_refuses_a_bad_benchmark_artifact(
    analysis_inputs: Path, damage: Callable[[Path], None], problem: str
) -> None:
    artifacts = analysis_inputs / "artifacts"
    damage(artifacts / "P1_benchmark.json")
    started = time.monotonic()
    completed = run(
        "analysis",
        *("--input", str(artifacts), "--output", str(artifacts)),
        *("--config", str(analysis_inputs / "pyproject.toml"), "--bootstrap-samples", "200"),
    )
    assert time.monotonic() - started < 30  # a FIFO is refused, not read
    line = error_line(completed, "analysis")
    assert f"{artifacts / 'P1_benchmark.json'}: " in line
    assert problem in line
    assert not any((artifacts / name).exists() for name in ANALYSIS_OUTPUTS)


# --- python -m gates: statistical_analysis.json -----------------------------------------


def write_evidence(artifacts: Path, documents: dict[str, Any]) -> None:
    registry = load_registry(artifacts.parent / "pyproject.toml")
    files = gates_fixtures.encode(documents, registry.config_sha256)
    write_all_atomically({artifacts / name: payload for name, payload in files.items()})


@pytest.fixture
def gates_inputs(tmp_path: Path) -> Path:
    """Passing fixture evidence outside any git checkout, and an earlier "promote" report."""
    shutil.copyfile(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    artifacts = tmp_path / "artifacts"
    artifacts.mkdir()
    registry = load_registry(tmp_path / "pyproject.toml")
    write_evidence(artifacts, gates_fixtures.passing_documents(registry))
    for name in GATES_OUTPUTS:
        (artifacts / name).write_bytes(STALE)
    return tmp_path


def run_gates(workspace: Path) -> subprocess.CompletedProcess[str]:
    return run(
        "gates",
        *("--artifacts", str(workspace / "artifacts")),
        *("--config", str(workspace / "pyproject.toml"), "--accept-fixtures"),
    )


@pytest.mark.parametrize(("damage", "problem"), DAMAGES.values(), ids=DAMAGES.keys())
def test_gates_refuse_a_bad_statistical_analysis(
    gates_inputs: Path, damage: Callable[[Path], None], problem: str
) -> None:
    artifacts = gates_inputs / "artifacts"
    damage(artifacts / ANALYSIS_FILE)
    started = time.monotonic()
    line = error_line(run_gates(gates_inputs), "gates")
    assert time.monotonic() - started < 30
    assert f"{artifacts / ANALYSIS_FILE}: " in line
    assert problem in line
    assert not any((artifacts / name).exists() for name in GATES_OUTPUTS)


def test_gates_report_absurd_finite_evidence_instead_of_crashing(gates_inputs: Path) -> None:
    """+-1e308 is finite, so it is read; the report must draw it and replace the old one."""
    artifacts = gates_inputs / "artifacts"
    registry = load_registry(gates_inputs / "pyproject.toml")
    documents = gates_fixtures.passing_documents(registry)
    analysis = documents[ANALYSIS_FILE]
    quality = next(v.name for v in registry.candidates if v.intent == "quality")
    gates_fixtures.find_row(analysis, quality, "latency_mean", "200k").update(ci_high=1e308)
    gates_fixtures.find_row(analysis, quality, "qa_per_100k").update(ci_low=-1e308)
    write_evidence(artifacts, documents)
    completed = run_gates(gates_inputs)
    assert completed.returncode in (0, 1), completed.stderr
    assert completed.stderr == ""
    report = (artifacts / "report.md").read_text(encoding="utf-8")
    assert report.startswith("## FastPath gates: ")
    assert "200k +1.0e+310%" in report
    page = (artifacts / "report.html").read_text(encoding="utf-8")
    assert "beyond the axis" in page
    assert all((artifacts / name).read_bytes() != STALE for name in GATES_OUTPUTS)


# --- python -m analysis compare -------------------------------------------------------------


def pyperf_json(means: dict[str, float], *, unit: str = "second", seed: int = 0) -> bytes:
    """pyperf 1.0 JSON: three processes of three values per benchmark, 1% apart."""
    factors = [[1 + 0.01 * ((seed + run) % 3 - 1) + 0.002 * value for value in range(3)]
               for run in range(3)]  # fmt: skip
    benchmarks = [
        {
            "metadata": {"name": name},
            "runs": [{"values": [mean * factor for factor in run]} for run in factors],
        }
        for name, mean in means.items()
    ]
    document = {"version": "1.0", "metadata": {"unit": unit}, "benchmarks": benchmarks}
    return json.dumps(document).encode()


def inflating_gzip(inflated_mib: int = 300) -> bytes:
    """A small gzip stream that inflates to ``inflated_mib`` MiB of zeros: one deflate block,
    repeated (a full flush makes each block independent of the ones before)."""
    deflate = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    zeros = bytes(1 << 20)
    first = deflate.compress(zeros) + deflate.flush(zlib.Z_FULL_FLUSH)
    block = deflate.compress(zeros) + deflate.flush(zlib.Z_FULL_FLUSH)
    return first + block * (inflated_mib - 1)


def compare(base: Path, candidate: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return run(
        "analysis", "compare", str(base), str(candidate), "--bootstrap-samples", "500", *extra
    )


GZIP_DAMAGES: dict[str, tuple[Callable[[bytes], bytes], str]] = {
    "truncated": (lambda raw: raw[: len(raw) // 2], "truncated gzip data"),
    "corrupt": (lambda raw: raw[:20] + bytes(10) + raw[30:], "corrupt gzip data"),
    "inflating": (lambda raw: inflating_gzip(), "inflates past 268,435,456 bytes"),
    "deep-json": (lambda raw: gzip.compress(DEEP_JSON), "not valid JSON (nested too deeply)"),
}


@pytest.mark.parametrize(("damage", "problem"), GZIP_DAMAGES.values(), ids=GZIP_DAMAGES.keys())
def test_compare_refuses_a_damaged_json_gz(
    tmp_path: Path, damage: Callable[[bytes], bytes], problem: str
) -> None:
    base = tmp_path / "base.json"
    base.write_bytes(pyperf_json({"dumps": 1e-3}))
    candidate = tmp_path / "candidate.json.gz"
    candidate.write_bytes(damage(gzip.compress(pyperf_json({"dumps": 1e-3}, seed=1))))
    line = error_line(compare(base, candidate), "analysis compare")
    assert line.startswith(f"analysis compare: error: {candidate}: {problem}")


def test_compare_refuses_a_fifo(tmp_path: Path) -> None:
    base = tmp_path / "base.json"
    base.write_bytes(pyperf_json({"dumps": 1e-3}))
    os.mkfifo(tmp_path / "candidate.json")
    line = error_line(compare(base, tmp_path / "candidate.json"), "analysis compare")
    assert "candidate.json: not a regular file (a FIFO)" in line


def test_compare_refuses_benchmarks_in_different_units(tmp_path: Path) -> None:
    base, candidate = tmp_path / "seconds.json", tmp_path / "bytes.json"
    base.write_bytes(pyperf_json({"dumps": 1e-3}))
    candidate.write_bytes(pyperf_json({"dumps": 1e-3}, unit="byte"))
    line = error_line(compare(base, candidate), "analysis compare")
    assert f"benchmark 'dumps' is measured in 'second' in {base} but in 'byte' in {candidate}" in (
        line
    )


def test_compare_reports_an_overflow_as_not_computable_never_as_no_change(
    tmp_path: Path,
) -> None:
    base, candidate = tmp_path / "base.json", tmp_path / "candidate.json"
    base.write_bytes(pyperf_json({"overflow": 1.0, "ratio": 1.0, "zero": 0.0}))
    # A mean of values near 1e308 overflows; 1e307 times slower overflows the interval.
    candidate.write_bytes(pyperf_json({"overflow": 1.7e308, "ratio": 1e307, "zero": 1.0}))
    completed = compare(base, candidate, "--json")
    assert completed.returncode == 0, completed.stderr
    assert completed.stderr == ""  # no numpy overflow warnings either
    verdicts = {entry["name"]: entry for entry in json.loads(completed.stdout)["benchmarks"]}
    assert verdicts["overflow"]["verdict"].startswith("not computable: the candidate mean")
    assert verdicts["ratio"]["verdict"].startswith("not computable: the bootstrap overflows")
    assert verdicts["zero"]["verdict"].startswith("not computable: the base mean is 0")
    for entry in verdicts.values():
        assert (entry["ci_low"], entry["ci_high"], entry["p_value"]) == (None, None, None)
    table = compare(base, candidate).stdout
    assert "no significant change" not in table
    assert "inf" not in table
