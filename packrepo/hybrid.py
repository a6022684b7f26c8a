"""Query-aware ranking for V4: BM25 over chunks mixed with personalised PageRank.

* BM25 (Robertson and Zaragoza 2009, "The Probabilistic Relevance Framework: BM25 and
  Beyond") scores every chunk of the tree against the query terms, with k1 = 1.2,
  b = 0.75 and the non-negative idf ``ln(1 + (N - df + 0.5) / (df + 0.5))``.
* PageRank (Page et al. 1999) runs on the import graph, personalised (Haveliwala 2002,
  "Topic-sensitive PageRank") to the files with BM25 hits, weighted by their lexical score;
  without hits the teleport follows the baseline heuristics. Importing a file passes rank
  to it, so the modules that relevant code relies on rise too.
* A file's hybrid score mixes the three signals, each scaled to [0, 1] by its maximum:
  ``0.6 lexical + 0.25 pagerank + 0.15 heuristic`` with a query that hits, else
  ``0.7 heuristic + 0.3 pagerank``. A file's lexical score is its best chunk's BM25 plus
  a tenth of its second best: one strongly matching function outweighs a long file's
  scattered mentions (a changelog would otherwise win every query).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

K1 = 1.2
B = 0.75
DAMPING = 0.85
PAGERANK_ITERATIONS = 50


@dataclass(frozen=True)
class ChunkStats:
    """Query-term frequencies and length (in characters) of one chunk."""

    counts: Mapping[str, int]
    length: int


@dataclass(frozen=True)
class HybridScores:
    file_scores: dict[str, float]  # hybrid score, scaled so the best file has 1.0
    chunk_scores: dict[str, tuple[float, ...]]  # BM25 per chunk, scaled so the best is 1.0
    query_hits: bool


def bm25(
    chunks: Mapping[str, Sequence[ChunkStats]], terms: Sequence[str]
) -> dict[str, tuple[float, ...]]:
    """BM25 of every chunk (files in sorted order, chunks in file order)."""
    all_stats = [stats for path in sorted(chunks) for stats in chunks[path]]
    total = len(all_stats)
    if not total or not terms:
        return {path: tuple(0.0 for _ in chunks[path]) for path in chunks}
    average_length = max(1.0, sum(stats.length for stats in all_stats) / total)
    idf = {}
    for term in terms:
        frequency = sum(1 for stats in all_stats if stats.counts.get(term))
        idf[term] = math.log(1 + (total - frequency + 0.5) / (frequency + 0.5))

    def score(stats: ChunkStats) -> float:
        norm = K1 * (1 - B + B * stats.length / average_length)
        value = 0.0
        for term in terms:
            tf = stats.counts.get(term, 0)
            if tf:
                value += idf[term] * tf * (K1 + 1) / (tf + norm)
        return value

    return {path: tuple(score(stats) for stats in chunks[path]) for path in sorted(chunks)}


def pagerank(
    graph: Mapping[str, Sequence[str]], personalization: Mapping[str, float]
) -> dict[str, float]:
    """Personalised PageRank by power iteration; dangling rank returns to the teleport."""
    nodes = sorted(graph)
    weight = sum(max(0.0, personalization.get(node, 0.0)) for node in nodes)
    if weight <= 0:
        teleport = {node: 1.0 / len(nodes) for node in nodes} if nodes else {}
    else:
        teleport = {node: max(0.0, personalization.get(node, 0.0)) / weight for node in nodes}
    rank = dict(teleport)
    for _ in range(PAGERANK_ITERATIONS):
        dangling = sum(rank[node] for node in nodes if not graph[node])
        following = {node: (1 - DAMPING + DAMPING * dangling) * teleport[node] for node in nodes}
        for node in nodes:
            targets = graph[node]
            if targets:
                share = DAMPING * rank[node] / len(targets)
                for target in targets:
                    following[target] += share
        change = sum(abs(following[node] - rank[node]) for node in nodes)
        rank = following
        if change < 1e-10:
            break
    return rank


def hybrid_scores(
    chunks: Mapping[str, Sequence[ChunkStats]],
    terms: Sequence[str],
    graph: Mapping[str, Sequence[str]],
    heuristic: Mapping[str, float],
) -> HybridScores:
    raw = bm25(chunks, terms)
    lexical = {path: _file_lexical(scores) for path, scores in raw.items()}
    hits = any(value > 0 for value in lexical.values())
    centrality = pagerank(graph, lexical if hits else heuristic)
    lexical_n, centrality_n, heuristic_n = (
        _scaled(lexical),
        _scaled(centrality),
        _scaled(heuristic),
    )
    if hits:
        mixed = {
            path: 0.6 * lexical_n.get(path, 0.0)
            + 0.25 * centrality_n.get(path, 0.0)
            + 0.15 * heuristic_n.get(path, 0.0)
            for path in graph
        }
    else:
        mixed = {
            path: 0.7 * heuristic_n.get(path, 0.0) + 0.3 * centrality_n.get(path, 0.0)
            for path in graph
        }
    best_chunk = max((value for scores in raw.values() for value in scores), default=0.0)
    chunk_scores = {
        path: tuple(value / best_chunk if best_chunk > 0 else 0.0 for value in scores)
        for path, scores in raw.items()
    }
    return HybridScores(file_scores=_scaled(mixed), chunk_scores=chunk_scores, query_hits=hits)


def _file_lexical(scores: Sequence[float]) -> float:
    ranked = sorted(scores, reverse=True)[:2]
    return ranked[0] + 0.1 * ranked[1] if len(ranked) == 2 else sum(ranked)


def _scaled(values: Mapping[str, float]) -> dict[str, float]:
    top = max(values.values(), default=0.0)
    return {key: (value / top if top > 0 else 0.0) for key, value in values.items()}
