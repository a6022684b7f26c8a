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
import math
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
        (_nan_value, "bad.json: contains NaN"),
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


# --- units, overflow and zero means: never a verdict from a number that is not finite ---


def _suite(values: list[float], unit: str = "second", name: str = "x") -> Suite:
    return Suite("pyperf", "file.json", {name: Sample(name, np.array(values), unit, "values")})


def test_benchmarks_in_different_units_are_refused_naming_both(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    seconds = write(tmp_path / "seconds.json", pyperf_document({"x": 1.0}, seed=1))
    document = pyperf_document({"x": 1.0}, seed=2)
    document["metadata"]["unit"] = "byte"
    bytes_ = write(tmp_path / "bytes.json", document)
    assert cli.main(["compare", str(seconds), str(bytes_)]) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert "benchmark 'x' is measured in 'second'" in line
    assert "but in 'byte'" in line
    assert "seconds.json" in line
    assert "bytes.json" in line


def test_a_unit_that_is_not_a_name_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = write(tmp_path / "good.json", pyperf_document({"x": 1.0}, seed=1))
    document = pyperf_document({"x": 1.0}, seed=2)
    document["benchmarks"][0]["metadata"]["unit"] = 7
    assert cli.main(["compare", str(good), str(write(tmp_path / "bad.json", document))]) == 2
    assert "metadata `unit` must be a name" in capsys.readouterr().err


def test_metadata_that_is_not_an_object_is_one_line_not_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = write(tmp_path / "good.json", pyperf_document({"x": 1.0}, seed=1))
    document = pyperf_document({"x": 1.0}, seed=2)
    document["benchmarks"][0]["metadata"] = ["name", "x"]
    assert cli.main(["compare", str(good), str(write(tmp_path / "bad.json", document))]) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert "benchmarks[0].metadata must be an object" in line


@pytest.mark.parametrize(
    ("base", "candidate", "reason"),
    [
        ([1.0, 1.1, 0.9], [1.6e308, 1.7e308, 1.75e308], "the candidate mean overflows"),
        ([1.6e308, 1.7e308, 1.75e308], [1.0, 1.1, 0.9], "the base mean overflows"),
        ([0.0, 0.0, 0.0], [1.0, 1.1, 0.9], "the base mean is 0"),
        ([5e-324, 5e-324, 1e-323], [1.0, 1.1, 0.9], "the ratio of the means"),
        # 1e307 times slower: the mean and ratio are finite, the acceleration's cubes are not.
        ([1.0, 1.1, 0.9], [1e307, 1.1e307, 0.9e307], "the bootstrap overflows"),
        ([1.0, 1.1, 0.9], [2.0], "the candidate has 1 measurement"),
    ],
    ids=["candidate-mean", "base-mean", "zero-base", "ratio", "acceleration", "one-value"],
)
def test_an_estimate_that_is_not_finite_is_not_computable_never_no_change(
    base: list[float], candidate: list[float], reason: str
) -> None:
    (comparison,) = compare_suites(_suite(base), _suite(candidate), n_resamples=200).comparisons
    assert comparison.verdict.startswith("not computable: ")
    assert reason in comparison.verdict
    assert comparison.ci_low is None
    assert comparison.ci_high is None
    assert comparison.p_value is None
    for number in (comparison.base_mean, comparison.candidate_mean, comparison.relative_change):
        assert number is None or math.isfinite(number)


def test_an_overflowing_run_mean_reaches_json_as_null_and_the_table_as_n_a(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = write(tmp_path / "base.json", pyperf_document({"x": 1.0, "y": 1.0}, seed=1))
    document = pyperf_document({"x": 1.0, "y": 1.2}, seed=2)
    for run in document["benchmarks"][0]["runs"][1:]:
        run["values"] = [1.7e308, 1.6e308, 1.75e308]
    candidate = write(tmp_path / "cand.json", document)
    assert cli.main(["compare", str(base), str(candidate), "--json"]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""  # numpy's overflow warnings stay out of the one-line contract
    x, y = json.loads(captured.out)["benchmarks"]
    assert x["verdict"].startswith("not computable: the candidate mean overflows")
    assert (x["candidate_mean"], x["relative_change"], x["ci_low"]) == (None, None, None)
    assert y["verdict"] == "slower"  # the other benchmarks are still compared
    assert cli.main(["compare", str(base), str(candidate)]) == 0
    row = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("x "))
    assert "n/a" in row
    assert "inf" not in row
    assert "no significant change" not in row


def test_a_huge_finite_change_is_written_in_powers_of_ten_not_as_inf() -> None:
    from analysis.interop import render_text

    report = compare_suites(_suite([1.0, 1.1, 0.9]), _suite([1e102, 1.1e102, 0.9e102]))
    (comparison,) = report.comparisons
    assert comparison.verdict == "slower"
    row = render_text(report).splitlines()[-1]
    assert "+1.0e+104%" in row
    assert "inf" not in row


@settings(max_examples=40, deadline=None, derandomize=True)
@given(
    base=st.lists(st.floats(0.0, 1.7976931348623157e308), min_size=1, max_size=6),
    candidate=st.lists(st.floats(0.0, 1.7976931348623157e308), min_size=1, max_size=6),
)
def test_every_number_is_finite_or_none_and_only_a_finite_interval_gets_a_verdict(
    base: list[float], candidate: list[float]
) -> None:
    """Law: over any finite non-negative samples, from 5e-324 to the largest float."""
    (c,) = compare_suites(_suite(base), _suite(candidate), n_resamples=100).comparisons
    numbers = (c.base_mean, c.candidate_mean, c.relative_change, c.ci_low, c.ci_high, c.p_value)
    assert all(number is None or math.isfinite(number) for number in numbers)
    if not c.verdict.startswith("not computable: "):
        assert c.ci_low is not None
        assert c.ci_high is not None
        assert c.verdict in {"faster", "slower", "no significant change"}
        assert (c.verdict == "no significant change") == (c.ci_low <= 0.0 <= c.ci_high)


# --- gzip: truncated, corrupt ---------------------------------------------------------


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda raw: raw[: len(raw) // 2], "truncated gzip data"),
        (lambda raw: raw[:20] + bytes(10) + raw[30:], "corrupt gzip data"),
        (lambda raw: b"not gzip at all", "corrupt gzip data"),
    ],
    ids=["truncated", "corrupt", "not-gzip"],
)
def test_a_damaged_gzip_file_is_one_line_naming_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], damage: Any, message: str
) -> None:
    good = write(tmp_path / "good.json", pyperf_document({"x": 1.0}, seed=1))
    raw = gzip.compress(json.dumps(pyperf_document({"x": 1.0}, seed=2)).encode())
    bad = tmp_path / "cand.json.gz"
    bad.write_bytes(damage(raw))
    assert cli.main(["compare", str(good), str(bad)]) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith(f"analysis compare: error: {bad}: {message}")
