"""Exact BPE token counts, offline, with the vocabularies the ``bpe-openai`` wheel ships.

Counting is "ordinary": a special-token string such as ``<|endoftext|>`` in a file is
counted as the plain text it is, exactly like ``Encoding.encode_ordinary``.

Loading. ``import bpe_openai`` parses every vocabulary it ships in Python (about a second
on these machines) before anything is counted, which would dominate a warm, cached pack.
The counts come from its compiled extension, so we load that extension directly and ask it
for the one encoding we need (tens of milliseconds). If the extension cannot be found that
way (a different wheel layout), we fall back to the public ``bpe_openai.get_encoding``;
``tests/test_pack_tokens.py`` checks the two agree.

Exactness across pieces. The public wrapper refuses texts of a million characters or
more, so long texts are counted in pieces cut right after a newline that is followed by a
non-whitespace character. With the pre-tokenisation patterns of cl100k_base and
o200k_base no pre-token contains such a newline-then-non-space pair (newline runs end a
pre-token, and every pattern that starts with an optional prefix excludes newlines from
it), so BPE never merges across such a cut and the sum of the pieces' counts equals the
count of the whole. The tests check this on random texts.
"""

from __future__ import annotations

import functools
import importlib.machinery
import importlib.util
import os
import sys
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from types import ModuleType

from packrepo.errors import PackError

SUPPORTED_ENCODINGS = ("cl100k_base", "o200k_base")
# Below the public wrapper's one-million-character limit, with room for a long last line.
MAX_PIECE_CHARS = 400_000


@dataclass(frozen=True)
class TokenCounter:
    """Counts tokens of text with one named encoding."""

    encoding: str
    count_piece: Callable[[str], int]

    def count(self, text: str) -> int:
        """Exact token count of ``text``, counted in safe pieces when it is long."""
        if len(text) <= MAX_PIECE_CHARS:
            return self.count_piece(text)
        return sum(self.count_piece(piece) for piece in split_at_safe_cuts(text))

    def count_joined(self, parts: Iterable[str]) -> int:
        """Exact count of ``"".join(parts)`` without building more than one piece at a time."""
        total = 0
        pending: list[str] = []
        pending_chars = 0
        for part in parts:
            if (
                pending
                and pending_chars + len(part) > MAX_PIECE_CHARS
                and pending[-1].endswith("\n")
                and is_safe_cut(part)
            ):
                total += self.count("".join(pending))
                pending, pending_chars = [], 0
            pending.append(part)
            pending_chars += len(part)
        if pending:
            total += self.count("".join(pending))
        return total


def is_safe_cut(following: str) -> bool:
    """True if a cut just before ``following`` never splits a pre-token.

    The caller guarantees the text before the cut ends with a newline.
    """
    return bool(following) and not following[0].isspace()


def split_at_safe_cuts(text: str, limit: int = MAX_PIECE_CHARS) -> list[str]:
    """Split ``text`` into pieces of at most about ``limit`` characters at safe cuts.

    A piece may exceed ``limit`` when no safe cut exists inside it (say, one huge line).
    """
    pieces: list[str] = []
    start = 0
    while len(text) - start > limit:
        cut = _last_safe_cut(text, start, start + limit)
        if cut is None:
            cut = _first_safe_cut(text, start + limit)
        if cut is None:
            break
        pieces.append(text[start:cut])
        start = cut
    pieces.append(text[start:])
    return pieces


def _last_safe_cut(text: str, start: int, end: int) -> int | None:
    newline = text.rfind("\n", start, end)
    while newline >= start:
        cut = newline + 1
        if cut < len(text) and not text[cut].isspace():
            return cut
        newline = text.rfind("\n", start, newline)
    return None


def _first_safe_cut(text: str, begin: int) -> int | None:
    newline = text.find("\n", begin)
    while newline != -1:
        cut = newline + 1
        if cut < len(text) and not text[cut].isspace():
            return cut
        newline = text.find("\n", cut)
    return None


@functools.lru_cache(maxsize=4)
def load_counter(encoding: str) -> TokenCounter:
    """The counter for ``encoding`` (loaded once per process)."""
    if encoding not in SUPPORTED_ENCODINGS:
        raise PackError(
            f"encoding must be one of {', '.join(SUPPORTED_ENCODINGS)}, got {encoding!r}"
        )
    bindings = _load_bindings()
    if bindings is not None:
        backend = bindings.tokenizer_for_encoding(encoding)
        return TokenCounter(encoding=encoding, count_piece=backend.count)
    return load_public_counter(encoding)


def load_public_counter(encoding: str) -> TokenCounter:
    """The counter through the public ``bpe_openai`` API (slow to import, always correct)."""
    with warnings.catch_warnings():
        # bpe-openai 0.1.x reads its vocabularies with a deprecated importlib.resources
        # call; that is its business, not our users'.
        warnings.simplefilter("ignore", DeprecationWarning)
        import bpe_openai

        public = bpe_openai.get_encoding(encoding)

    def count_piece(text: str) -> int:
        return len(public.encode_ordinary(text))

    return TokenCounter(encoding=encoding, count_piece=count_piece)


def _load_bindings() -> ModuleType | None:
    name = "bpe_openai._bindings"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.find_spec("bpe_openai")  # finds the package without running it
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        for suffix in importlib.machinery.EXTENSION_SUFFIXES:
            path = os.path.join(folder, "_bindings" + suffix)
            if os.path.isfile(path):
                return _load_extension(name, path)
    return None


def _load_extension(name: str, path: str) -> ModuleType | None:
    loader = importlib.machinery.ExtensionFileLoader(name, path)
    spec = importlib.util.spec_from_file_location(name, path, loader=loader)
    if spec is None:
        return None
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    # Registered under its real name so a later ``import bpe_openai`` reuses it instead of
    # initialising the extension a second time.
    sys.modules[name] = module
    return module
