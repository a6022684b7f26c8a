"""``python -m analysis compare``: pyperf and pytest-benchmark JSON, written by hand.

The fixtures follow the tools' documented formats: pyperf's version 1.0 JSON
(``{"version": "1.0", "metadata": {...}, "benchmarks": [{"metadata": {"name":
...}, "runs": [{"warmups": [[loops, value]], "values": [...]}]}]}``) and
pytest-benchmark's ``--benchmark-json`` (raw timings in ``stats.data`` only
with ``--benchmark-save-data``).
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis import cli
from analysis.interop import Sample, Suite, compare_suites, read_suite


def pyperf_document(means: dict[str, float], *, seed: int, runs: int = 10) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    benchmarks = []
    for name, mean in means.items():
        calibration = {"metadata": {"loops": 64}, "warmups": [[1, mean * 3], [2, mean * 2]]}
        measured = [
            {"metadata": {"date": "2026-01-01T00:00:00"}, "warmups": [[64, mean * 1.5]],
             "values": [float(v) for v in rng.normal(mean, mean * 0.02, 3)]}
            for _ in range(runs)
        ]  # fmt: skip
        benchmarks.append({"metadata": {"name": name}, "runs": [calibration, *measured]})
    return {
        "version": "1.0",
        "metadata": {"unit": "second", "python_version": "3.11.7"},
        "benchmarks": benchmarks,
    }


def pytest_benchmark_document(
    means: dict[str, float], *, seed: int, with_data: bool = True, nested: bool = True
) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    benchmarks = []
    for name, mean in means.items():
        data = [float(v) for v in rng.normal(mean, mean * 0.03, 25)]
        stats: dict[str, Any] = {"min": min(data), "max": max(data), "mean": float(np.mean(data)),
                                 "stddev": float(np.std(data, ddof=1)), "rounds": len(data),
                                 "median": float(np.median(data)), "iterations": 1}  # fmt: skip
        entry: dict[str, Any] = {
            "group": None,
            "name": name,
            "fullname": f"tests/test_speed.py::{name}",
            "params": None,
            "stats": stats,
        }
        if with_data and nested:
            stats["data"] = data
        elif with_data:
            entry["data"] = data
        benchmarks.append(entry)
    return {
        "machine_info": {"node": "ci", "python_version": "3.11.7"},
        "commit_info": {"id": "0" * 40},
        "benchmarks": benchmarks,
        "datetime": "2026-01-01T00:00:00",
        "version": "4.0.0",
    }


def write(path: Path, document: dict[str, Any]) -> Path:
    path.write_text(json.dumps(document))
    return path


def test_pyperf_files_compare_with_a_verdict_each(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = write(tmp_path / "base.json", pyperf_document({"dumps": 1e-3, "regex": 2e-5}, seed=1))
    candidate = write(
        tmp_path / "cand.json", pyperf_document({"dumps": 0.8e-3, "regex": 2e-5}, seed=2)
    )
    assert cli.main(["compare", str(base), str(candidate)]) == 0
    out = capsys.readouterr().out
    lines = {line.split()[0]: line for line in out.splitlines()[3:]}
    assert "faster" in lines["dumps"]
    assert "-20." in lines["dumps"]
    assert "no significant change" in lines["regex"]
    assert "Bonferroni over 2" in out


def test_json_output_for_machines(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = write(tmp_path / "base.json", pyperf_document({"dumps": 1e-3}, seed=1))
    candidate = write(tmp_path / "cand.json", pyperf_document({"dumps": 1.25e-3}, seed=2))
    assert cli.main(["compare", str(base), str(candidate), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["kind"] == "fastpath-interop-comparison"
    assert report["schema"] == 1
    (entry,) = report["benchmarks"]
    assert entry["verdict"] == "slower"
    assert entry["sample"] == "run means"
    assert entry["n_base"] == 10
    assert entry["ci_low"] < entry["relative_change"] < entry["ci_high"]
    assert entry["relative_change"] == pytest.approx(0.25, abs=0.03)


def test_gzipped_pyperf_and_one_run_uses_its_values(tmp_path: Path) -> None:
    path = tmp_path / "base.json.gz"
    path.write_bytes(
        gzip.compress(json.dumps(pyperf_document({"x": 1.0}, seed=3, runs=1)).encode())
    )
    sample = read_suite(path).samples["x"]
    assert sample.basis == "values"
    assert sample.values.size == 3


@pytest.mark.parametrize("nested", [True, False], ids=["stats.data", "data"])
def test_pytest_benchmark_with_saved_data(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], nested: bool
) -> None:
    base = write(
        tmp_path / "b.json", pytest_benchmark_document({"test_pack": 0.5}, seed=1, nested=nested)
    )
    candidate = write(
        tmp_path / "c.json", pytest_benchmark_document({"test_pack": 0.6}, seed=2, nested=nested)
    )
    assert cli.main(["compare", str(base), str(candidate), "--json"]) == 0
    (entry,) = json.loads(capsys.readouterr().out)["benchmarks"]
    assert entry["name"] == "tests/test_speed.py::test_pack"
    assert entry["verdict"] == "slower"
    assert entry["sample"] == "rounds"


def _pyperf_v2(path: Path) -> None:
    write(path, {**pyperf_document({"x": 1.0}, seed=1), "version": "2.0"})


def _no_raw_data(path: Path) -> None:
    write(path, pytest_benchmark_document({"test_pack": 0.5}, seed=1, with_data=False))


def _neither(path: Path) -> None:
    write(path, {"results": []})


def _not_json(path: Path) -> None:
    path.write_text("{")


def _nan_value(path: Path) -> None:
    document = pyperf_document({"x": 1.0}, seed=1)
    document["benchmarks"][0]["runs"][1]["values"][0] = float("nan")
    write(path, document)


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (_pyperf_v2, "pyperf JSON version '2.0' is not supported"),
        (_no_raw_data, "only summary statistics for 'tests/test_speed.py::test_pack'"),
        (_neither, "neither pyperf nor pytest-benchmark JSON"),
        (_not_json, "not valid JSON"),
        (_nan_value, "bad.json: contains NaN is not a finite number"),
    ],
    ids=["pyperf-version", "no-data", "unknown-format", "not-json", "nan"],
)
def test_unusable_files_exit_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], damage: Any, message: str
) -> None:
    good = write(tmp_path / "good.json", pyperf_document({"x": 1.0}, seed=1))
    bad = tmp_path / "bad.json"
    damage(bad)
    assert cli.main(["compare", str(good), str(bad)]) == 2
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("analysis compare: error: ")
    assert message in lines[0]
    if message.startswith("only summary"):
        assert "--benchmark-save-data" in lines[0]


def test_files_of_two_tools_or_without_common_benchmarks_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pyperf = write(tmp_path / "a.json", pyperf_document({"x": 1.0}, seed=1))
    other = write(tmp_path / "b.json", pytest_benchmark_document({"x": 1.0}, seed=1))
    assert cli.main(["compare", str(pyperf), str(other)]) == 2
    assert "is pyperf JSON but" in capsys.readouterr().err
    renamed = write(tmp_path / "c.json", pyperf_document({"y": 1.0}, seed=1))
    assert cli.main(["compare", str(pyperf), str(renamed)]) == 2
    assert "no benchmark in common" in capsys.readouterr().err


@settings(max_examples=15, deadline=None)
@given(
    factor=st.floats(min_value=0.2, max_value=5.0),
    values=st.lists(st.floats(min_value=1e-6, max_value=1.0), min_size=3, max_size=12),
)
def test_scaling_every_value_is_exactly_that_relative_change(
    factor: float, values: list[float]
) -> None:
    """Law: candidate = factor x base gives a relative change of factor - 1 (the point estimate)."""
    base_values = np.array(values)
    base = Suite("pyperf", "base", {"b": Sample("b", base_values, "second", "values")})
    candidate = Suite(
        "pyperf", "cand", {"b": Sample("b", base_values * factor, "second", "values")}
    )
    (comparison,) = compare_suites(base, candidate, n_resamples=200).comparisons
    assert comparison.relative_change == pytest.approx(factor - 1.0, rel=1e-9, abs=1e-12)
