"""The last tree's analysis, kept for the next query on the same tree (V4, in-process).

A query-aware pack spends most of its time on what does not depend on the query: reading,
parsing, chunking and counting the tokens of every chunk. A process that asks several
questions about one tree (a library user, an editor, the benchmark worker) keeps that
work here and recomputes only what the query changes (the query's term counts, BM25,
PageRank, the ladder). The key is every scanned file's path and stat signature (size,
mtime, ctime, inode, device), so any change to the tree is a miss; the texts are the
ones read and checked on the first pack.

Only hybrid packs that hold their texts use it: a query-agnostic pack is the same text for
every query, and V3 promises not to hold the tree's text.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from packrepo.analysis import ChunkTerms, every_chunk_term
from packrepo.pipeline import AnalysedTree, FileRecord, MemoryStore
from packrepo.runners import AnalysisRequest
from packrepo.scan import ScannedFile
from packrepo.text import DecodedText

# Texts kept between packs, at most: about 16M tokens of source.
MAX_KEPT_CHARS = 80_000_000

TreeKey = tuple[object, ...]


@dataclass(frozen=True)
class _Kept:
    key: TreeKey
    tree: AnalysedTree
    texts: dict[str, str]
    known: dict[tuple[object, ...], object]  # the writer's counts and secret findings
    # Per file, every term's count in each chunk, and each chunk's length: built on the
    # first query that needs the file, then each query only looks its terms up.
    terms: dict[str, tuple[tuple[dict[str, int], ...], tuple[int, ...]]] = field(
        default_factory=dict
    )


_last: _Kept | None = None


def tree_key(
    root: str, files: tuple[ScannedFile, ...], request: AnalysisRequest, max_file_bytes: int
) -> TreeKey:
    signatures = tuple((file.path, file.signature) for file in files)
    return (root, request.encoding, request.detailed, max_file_bytes, signatures)


def recall(
    key: TreeKey, request: AnalysisRequest, max_file_bytes: int
) -> tuple[AnalysedTree, MemoryStore, dict[tuple[object, ...], object]] | None:
    """The kept tree with this query's term counts, a store over its texts, and what the
    writer learnt about its blocks; or None."""
    if _last is None or _last.key != key:
        return None
    records = [
        FileRecord(record.path, record.analysis, _terms(request, record, _last))
        for record in _last.tree.records
    ]
    tree = AnalysedTree(records, _last.tree.skipped.copy(), _last.tree.replaced)
    return tree, MemoryStore(max_file_bytes, texts=_last.texts), _last.known


def remember(
    key: TreeKey, tree: AnalysedTree, store: MemoryStore, known: dict[tuple[object, ...], object]
) -> None:
    global _last
    if store.locations or sum(map(len, store.texts.values())) > MAX_KEPT_CHARS:
        _last = None  # some texts were not held (V1 hits) or too many are
        return
    plain = [FileRecord(record.path, record.analysis, None) for record in tree.records]
    _last = _Kept(key, AnalysedTree(plain, tree.skipped.copy(), tree.replaced), store.texts, known)


def forget() -> None:
    global _last
    _last = None


def _terms(request: AnalysisRequest, record: FileRecord, kept: _Kept) -> ChunkTerms | None:
    """The query's term counts per chunk, as :func:`packrepo.analysis.chunk_terms` gives
    them (a test holds the two equal), from the file's index of every term."""
    if not request.with_terms:
        return None
    if record.path not in kept.terms:
        analysis = record.analysis
        decoded = DecodedText(kept.texts[record.path], analysis.line_count, analysis.replaced)
        kept.terms[record.path] = every_chunk_term(decoded, analysis)
    counts, lengths = kept.terms[record.path]
    keep = request.keep_terms
    return ChunkTerms(
        counts=tuple({t: n for t, n in chunk.items() if t in keep} for chunk in counts)
        if len(keep) > 8
        else tuple({t: chunk[t] for t in keep if t in chunk} for chunk in counts),
        lengths=lengths,
    )
