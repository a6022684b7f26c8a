"""A deliberately crude suffix stripper."""

from __future__ import annotations

SUFFIXES = ("ingly", "edly", "ing", "ed", "ly", "es", "s")


def stem(word: str) -> str:
    """Strip the longest common English ending so related inflections share a root."""
    for suffix in SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


class StemCache:
    """Remembers earlier results so repeated lookups of frequent vocabulary stay cheap."""

    def __init__(self) -> None:
        self._known: dict[str, str] = {}

    def lookup(self, word: str) -> str:
        if word not in self._known:
            self._known[word] = stem(word)
        return self._known[word]

    def forget(self) -> None:
        """Drop every remembered result, releasing memory held by the internal mapping."""
        self._known.clear()
