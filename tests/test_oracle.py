"""The QA oracle: question construction, prepared trees and scoring on hand-made packs."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from benchmarks.oracle import (
    QUESTION_POOL,
    GoldSpan,
    OracleError,
    _Candidate,
    ensure_question_set,
    first_sentence,
    make_question,
    name_parts,
    normalise,
    question_capacity,
    score_evidence,
    strip_docstrings,
    tree_digest,
)

DATA = Path(__file__).parent / "data"
SHELF = DATA / "corpus" / "shelf"
WORDSMITH = DATA / "corpus" / "wordsmith"

# A gold file of 8 lines; the gold span is lines 3..6.
FILE_LINES = [
    "import os",
    "",
    "def target(x):",
    "    y = x + 1",
    "    return y",
    "",
    "def other():",
    "    pass",
]
GOLD = GoldSpan("pkg/mod.py", 3, 6)


def _item(path: str, start: int, end: int) -> dict[str, object]:
    return {"path": path, "start_line": start, "end_line": end, "mode": "chunk"}


def _text(*ranges: tuple[int, int]) -> str:
    """A pack text holding the given line ranges of the gold file verbatim, with headers."""
    blocks = [
        f"## pkg/mod.py {a}-{b}\n" + "\n".join(FILE_LINES[a - 1 : b]) + "\n" for a, b in ranges
    ]
    return "\n".join(blocks)


# ---------------------------------------------------------------------------
# Scoring on hand-made packs
# ---------------------------------------------------------------------------


def test_whole_span_present_scores_one() -> None:
    score = score_evidence(GOLD, FILE_LINES, [_item("pkg/mod.py", 1, 8)], _text((1, 8)))
    assert score.score == 1.0
    assert (score.present_lines, score.gold_lines, score.unverified_lines) == (4, 4, 0)


def test_partial_overlap_scores_the_fraction_of_gold_lines() -> None:
    score = score_evidence(GOLD, FILE_LINES, [_item("pkg/mod.py", 1, 4)], _text((1, 4)))
    assert score.score == pytest.approx(2 / 4)


def test_other_files_and_disjoint_ranges_score_zero() -> None:
    items = [_item("pkg/other.py", 3, 6), _item("pkg/mod.py", 7, 8)]
    assert score_evidence(GOLD, FILE_LINES, items, _text((7, 8))).score == 0.0


def test_overlapping_items_are_not_counted_twice() -> None:
    items = [_item("pkg/mod.py", 3, 5), _item("pkg/mod.py", 4, 6)]
    score = score_evidence(GOLD, FILE_LINES, items, _text((3, 5), (4, 6)))
    assert score.score == 1.0
    assert score.present_lines == 4


def test_claims_the_text_does_not_hold_do_not_count() -> None:
    # The manifest claims lines 3..6 but the text holds only lines 3..4.
    score = score_evidence(GOLD, FILE_LINES, [_item("pkg/mod.py", 3, 6)], _text((3, 4)))
    assert score.score == 0.0
    assert score.unverified_lines == 4


def test_a_signature_only_item_counts_its_own_lines() -> None:
    item = {**_item("pkg/mod.py", 3, 3), "mode": "signature"}
    score = score_evidence(GOLD, FILE_LINES, [item], "def target(x):\n    ...\n")
    assert score.score == pytest.approx(1 / 4)


def test_a_malformed_manifest_item_is_an_error() -> None:
    with pytest.raises(OracleError, match=r"items\[0\]"):
        score_evidence(GOLD, FILE_LINES, [{"path": "pkg/mod.py"}], "")


@given(
    st.lists(st.tuples(st.integers(1, 8), st.integers(0, 4), st.booleans()), min_size=0, max_size=6)
)
def test_score_is_a_fraction_and_never_drops_when_items_are_added(
    spans: list[tuple[int, int, bool]],
) -> None:
    items, ranges = [], []
    previous = 0.0
    for start, length, in_text in spans:
        end = min(8, start + length)
        items.append(_item("pkg/mod.py", start, end))
        if in_text:
            ranges.append((start, end))
        score = score_evidence(GOLD, FILE_LINES, items, _text(*ranges)).score
        assert 0.0 <= score <= 1.0
        assert score >= previous
        previous = score


# ---------------------------------------------------------------------------
# Questions from docstrings
# ---------------------------------------------------------------------------


def test_first_sentence_takes_the_first_paragraph_up_to_a_full_stop() -> None:
    doc = "Load the thing from\nsomewhere far. Then more.\n\nDetails."
    assert first_sentence(doc) == "Load the thing from somewhere far."


def test_question_drops_the_target_name_its_parts_and_code() -> None:
    sentence = (
        "Send the :class:`Request` through parse_headers() using ``os.path`` and "
        "HTTPAdapter, then send retry budget values."
    )
    question = make_question(sentence, "Session.send_retry", frozenset({"Request", "parse"}))
    lowered = question.lower().split()
    for dropped in ("send", "retry", "request", "parse_headers()", "os.path", "httpadapter"):
        assert dropped not in lowered
    assert "budget" in lowered
    assert "values." in lowered


def test_lower_case_definition_names_stay_as_plain_words() -> None:
    assert make_question("Close the open file.", "Reader.flush", frozenset({"close"})) == (
        "Close the open file."
    )


def test_name_parts_split_snake_and_camel_case() -> None:
    assert {"httpadapter", "http", "adapter", "send_all", "send", "all"} <= name_parts(
        "HTTPAdapter.send_all"
    )


def _candidate(
    qualname: str, start: int, end: int, doc: tuple[int, int], *, only: bool
) -> _Candidate:
    return _Candidate(
        path="m.py",
        qualname=qualname,
        kind="function",
        start_line=start,
        end_line=end,
        doc_start=doc[0],
        doc_end=doc[1],
        doc_only_statement=only,
        text="",
        source_sentence="",
    )


def test_strip_docstrings_keeps_the_code_valid_and_moves_spans() -> None:
    source = "\n".join(
        [
            "@decorator",  # 1
            "def first():",  # 2
            '    """Only a docstring',  # 3
            '    on two lines."""',  # 4
            "",  # 5
            "def second(x):",  # 6
            '    """Doc."""',  # 7
            "    return x",  # 8
            "",
        ]
    )
    stripped, spans = strip_docstrings(
        source,
        [
            _candidate("first", 1, 4, (3, 4), only=True),
            _candidate("second", 6, 8, (7, 7), only=False),
        ],
    )
    ast.parse(stripped)
    lines = stripped.split("\n")
    assert lines[2] == "    ..."
    assert spans["first"] == GoldSpan("m.py", 1, 3)
    assert spans["second"] == GoldSpan("m.py", 5, 6)
    assert lines[4:6] == ["def second(x):", "    return x"]


