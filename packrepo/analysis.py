"""Per-file analysis: a pure function from (path kind, bytes) to what ranking needs.

The result never holds the file's text, so it can be cached by content hash and shipped
between processes cheaply. Two levels exist because the baseline needs far less than the
hybrid ranker: ``detailed=False`` gives whole-file facts (token count, imports, entry
guard) without a full parse; ``detailed=True`` parses Python with ``ast`` and adds chunk
spans with their exact token counts and signatures.
Term statistics (for BM25) are computed separately, per chunk and only for the query's
terms, on every hybrid pack.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from packrepo.chunking import ChunkSpan, chunk_text, light_python_facts, python_facts, windows
from packrepo.terms import all_term_counts, query_term_counts
from packrepo.text import DecodedText, longest_backtick_run, split_lines
from packrepo.tokens import TokenCounter

# An import as ``packrepo.heuristics`` resolves it: level|module|name.
_IMPORT = re.compile(r"[0-9]+\|[^|]*\|[^|]*")

# Bump whenever analysis output changes for the same input: it is part of every cache key.
ANALYSER_VERSION = 4  # 4: lines end at "\n" only (split_lines)


@dataclass(frozen=True)
class Chunk:
    """A chunk's span, exact token count of its lines, and its signature's."""

    start: int
    end: int
    kind: str
    name: str
    tokens: int
    signature: tuple[int, int] | None = None
    signature_tokens: int = 0


@dataclass(frozen=True)
class FileAnalysis:
    """What is known about one file's content (independent of its path but for ``kind``)."""

    kind: str
    line_count: int
    tokens: int  # of the whole decoded text (detailed: the sum of its chunks' counts)
    backticks: int  # longest backtick run, for Markdown fences
    replaced: bool  # undecodable bytes became U+FFFD
    imports: tuple[str, ...] = ()
    has_main_guard: bool = False
    chunks: tuple[Chunk, ...] = ()  # only when detailed


@dataclass(frozen=True)
class ChunkTerms:
    """Term frequencies and length (in terms) of each chunk of a file, in chunk order."""

    counts: tuple[Mapping[str, int], ...]
    lengths: tuple[int, ...]


def analyse(
    kind: str, decoded: DecodedText, counter: TokenCounter, *, detailed: bool
) -> FileAnalysis:
    text = decoded.text
    lines = split_lines(text)
    facts = None
    if kind == "python":
        facts = python_facts(text, lines) if detailed else light_python_facts(lines)
    chunks: tuple[Chunk, ...] = ()
    if detailed:
        spans = facts.chunks if facts is not None else _text_chunks(kind, lines)
        chunks = tuple(_measure(span, lines, counter) for span in spans)
    # Chunks partition the file at line starts, where BPE rarely merges across, so their
    # sum is within a few tokens of the whole: counting the file again would double the
    # tokenizer's work for an estimate the exact count of the rendered pack settles anyway.
    tokens = sum(chunk.tokens for chunk in chunks) if detailed else counter.count(text)
    return FileAnalysis(
        kind=kind,
        line_count=len(lines),
        tokens=tokens,
        backticks=longest_backtick_run(text),
        replaced=decoded.replaced,
        imports=facts.imports if facts is not None else (),
        has_main_guard=facts.has_main_guard if facts is not None else False,
        chunks=chunks,
    )


def chunk_terms(decoded: DecodedText, analysis: FileAnalysis, keep: frozenset[str]) -> ChunkTerms:
    """Frequencies of the ``keep`` terms (the query's) and the length of every chunk.

    Only the query's terms matter to BM25, so nothing else is kept; this is cheap enough
    to compute on every pack, which is why term statistics are not cached.
    """
    lines = split_lines(decoded.text)
    texts = ["".join(lines[chunk.start - 1 : chunk.end]) for chunk in analysis.chunks]
    found: list[tuple[dict[str, int], int]]
    if not any(term in decoded.text.lower() for term in keep):  # many files: no hit at all
        found = [({}, len(text)) for text in texts]
    else:
        found = query_term_counts(texts, keep)
    return ChunkTerms(
        counts=tuple(counts for counts, _ in found), lengths=tuple(length for _, length in found)
    )


def every_chunk_term(
    decoded: DecodedText, analysis: FileAnalysis
) -> tuple[tuple[dict[str, int], ...], tuple[int, ...]]:
    """Every term's count in each chunk, and each chunk's length in characters: what
    :func:`chunk_terms` gives for any query, before the query's terms are picked out."""
    lines = split_lines(decoded.text)
    texts = ["".join(lines[chunk.start - 1 : chunk.end]) for chunk in analysis.chunks]
    return tuple(all_term_counts(text) for text in texts), tuple(len(text) for text in texts)


