"""Reading the evidence: malformed or unknown-schema documents are refused with their file named."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from contracts.documents import dumps, write_all_atomically
from contracts.errors import EvidenceError
from contracts.names import ANALYSIS_FILE, BANDIT_FILE, SHADOW_FILE, SMOKE_FILE
from gates import fixtures
from gates.evidence import Absent, StatisticalAnalysis
from gates.fixtures import find_row
from gates.load import evidence_from_files, load_evidence
from packrepo.registry import load_registry

REGISTRY = load_registry(Path(__file__).resolve().parents[1] / "pyproject.toml")
PASSING = fixtures.passing_documents(REGISTRY)
QUALITY = next(v.name for v in REGISTRY.candidates if v.intent == "quality")


def files_with(file: str, document: Any) -> dict[str, bytes]:
    files = fixtures.encode(copy.deepcopy(PASSING), REGISTRY.config_sha256)
    files[file] = document if isinstance(document, bytes) else dumps(document)
    return files


def analysis_with(**changes: Any) -> dict[str, Any]:
    document = copy.deepcopy(PASSING[ANALYSIS_FILE])
    document.update(changes)
    return document


def test_passing_documents_parse_completely() -> None:
    evidence = evidence_from_files(fixtures.encode(PASSING, REGISTRY.config_sha256), None)
    analysis = evidence.analysis
    assert isinstance(analysis, StatisticalAnalysis)
    assert set(analysis.variants) == set(REGISTRY.variants)
    pooled = analysis.comparison(QUALITY, "qa_per_100k")
    assert pooled is not None
    assert pooled.interval is not None
    assert pooled.power is not None
    assert pooled.cluster_interval is not None
    assert analysis.distributions[QUALITY]["120k"].latency_ms is not None
    assert evidence.timings is not None
    assert not any(
        isinstance(artifact, Absent)
        for artifact in (
            evidence.advanced_testing,
            evidence.differential,
            evidence.shadow,
            evidence.security,
            evidence.smoke,
        )
    )


BAD_DOCUMENTS = [
    (ANALYSIS_FILE, b"{not json", "not valid JSON"),
    (ANALYSIS_FILE, b"[1, 2]", "expected a JSON object"),
    (ANALYSIS_FILE, b'{"schema": 2, "x": NaN}', "contains NaN"),
    (ANALYSIS_FILE, b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
    (ANALYSIS_FILE, analysis_with(schema=1), "unknown schema 1"),
    (ANALYSIS_FILE, analysis_with(schema=True), "`schema` must be the integer 2, got True"),
    (ANALYSIS_FILE, analysis_with(schema=2.0), "`schema` must be the integer 2, got 2.0"),
    (ANALYSIS_FILE, analysis_with(schema=None), "`schema` must be the integer 2, got None"),
    (ANALYSIS_FILE, analysis_with(kind="fastpath-shadow"), "kind is 'fastpath-shadow'"),
    (ANALYSIS_FILE, analysis_with(seed="1337"), "`seed` must be an integer"),
    (ANALYSIS_FILE, analysis_with(seed=True), "`seed` must be an integer, got a boolean"),
    (ANALYSIS_FILE, analysis_with(provenance={"git_sha": "x"}), "`inputs` is missing"),
    (ANALYSIS_FILE, analysis_with(environment={"stable": "yes"}), "`stable` must be true or false"),
    (ANALYSIS_FILE, analysis_with(comparisons={}), "`comparisons` must be a list"),
    (SMOKE_FILE, {**PASSING[SMOKE_FILE], "failed": 1.5}, "`failed` must be an integer"),
    (SHADOW_FILE, {**PASSING[SHADOW_FILE], "schema": 0}, "unknown schema 0"),
    (BANDIT_FILE, b"{", "not valid JSON"),
    (BANDIT_FILE, {"results": [{"issue_severity": "HIGH"}]}, "`test_id` is missing"),
]


@pytest.mark.parametrize(("file", "document", "problem"), BAD_DOCUMENTS)
def test_malformed_documents_are_refused_naming_the_file(
    file: str, document: Any, problem: str
) -> None:
    with pytest.raises(EvidenceError, match="^" + file.replace(".", r"\.")) as caught:
        evidence_from_files(files_with(file, document), None)
    assert problem in str(caught.value)


def _row_changes() -> list[tuple[dict[str, Any], str]]:
    return [
        ({"ci_low": None}, "must both be numbers or both be null"),
        ({"ci_low": 0.5, "ci_high": 0.1}, "is above `ci_high`"),
        ({"family_size": None}, "`family_size` must be an integer"),
        ({"interval_method": 3}, "`interval_method` must be a string"),
        ({"power": {"achieved": 0.9}}, "`target_effect` is missing"),
        ({"relative_change": "12%"}, "`relative_change` must be a number"),
    ]


@pytest.mark.parametrize(("changes", "problem"), _row_changes())
def test_malformed_comparison_rows_are_refused(changes: dict[str, Any], problem: str) -> None:
    document = copy.deepcopy(PASSING[ANALYSIS_FILE])
    find_row(document, QUALITY, "qa_per_100k").update(changes)
    with pytest.raises(EvidenceError, match=r"comparisons\[\d+\]") as caught:
        evidence_from_files(files_with(ANALYSIS_FILE, document), None)
    assert problem in str(caught.value)


def test_a_comparison_key_left_out_is_refused_not_guessed() -> None:
    document = copy.deepcopy(PASSING[ANALYSIS_FILE])
    del find_row(document, QUALITY, "qa_per_100k")["p_value_adjusted"]
    with pytest.raises(EvidenceError, match="`p_value_adjusted` is missing"):
        evidence_from_files(files_with(ANALYSIS_FILE, document), None)


def test_duplicate_comparisons_are_ambiguous() -> None:
    document = copy.deepcopy(PASSING[ANALYSIS_FILE])
    document["comparisons"].append(copy.deepcopy(find_row(document, QUALITY, "qa_per_100k")))
    with pytest.raises(EvidenceError, match=f"two comparisons for {QUALITY}/qa_per_100k/pooled"):
        evidence_from_files(files_with(ANALYSIS_FILE, document), None)


def test_unknown_keys_are_ignored_within_a_schema() -> None:
    document = analysis_with(producer_notes={"anything": [1, 2]})
    evidence = evidence_from_files(files_with(ANALYSIS_FILE, document), None)
    assert isinstance(evidence.analysis, StatisticalAnalysis)


def test_distributions_are_optional() -> None:
    document = copy.deepcopy(PASSING[ANALYSIS_FILE])
    del document["distributions"]
    analysis = evidence_from_files(files_with(ANALYSIS_FILE, document), None).analysis
    assert isinstance(analysis, StatisticalAnalysis)
    assert analysis.distributions == {}


@pytest.mark.parametrize("literal", [b"1e999", b"NaN", b"Infinity"])
def test_non_finite_numbers_are_refused(literal: bytes) -> None:
    raw = dumps(PASSING[ANALYSIS_FILE]).replace(b'"seed": 1337', b'"seed": ' + literal)
    with pytest.raises(EvidenceError, match=r"NaN|Infinity|too large to be finite"):
        evidence_from_files(files_with(ANALYSIS_FILE, raw), None)


def test_load_evidence_reads_a_directory_and_marks_missing_files(tmp_path: Path) -> None:
    files = fixtures.encode(PASSING, REGISTRY.config_sha256)
    del files[SMOKE_FILE]
    write_all_atomically({tmp_path / name: payload for name, payload in files.items()})
    evidence = load_evidence(tmp_path, checkout_git_sha=None)
    assert evidence.smoke == Absent(SMOKE_FILE)
    assert isinstance(evidence.analysis, StatisticalAnalysis)


def test_load_evidence_names_the_path_of_a_bad_file(tmp_path: Path) -> None:
    (tmp_path / ANALYSIS_FILE).write_bytes(b"{")
    with pytest.raises(EvidenceError, match=str(tmp_path / ANALYSIS_FILE)):
        load_evidence(tmp_path, None)


def test_load_evidence_refuses_a_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(EvidenceError, match="artifacts directory not found"):
        load_evidence(tmp_path / "nope", None)


def test_atomic_writes_leave_no_temporary_files(tmp_path: Path) -> None:
    write_all_atomically({tmp_path / "a.json": b"1\n", tmp_path / "b.json": b"2\n"})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json", "b.json"]
    with pytest.raises(FileNotFoundError):
        write_all_atomically({tmp_path / "c.json": b"3", tmp_path / "missing" / "d.json": b"4"})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json", "b.json"]
