"""The quality stage's score cache: one JSON file per task, keyed by content.

A key (``benchmarks.quality._task_key``) covers everything a score depends on:
the oracle's version, the digest of the ``packrepo`` sources, the prepared
tree's digest, the arm's effective flags, the questions and the budgets. So a
change to any of them is a miss, never a stale hit. The directory is private
(0700); an entry that does not parse is a miss and is rewritten.
"""

from __future__ import annotations

import hashlib
import os
import platform
from importlib import metadata
from pathlib import Path
from typing import Any

import orjson

from contracts.documents import load_json, read_input, write_all_atomically
from contracts.errors import EvidenceError
from contracts.provenance import sha256_file

__all__ = ["ScoreCache", "code_digest"]

ENTRY_FIELDS = ("question", "budget", "score", "tokens", "pack_sha256")


def code_digest() -> str:
    """What a score depends on besides the tree, the flags and the question: sha256 over
    every ``packrepo`` source file, the scoring code (``benchmarks/oracle.py``), the
    tokenizer's version and the interpreter's."""
    import benchmarks.oracle
    import packrepo

    root = Path(packrepo.__file__).parent
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(bytes.fromhex(sha256_file(path)))
    digest.update(bytes.fromhex(sha256_file(Path(benchmarks.oracle.__file__))))
    for distribution in ("bpe-openai",):
        try:
            digest.update(f"{distribution}=={metadata.version(distribution)}".encode())
        except metadata.PackageNotFoundError:
            digest.update(f"{distribution} absent".encode())
    digest.update(platform.python_version().encode())
    return digest.hexdigest()


class ScoreCache:
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def _path(self, key: str) -> Path:
        return self.directory / "scores" / key[:2] / f"{key}.json"

    def get(self, key: str) -> list[dict[str, Any]] | None:
        try:
            document = load_json(read_input(self._path(key)), key)
        except EvidenceError:  # absent, unreadable or not JSON: a miss
            return None
        if not isinstance(document, dict) or document.get("key") != key:
            return None
        rows = document.get("rows")
        if not isinstance(rows, list) or not all(_valid(row) for row in rows):
            return None
        return rows

    def put(self, key: str, rows: list[dict[str, Any]]) -> None:
        path = self._path(key)
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        for directory in (self.directory, path.parent.parent, path.parent):
            os.chmod(directory, 0o700)
        write_all_atomically({path: orjson.dumps({"key": key, "rows": rows})})


def _valid(row: Any) -> bool:
    return (
        isinstance(row, dict)
        and set(row) == set(ENTRY_FIELDS)
        and isinstance(row["question"], str)
        and isinstance(row["budget"], int)
        and isinstance(row["score"], float | int)
        and 0.0 <= row["score"] <= 1.0
        and isinstance(row["tokens"], int)
        and row["tokens"] > 0
        and isinstance(row["pack_sha256"], str)
    )
