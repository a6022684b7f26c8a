"""Extractive summaries."""

from __future__ import annotations

from wordsmith.frequency import counts
from wordsmith.splitting import sentences, words
from wordsmith.stemming import stem


def score_sentence(sentence: str, weights: dict[str, int]) -> float:
    """Rate one sentence by averaging the document-wide weights of the roots it contains."""
    roots = [stem(w) for w in words(sentence)]
    if not roots:
        return 0.0
    return sum(weights.get(r, 0) for r in roots) / len(roots)


def summarise(text: str, keep: int = 2) -> str:
    """Choose the highest rated sentences and return them in their original reading order."""
    weights = dict(counts(text))
    ranked = sorted(
        enumerate(sentences(text)),
        key=lambda pair: (-score_sentence(pair[1], weights), pair[0]),
    )
    chosen = sorted(ranked[:keep])
    return " ".join(sentence for _, sentence in chosen)
