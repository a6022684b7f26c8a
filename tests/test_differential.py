"""R3 differential testing: cases, comparisons, golden files, and the handmade corpus's
committed whole golden packs compared byte for byte."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from benchmarks import differential, shadow
from benchmarks.differential import (
    Case,
    Golden,
    GoldenError,
    PackRecord,
    compare,
    group_items,
    load_golden,
    parse_golden,
    plan_cases,
    ungroup_items,
    write_golden,
)
from benchmarks.shadow import PreparedRepository
from contracts.names import DIFFERENTIAL_FILE
from gates.load import evidence_from_files
from packrepo import Flags, pack

REPOSITORY = Path(__file__).resolve().parent.parent
TINY_CORPUS = REPOSITORY / "tests" / "data" / "corpus.json"


def _repository(name: str, questions: int) -> PreparedRepository:
    return PreparedRepository(
        name=name,
        tree=Path(f"/t/{name}"),
        questions=tuple(f"question {i}?" for i in range(questions)),
        question_ids=tuple(f"{name}.py::f{i}" for i in range(questions)),
    )


def test_cases_are_repository_budget_question_in_that_order() -> None:
    cases = plan_cases([_repository("a", 3), _repository("b", 1)], [200, 50], questions=2)
    assert [case.key for case in cases] == [
        "a|50|a.py::f0", "a|50|a.py::f1", "a|200|a.py::f0", "a|200|a.py::f1",
        "b|50|b.py::f0", "b|200|b.py::f0",
    ]  # fmt: skip
    assert cases[0] == Case("a", "/t/a", 50, "a.py::f0", "question 0?")
    assert Case("a", "/t", 5, None, None).key == "a|5|-"


_ITEMS = st.lists(
    st.builds(
        lambda path, start, length, mode: f"{path}:{start}-{start + length} {mode}",
        st.sampled_from(["a.py", "d/b.md", "c:colon.txt", "sp ace.rs"]),
        st.integers(1, 500),
        st.integers(0, 80),
        st.sampled_from(["full", "chunk", "signature"]),
    ),
    unique=True,
)


@given(items=_ITEMS)
def test_grouped_items_are_the_items_again(items: list[str]) -> None:
    ordered = sorted(items, key=lambda item: item.rpartition(":")[0])
    assert ungroup_items(group_items(ordered), "golden") == tuple(ordered)


def test_a_bad_span_letter_is_refused() -> None:
    with pytest.raises(GoldenError, match=r"golden.items\['a.py'\]: bad span '1-2x'"):
        ungroup_items({"a.py": "1-2x"}, "golden")


def _record(sha: str, *items: str) -> PackRecord:
    return PackRecord(sha256=sha, tokens=10, items=items)


def test_compare_counts_mismatches_and_names_the_items_that_changed() -> None:
    cases = [Case("r", "/t", b, "q", "?") for b in (50, 100, 200)]
    keys = [case.key for case in cases]
    got = {
        keys[0]: _record("same", "a.py:1-9 full"),
        keys[1]: _record("new", "a.py:1-9 full", "b.py:3-4 chunk"),
        keys[2]: PackRecord(None, None, (), "ValueError: broke"),
    }
    reference = {
        keys[0]: _record("same", "a.py:1-9 full"),
        keys[1]: _record("old", "a.py:1-9 full", "c.py:1-2 signature"),
        keys[2]: PackRecord(None, None, (), "ValueError: broke"),
    }
    result = compare(cases, got, reference, "golden")
    assert (result.compared, result.mismatches, result.errors) == (3, 1, 1)
    assert result.clean is False
    (detail,) = result.details
    assert detail["case"] == keys[1]
    assert detail["items_added"] == ["b.py:3-4 chunk"]
    assert detail["items_removed"] == ["c.py:1-2 signature"]
    assert (detail["sha256"], detail["expected_sha256"]) == ("new", "old")
    entry = result.to_json()
    assert entry["reference"] == "golden"
    assert {"clean", "mismatches", "compared", "details"} <= set(entry)


def test_a_case_without_golden_pack_or_with_another_outcome_is_a_mismatch() -> None:
    case = Case("r", "/t", 50, "q", "?")
    result = compare([case], {case.key: _record("x")}, {}, "golden")
    assert result.mismatches == 1
    assert "--refresh-golden" in result.details[0]["problem"]
    failed = PackRecord(None, None, (), "OSError: gone")
    result = compare([case], {case.key: failed}, {case.key: _record("x")}, "baseline")
    assert result.details[0]["problem"] == "outcome OSError: gone vs packed"
    assert compare([], {}, {}, "baseline").clean is False  # nothing compared


def test_golden_files_round_trip_and_refuse_other_versions(tmp_path: Path) -> None:
    golden = Golden(
        cases=("r|50|q",),
        variants={
            "V4": {
                "r|50|q": _record("abc", "a.py:1-9 full", "b.py:2-3 chunk", "b.py:7-7 signature")
            },
            "V5": {"r|50|q": PackRecord(None, None, (), "Boom: x")},
        },
        source={"git_sha": "0" * 40},
    )
    path = tmp_path / "golden.json"
    write_golden(path, golden)
    assert load_golden(path) == golden
    document = json.loads(path.read_text())
    assert document["variants"]["V4"]["r|50|q"]["items"] == {
        "a.py": "1-9f",
        "b.py": "2-3c,7-7s",
    }
    for broken, message in [
        ({**document, "schema": 2}, "schema 2, expected 1"),
        ({**document, "kind": "other"}, "not a golden file"),
        ({**document, "cases": [1]}, "cases must be a list of strings"),
        ({**document, "variants": {"V4": {"c": {"sha256": 1}}}}, "needs `sha256`"),
        ({**document, "variants": {"V4": {"c": {"error": 3}}}}, "error must be a string"),
        ({**document, "variants": {"V4": {"c": []}}}, "must be an object"),
    ]:
        with pytest.raises(GoldenError, match=message):
            parse_golden(broken, "golden.json")
    with pytest.raises(GoldenError, match=r"golden packs .*: cannot read"):
        load_golden(tmp_path / "missing.json")
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(GoldenError, match=r"golden packs .*: not valid JSON"):
        load_golden(tmp_path / "bad.json")


def test_the_committed_corpus_golden_file_is_readable() -> None:
    golden = load_golden(differential.DEFAULT_GOLDEN)
    assert golden.cases
    assert set(golden.variants) == {"V4", "V5"}
    for records in golden.variants.values():
        assert set(records) == set(golden.cases)


# --- the handmade corpus: real packs ---------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_setting(tmp_path_factory: pytest.TempPathFactory) -> shadow.Setting:
    return shadow.load_setting(
        REPOSITORY / "pyproject.toml",
        corpus=TINY_CORPUS,
        profile="standard",
        cache=tmp_path_factory.mktemp("corpus-cache"),
        variants=None,
        seed=None,
    )


def test_quality_variants_reproduce_the_committed_whole_golden_packs(
    tiny_setting: shadow.Setting, tmp_path: Path
) -> None:
    """Refresh with ``python -m benchmarks.differential --refresh-golden`` after review."""
    problems = differential.tiny_differences(tiny_setting, differential.TINY_GOLDEN, tmp_path)
    assert problems == []
    written = sorted(differential.TINY_GOLDEN.rglob("*.md"))
    assert len(written) == 2 * len(differential.tiny_cases(tiny_setting.repositories))


def test_performance_variants_are_byte_identical_on_the_handmade_corpus(
    tiny_setting: shadow.Setting, tmp_path: Path
) -> None:
    for case in differential.tiny_cases(tiny_setting.repositories):
        baseline = pack(case.tree, case.budget, case.query, flags=Flags())
        for name in sorted(tiny_setting.must_match):
            environ = {**tiny_setting.candidates[name].flags, "FASTPATH_CACHE_DIR": str(tmp_path)}
            variant = pack(case.tree, case.budget, case.query, flags=Flags.from_environ(environ))
            assert variant.text == baseline.text, (name, case.key)


def test_the_cli_refreshes_and_then_finds_no_difference(
    tiny_setting: shadow.Setting, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    common = ["--corpus", str(TINY_CORPUS), "--cache-dir", str(tmp_path / "cache")]
    golden, tiny = tmp_path / "golden.json", tmp_path / "tiny"
    paths = ["--golden", str(golden), "--tiny-golden", str(tiny)]
    assert differential.main(["--refresh-golden", *paths, *common]) == 0
    assert "wrote" in capsys.readouterr().out
    output = tmp_path / "differential.json"
    assert differential.main(["--output", str(output), *paths, *common]) == 0
    document = json.loads(output.read_text())
    parsed = evidence_from_files({DIFFERENTIAL_FILE: output.read_bytes()}, None).differential
    assert set(parsed.variants) == {"V1", "V2", "V3", "V4", "V5"}  # type: ignore[union-attr]
    assert all(entry["clean"] for entry in document["variants"].values())
    assert document["variants"]["V1"]["reference"] == "baseline"
    assert document["variants"]["V4"]["reference"] == "golden"
    # A golden pack that no longer matches is reported, with the items that changed.
    stale = load_golden(golden)
    first = stale.cases[0]
    stale.variants["V4"][first] = _record("0" * 64, "gone.py:1-2 full")
    write_golden(golden, stale)
    assert differential.main(["--output", str(output), *paths, *common]) == 1
    detail = json.loads(output.read_text())["variants"]["V4"]["details"][0]
    assert detail["case"] == first
    assert detail["items_removed"] == ["gone.py:1-2 full"]


def test_the_cli_refuses_a_missing_golden_file(capsys: pytest.CaptureFixture[str]) -> None:
    code = differential.main(["--golden", "/nonexistent/golden.json", "--corpus", str(TINY_CORPUS)])
    assert code == 2
    assert capsys.readouterr().err.startswith(
        "benchmarks.differential: error: golden packs /nonexistent/golden.json: cannot read"
    )