def _text_chunks(kind: str, lines: list[str]) -> tuple[ChunkSpan, ...]:
    if kind == "python":  # did not parse
        return windows(lines, 1, len(lines), "window", "")
    return chunk_text(kind, lines)


def _measure(span: ChunkSpan, lines: list[str], counter: TokenCounter) -> Chunk:
    signature_tokens = 0
    if span.signature is not None:
        first, last = span.signature
        signature_tokens = counter.count("".join(lines[first - 1 : last]))
    return Chunk(
        start=span.start,
        end=span.end,
        kind=span.kind,
        name=span.name,
        tokens=counter.count("".join(lines[span.start - 1 : span.end])),
        signature=span.signature,
        signature_tokens=signature_tokens,
    )


# --- JSON form, for the persistent cache ------------------------------------------------


def analysis_to_json(analysis: FileAnalysis) -> dict[str, Any]:
    return {
        "kind": analysis.kind,
        "line_count": analysis.line_count,
        "tokens": analysis.tokens,
        "backticks": analysis.backticks,
        "replaced": analysis.replaced,
        "imports": list(analysis.imports),
        "has_main_guard": analysis.has_main_guard,
        "chunks": [
            [c.start, c.end, c.kind, c.name, c.tokens, list(c.signature or ()), c.signature_tokens]
            for c in analysis.chunks
        ],
    }


def analysis_from_json(document: Any) -> FileAnalysis:
    """Rebuild an analysis; raises ``ValueError``/``TypeError``/``KeyError`` if malformed."""
    chunks = tuple(_chunk_from_json(row) for row in document["chunks"])
    analysis = FileAnalysis(
        kind=_typed(document["kind"], str),
        line_count=_typed(document["line_count"], int),
        tokens=_typed(document["tokens"], int),
        backticks=_typed(document["backticks"], int),
        replaced=_typed(document["replaced"], bool),
        imports=tuple(_typed(name, str) for name in document["imports"]),
        has_main_guard=_typed(document["has_main_guard"], bool),
        chunks=chunks,
    )
    if analysis.line_count <= 0 or analysis.tokens < 0 or analysis.backticks < 0:
        raise ValueError("impossible analysis")
    if chunks and not _partitions(chunks, analysis.line_count):
        raise ValueError("chunks do not partition the file's lines")
    if not all(_IMPORT.fullmatch(name) for name in analysis.imports):
        raise ValueError("malformed import")
    return analysis


def describes(analysis: FileAnalysis, kind: str, decoded: DecodedText) -> bool:
    """True if a cached ``analysis`` fits this text in every fact that shapes the output:
    kind, line count, the longest backtick run (the Markdown fence) and replaced bytes."""
    return (
        analysis.kind == kind
        and analysis.line_count == decoded.line_count
        and analysis.backticks == longest_backtick_run(decoded.text)
        and analysis.replaced == decoded.replaced
    )


def _partitions(chunks: tuple[Chunk, ...], line_count: int) -> bool:
    """Chunks cover lines 1..line_count in order, each signature inside its chunk."""
    expected_start = 1
    for chunk in chunks:
        if chunk.start != expected_start or chunk.end < chunk.start or chunk.tokens < 0:
            return False
        if chunk.signature is not None and not (
            chunk.start <= chunk.signature[0] <= chunk.signature[1] <= chunk.end
        ):
            return False
        if chunk.signature_tokens < 0:
            return False
        expected_start = chunk.end + 1
    return expected_start == line_count + 1


def _chunk_from_json(row: Any) -> Chunk:
    start, end, kind, name, tokens, signature, signature_tokens = row
    span = tuple(_typed(n, int) for n in signature)
    if len(span) not in (0, 2):
        raise ValueError("bad signature span")
    return Chunk(
        start=_typed(start, int),
        end=_typed(end, int),
        kind=_typed(kind, str),
        name=_typed(name, str),
        tokens=_typed(tokens, int),
        signature=(span[0], span[1]) if span else None,
        signature_tokens=_typed(signature_tokens, int),
    )


def _typed(value: Any, expected: type[Any]) -> Any:
    # bool is an int subclass; an int field must not accept True and vice versa.
    if type(value) is not expected:
        raise TypeError(f"expected {expected.__name__}, got {type(value).__name__}")
    return value
