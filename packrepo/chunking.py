"""Split a file's lines into chunks with line spans: pure functions over decoded text.

The chunks of a file partition its lines (every line belongs to exactly one chunk), so a
file is the union of its chunks and demoting a file to some of its chunks never invents
or duplicates a line.

* Python: ``ast`` definitions. Each top-level function is a chunk; a class is a chunk for
  its header (decorators, ``class`` line, docstring, attributes before the first method)
  plus one chunk per method; runs of other top-level statements are ``module`` chunks.
  Blank lines and comments after a definition stay with it. A file that does not parse
  falls back to line windows.
* Markdown: sections starting at ATX headings (outside fenced code); reStructuredText:
  sections starting at underlined titles.
* Anything else: windows of about :data:`WINDOW_LINES` lines, cut at blank lines if
  possible.

A chunk may carry a *signature*: the lines that name it (``def``/``class`` header with
its decorators, or a section title), which the demotion ladder emits on its own.
"""

from __future__ import annotations

import ast
import contextlib
import re
from collections.abc import Iterator
from dataclasses import dataclass

WINDOW_LINES = 60
MAX_SECTION_LINES = 150

_IMPORT_START = re.compile(r"[ \t]*(?:from[ \t]+[.\w]+[ \t]+import\b|import[ \t]+[\w.])")
_MAIN_GUARD = re.compile(
    r"if\s+(?:__name__\s*==\s*(['\"])__main__\1|(['\"])__main__\2\s*==\s*__name__)\s*:"
)
_FENCE = re.compile(r"^\s{0,3}(`{3,}|~{3,})")
_ATX_HEADING = re.compile(r"^\s{0,3}#{1,6}(\s|$)")
_RST_UNDERLINE = re.compile(r"^([=\-~^\"'`#*+:.])\1{2,}\s*$")


@dataclass(frozen=True)
class ChunkSpan:
    """Lines ``start``..``end`` (1-based, inclusive) and, maybe, a signature span inside."""

    start: int
    end: int
    kind: str  # module | class | function | method | section | window
    name: str
    signature: tuple[int, int] | None = None


@dataclass(frozen=True)
class PythonFacts:
    chunks: tuple[ChunkSpan, ...]
    imports: tuple[str, ...]  # "level|module|name" (name may be '')
    has_main_guard: bool


def chunk_text(kind: str, lines: list[str]) -> tuple[ChunkSpan, ...]:
    """Chunks for a non-Python file of the given kind."""
    if kind == "markdown":
        return _split_large(_sections(lines, _markdown_titles(lines)), lines)
    if kind == "rst":
        return _split_large(_sections(lines, _rst_titles(lines)), lines)
    return windows(lines, 1, len(lines), "window", "")


def python_facts(text: str, lines: list[str]) -> PythonFacts | None:
    """Definitions, imports and entry-point guard of a Python file; None if it won't parse."""
    try:
        module = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    return PythonFacts(
        chunks=_split_large(_python_chunks(module, lines), lines),
        imports=_imports(module),
        has_main_guard=any(_is_main_guard(node) for node in module.body),
    )


def light_python_facts(lines: list[str]) -> PythonFacts:
    """Imports and entry guard without parsing the whole file: what the baseline needs.

    ``ast.parse`` of a large module allocates many times the source's size; this parses
    only the import statements (each on its own, continuation lines included), so memory
    stays flat and the baseline stays fast. An import-looking line inside a string may be
    counted as an import: harmless for a centrality heuristic.
    """
    imports: set[str] = set()
    index = 0
    while index < len(lines):
        if _IMPORT_START.match(lines[index]):
            statement, index = _statement(lines, index)
            with contextlib.suppress(SyntaxError, ValueError, RecursionError):
                imports.update(_imports(ast.parse(statement)))
        index += 1
    guard = any(_MAIN_GUARD.match(line) for line in lines if line.startswith("if"))
    return PythonFacts(chunks=(), imports=tuple(sorted(imports)), has_main_guard=guard)


def _statement(lines: list[str], index: int) -> tuple[str, int]:
    """The logical line starting at ``index`` (brackets and backslashes), dedented."""
    parts = [lines[index].strip()]
    depth = _depth(parts[0])
    while (depth > 0 or parts[-1].endswith("\\")) and index + 1 < len(lines):
        index += 1
        parts.append(lines[index].strip())
        depth += _depth(parts[-1])
    return "\n".join(parts), index


def _depth(code: str) -> int:
    code = code.split("#", 1)[0]
    return code.count("(") - code.count(")")


