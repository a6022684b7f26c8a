"""Counting words."""

from __future__ import annotations

from collections import Counter

from wordsmith.splitting import words
from wordsmith.stemming import stem

STOP = frozenset({"the", "a", "an", "of", "and", "to", "in", "is", "it"})


def counts(text: str) -> Counter[str]:
    """Tally how often each meaningful root appears, ignoring very common filler vocabulary."""
    return Counter(stem(w) for w in words(text) if w not in STOP)


def top_terms(text: str, limit: int = 5) -> list[str]:
    """Pick the most frequent roots, breaking ties alphabetically for reproducible output."""
    ranked = sorted(counts(text).items(), key=lambda pair: (-pair[1], pair[0]))
    return [term for term, _ in ranked[:limit]]
