"""The reused per-file term index gives exactly the counts chunk_terms gives for a query."""

from __future__ import annotations

from pathlib import Path

from packrepo.analysis import analyse, chunk_terms, every_chunk_term
from packrepo.text import decode
from packrepo.tokens import load_counter

CORPUS = Path(__file__).parent / "data" / "corpus"


def test_the_term_index_picks_out_what_chunk_terms_counts() -> None:
    counter = load_counter("cl100k_base")
    queries = [
        frozenset({"stock", "warehouse", "price"}),
        frozenset({"sku", "normalise", "item", "a", "b", "c", "d", "e", "f", "g"}),
        frozenset({"nothing", "here"}),
    ]
    checked = 0
    for path in sorted(CORPUS.rglob("*.py")):
        decoded = decode(path.read_bytes())
        analysis = analyse("python", decoded, counter, detailed=True)
        counts, lengths = every_chunk_term(decoded, analysis)
        for keep in queries:
            expected = chunk_terms(decoded, analysis, keep)
            assert lengths == expected.lengths
            picked = tuple({t: chunk[t] for t in keep if t in chunk} for chunk in counts)
            assert picked == expected.counts, (path, keep)
            checked += 1
    assert checked > 10
