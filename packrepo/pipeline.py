"""From scanned files to analysed records: reading, caching (V1), a process pool (V2),
and where the text waits until rendering (V3).

Whatever the flags, every file is analysed by the same pure function and the records come
out sorted by path, which is why V1, V2 and V3 cannot change the pack.
"""

from __future__ import annotations

import codecs
import zlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Protocol

from packrepo.analysis import ChunkTerms, FileAnalysis, chunk_terms, describes
from packrepo.cache import AnalysisCache, Snapshot, content_key
from packrepo.errors import PackError
from packrepo.reading import FileSkipped, read_scanned
from packrepo.runners import (
    AnalysisRequest,
    FileJob,
    FileResult,
    PoolRunner,
    Runner,
    SequentialRunner,
)
from packrepo.scan import DEFAULT_MAX_FILE_BYTES, ScannedFile
from packrepo.text import decode, kind_of, looks_binary


@dataclass(frozen=True)
class FileRecord:
    path: str
    analysis: FileAnalysis
    terms: ChunkTerms | None


@dataclass
class AnalysedTree:
    records: list[FileRecord]
    skipped: Counter[str] = field(default_factory=Counter)
    replaced: int = 0


# --- where text waits for rendering -------------------------------------------------------


class TextStore(Protocol):
    def add(self, scanned: ScannedFile, data: bytes) -> None: ...

    def add_unread(self, scanned: ScannedFile, key: str) -> None: ...

    def text(self, path: str) -> str: ...


class StaleAnalysis(PackError):
    """A file read at render time is not the one a cached analysis described: the packer
    re-analyses the tree without trusting the snapshot (a miss, never a failure)."""


@dataclass
class _Unread:
    """Files a warm V1 run did not read: read at render, refused if their key changed."""

    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES
    locations: dict[str, tuple[ScannedFile, str]] = field(default_factory=dict)

    def add_unread(self, scanned: ScannedFile, key: str) -> None:
        self.locations[scanned.path] = (scanned, key)

    def text(self, path: str) -> str:
        scanned, key = self.locations[path]
        try:
            data = read_scanned(scanned, self.max_file_bytes)
        except FileSkipped:
            raise PackError(f"{path} changed while it was being packed") from None
        if content_key(data, key.rsplit("-", 1)[1]) != key:
            raise StaleAnalysis(f"{path} changed while it was being packed")
        return decode(data).text


@dataclass
class MemoryStore(_Unread):
    """The baseline: every decoded text stays in memory."""

    texts: dict[str, str] = field(default_factory=dict)

    def add(self, scanned: ScannedFile, data: bytes) -> None:
        self.texts[scanned.path] = decode(data).text

    def text(self, path: str) -> str:
        text = self.texts.get(path)
        return super().text(path) if text is None else text


@dataclass
class CompressedStore(_Unread):
    """V3 with compression: the raw bytes, zlib-compressed; decoded again on demand."""

    blobs: dict[str, bytes] = field(default_factory=dict)

    def add(self, scanned: ScannedFile, data: bytes) -> None:
        self.blobs[scanned.path] = zlib.compress(
            data, 1
        )  # level 1: most of the saving, a third of the time

    def text(self, path: str) -> str:
        blob = self.blobs.get(path)
        return super().text(path) if blob is None else decode(zlib.decompress(blob)).text


@dataclass
class RereadStore(_Unread):
    """V3 without compression: only where the file is and its key, to prove it unchanged."""

    def add(self, scanned: ScannedFile, data: bytes) -> None:
        self.add_unread(scanned, content_key(data, kind_of(scanned.path)))


# --- the loop -----------------------------------------------------------------------------


def analyse_tree(
    root: str,
    files: tuple[ScannedFile, ...],
    request: AnalysisRequest,
    store: TextStore,
    *,
    cache: AnalysisCache | None = None,
    batch_size: int | None = None,
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
    trust_snapshot: bool = True,
) -> AnalysedTree:
    """Read and analyse every file; ``batch_size`` set means a process pool (V2).

    ``trust_snapshot`` False reads every file even where the V1 snapshot's stat signature
    matches: the retry after a render found a file the snapshot described wrongly.
    """
    tree = AnalysedTree(records=[])
    snapshot = _Snapshots(cache, root, request.detailed) if cache is not None else None
    runner: Runner = (
        SequentialRunner(request) if batch_size is None else PoolRunner(request, batch_size)
    )
    with runner:
        jobs = _jobs(files, store, tree, request, cache, snapshot, max_file_bytes, trust_snapshot)
        for job, key in jobs:
            runner.submit(job, key)
            tree.records.extend(_finish(request, cache, snapshot, runner.ready()))
        tree.records.extend(_finish(request, cache, snapshot, runner.drain()))
    tree.records.sort(key=lambda record: record.path)
    if snapshot is not None:
        snapshot.save()
    tree.replaced = sum(1 for record in tree.records if record.analysis.replaced)
    return tree


