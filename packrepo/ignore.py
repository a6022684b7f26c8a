"""``.gitignore`` patterns matched in time linear in the name, whatever the pattern.

Translating a pattern to one backtracking regular expression (as pathspec does) lets a
single line such as ``*a*a*a...*b`` take exponential time on a long name. Here a pattern
is cut at ``/`` into segments and each segment at ``*`` into fixed-width pieces; a segment
matches a name when its first piece matches at the start, its last at the end, and the
others, in order, at their leftmost places in between. Leftmost is always safe because a
``*`` absorbs whatever lies between two pieces, so no choice is ever revisited: at most
(name length x pattern length) steps. ``**`` segments match any number of directories by
dynamic programming over the path's components.

The rules are git's (gitignore(5)): ``#`` comments, ``!`` negation, trailing spaces
dropped unless escaped, a trailing ``/`` for directories only, a ``/`` at the start or in
the middle anchoring to the ``.gitignore``'s directory, ``**/``, ``/**`` and ``/**/``;
``*``, ``?`` and ``[...]`` never match ``/``. A pattern git could not parse is skipped, as
git skips it. Caps bound the work a hostile file can ask for: patterns longer than
:data:`MAX_PATTERN_CHARS` (they could not match a path git accepts) are skipped, and a file
with more than :data:`MAX_PATTERNS` patterns is refused by the scan.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_PATTERN_CHARS = 4096  # PATH_MAX on Linux: a longer pattern matches no path
MAX_PATTERNS = 10_000  # per .gitignore; github/gitignore's templates hold a few hundred

_POSIX_CLASSES = {
    "alnum": "a-zA-Z0-9", "alpha": "a-zA-Z", "blank": " \\t", "cntrl": "\\x00-\\x1f\\x7f",
    "digit": "0-9", "graph": "!-~", "lower": "a-z", "print": " -~",
    "punct": "!-/:-@\\[-`{-~", "space": " \\t\\n\\r\\f\\v", "upper": "A-Z",
    "xdigit": "0-9A-Fa-f",
}  # fmt: skip


class PatternError(ValueError):
    """A line git would not use as a pattern."""


@dataclass(frozen=True)
class _Segment:
    """One path component's glob: fixed-width pieces separated by ``*``."""

    pieces: tuple[re.Pattern[str], ...]
    widths: tuple[int, ...]
    starred: bool  # at least one ``*``: the first piece is a prefix, the last a suffix

    def matches(self, name: str) -> bool:
        if not self.starred:
            return len(name) == self.widths[0] and self.pieces[0].match(name) is not None
        first, last = self.pieces[0], self.pieces[-1]
        if len(name) < sum(self.widths):
            return False
        if first.match(name) is None:
            return False
        end = len(name) - self.widths[-1]
        if last.match(name, end) is None:
            return False
        position = self.widths[0]
        for piece, width in zip(self.pieces[1:-1], self.widths[1:-1], strict=True):
            found = piece.search(name, position, end)
            if found is None:
                return False
            position = found.start() + width
        return position <= end


_ANY_DIRECTORIES = None  # a ``**`` segment


@dataclass(frozen=True)
class Rule:
    """One pattern of a ``.gitignore``, ready to match paths relative to its directory."""

    negated: bool
    directory_only: bool
    anchored: bool  # matched against the whole relative path, not just the last component
    segments: tuple[_Segment | None, ...]
    # Unanchored patterns that are a plain name (``build``) or ``*`` + a plain suffix
    # (``*.pyc``), most of any real file: looked up by name instead of tried one by one.
    name: str | None = None
    suffix: str | None = None

    def matches(self, relative: str, is_dir: bool) -> bool:
        if self.directory_only and not is_dir:
            return False
        parts = relative.split("/")
        if not self.anchored:
            segment = self.segments[0]
            return segment is None or segment.matches(parts[-1])
        return _match_parts(self.segments, parts)


def parse_rule(line: str) -> Rule | None:
    """The rule of one line, None for a blank line or a comment; raises PatternError."""
    line = _strip_trailing_spaces(line.removesuffix("\r"))
    if not line or line.startswith("#"):
        return None
    negated = line.startswith("!")
    line = line.removeprefix("!")
    if len(line) > MAX_PATTERN_CHARS:
        raise PatternError("pattern too long")
    directory_only = line.endswith("/")
    line = line.removesuffix("/")
    if not line or line.endswith("/") or "//" in line or line.startswith("\\/"):
        raise PatternError("a pattern that matches no path")
    line = _ESCAPED_SLASH.sub(r"\1/", line)  # git's wildmatch reads ``\/`` as a separator
    anchored = "/" in line
    line = line.removeprefix("/")
    if not line:
        raise PatternError("a pattern that matches no path")
    segments = _segments(line.split("/"), anchored)
    name = suffix = None
    if not anchored and not _SPECIAL.search(line):
        name = line
    elif not anchored and line.startswith("*") and not _SPECIAL.search(line[1:]):
        suffix = line[1:]
    return Rule(negated, directory_only, anchored, segments, name, suffix)


def _segments(texts: list[str], anchored: bool) -> tuple[_Segment | None, ...]:
    # A run of two or more stars that is a whole component is ``**`` (git's wildmatch).
    stars = [len(text) >= 2 and text == "*" * len(text) for text in texts]
    if not anchored and stars == [True]:
        return (_ANY_DIRECTORIES,)
    segments = tuple(
        _ANY_DIRECTORIES if star else _segment(text)
        for text, star in zip(texts, stars, strict=True)
    )
    if segments[-1] is _ANY_DIRECTORIES:
        # ``dir/**`` matches everything inside ``dir`` but not ``dir`` itself.
        segments = (*segments[:-1], _segment("*"), _ANY_DIRECTORIES)
    return segments


