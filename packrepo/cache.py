"""The V1 persistent cache of per-file analysis, keyed by content.

Layout: ``<cache dir>/analysis-v<ANALYSER_VERSION>/<encoding>/<level>/<ab>/<key>.json``,
where ``key`` is the BLAKE2b digest of the file's bytes plus the file kind (the one piece
of the path that changes the analysis). A changed file has a new key, another encoding a
new directory, a new analyser version a new tree: stale entries are never read, only
orphaned. Entries are JSON, never pickle, so a hostile cache cannot run code.

Warm runs skip reading unchanged files: a per-tree snapshot records each path's
(size, mtime_ns, ctime_ns, inode, device), content key and analysis. A path whose stat
signature still matches reuses the analysis without being read; its text is read at
render time and its content key checked again then, so the content hash stays the
validity key (a mismatch re-analyses the tree, see ``packrepo.packer``).

Trust. An entry is data, never authority: ``analysis_from_json`` refuses an analysis whose
spans do not partition its lines, and every fact that shapes the output is checked against
the text before it is used (``analysis.describes``) or when the block is rendered. The
cache directory is created private (0700); one owned by another user, or writable by
others, is not used at all.

Concurrency: every write goes to a temporary file in the entry's directory and is moved
into place with ``os.replace``, which is atomic on POSIX, so a reader sees a whole entry
or none; two processes writing the same key write the same bytes. A corrupt or
unreadable entry reads as a miss and is rewritten. Write failures (a read-only cache
directory, a full disk) only cost speed: they are counted, never raised.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from packrepo.analysis import (
    ANALYSER_VERSION,
    FileAnalysis,
    analysis_from_json,
    analysis_to_json,
)


def default_cache_dir(environ: Mapping[str, str], configured: str | None = None) -> Path:
    """``FASTPATH_CACHE_DIR``, else ``$XDG_CACHE_HOME/packrepo``, else ``~/.cache/packrepo``.

    ``configured`` (from explicitly passed flags) wins over the environment.
    """
    if configured:
        return Path(configured)
    if environ.get("FASTPATH_CACHE_DIR"):
        return Path(environ["FASTPATH_CACHE_DIR"])
    xdg = environ.get("XDG_CACHE_HOME")
    if xdg:
        return Path(xdg) / "packrepo"
    return Path.home() / ".cache" / "packrepo"


SIGNATURE_FIELDS = 5  # size, mtime_ns, ctime_ns, inode, device (ScannedFile.signature)


def private_directory(base: Path) -> bool:
    """Create ``base`` private (0700) if missing; True if it is a real directory of ours
    that nobody else can write, the only kind whose entries may be read."""
    try:
        os.makedirs(base, mode=0o700, exist_ok=True)
        info = os.lstat(base)
    except OSError:
        return False
    return (
        stat.S_ISDIR(info.st_mode)
        and info.st_uid == os.geteuid()
        and not info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)
    )


def content_key(data: bytes, kind: str) -> str:
    return f"{hashlib.blake2b(data, digest_size=20).hexdigest()}-{kind}"


@dataclass(frozen=True)
class Snapshot:
    """One file as the last run saw it; trusted only while its stat signature holds."""

    signature: tuple[int, ...]
    key: str
    analysis: FileAnalysis


def _int(value: Any) -> int:
    if type(value) is not int:
        raise TypeError("expected int")
    return value


@dataclass
class CacheStats:
    hits: int = 0
    misses: int = 0
    write_errors: int = 0


@dataclass
class AnalysisCache:
    """Reads and writes analysis entries under one encoding's directory."""

    directory: str
    stats: CacheStats = field(default_factory=CacheStats)

    @classmethod
    def open(cls, base: Path, encoding: str) -> AnalysisCache:
        return cls(directory=os.path.join(base, f"analysis-v{ANALYSER_VERSION}", encoding))

    def get_analysis(self, key: str, *, detailed: bool) -> FileAnalysis | None:
        document = self._read(self._path("detail" if detailed else "file", key))
        try:
            analysis = None if document is None else analysis_from_json(document)
        except (KeyError, TypeError, ValueError):
            analysis = None
        if analysis is None:
            self.stats.misses += 1
        else:
            self.stats.hits += 1
        return analysis

    def put_analysis(self, key: str, analysis: FileAnalysis, *, detailed: bool) -> None:
        self._write(self._path("detail" if detailed else "file", key), analysis_to_json(analysis))

    def load_snapshot(self, root: str, *, detailed: bool) -> dict[str, Snapshot]:
        """What the last run saw in ``root``: per path, its stat signature, key and analysis."""
        document = self._read(self._snapshot_path(root, detailed))
        snapshot: dict[str, Snapshot] = {}
        if not isinstance(document, dict):
            return snapshot
        for path, row in document.items():
            try:
                *numbers, key, analysis = row
                if len(numbers) != SIGNATURE_FIELDS:
                    raise ValueError("a signature of another layout")
                signature = tuple(_int(number) for number in numbers)
                snapshot[path] = Snapshot(signature, str(key), analysis_from_json(analysis))
            except (KeyError, TypeError, ValueError):
                continue  # one corrupt row costs one re-read, not the snapshot
        return snapshot

    def save_snapshot(self, root: str, snapshot: dict[str, Snapshot], *, detailed: bool) -> None:
        document = {
            path: [*entry.signature, entry.key, analysis_to_json(entry.analysis)]
            for path, entry in sorted(snapshot.items())
        }
        self._write(self._snapshot_path(root, detailed), document)

    def _snapshot_path(self, root: str, detailed: bool) -> str:
        digest = hashlib.blake2b(root.encode("utf-8", "surrogateescape"), digest_size=16)
        level = "detail" if detailed else "file"
        return os.path.join(self.directory, "trees", f"{digest.hexdigest()}-{level}.json")

    def _path(self, level: str, key: str) -> str:
        # Plain string joins: pathlib costs a measurable share of a warm run.
        return os.path.join(self.directory, level, key[:2], key + ".json")

    @staticmethod
    def _read(path: str) -> Any:
        try:
            with open(path, "rb") as handle:
                return json.loads(handle.read())
        except (OSError, ValueError):  # missing, unreadable, truncated or not JSON
            return None

    def _write(self, path: str, document: Any) -> None:
        payload = json.dumps(document, separators=(",", ":")).encode("utf-8")
        try:
            folder = os.path.dirname(path)
            os.makedirs(folder, mode=0o700, exist_ok=True)
            descriptor, temporary = tempfile.mkstemp(dir=folder, prefix=".tmp-")
            try:
                with os.fdopen(descriptor, "wb") as handle:
                    handle.write(payload)
                os.replace(temporary, path)
            except BaseException:
                os.unlink(temporary)
                raise
        except OSError:
            self.stats.write_errors += 1
