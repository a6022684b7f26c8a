"""What a file is and how its bytes become lines: pure functions, no I/O."""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass

# Sniffing the head is enough: text files practically never hold a NUL byte.
SNIFF_BYTES = 8192
_BACKTICK_RUN = re.compile("`+")

BINARY_SUFFIXES = frozenset(
    {
        ".7z", ".a", ".avif", ".bin", ".bmp", ".bz2", ".class", ".dll", ".dylib", ".eot",
        ".exe", ".gif", ".gz", ".ico", ".jar", ".jpeg", ".jpg", ".lz", ".mo", ".mp3",
        ".mp4", ".npy", ".npz", ".o", ".otf", ".pdf", ".pickle", ".pkl", ".png", ".pyc",
        ".pyd", ".pyo", ".so", ".sqlite", ".tar", ".tgz", ".ttf", ".wasm", ".webp",
        ".whl", ".woff", ".woff2", ".xz", ".zip", ".zst",
    }
)  # fmt: skip

LANGUAGES = {
    ".py": "python", ".pyi": "python", ".md": "markdown", ".markdown": "markdown",
    ".rst": "rst", ".txt": "text", ".js": "javascript", ".mjs": "javascript",
    ".ts": "typescript", ".tsx": "tsx", ".jsx": "jsx", ".json": "json", ".toml": "toml",
    ".yaml": "yaml", ".yml": "yaml", ".ini": "ini", ".cfg": "ini", ".html": "html",
    ".css": "css", ".sh": "bash", ".c": "c", ".h": "c", ".cpp": "cpp", ".hpp": "cpp",
    ".go": "go", ".rs": "rust", ".java": "java", ".rb": "ruby", ".tex": "latex",
    ".xml": "xml", ".svg": "xml", ".sql": "sql",
}  # fmt: skip


@dataclass(frozen=True)
class DecodedText:
    """A file's text with newlines normalised to ``\\n`` and a final newline."""

    text: str
    line_count: int
    replaced: bool  # some bytes were not UTF-8 and became U+FFFD


def language_of(path: str) -> str:
    """The fence language tag for a POSIX path ('' when unknown)."""
    return LANGUAGES.get(posixpath.splitext(path)[1].lower(), "")


def kind_of(path: str) -> str:
    """How the file is chunked: ``python``, ``markdown``, ``rst`` or ``text``."""
    language = language_of(path)
    return language if language in ("python", "markdown", "rst") else "text"


def has_binary_suffix(path: str) -> bool:
    return posixpath.splitext(path)[1].lower() in BINARY_SUFFIXES


def looks_binary(data: bytes) -> bool:
    return b"\x00" in data[:SNIFF_BYTES]


def split_lines(text: str) -> list[str]:
    """The lines of a decoded text, each with its ``\n``.

    Not ``str.splitlines``: that also ends a line at a form feed, a vertical tab,
    U+2028 and others, which ``ast``, git and editors do not, so line numbers would
    drift from the spans the manifest promises.
    """
    lines = text.split("\n")
    last = lines.pop()
    return [line + "\n" for line in lines] + ([last] if last else [])


def decode(data: bytes) -> DecodedText:
    """Decode as UTF-8 (undecodable bytes become U+FFFD) with universal newlines.

    Lines are split on ``\\n`` only after ``\\r\\n`` and ``\\r`` become ``\\n``, the same
    rule ``ast`` uses for line numbers, so spans from ``ast`` index these lines.
    A leading byte-order mark is dropped.
    """
    try:
        text = data.decode("utf-8")
        replaced = False
    except UnicodeDecodeError:
        text = data.decode("utf-8", errors="replace")
        replaced = True
    if text.startswith("\ufeff"):
        text = text[1:]
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if text and not text.endswith("\n"):
        text += "\n"
    return DecodedText(text=text, line_count=text.count("\n"), replaced=replaced)


def longest_backtick_run(text: str) -> int:
    """Length of the longest run of backticks, which a Markdown fence must exceed."""
    # A regex scan: every render checks its file's runs, so this runs once per block.
    return max(map(len, _BACKTICK_RUN.findall(text)), default=0)