def windows(lines: list[str], start: int, end: int, kind: str, name: str) -> tuple[ChunkSpan, ...]:
    """Cut lines ``start``..``end`` into windows, preferring to end a window on a blank line."""
    spans = []
    while start <= end:
        stop = min(end, start + WINDOW_LINES - 1)
        if stop < end:
            for candidate in range(stop, start + WINDOW_LINES // 2, -1):
                if not lines[candidate - 1].strip():
                    stop = candidate
                    break
        spans.append(ChunkSpan(start=start, end=stop, kind=kind, name=name))
        start = stop + 1
    return tuple(spans)


def _split_large(chunks: tuple[ChunkSpan, ...], lines: list[str]) -> tuple[ChunkSpan, ...]:
    """Module remainders and long sections become windows; definitions stay whole."""
    result: list[ChunkSpan] = []
    for chunk in chunks:
        too_long = chunk.end - chunk.start + 1 > MAX_SECTION_LINES
        if too_long and chunk.kind in ("module", "section", "window"):
            parts = windows(lines, chunk.start, chunk.end, chunk.kind, chunk.name)
            # The title stays the signature of the first window only.
            first = ChunkSpan(parts[0].start, parts[0].end, chunk.kind, chunk.name, chunk.signature)
            result.extend((first, *parts[1:]))
        else:
            result.append(chunk)
    return tuple(result)


def _markdown_titles(lines: list[str]) -> list[tuple[int, int, str]]:
    titles = []
    in_fence = ""
    for number, line in enumerate(lines, start=1):
        fence = _FENCE.match(line)
        if fence:
            marker = fence.group(1)[0] * 3
            if not in_fence:
                in_fence = marker
            elif marker == in_fence:
                in_fence = ""
        elif not in_fence and _ATX_HEADING.match(line):
            titles.append((number, number, line.strip("# \n")))
    return titles


def _rst_titles(lines: list[str]) -> list[tuple[int, int, str]]:
    titles = []
    for index in range(len(lines) - 1):
        title, underline = lines[index].rstrip("\n"), lines[index + 1].rstrip("\n")
        if (
            title.strip()
            and not title.startswith(" ")
            and _RST_UNDERLINE.match(underline)
            and len(underline.rstrip()) >= len(title.rstrip())
            and not _RST_UNDERLINE.match(title)
        ):
            titles.append((index + 1, index + 2, title.strip()))
    return titles


def _sections(lines: list[str], titles: list[tuple[int, int, str]]) -> tuple[ChunkSpan, ...]:
    starts: list[tuple[int, tuple[int, int] | None, str]] = []
    if not titles or titles[0][0] > 1:
        starts.append((1, None, ""))
    starts += [(start, (start, end), name) for start, end, name in titles]
    spans = []
    for index, (start, signature, name) in enumerate(starts):
        end = starts[index + 1][0] - 1 if index + 1 < len(starts) else len(lines)
        if end >= start:
            spans.append(ChunkSpan(start, end, "section", name, signature))
    return tuple(spans)


def _python_chunks(module: ast.Module, lines: list[str]) -> tuple[ChunkSpan, ...]:
    """Partition the file at definition starts and at the first statement after each."""
    starts: list[tuple[int, str, str, tuple[int, int] | None]] = []
    previous_was_definition = True
    for node in module.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            starts.extend(_definition_starts(node, lines))
            previous_was_definition = True
        elif previous_was_definition:
            starts.append((_first_line(node), "module", "<module>", None))
            previous_was_definition = False
    if not starts or starts[0][0] > 1:
        starts.insert(0, (1, "module", "<module>", None))
    spans = []
    for index, (start, kind, name, signature) in enumerate(starts):
        end = starts[index + 1][0] - 1 if index + 1 < len(starts) else len(lines)
        if end >= start:
            spans.append(ChunkSpan(start, end, kind, name, signature))
    return tuple(spans)


def _definition_starts(
    node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef, lines: list[str]
) -> list[tuple[int, str, str, tuple[int, int] | None]]:
    signature = (_first_line(node), _header_end(node, lines))
    if not isinstance(node, ast.ClassDef):
        return [(signature[0], "function", node.name, signature)]
    starts: list[tuple[int, str, str, tuple[int, int] | None]] = [
        (signature[0], "class", node.name, signature)
    ]
    for child in node.body:
        if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
            method_signature = (_first_line(child), _header_end(child, lines))
            starts.append(
                (method_signature[0], "method", f"{node.name}.{child.name}", method_signature)
            )
    return starts


def _first_line(node: ast.stmt) -> int:
    decorators: list[ast.expr] = getattr(node, "decorator_list", [])
    return min([node.lineno, *(decorator.lineno for decorator in decorators)])


def _header_end(
    node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef, lines: list[str]
) -> int:
    """Last line of the ``def``/``class`` header: the line before the body, less comments."""
    body_start = _first_line(node.body[0])
    if body_start <= node.lineno:
        return node.lineno  # one-liner such as ``def f(): return 1``
    end = body_start - 1
    while end > node.lineno and (
        not lines[end - 1].strip() or lines[end - 1].lstrip().startswith("#")
    ):
        end -= 1
    return end


def _statements(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """Every statement, nested ones included, without visiting expressions (imports are
    statements, and expressions are most of a tree's nodes)."""
    pending = list(reversed(body))
    while pending:
        node = pending.pop()
        yield node
        for field in ("body", "orelse", "finalbody", "handlers", "cases"):
            children = getattr(node, field, None)
            if isinstance(children, list):
                pending.extend(reversed(children))


def _imports(module: ast.Module | ast.Interactive) -> tuple[str, ...]:
    found: set[str] = set()
    for node in _statements(module.body):
        if isinstance(node, ast.Import):
            found.update(f"0|{alias.name}|" for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = f"{node.level}|{node.module or ''}|"
            found.add(base)
            found.update(base + alias.name for alias in node.names if alias.name != "*")
    return tuple(sorted(found))


def _is_main_guard(node: ast.stmt) -> bool:
    if not isinstance(node, ast.If) or not isinstance(node.test, ast.Compare):
        return False
    names = [node.test.left, *node.test.comparators]
    return any(isinstance(n, ast.Name) and n.id == "__name__" for n in names) and any(
        isinstance(n, ast.Constant) and n.value == "__main__" for n in names
    )
