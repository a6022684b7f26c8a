"""Turning selected spans into text: Markdown (default) or XML.

Every block starts with a non-whitespace character and ends with a newline, and so do the
document header and footer. A cut just before such a block never splits a BPE pre-token
(see :mod:`packrepo.tokens`), so the token count of the document is the sum of its parts;
that is what lets V3 count a pack it never holds whole, and it is checked by the tests.

Markdown: ``### path (lines 1-80 full)`` then a fenced block whose fence is longer than
any backtick run in the file. Spans of one file share a block; ``⋮`` stands for omitted
lines between two spans.

XML: a ``<repository>`` root with one ``<file>`` per block and one ``<lines>`` element per
span, its text in CDATA (after a newline that is not part of the file) so that code is
kept verbatim. The one sequence CDATA cannot hold, ``]]>``, is split across two CDATA
sections, and characters XML 1.0 forbids (form feed, other C0 controls) become U+FFFD;
only lines holding those differ from the file.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from packrepo.text import language_of, longest_backtick_run

GAP = "⋮\n"
FORMATS = ("markdown", "xml")
_XML_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


@dataclass(frozen=True)
class Segment:
    """Lines ``start``..``end`` of a file, emitted verbatim as one manifest item."""

    start: int
    end: int
    mode: str  # full | chunk | signature
    score: float
    tokens: int  # the lines' own token count, from the analysis


@dataclass(frozen=True)
class Block:
    """One file's spans, rendered together; ``priority`` 0 was chosen first."""

    path: str
    segments: tuple[Segment, ...]
    backticks: int
    priority: int


@dataclass(frozen=True)
class Renderer:
    format: str
    title: str
    overview: tuple[str, ...] = ()  # lines of the directory overview, if asked for

    def header(self) -> str:
        if self.format == "xml":
            return (
                f'<?xml version="1.0" encoding="UTF-8"?>\n'
                f"<repository name={_attr(header_text(self.title))}>\n"
            ) + self._overview()
        return (
            f"# Repository pack: {_one_line(self.title)}\n\n"
            "Each file is headed by its path and the line spans shown; ⋮ marks omitted lines.\n\n"
        ) + self._overview()

    def _overview(self) -> str:
        if not self.overview:
            return ""
        text = "".join(line + "\n" for line in self.overview)
        if self.format == "xml":
            return f"<overview><![CDATA[\n{_cdata(text)}]]></overview>\n"
        fence = "`" * max(3, longest_backtick_run(text) + 1)
        return f"## Directory overview\n\n{fence}text\n{text}{fence}\n\n"

    def footer(self) -> str:
        return "</repository>\n" if self.format == "xml" else ""

    def block(self, block: Block, lines: Sequence[str]) -> str:
        """The block's text, with its spans taken from the file's ``lines``."""
        return self._render(block, lambda segment: "".join(lines[segment.start - 1 : segment.end]))

    def framing(self, block: Block) -> str:
        """The block with every span empty: its cost beyond the spans' own tokens."""
        return self._render(block, lambda segment: "")

    def _render(self, block: Block, content: Callable[[Segment], str]) -> str:
        if self.format == "xml":
            return _xml_block(block, content)
        return _markdown_block(block, content)


def spans_fit(block: Block, line_count: int, backtick_run: int) -> bool:
    """True if the block's spans exist in a file of ``line_count`` lines (a full span covers
    them all) and its fence outgrows the file's longest backtick run (``backtick_run``):
    what a cached analysis must get right."""
    for segment in block.segments:
        if not 1 <= segment.start <= segment.end <= line_count:
            return False
        if segment.mode == "full" and (segment.start, segment.end) != (1, line_count):
            return False
    return block.backticks >= backtick_run


def label(block: Block) -> str:
    return ", ".join(f"{s.start}-{s.end} {s.mode}" for s in block.segments)


def _markdown_block(block: Block, content: Callable[[Segment], str]) -> str:
    fence = "`" * max(3, block.backticks + 1)
    heading = f"### {header_text(block.path)} (lines {label(block)})"
    parts = [f"{heading}\n{fence}{language_of(block.path)}\n"]
    previous_end = None
    for segment in block.segments:
        if previous_end is not None and segment.start > previous_end + 1:
            parts.append(GAP)
        parts.append(content(segment))
        previous_end = segment.end
    parts.append(f"{fence}\n\n")
    return "".join(parts)


def _xml_block(block: Block, content: Callable[[Segment], str]) -> str:
    parts = [f"<file path={_attr(header_text(block.path))}>\n"]
    for segment in block.segments:
        parts.append(
            f'<lines from="{segment.start}" to="{segment.end}" mode="{segment.mode}">'
            f"<![CDATA[\n{_cdata(content(segment))}]]></lines>\n"
        )
    parts.append("</file>\n\n")
    return "".join(parts)


def _cdata(text: str) -> str:
    return _XML_FORBIDDEN.sub("\ufffd", text).replace("]]>", "]]]]><![CDATA[>")


_ATTRIBUTE_ESCAPES = str.maketrans(
    {
        "&": "&amp;",
        "<": "&lt;",
        ">": "&gt;",
        '"': "&quot;",
        "\n": "&#10;",
        "\t": "&#9;",
        "\r": "&#13;",
    }
)


def _attr(value: str) -> str:
    """A double-quoted XML attribute value."""
    return '"' + _XML_FORBIDDEN.sub("\ufffd", value).translate(_ATTRIBUTE_ESCAPES) + '"'


def _one_line(value: str) -> str:
    return header_text(" ".join(value.split())) or "repository"


def header_text(value: str) -> str:
    """``value`` with every control, format or separator character escaped as ``\\uXXXX``.

    A path is data inside a header line: a line or paragraph separator (U+2028, U+2029),
    a right-to-left override (U+202E), a zero-width character or a C0/C1 control would let
    a file name end the line, reorder what a reader sees, or drive a terminal. A tab, and
    every printable or merely unassigned character, stays as it is.
    """
    if value.isprintable():
        return value
    return "".join(f"\\u{ord(char):04x}" if _hidden(char) else char for char in value)


_HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})


def _hidden(char: str) -> bool:
    return char != "\t" and unicodedata.category(char) in _HIDDEN_CATEGORIES
