"""The last tree's analysis, kept for the next query on the same tree (V4, in-process).

A query-aware pack spends most of its time on what does not depend on the query: reading,
parsing, chunking and counting the tokens of every chunk. A process that asks several
questions about one tree (a library user, an editor, the benchmark worker) keeps that
work here and recomputes only what the query changes (the query's term counts, BM25,
PageRank, the ladder). The key is every scanned file's path and stat signature (size,
mtime, ctime, inode, device), so any change to the tree is a miss; the texts are the
ones read and checked on the first pack.

Only hybrid packs use it: a query-agnostic pack is the same text for every query. What the
texts are kept as is the store's choice, so the arm's promises hold between packs as within
one: the baseline's store keeps decoded texts, V3 with compression keeps its compressed
bytes, and V3 without it keeps none (each text is read again and checked against its key).
With V1 on, a recalled tree stands for its disk cache, which the first pack brought up to
date; the manifest counts every file as a cache hit.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from packrepo.analysis import ChunkTerms, every_chunk_term
from packrepo.pipeline import AnalysedTree, CompressedStore, FileRecord, MemoryStore, TextStore
from packrepo.runners import AnalysisRequest
from packrepo.scan import ScannedFile
from packrepo.text import DecodedText

# Text kept between packs, at most (characters, or compressed bytes): about 16M tokens.
MAX_KEPT_CHARS = 80_000_000

TreeKey = tuple[object, ...]


@dataclass(frozen=True)
class _Kept:
    key: TreeKey
    tree: AnalysedTree
    store: TextStore
    # What packs of this tree learnt: the writer's counts and secret findings, the import
    # graph, the heuristics and each query's hybrid scores (packrepo/packer.py).
    known: dict[tuple[object, ...], object]
    # Per file, every term's count in each chunk, and each chunk's length: built on the
    # first query that needs the file, then each query only looks its terms up.
    terms: dict[str, tuple[tuple[dict[str, int], ...], tuple[int, ...]]] = field(
        default_factory=dict
    )
    # The records of the last query asked, with its term counts: the same question at
    # another budget looks nothing up again.
    asked: dict[frozenset[str], list[FileRecord]] = field(default_factory=dict)


_last: _Kept | None = None


def tree_key(
    root: str,
    files: tuple[ScannedFile, ...],
    request: AnalysisRequest,
    max_file_bytes: int,
    arm: tuple[object, ...],
) -> TreeKey:
    """``arm``: what decides the store and the V1 cache (memory optimisation, compression,
    the cache's directory), so a pack only recalls a tree kept the way its own flags keep
    it, and a V1 pack only one whose analysis its cache already holds."""
    signatures = tuple((file.path, file.signature) for file in files)
    return (root, request.encoding, request.detailed, max_file_bytes, arm, signatures)


def recall(
    key: TreeKey, request: AnalysisRequest
) -> tuple[AnalysedTree, TextStore, dict[tuple[object, ...], object]] | None:
    """The kept tree with this query's term counts, its store, and what the writer learnt
    about its blocks; or None."""
    if _last is None or _last.key != key:
        return None
    asked = request.keep_terms if request.with_terms else frozenset()
    records = _last.asked.get(asked)
    if records is None:
        records = [
            FileRecord(record.path, record.analysis, _terms(request, record, _last))
            for record in _last.tree.records
        ]
        _last.asked.clear()
        _last.asked[asked] = records
    tree = AnalysedTree(list(records), _last.tree.skipped.copy(), _last.tree.replaced)
    return tree, _last.store, _last.known


def remember(
    key: TreeKey, tree: AnalysedTree, store: TextStore, known: dict[tuple[object, ...], object]
) -> None:
    global _last
    if _held(store) > MAX_KEPT_CHARS:
        _last = None
        return
    plain = [FileRecord(record.path, record.analysis, None) for record in tree.records]
    _last = _Kept(key, AnalysedTree(plain, tree.skipped.copy(), tree.replaced), store, known)


def _held(store: TextStore) -> int:
    if isinstance(store, MemoryStore):
        return sum(map(len, store.texts.values()))
    if isinstance(store, CompressedStore):
        return sum(map(len, store.blobs.values()))
    return 0


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
        decoded = DecodedText(kept.store.text(record.path), analysis.line_count, analysis.replaced)
        kept.terms[record.path] = every_chunk_term(decoded, analysis)
    counts, lengths = kept.terms[record.path]
    keep = request.keep_terms
    return ChunkTerms(
        counts=tuple({t: n for t, n in chunk.items() if t in keep} for chunk in counts)
        if len(keep) > 8
        else tuple({t: chunk[t] for t in keep if t in chunk} for chunk in counts),
        lengths=lengths,
    )