def _jobs(
    files: tuple[ScannedFile, ...],
    store: TextStore,
    tree: AnalysedTree,
    request: AnalysisRequest,
    cache: AnalysisCache | None,
    snapshot: _Snapshots | None,
    max_file_bytes: int,
    trust_snapshot: bool,
) -> Iterator[tuple[FileJob, str | None]]:
    """Jobs still to compute; cache hits go straight into ``tree``."""
    for scanned in files:
        if trust_snapshot and snapshot is not None and cache is not None and not request.with_terms:
            unread = snapshot.unchanged(scanned, cache)
            if unread is not None:
                store.add_unread(scanned, snapshot.key(scanned.path))
                tree.records.append(_record(request, scanned.path, unread))
                continue
        try:
            data = read_scanned(scanned, max_file_bytes)
        except FileSkipped as skipped:
            tree.skipped[skipped.reason] += 1
            continue
        if data in (b"", codecs.BOM_UTF8):  # emptied after the scan, or a byte-order mark only
            tree.skipped["empty"] += 1
            continue
        if looks_binary(data):
            tree.skipped["binary"] += 1
            continue
        job = FileJob(path=scanned.path, kind=kind_of(scanned.path), data=data)
        key = content_key(data, job.kind) if cache is not None else None
        hit = _lookup(cache, snapshot, scanned, key, request, data) if key is not None else None
        if hit is not None and key is not None:
            # A cache hit keeps no text: most files are never rendered, and the few that
            # are get re-read and checked against their key.
            store.add_unread(scanned, key)
            if snapshot is not None:
                snapshot.seen(job.path, scanned.signature, key, hit.analysis)
            tree.records.append(_record(request, job.path, hit))
        else:
            store.add(scanned, data)
            if snapshot is not None:
                snapshot.pending[job.path] = scanned.signature
            yield job, key


def _lookup(
    cache: AnalysisCache | None,
    snapshot: _Snapshots | None,
    scanned: ScannedFile,
    key: str,
    request: AnalysisRequest,
    data: bytes,
) -> FileResult | None:
    """A cached analysis of exactly these bytes (the snapshot's first, else the entry's),
    used only if it describes the text as it is: a tampered entry is a miss."""
    hit = snapshot.known(scanned, key, request, data) if snapshot is not None else None
    if hit is None:
        hit = _cached(cache, key, request, data)
    if hit is not None and not describes(hit.analysis, kind_of(scanned.path), decode(data)):
        if cache is not None:
            cache.stats.hits -= 1
            cache.stats.misses += 1
        return None
    return hit


def _cached(
    cache: AnalysisCache | None, key: str, request: AnalysisRequest, data: bytes
) -> FileResult | None:
    if cache is None:
        return None
    analysis = cache.get_analysis(key, detailed=request.detailed)
    if analysis is None:
        return None
    terms = None
    if request.with_terms:
        terms = chunk_terms(decode(data), analysis, request.keep_terms)
    return FileResult(analysis=analysis, terms=terms)


def _finish(
    request: AnalysisRequest,
    cache: AnalysisCache | None,
    snapshot: _Snapshots | None,
    done: Iterator[tuple[FileJob, str | None, FileResult]],
) -> Iterator[FileRecord]:
    for job, key, result in done:
        if snapshot is not None and key is not None:
            snapshot.seen(job.path, snapshot.pending.pop(job.path), key, result.analysis)
        if cache is not None and key is not None:
            cache.put_analysis(key, result.analysis, detailed=request.detailed)
        yield _record(request, job.path, result)


def _record(request: AnalysisRequest, path: str, result: FileResult) -> FileRecord:
    return FileRecord(path=path, analysis=result.analysis, terms=result.terms)


class _Snapshots:
    """The per-tree snapshot of the V1 cache: reuse, record, save."""

    def __init__(self, cache: AnalysisCache, root: str, detailed: bool) -> None:
        self._cache = cache
        self._root = root
        self._detailed = detailed
        self._previous = cache.load_snapshot(root, detailed=detailed)
        self._current: dict[str, Snapshot] = {}
        self.pending: dict[str, tuple[int, ...]] = {}

    def unchanged(self, scanned: ScannedFile, cache: AnalysisCache) -> FileResult | None:
        """The previous analysis if the file's stat signature has not changed."""
        entry = self._previous.get(scanned.path)
        if entry is None or entry.signature != scanned.signature:
            return None
        cache.stats.hits += 1
        self._current[scanned.path] = entry
        return FileResult(analysis=entry.analysis, terms=None)

    def known(
        self, scanned: ScannedFile, key: str, request: AnalysisRequest, data: bytes
    ) -> FileResult | None:
        """The previous analysis of exactly these bytes (the file was read and hashed)."""
        entry = self._previous.get(scanned.path)
        if entry is None or entry.key != key:
            return None
        self._cache.stats.hits += 1
        terms = None
        if request.with_terms:
            terms = chunk_terms(decode(data), entry.analysis, request.keep_terms)
        return FileResult(analysis=entry.analysis, terms=terms)

    def key(self, path: str) -> str:
        return self._current[path].key

    def seen(self, path: str, signature: tuple[int, ...], key: str, analysis: FileAnalysis) -> None:
        self._current[path] = Snapshot(signature, key, analysis)

    def save(self) -> None:
        if self._current != self._previous:
            self._cache.save_snapshot(self._root, self._current, detailed=self._detailed)
