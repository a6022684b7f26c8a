"""Breaking text apart."""

from __future__ import annotations

import re

_WORD = re.compile(r"[A-Za-z']+")


def words(text: str) -> list[str]:
    """Break running prose into lowercase alphabetic tokens, discarding digits and punctuation."""
    return [match.group(0).lower() for match in _WORD.finditer(text)]


def sentences(text: str) -> list[str]:
    """Cut a paragraph wherever a full stop, question mark or exclamation mark ends a thought."""
    parts = re.split(r"(?<=[.!?])\s+", text.strip())
    return [part for part in parts if part]


def paragraphs(text: str) -> list[str]:
    """Separate a document into blocks wherever one or more empty lines appear between them."""
    return [block.strip() for block in re.split(r"\n\s*\n", text) if block.strip()]