# ---------------------------------------------------------------------------
# Question sets on the handmade corpus
# ---------------------------------------------------------------------------


def _question_set(root: Path, cache: Path, seed: int = 1337):  # type: ignore[no-untyped-def]
    return ensure_question_set(
        root, name=root.name, version="0.1", digest=tree_digest(root), seed=seed, cache=cache
    )


def test_questions_never_hold_their_target_name_nor_stand_in_the_prepared_tree(
    tmp_path: Path,
) -> None:
    for root in (SHELF, WORDSMITH):
        question_set = _question_set(root, tmp_path)
        assert len(question_set.questions) >= 3
        prepared = "\n".join(
            normalise(p.read_text(encoding="utf-8"))
            for p in question_set.tree.rglob("*")
            if p.is_file()
        )
        for question in question_set.questions:
            words = {w.strip(".,;:!?").lower() for w in question.text.split()}
            assert not words & name_parts(question.target), question
            assert normalise(question.text) not in prepared
            assert normalise(question.source_sentence) not in prepared
            assert "tests/" not in question.gold.path


def test_gold_spans_are_the_whole_definition_in_the_prepared_copy(tmp_path: Path) -> None:
    question_set = _question_set(SHELF, tmp_path)
    for question in question_set.questions:
        lines = question_set.gold_lines(question)
        span = lines[question.gold.start_line - 1 : question.gold.end_line]
        name = question.target.rsplit(".", 1)[-1]
        header = next(line for line in span if not line.lstrip().startswith("@"))
        assert header.lstrip().startswith((f"def {name}", f"class {name}")), span
        module = ast.parse("\n".join(lines))
        ends = {n.end_lineno for n in ast.walk(module) if getattr(n, "name", None) == name}
        assert question.gold.end_line in ends


def test_the_same_seed_gives_the_same_questions(tmp_path: Path) -> None:
    first = _question_set(WORDSMITH, tmp_path / "a")
    again = _question_set(WORDSMITH, tmp_path / "b")
    other = _question_set(WORDSMITH, tmp_path / "c", seed=7)
    assert first.questions == again.questions  # rebuilt from scratch in another cache
    assert [q.id for q in first.questions] != [q.id for q in other.questions]
    assert sorted(q.id for q in first.questions) == sorted(q.id for q in other.questions)


def test_the_prepared_tree_is_built_once_and_reused_while_it_matches_its_manifest(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = _question_set(SHELF, tmp_path)
    questions = first.tree.parent / "questions.json"
    built = questions.stat().st_mtime_ns
    assert _question_set(SHELF, tmp_path).tree == first.tree
    assert questions.stat().st_mtime_ns == built, "reused, not built again"
    # The prepared copy is what gets packed: a change to it is found and undone.
    (first.tree / "marker.txt").write_text("planted")
    again = _question_set(SHELF, tmp_path)
    assert again.tree == first.tree
    assert not (again.tree / "marker.txt").exists()
    assert again.questions == first.questions
    assert "differs from its manifest (1 added (marker.txt))" in capsys.readouterr().err


def test_the_capacity_is_what_a_prepared_tree_would_draw_and_writes_nothing(
    tmp_path: Path,
) -> None:
    before = sorted(p for p in SHELF.rglob("*"))
    prepared = len(_question_set(SHELF, tmp_path).questions)  # the pool it draws today
    small, today, huge = question_capacity(SHELF, SHELF.name, 1337, [1, QUESTION_POOL, 10_000])
    assert (small, today) == (1, prepared)
    assert huge == today  # the handmade shelf has fewer eligible targets than any pool
    assert sorted(p for p in SHELF.rglob("*")) == before


def test_corpus_capacity_refuses_a_pool_of_nothing_in_one_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from benchmarks.cli import main

    for bad in ("0,4", "four", ""):
        assert main(["corpus", "--capacity", bad]) == 2
        err = capsys.readouterr().err
        assert err.startswith("benchmarks: error: argument --capacity: ")
        assert len(err.splitlines()) == 1
