"""Terms for lexical retrieval: identifiers split the way programmers write them.

``parse_budget`` gives ``parse_budget``, ``parse`` and ``budget``; ``TokenCounter`` gives
``tokencounter``, ``token`` and ``counter``; everything is lower-cased and a plain
plural loses its ``s``. Chunks and
queries go through the same function, so a question that says "token counter" finds
``TokenCounter``. Query terms additionally lose common English words.
"""

from __future__ import annotations

import functools
import re
from collections import Counter

_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_PART = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+")

STOPWORDS = frozenset(
    {
        "a", "an", "and", "are", "as", "at", "be", "by", "can", "do", "does", "did", "for",
        "from", "has", "have", "how", "i", "if", "in", "into", "is", "it", "its", "me", "my",
        "of", "on", "or", "should", "so", "that", "the", "their", "them", "then", "there",
        "these", "this", "to", "was", "we", "what", "when", "where", "which", "who", "why",
        "will", "with", "would", "you", "your", "use", "used", "using", "file", "files",
        "code", "function", "functions", "method", "methods", "class",
    }
)  # fmt: skip


@functools.lru_cache(maxsize=200_000)
def split_identifier(word: str) -> tuple[str, ...]:
    """The lower-cased identifier and its snake_case / CamelCase parts (length >= 2)."""
    parts = [part.lower() for piece in word.split("_") for part in _PART.findall(piece)]
    whole = word.strip("_").lower()
    terms = [whole] if len(whole) >= 2 else []
    if len(parts) > 1 or (parts and parts[0] != whole):
        terms.extend(part for part in parts if len(part) >= 2)
    return tuple(dict.fromkeys(_stem(term) for term in terms))


def _stem(term: str) -> str:
    """Fold a plain plural ('tokens' -> 'token'); crude, but applied to both sides."""
    if len(term) > 3 and term.endswith("s") and not term.endswith("ss"):
        return term[:-1]
    return term


def query_term_counts(texts: list[str], keep: frozenset[str]) -> list[tuple[dict[str, int], int]]:
    """For each text: how often each ``keep`` term occurs, and its length in characters.

    BM25's length normalisation needs only a consistent measure of length; characters
    cost nothing to count. A term of a word is always a substring of the lower-cased word
    (a part of it, or a part less its plural ``s``), so a text whose lower-cased form
    contains no query term has no hits and is never split into words.
    """
    present = [term for term in keep if any(term in text.lower() for text in texts)]
    results: list[tuple[dict[str, int], int]] = []
    for text in texts:
        counts: dict[str, int] = {}
        if present:
            lower = text.lower()
            if any(term in lower for term in present):
                for word, times in _counted_words(text):
                    for term in split_identifier(word):
                        if term in keep:
                            counts[term] = counts.get(term, 0) + times
        results.append((counts, len(text)))
    return results


def all_term_counts(text: str) -> dict[str, int]:
    """How often each term occurs in ``text``: :func:`query_term_counts` for every term."""
    counts: dict[str, int] = {}
    for word, times in _counted_words(text):
        for term in split_identifier(word):
            counts[term] = counts.get(term, 0) + times
    return counts


def _counted_words(text: str) -> list[tuple[str, int]]:
    words = _WORD.findall(text)
    return (
        [(word, words.count(word)) for word in set(words)]
        if len(words) < 64
        else list(Counter(words).items())
    )


def query_terms(query: str) -> tuple[str, ...]:
    """Distinct query terms in first-seen order, without stopwords."""
    seen: dict[str, None] = {}
    for word in _WORD.findall(query):
        for term in split_identifier(word):
            if term not in _STEMMED_STOPWORDS:
                seen.setdefault(term, None)
    return tuple(seen)


_STEMMED_STOPWORDS = STOPWORDS | {_stem(word) for word in STOPWORDS}
