"""The peers' reference lines: their dumps read, cut at a budget and scored like a pack."""

from __future__ import annotations

from pathlib import Path

from benchmarks.oracle import GoldSpan
from benchmarks.peers import Block, blocks, cut, score_dump

TREE = Path("/corpus/tree")
FILES = {"a.py": "def a():\n    return 1\n", "b.py": "x = 1\ny = 2\nz = 3\n"}


def gitingest_dump() -> str:
    parts = ["Directory structure:\n└── tree/\n\n"]
    for path, text in FILES.items():
        parts.append(f"{'=' * 48}\nFILE: {path}\n{'=' * 48}\n{text}\n\n")
    return "".join(parts)


def cxml_dump() -> str:
    parts = ["<documents>\n"]
    for index, (path, text) in enumerate(FILES.items(), start=1):
        parts.append(
            f'<document index="{index}">\n<source>{TREE}/{path}</source>\n<document_content>\n'
            f"{text}\n</document_content>\n</document>\n"
        )
    return "".join(parts) + "</documents>\n"


def test_both_formats_are_read_in_the_dumps_own_order() -> None:
    for name, dump in (("gitingest", gitingest_dump()), ("files-to-prompt", cxml_dump())):
        found = blocks(name, dump, TREE)
        assert [block.path for block in found] == ["a.py", "b.py"], name
        assert all(block.lines >= 2 for block in found)


def test_a_cut_keeps_whole_lines_only_and_fits_the_budget() -> None:
    dump = gitingest_dump()
    budget = dump.index("def a():\n") + len("def a():\n") + 3  # into a.py's second line
    part = cut(dump, budget, len)  # one "token" per character
    assert len(part) == budget
    assert dump.startswith(part)
    found = blocks("gitingest", part, TREE)
    assert found[-1] == Block("a.py", 1)  # "def a():" whole, the next line cut
    assert cut(dump, 10**6, len) == dump


def test_a_question_scores_the_gold_lines_the_cut_holds_verbatim() -> None:
    lines = {path: text.split("\n") for path, text in FILES.items()}
    questions = [("q1", GoldSpan("a.py", 1, 2)), ("q2", GoldSpan("b.py", 2, 3))]
    whole = score_dump("gitingest", gitingest_dump(), TREE, questions, lines.__getitem__)
    assert whole == [1.0, 1.0]
    dump = gitingest_dump()
    part = cut(dump, dump.index("def a():\n") + len("def a():\n") + 3, len)
    assert score_dump("gitingest", part, TREE, questions, lines.__getitem__) == [0.5, 0.0]
