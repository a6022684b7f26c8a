"""How per-file analysis runs: in this process, or on a process pool (V2).

The pure step (:func:`analyse_job`) is the same in both; results come back in submission
order, so V2 cannot change the pack.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import sys
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Protocol

from packrepo.analysis import ChunkTerms, FileAnalysis, analyse, chunk_terms
from packrepo.errors import PackError
from packrepo.termination import deferred
from packrepo.text import decode
from packrepo.tokens import load_counter


@dataclass(frozen=True)
class AnalysisRequest:
    """What to compute for each file; ``keep_terms`` are the query's terms."""

    encoding: str
    detailed: bool
    with_terms: bool
    keep_terms: frozenset[str] = frozenset()


@dataclass(frozen=True)
class FileJob:
    path: str
    kind: str
    data: bytes


@dataclass(frozen=True)
class FileResult:
    analysis: FileAnalysis
    terms: ChunkTerms | None


# --- the pure step, also the worker's entry point -----------------------------------------


def analyse_job(request: AnalysisRequest, job: FileJob) -> FileResult:
    counter = load_counter(request.encoding)
    decoded = decode(job.data)
    analysis = analyse(job.kind, decoded, counter, detailed=request.detailed)
    terms = chunk_terms(decoded, analysis, request.keep_terms) if request.with_terms else None
    return FileResult(analysis=analysis, terms=terms)


def analyse_batch(request: AnalysisRequest, jobs: list[FileJob]) -> list[FileResult]:
    """Run in a worker process: picklable arguments in, picklable results out."""
    return [analyse_job(request, job) for job in jobs]


def die_with_parent(parent: int) -> None:
    """Worker initialiser: on Linux, the kernel sends SIGTERM to this worker when the
    process that started it dies, even by SIGKILL, so no worker outlives the pack."""
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)


_PR_SET_PDEATHSIG = 1


class Runner(Protocol):
    def __enter__(self) -> Runner: ...

    def __exit__(self, exc_type: object, *exc_info: object) -> None: ...

    def submit(self, job: FileJob, key: str | None) -> None: ...

    def ready(self) -> Iterator[tuple[FileJob, str | None, FileResult]]: ...

    def drain(self) -> Iterator[tuple[FileJob, str | None, FileResult]]: ...


class SequentialRunner:
    def __init__(self, request: AnalysisRequest) -> None:
        self._request = request
        self._done: list[tuple[FileJob, str | None, FileResult]] = []

    def __enter__(self) -> SequentialRunner:
        return self

    def __exit__(self, exc_type: object, *exc_info: object) -> None:
        self._done.clear()

    def submit(self, job: FileJob, key: str | None) -> None:
        self._done.append((job, key, analyse_job(self._request, job)))

    def ready(self) -> Iterator[tuple[FileJob, str | None, FileResult]]:
        done, self._done = self._done, []
        yield from done

    def drain(self) -> Iterator[tuple[FileJob, str | None, FileResult]]:
        return self.ready()


_Batch = list[tuple[FileJob, str | None]]


class PoolRunner:
    """Batches on a spawn-context process pool, at most two batches per worker in flight.

    Spawn, not fork: the tokenizer is native code that may hold threads, and forking a
    process with threads can deadlock. Results come back in submission order.
    """

    def __init__(self, request: AnalysisRequest, batch_size: int) -> None:
        self._request = request
        self._batch_size = batch_size
        self._workers = max(1, min(os.cpu_count() or 1, 4))
        self._batch: _Batch = []
        self._in_flight: deque[tuple[_Batch, Future[list[FileResult]]]] = deque()
        self._pool: ProcessPoolExecutor | None = None

    def __enter__(self) -> PoolRunner:
        context = multiprocessing.get_context("spawn")
        self._pool = ProcessPoolExecutor(
            max_workers=self._workers,
            mp_context=context,
            initializer=die_with_parent,
            initargs=(os.getpid(),),
        )
        return self

    def __exit__(self, exc_type: object, *exc_info: object) -> None:
        if self._pool is None:
            return
        if exc_type is not None:
            # Stopping (SIGTERM, an error): the batches in flight are not wanted, so the
            # workers are ended now rather than awaited.
            processes = getattr(self._pool, "_processes", None) or {}
            for process in list(processes.values()):
                process.terminate()
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._pool = None

    def submit(self, job: FileJob, key: str | None) -> None:
        self._batch.append((job, key))
        if len(self._batch) >= self._batch_size:
            self._send()

    def ready(self) -> Iterator[tuple[FileJob, str | None, FileResult]]:
        while len(self._in_flight) > 2 * self._workers or (
            self._in_flight and self._in_flight[0][1].done()
        ):
            yield from self._collect()

    def drain(self) -> Iterator[tuple[FileJob, str | None, FileResult]]:
        if self._batch:
            self._send()
        while self._in_flight:
            yield from self._collect()

    def _send(self) -> None:
        if self._pool is None:
            raise RuntimeError("the process pool is used outside its with-block")
        jobs = [job for job, _ in self._batch]
        with deferred():  # submitting may spawn a worker: never cut its start-up data
            future = self._pool.submit(analyse_batch, self._request, jobs)
        self._in_flight.append((self._batch, future))
        self._batch = []

    def _collect(self) -> Iterator[tuple[FileJob, str | None, FileResult]]:
        batch, future = self._in_flight.popleft()
        try:
            results = future.result()
        except BrokenProcessPool:
            raise PackError(
                "the analysis process pool died; a script packing with"
                " FASTPATH_PARALLEL_PROCESSING=1 must guard its entry point with"
                " `if __name__ == '__main__':` (spawned workers re-import it)"
            ) from None
        for (job, key), result in zip(batch, results, strict=True):
            yield job, key, result