_SPECIAL = re.compile(r"[*?\[\\]")
_ESCAPED_SLASH = re.compile(r"(?<!\\)((?:\\\\)*)\\/")


class IgnoreFile:
    """The rules of one ``.gitignore``: the last rule that matches a path decides."""

    def __init__(self, rules: list[Rule]) -> None:
        self._rules = rules
        self._by_name: dict[str, list[int]] = {}
        self._by_suffix: dict[str, list[int]] = {}
        self._others: list[int] = []
        for index, rule in enumerate(rules):
            if rule.name is not None:
                self._by_name.setdefault(rule.name, []).append(index)
            elif rule.suffix is not None:
                self._by_suffix.setdefault(rule.suffix, []).append(index)
            else:
                self._others.append(index)

    def __len__(self) -> int:
        return len(self._rules)

    def decide(self, relative: str, is_dir: bool) -> bool | None:
        """True ignored, False re-included (``!``), None when no rule matches."""
        name = relative.rsplit("/", 1)[-1]
        candidates = list(self._by_name.get(name, ()))
        for cut in range(len(name)):  # every suffix a ``*suffix`` rule could match
            candidates.extend(self._by_suffix.get(name[cut:], ()))
        candidates.extend(self._by_suffix.get("", ()))
        best = -1
        for index in candidates:
            if index > best and self._rules[index].matches(relative, is_dir):
                best = index
        for index in reversed(self._others):
            if index <= best:
                break
            if self._rules[index].matches(relative, is_dir):
                best = index
                break
        return None if best < 0 else not self._rules[best].negated


def parse_ignore_file(lines: list[str]) -> IgnoreFile:
    """The usable rules of a ``.gitignore``'s lines; raises PatternError past MAX_PATTERNS."""
    rules = []
    for line in lines:
        try:
            rule = parse_rule(line)
        except PatternError:
            continue  # git skips a pattern it cannot use
        if rule is not None:
            rules.append(rule)
            if len(rules) > MAX_PATTERNS:
                raise PatternError(f"more than {MAX_PATTERNS} patterns")
    return IgnoreFile(rules)


def _strip_trailing_spaces(line: str) -> str:
    stripped = line.rstrip(" ")
    if stripped != line and stripped.endswith("\\"):
        backslashes = len(stripped) - len(stripped.rstrip("\\"))
        if backslashes % 2 == 1:
            return stripped[:-1] + " "  # an escaped space is kept, as a plain space
    return stripped


def _match_parts(segments: tuple[_Segment | None, ...], parts: list[str]) -> bool:
    """Whether the path's components match the segments, ``**`` taking zero or more."""
    # reachable[j]: the segments so far can consume exactly parts[:j]
    reachable = [True] + [False] * len(parts)
    for segment in segments:
        following = [False] * (len(parts) + 1)
        if segment is None:
            seen = False
            for index, value in enumerate(reachable):
                seen = seen or value
                following[index] = seen
        else:
            for index in range(len(parts)):
                if reachable[index] and segment.matches(parts[index]):
                    following[index + 1] = True
        reachable = following
        if not any(reachable):
            return False
    return reachable[-1]


def _segment(text: str) -> _Segment:
    """Compile one component's glob into pieces; ``**`` inside a component is ``*``."""
    pieces: list[list[str]] = [[]]
    index = 0
    while index < len(text):
        char = text[index]
        if char == "*":
            pieces.append([])
            index += 1
        elif char == "?":
            pieces[-1].append("[^/]")
            index += 1
        elif char == "[":
            expression, index = _bracket(text, index)
            pieces[-1].append(expression)
        elif char == "\\":
            if index + 1 >= len(text):
                raise PatternError("a trailing backslash escapes nothing")
            pieces[-1].append(re.escape(text[index + 1]))
            index += 2
        else:
            pieces[-1].append(re.escape(char))
            index += 1
    compiled = tuple(re.compile("".join(piece), re.DOTALL) for piece in pieces)
    widths = tuple(len(piece) for piece in pieces)
    return _Segment(pieces=compiled, widths=widths, starred=len(pieces) > 1)


def _bracket(text: str, start: int) -> tuple[str, int]:
    """A ``[...]`` expression as one regex character class, and the index after it."""
    index = start + 1
    negate = index < len(text) and text[index] in "!^"
    if negate:
        index += 1
    members: list[str] = []
    first = True
    while index < len(text) and (text[index] != "]" or first):
        first = False
        if text.startswith("[:", index):
            close = text.find(":]", index + 2)
            name = text[index + 2 : close] if close != -1 else ""
            if name not in _POSIX_CLASSES:
                raise PatternError("unknown character class")
            members.append(_POSIX_CLASSES[name])
            index = close + 2
            continue
        char = text[index]
        if char == "\\" and index + 1 < len(text):
            index += 1
            char = text[index]
        if text.startswith("-", index + 1) and index + 2 < len(text) and text[index + 2] != "]":
            high = text[index + 2]
            if high < char:
                raise PatternError("reversed range")
            members.append(f"{re.escape(char)}-{re.escape(high)}")
            index += 3
        else:
            members.append(re.escape(char))
            index += 1
    if index >= len(text):
        raise PatternError("unclosed bracket")
    body = "".join(members)
    # A class never matches ``/``, negated or not.
    return (f"[^/{body}]" if negate else f"(?!/)[{body}]"), index + 1
