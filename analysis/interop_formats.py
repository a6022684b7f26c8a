"""Other tools' result files, read into :class:`Suite`: pyperf and pytest-benchmark JSON.

* **pyperf** (``pyperf`` ``-o``/``--append`` output, optionally ``.json.gz``):
  ``{"version": "1.0", "metadata": {...}, "benchmarks": [{"metadata":
  {"name": ..., "unit": ...}, "runs": [{"values": [...], "warmups":
  [...]}]}]}``. Only version ``"1.0"`` is read, as pyperf itself refuses
  other versions. A benchmark's name and unit come from its metadata or the
  file's common metadata (the unit defaults to ``second``, as in pyperf).
  Each run is a separate process and values within a process are not
  independent, so with two or more runs the sample is one mean per run; with
  a single run it is the run's values. Warm-ups and runs without values
  (calibration) are left out.
* **pytest-benchmark** (``--benchmark-json``): ``{"benchmarks": [{"name",
  "fullname", "stats": {..., "data": [...]}}]}``. The raw per-round timings
  (``stats.data``, or ``data`` beside ``stats``) are present only with
  ``--benchmark-save-data``; without them the file holds summary statistics
  only and is refused, since no interval can be computed from them. The
  benchmark key is ``fullname`` (unique across modules), else ``name``. Its
  timings are always seconds.

The bytes are read by :func:`contracts.documents.read_input` (regular files
only, size and inflation capped); every way a file can be unusable is an
:class:`InteropError` naming the file.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from analysis.bootstrap import FloatArray
from analysis.errors import AnalysisInputError
from contracts.documents import load_json, read_input
from contracts.errors import EvidenceError

__all__ = [
    "PYPERF_VERSION",
    "InteropError",
    "Sample",
    "Suite",
    "Tool",
    "parse_pyperf",
    "parse_pytest_benchmark",
    "read_suite",
]

PYPERF_VERSION = "1.0"
PYPERF_DEFAULT_UNIT = "second"
Tool = Literal["pyperf", "pytest-benchmark"]


class InteropError(AnalysisInputError):
    """A result file that cannot be compared (unknown format, no raw samples, ...)."""


@dataclass(frozen=True, eq=False)
class Sample:
    """One benchmark's independent measurements."""

    name: str
    values: FloatArray  # may hold inf where a run's mean overflows; the comparison says so
    unit: str
    basis: str  # "run means", "values" or "rounds"


@dataclass(frozen=True)
class Suite:
    tool: Tool
    source: str
    samples: Mapping[str, Sample]  # in file order


def read_suite(path: Path) -> Suite:
    """Read a pyperf or pytest-benchmark JSON file (``.gz`` allowed)."""
    try:
        document = load_json(read_input(path), str(path))
    except EvidenceError as exc:
        raise InteropError(str(exc)) from None
    if not isinstance(document, dict) or not isinstance(document.get("benchmarks"), list):
        raise InteropError(
            f"{path}: neither pyperf nor pytest-benchmark JSON (no `benchmarks` list)"
        )
    benchmarks = document["benchmarks"]
    if "version" in document and all(isinstance(b, dict) and "runs" in b for b in benchmarks):
        return parse_pyperf(document, str(path))
    if all(isinstance(b, dict) and "stats" in b for b in benchmarks):
        return parse_pytest_benchmark(document, str(path))
    raise InteropError(
        f"{path}: neither pyperf JSON (`version` and `runs`) nor pytest-benchmark JSON (`stats`)"
    )


def parse_pyperf(document: Mapping[str, Any], source: str) -> Suite:
    """pyperf's JSON format, version 1.0."""
    version = document.get("version")
    if version != PYPERF_VERSION:
        raise InteropError(
            f"{source}: pyperf JSON version {version!r} is not supported (this reads"
            f" {PYPERF_VERSION!r})"
        )
    common = _metadata(document, f"{source}: metadata")
    samples: dict[str, Sample] = {}
    for index, benchmark in enumerate(document["benchmarks"]):
        where = f"{source}: benchmarks[{index}]"
        metadata = {**common, **_metadata(benchmark, f"{where}.metadata")}
        name = metadata.get("name")
        if not isinstance(name, str) or not name:
            raise InteropError(f"{where} has no metadata `name`")
        unit = metadata.get("unit", PYPERF_DEFAULT_UNIT)
        if not isinstance(unit, str) or not unit:
            raise InteropError(f"{where} ({name}) metadata `unit` must be a name such as 'second'")
        runs = benchmark.get("runs")
        if not isinstance(runs, list):
            raise InteropError(f"{where}.runs must be a list")
        measured = [
            _finite(run["values"], f"{where} ({name}) run values")
            for run in runs
            if isinstance(run, dict) and run.get("values")
        ]
        if not measured:
            raise InteropError(f"{where} ({name}) has no run with values")
        if len(measured) >= 2:
            # A mean of values near the float limit overflows to inf; kept, so that the
            # comparison reports "not computable" for this benchmark alone.
            with np.errstate(over="ignore"):
                values = np.array([run.mean() for run in measured])
            basis = "run means"
        else:
            values, basis = measured[0], "values"
        samples[name] = Sample(name, values, unit, basis)
    return Suite("pyperf", source, samples)


def _metadata(holder: Mapping[str, Any], where: str) -> Mapping[str, Any]:
    metadata = holder.get("metadata")
    if metadata is None:
        return {}
    if not isinstance(metadata, dict):
        raise InteropError(f"{where} must be an object")
    return metadata


def parse_pytest_benchmark(document: Mapping[str, Any], source: str) -> Suite:
    """pytest-benchmark's ``--benchmark-json`` output; needs ``--benchmark-save-data``."""
    samples: dict[str, Sample] = {}
    for index, benchmark in enumerate(document["benchmarks"]):
        where = f"{source}: benchmarks[{index}]"
        name = benchmark.get("fullname") or benchmark.get("name")
        if not isinstance(name, str) or not name:
            raise InteropError(f"{where} has no `name`")
        stats = benchmark.get("stats")
        if not isinstance(stats, dict):
            raise InteropError(f"{where} ({name}).stats must be an object")
        data = stats.get("data", benchmark.get("data"))
        if data is None:
            raise InteropError(
                f"{source}: pytest-benchmark JSON holds only summary statistics for {name!r},"
                " no raw timings; rerun pytest with --benchmark-save-data"
            )
        values = _finite(data, f"{where} ({name}) data")
        samples[name] = Sample(name, values, "second", "rounds")
    return Suite("pytest-benchmark", source, samples)


def _finite(values: object, where: str) -> FloatArray:
    if not isinstance(values, list) or not all(
        isinstance(v, int | float) and not isinstance(v, bool) for v in values
    ):
        raise InteropError(f"{where} must be a list of numbers")
    array = np.array(values, dtype=np.float64)
    if array.size == 0 or not np.all(np.isfinite(array)) or np.any(array < 0):
        raise InteropError(f"{where} must be non-empty, finite and non-negative")
    return array
