"""The I/O edge of the gates: read the evidence and the chain of custody behind it.

:func:`read_chain` is the only function of the gates that reads the artifacts
directory, and it reads each file once, so the CLI judges and remakes the
analysis from the same bytes (:func:`load_evidence` reads and parses in one
call). It reads every evidence file, then the files the analysis names as its
inputs (the benchmark artifacts) and the trial streams those name, all through
:func:`contracts.documents.read_input`. A file that is not there is simply
absent: the evidence becomes :class:`~gates.evidence.Absent`, a chain file
becomes a broken link. :func:`evidence_from_files` is pure.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path

from contracts.documents import Fields, parse_document, parse_object, read_input
from contracts.errors import EvidenceError
from contracts.names import (
    ADVANCED_FILE,
    ANALYSIS_FILE,
    BANDIT_FILE,
    BANDIT_PROVENANCE_FILE,
    BENCHMARK_KIND,
    DIFFERENTIAL_FILE,
    KINDS,
    QUALITY_FILE,
    SHADOW_FILE,
    SMOKE_FILE,
    TIMINGS_FILE,
    benchmark_file,
)
from contracts.provenance import Provenance, parse_provenance, sha256_bytes
from gates.custody import Trust, assess_custody, benchmark_files
from gates.evidence import (
    Absent,
    Evidence,
    SecurityScan,
    StatisticalAnalysis,
    parse_advanced_testing,
    parse_analysis,
    parse_bandit,
    parse_differential,
    parse_shadow,
    parse_smoke,
    parse_timings,
)

_FILE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")
EVIDENCE_FILES = (
    ANALYSIS_FILE,
    ADVANCED_FILE,
    DIFFERENTIAL_FILE,
    SHADOW_FILE,
    SMOKE_FILE,
    TIMINGS_FILE,
    BANDIT_PROVENANCE_FILE,
    BANDIT_FILE,
)


def load_evidence(
    artifacts: Path,
    checkout_git_sha: str | None,
    trust: Trust | None = None,
    *,
    checkout_dirty: bool = False,
) -> Evidence:
    """Read the evidence and its chain from ``artifacts`` and parse them."""
    return evidence_from_files(
        read_chain(artifacts),
        checkout_git_sha,
        location=artifacts,
        trust=trust,
        uncommitted_checkout=uncommitted_checkout(checkout_git_sha, checkout_dirty),
    )


def read_chain(artifacts: Path) -> dict[str, bytes]:
    """The bytes of every evidence file and chain file present, by file name: the only
    file access of the gates, so that everything judged was read once."""
    if not artifacts.is_dir():
        raise EvidenceError(f"{artifacts}: artifacts directory not found")
    files = _read_present(artifacts, EVIDENCE_FILES)
    if ANALYSIS_FILE in files:
        analysis = _provenance_of(files[ANALYSIS_FILE], artifacts / ANALYSIS_FILE)
        benchmarks = _read_present(artifacts, benchmark_files(analysis))
        files |= benchmarks
        files |= _read_present(artifacts, (QUALITY_FILE,))
        streams = [
            stream
            for name, payload in benchmarks.items()
            for stream in _provenance_of(payload, artifacts / name, BENCHMARK_KIND).inputs
        ]
        files |= _read_present(artifacts, streams)
    return files


def uncommitted_checkout(checkout_git_sha: str | None, dirty: bool) -> str | None:
    """Why the checkout doing the judging names no clean commit, or None if it does."""
    if checkout_git_sha is None:
        return "the gates run outside a git checkout: no commit to hold the evidence to"
    if dirty:
        return "the checkout judging the evidence has uncommitted changes"
    return None


def _read_present(artifacts: Path, names: list[str] | tuple[str, ...]) -> dict[str, bytes]:
    files = {}
    for name in names:
        if not _FILE_NAME.fullmatch(name):  # a recorded input is a file name, never a path
            raise EvidenceError(f"{artifacts}: {name[:80]!r} is not an artifact's file name")
        path = artifacts / name
        try:
            os.lstat(path)
        except FileNotFoundError:
            continue
        except OSError as exc:
            raise EvidenceError(f"{path}: cannot read: {exc.strerror}") from None
        files[name] = read_input(path)
    return files


def _provenance_of(raw: bytes, path: Path, kind: str | None = None) -> Provenance:
    fields = parse_document(raw, str(path), kind or KINDS[path.name])
    return parse_provenance(fields)


def evidence_from_files(
    files: Mapping[str, bytes],
    checkout_git_sha: str | None,
    location: Path | None = None,
    trust: Trust | None = None,
    uncommitted_checkout: str | None = None,
) -> Evidence:
    """Parse the artifacts' bytes, keyed by file name; a name not in ``files`` is Absent."""

    def document(name: str) -> Fields | None:
        where = str(location / name) if location is not None else name
        return parse_document(files[name], where, KINDS[name]) if name in files else None

    analysis = document(ANALYSIS_FILE)
    advanced = document(ADVANCED_FILE)
    differential = document(DIFFERENTIAL_FILE)
    shadow = document(SHADOW_FILE)
    smoke = document(SMOKE_FILE)
    timings = document(TIMINGS_FILE)
    sidecar = document(BANDIT_PROVENANCE_FILE)
    parsed_analysis = None if analysis is None else parse_analysis(analysis)
    parsed_advanced = None if advanced is None else parse_advanced_testing(advanced)
    parsed_differential = None if differential is None else parse_differential(differential)
    parsed_shadow = None if shadow is None else parse_shadow(shadow)
    parsed_smoke = None if smoke is None else parse_smoke(smoke)
    parsed_timings = None if timings is None else parse_timings(timings)
    security = None if BANDIT_FILE not in files else _bandit(files[BANDIT_FILE], sidecar, location)
    stamped = {
        ANALYSIS_FILE: parsed_analysis,
        ADVANCED_FILE: parsed_advanced,
        DIFFERENTIAL_FILE: parsed_differential,
        SHADOW_FILE: parsed_shadow,
        SMOKE_FILE: parsed_smoke,
        TIMINGS_FILE: parsed_timings,
        BANDIT_PROVENANCE_FILE: security,
    }
    provenances = {
        name: document.provenance
        for name, document in stamped.items()
        if document is not None and document.provenance is not None
    }
    custody = assess_custody(
        provenances,
        _expected_benchmarks(parsed_analysis),
        files,
        trust or Trust(),
        uncommitted_checkout,
    )
    return Evidence(
        analysis=parsed_analysis or Absent(ANALYSIS_FILE),
        advanced_testing=parsed_advanced or Absent(ADVANCED_FILE),
        differential=parsed_differential or Absent(DIFFERENTIAL_FILE),
        shadow=parsed_shadow or Absent(SHADOW_FILE),
        security=security or Absent(BANDIT_FILE),
        smoke=parsed_smoke or Absent(SMOKE_FILE),
        timings=parsed_timings,
        checkout_git_sha=checkout_git_sha,
        custody=custody,
    )


def _expected_benchmarks(analysis: StatisticalAnalysis | None) -> list[str]:
    """The benchmark artifact of every run the analysis reports trials for."""
    if analysis is None:
        return []
    return [
        benchmark_file(name, is_baseline=run.intent == "baseline")
        for name, run in analysis.variants.items()
        if run.n_trials > 0
    ]


def _bandit(raw: bytes, sidecar: Fields | None, location: Path | None) -> SecurityScan:
    where = str(location / BANDIT_FILE) if location is not None else BANDIT_FILE
    report = parse_object(raw, where)
    return parse_bandit(report, sidecar, sha256_bytes(raw), BANDIT_PROVENANCE_FILE)
