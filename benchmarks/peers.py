"""Peers as reference lines: the dumps of the packers a user would pick instead, scored.

``python -m benchmarks peers --quality artifacts/quality.json --output artifacts/peers.json``
(``nox -s peers``, optional: it installs files-to-prompt and gitingest from the
package index). Each peer dumps every prepared tree the quality stage packed, in
its own file order and format; the dump is cut at each budget (its first
``budget`` tokens, as a user pasting it would), and every question of the quality
stage is scored on that cut exactly as the arms are: the gold lines the cut holds,
verbatim. Context for the report, never a gate.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.oracle import GoldSpan, score_evidence

# How each peer is run on a tree (argv after the executable), and how its dump is read.
PEER_COMMANDS: dict[str, tuple[str, ...]] = {
    "files-to-prompt": ("--cxml",),  # its XML documents: the one format it marks unambiguously
    "gitingest": ("-o", "-"),
}
_CXML = re.compile(
    r'<document index="\d+">\n<source>(?P<path>[^<]*)</source>\n<document_content>\n'
)
_CXML_END = "\n</document_content>\n</document>"
_GITINGEST = re.compile(r"={48}\nFILE: (?P<path>[^\n]*)\n={48}\n")


class PeerError(RuntimeError):
    """A peer is missing or failed on a tree."""


@dataclass(frozen=True)
class Block:
    """One file of a dump, as far as the dump holds it."""

    path: str  # relative to the tree
    lines: int  # whole lines of the file the (cut) dump holds


def run_peer(name: str, tree: Path) -> str:
    """The peer's dump of ``tree``; the executable must be on PATH (``nox -s peers``)."""
    executable = shutil.which(name)
    if executable is None:
        raise PeerError(f"{name} is not installed (nox -s peers installs it)")
    completed = subprocess.run(
        [executable, str(tree), *PEER_COMMANDS[name]],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if completed.returncode != 0:
        raise PeerError(f"{name} failed on {tree}: {completed.stderr.strip()[:200]}")
    return completed.stdout


def cut(text: str, budget: int, count: Callable[[str], int]) -> str:
    """The longest prefix of ``text`` of at most ``budget`` tokens (binary search)."""
    if count(text) <= budget:
        return text
    low, high = 0, len(text)
    while low < high:
        middle = (low + high + 1) // 2
        if count(text[:middle]) <= budget:
            low = middle
        else:
            high = middle - 1
    return text[:low]


def blocks(name: str, dump: str, tree: Path) -> list[Block]:
    """The files a (possibly cut) dump holds, in its order, with their whole lines."""
    pattern = _CXML if name == "files-to-prompt" else _GITINGEST
    found = []
    headers = list(pattern.finditer(dump))
    for index, header in enumerate(headers):
        end = headers[index + 1].start() if index + 1 < len(headers) else len(dump)
        content = dump[header.end() : end]
        if name == "files-to-prompt":
            content = content.split(_CXML_END, 1)[0]
        path = _relative(header.group("path"), tree)
        complete = content.split("\n")
        whole = len(complete) if index + 1 < len(headers) else len(complete) - 1
        found.append(Block(path, max(0, whole)))
    return found


def _relative(path: str, tree: Path) -> str:
    prefix = str(tree).rstrip("/") + "/"
    return path[len(prefix) :] if path.startswith(prefix) else path


def score_dump(
    name: str,
    dump: str,
    tree: Path,
    questions: Sequence[tuple[str, GoldSpan]],
    lines_of: Callable[[str], list[str]],
) -> list[float]:
    """Each question's evidence recall on a (cut) dump, verified against its text."""
    items = [
        {"path": block.path, "start_line": 1, "end_line": block.lines}
        for block in blocks(name, dump, tree)
        if block.lines > 0
    ]
    scores = []
    for _, gold in questions:
        scores.append(score_evidence(gold, lines_of(gold.path), items, dump).score)
    return scores


def peer_rows(
    name: str,
    tree: Path,
    budgets: Sequence[int],
    questions: Sequence[tuple[str, GoldSpan]],
    count: Callable[[str], int],
) -> Iterator[tuple[int, list[float], int]]:
    """(budget, scores, tokens of the cut) for one peer on one tree."""
    dump = run_peer(name, tree)
    cache: dict[str, list[str]] = {}

    def lines_of(path: str) -> list[str]:
        if path not in cache:
            cache[path] = (tree / path).read_text(encoding="utf-8").split("\n")
        return cache[path]

    for budget in budgets:
        part = cut(dump, budget, count)
        yield budget, score_dump(name, part, tree, questions, lines_of), max(1, count(part))


def peers_document(
    quality: Mapping[str, Any],
    trees: Mapping[str, Path],
    gold: Mapping[str, GoldSpan],
    versions: Mapping[str, str],
    count: Callable[[str], int],
) -> dict[str, Any]:
    """``peers.json``: per peer and budget, scores and tokens aligned with quality.json."""
    order = [(q["repository"], q["id"]) for q in quality["questions"]]
    budgets = [int(b) for b in quality["budgets"]]
    peers: dict[str, Any] = {}
    for name in PEER_COMMANDS:
        columns: dict[str, dict[str, list[float]]] = {
            str(b): {"score": [0.0] * len(order), "tokens": [0.0] * len(order)} for b in budgets
        }
        for repository, tree in trees.items():
            asked = [(i, q) for i, (r, q) in enumerate(order) if r == repository]
            spans = [(q, gold[f"{repository}/{q}"]) for _, q in asked]
            for budget, scores, tokens in peer_rows(name, tree, budgets, spans, count):
                for (index, _), score in zip(asked, scores, strict=True):
                    columns[str(budget)]["score"][index] = score
                    columns[str(budget)]["tokens"][index] = tokens
        peers[name] = {"version": versions.get(name, "unknown"), "budgets": columns}
    return {"budgets": budgets, "questions": quality["questions"], "peers": peers}
