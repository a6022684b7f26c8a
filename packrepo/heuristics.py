"""Query-agnostic file scores (the baseline) and the import graph they share with V4.

A file's score is a sum of evidence that it matters to a reader, scaled down with depth:

* what it is: a top-level README (6), documentation (1.5 under ``doc(s)/`` or at the
  root, else 0.8), root build configuration (1.2), Python source (1), other source
  (0.8), tests (0.4), bulk data such as translations, lock files or minified code (0.05),
  anything else (0.3);
* entry points (+1): ``__main__.py``, ``cli.py``, ``main.py``, ``app.py``, ``manage.py``,
  a top-level package ``__init__.py``, or an ``if __name__ == "__main__"`` guard;
* import in-degree (+0.5 log2(1 + importers)): much-imported modules are central;
* links to tests (+0.3): a test imports it or a ``test_<name>.py`` exists;
* depth: divided by ``1 + 0.2 * depth`` (directories above the file).
"""

from __future__ import annotations

import math
import posixpath
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from packrepo.analysis import FileAnalysis
from packrepo.text import language_of

ENTRY_NAMES = frozenset({"__main__.py", "cli.py", "main.py", "app.py", "manage.py"})
ROOT_CONFIG = frozenset(
    {
        "pyproject.toml", "setup.py", "setup.cfg", "tox.ini", "noxfile.py", "package.json",
        "cargo.toml", "go.mod", "makefile", "dockerfile", "requirements.txt",
    }
)  # fmt: skip
BULK_SUFFIXES = frozenset({".po", ".pot", ".svg", ".csv", ".tsv", ".lock", ".map", ".min.js"})
DOC_SUFFIXES = frozenset({".md", ".rst", ".txt", ".adoc", ".markdown"})
DOC_DIRS = frozenset({"doc", "docs", "documentation"})
TEST_DIRS = frozenset({"test", "tests", "testing"})


@dataclass(frozen=True)
class FileFacts:
    """Path-level facts the heuristics read, beside the content analysis."""

    path: str
    analysis: FileAnalysis


def is_test_path(path: str) -> bool:
    parts = path.lower().split("/")
    name = parts[-1]
    return (
        any(part in TEST_DIRS for part in parts[:-1])
        or name.startswith("test_")
        or name.endswith("_test.py")
        or name == "conftest.py"
    )


def module_names(path: str) -> tuple[str, ...]:
    """Dotted names a Python file is importable as (``src/`` and ``lib/`` layouts too)."""
    stem, suffix = posixpath.splitext(path)
    if suffix not in (".py", ".pyi"):
        return ()
    parts = stem.split("/")
    if parts[-1] == "__init__":
        parts = parts[:-1]
    if not parts or not all(part.isidentifier() for part in parts):
        return ()
    names = [".".join(parts)]
    if parts[0] in ("src", "lib") and len(parts) > 1:
        names.append(".".join(parts[1:]))
    return tuple(names)


def import_graph(files: Iterable[FileFacts]) -> dict[str, tuple[str, ...]]:
    """For each file, the files of the tree it imports (sorted, no self-edges)."""
    files = list(files)
    index: dict[str, str] = {}
    for facts in files:  # sorted by path, so the first file wins a name deterministically
        for name in module_names(facts.path):
            index.setdefault(name, facts.path)
    graph: dict[str, tuple[str, ...]] = {}
    for facts in files:
        targets = {
            target
            for spec in facts.analysis.imports
            if (target := _resolve(facts.path, spec, index)) is not None and target != facts.path
        }
        graph[facts.path] = tuple(sorted(targets))
    return graph


def _resolve(importer: str, spec: str, index: Mapping[str, str]) -> str | None:
    level_text, module, name = spec.split("|")
    level = int(level_text)
    parts = module.split(".") if module else []
    if level:
        own = module_names(importer)
        if not own:
            return None
        package = own[0].split(".")
        if not importer.endswith("__init__.py") and not importer.endswith("__init__.pyi"):
            package = package[:-1]
        if level - 1 > len(package):
            return None
        parts = package[: len(package) - (level - 1)] + parts
    candidates = [[*parts, name]] if name else []
    candidates.append(parts)
    for candidate in candidates:
        for length in range(len(candidate), 0, -1):
            target = index.get(".".join(candidate[:length]))
            if target is not None:
                return target
    return None


def heuristic_scores(
    files: Iterable[FileFacts], graph: Mapping[str, tuple[str, ...]]
) -> dict[str, float]:
    files = list(files)
    importers: dict[str, set[str]] = {facts.path: set() for facts in files}
    for source, targets in graph.items():
        for target in targets:
            importers[target].add(source)
    tested = _tested(files, graph)
    return {
        facts.path: _score(facts, len(importers[facts.path]), facts.path in tested)
        for facts in files
    }


def _tested(files: list[FileFacts], graph: Mapping[str, tuple[str, ...]]) -> set[str]:
    test_paths = [facts.path for facts in files if is_test_path(facts.path)]
    tested = {target for path in test_paths for target in graph.get(path, ())}
    test_names = {posixpath.basename(path) for path in test_paths}
    for facts in files:
        name = posixpath.basename(facts.path)
        if f"test_{name}" in test_names:
            tested.add(facts.path)
    return tested


def _score(facts: FileFacts, in_degree: int, tested: bool) -> float:
    path = facts.path
    depth = path.count("/")
    score = _category(path, depth)
    if _is_entry_point(facts, depth):
        score += 1.0
    score += 0.5 * math.log2(1 + in_degree)
    if tested and not is_test_path(path):
        score += 0.3
    return score / (1 + 0.2 * depth)


def _category(path: str, depth: int) -> float:
    lower = path.lower()
    name = posixpath.basename(lower)
    suffix = posixpath.splitext(lower)[1]
    if name.startswith("readme"):
        return 6.0 if depth == 0 else 2.0
    if any(lower.endswith(bulk) for bulk in BULK_SUFFIXES):
        return 0.05
    if is_test_path(path):
        return 0.4
    if depth == 0 and name in ROOT_CONFIG:
        return 1.2
    if suffix in DOC_SUFFIXES:
        return 1.5 if depth == 0 or lower.split("/")[0] in DOC_DIRS else 0.8
    language = language_of(path)
    if language == "python":
        return 1.0
    if language and language not in ("json", "yaml", "toml", "ini", "xml", "text"):
        return 0.8
    return 0.3


def _is_entry_point(facts: FileFacts, depth: int) -> bool:
    name = posixpath.basename(facts.path)
    return (
        name in ENTRY_NAMES
        or (name == "__init__.py" and depth == 1)
        or facts.analysis.has_main_guard
    )
