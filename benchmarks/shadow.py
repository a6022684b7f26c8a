"""R4 shadow traffic: seeded pack requests replayed on the baseline and a variant side by side.

    python -m benchmarks.shadow [--requests 10000] [--output artifacts/shadow.json]

Requests. Every request packs a *sub-tree* of a corpus repository: a directory of its
prepared (oracle) tree holding at most :data:`MAX_SUBTREE_FILES` files and
:data:`MAX_SUBTREE_BYTES` bytes, so that a request costs milliseconds, not the second a
whole repository takes. Each repository of the profile contributes a seeded draw of
:data:`SUBTREES_PER_REPOSITORY` such directories; a request draws one of them, a budget
log-uniformly in [:data:`MIN_BUDGET`, :data:`MAX_BUDGET`], a query (one of the
repository's oracle questions, or none), the format, and the candidate variant it is
replayed against; a seeded share (:data:`REPLAY_SHARE`) is packed twice on both arms.
Everything is drawn from ``random.Random(f"{seed}:shadow:...")``, so the same seed gives
the same requests in every process and on every Python version.

Arms. Every arm runs in worker processes of its own, started (spawn) with exactly the
environment :func:`benchmarks.arms.worker_environment` builds for a benchmark worker (the
arm's registry flags, a fresh ``FASTPATH_CACHE_DIR``, nothing else of the kind), and
each worker reports the ``FASTPATH_*`` variables it sees before any request; packrepo
reads its flags from that environment, as in production. Hash randomisation stays on
(unlike the benchmarks, which fix it to compare timings): a pack that depended on the
order of a set would differ between two processes and show as a mismatch. The runner of
the benchmarks (:class:`benchmarks.arms.ArmWorker`) speaks a trial protocol that returns
QA scores only; shadow needs the text's digest and the manifest's checks, so it runs the
same environments in :class:`concurrent.futures.ProcessPoolExecutor` workers instead.

Invariants, per request and arm (:func:`judge`): no crash; the text, recounted with the
public ``bpe_openai`` encoder, within the budget; deterministic (the replayed share packs
to the same text and manifest again); a valid manifest (:func:`manifest_problems`); and,
for a variant whose registry intent is ``performance``, the same text as the baseline
(sha256). Counts per kind and a few examples go to ``shadow.json`` (gates/INPUTS.md).

Weights. A candidate that spawns a process pool on every pack with no cache in front of
it (``FASTPATH_PARALLEL_PROCESSING=1`` without ``FASTPATH_AGGRESSIVE_CACHING=1``: V2)
spends about 0.3 s of CPU per request on starting interpreters, some fifty times a small
baseline pack; at equal weight it alone would take ten minutes. Such a candidate is drawn
with weight :data:`POOL_WEIGHT` instead of 1; its request count is in the artifact.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import hashlib
import itertools
import json
import math
import multiprocessing
import os
import random
import re
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from benchmarks.arms import Arm, expected_fastpath_env, worker_environment
from contracts.documents import SCHEMA as DOCUMENT_SCHEMA
from contracts.names import KINDS, SHADOW_FILE
from contracts.progress import ProgressReporter

Result = TypeVar("Result")

SHADOW_KIND = KINDS[SHADOW_FILE]
SCHEMA = DOCUMENT_SCHEMA  # the contract layer's version of every pipeline document
DEFAULT_REQUESTS = 10_000
MAX_SUBTREE_FILES = 20
MAX_SUBTREE_BYTES = 120_000
SUBTREES_PER_REPOSITORY = 10
MIN_BUDGET = 64
MAX_BUDGET = 16_000
QUERY_SHARE = 0.8
XML_SHARE = 0.2
REPLAY_SHARE = 0.02
POOL_WEIGHT = 0.04
BATCH_SIZE = 40
EXAMPLES_PER_KIND = 3
VIOLATION_KINDS = ("crash", "over_budget", "nondeterministic", "invalid_manifest", "mismatch")
BASELINE_KINDS = ("crash", "over_budget", "nondeterministic", "invalid_manifest")
_WORKER_START_TIMEOUT_S = 120.0
_BATCH_TIMEOUT_S = 600.0
MODES = ("full", "chunk", "signature")


class ShadowError(RuntimeError):
    """Shadow traffic cannot run: no sub-tree to draw from, a worker that will not start."""


# ---------------------------------------------------------------------------
# A pack's own consistency (pure)
# ---------------------------------------------------------------------------

# The characters XML 1.0 forbids, which the XML format writes as U+FFFD (packrepo.render).
_XML_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")

LinesOf = Callable[[str], "list[str] | None"]


def file_lines(data: bytes) -> list[str]:
    """A file's lines as the manifest numbers them, each with its newline.

    The packer's contract (``packrepo.text.decode``): UTF-8 with undecodable bytes as
    U+FFFD, a leading byte-order mark dropped, ``\\r\\n`` and ``\\r`` turned into ``\\n``,
    a final newline added; lines are split on ``\\n`` only, the rule ``ast`` numbers
    lines by. Written out here rather than imported, so the check does not trust the code
    it checks.
    """
    text = data.decode("utf-8", errors="replace")
    text = text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    if text and not text.endswith("\n"):
        text += "\n"
    return [line + "\n" for line in text.split("\n")[:-1]]


@dataclass(frozen=True)
class _Item:
    index: int
    path: str
    start: int
    end: int
    mode: str
    tokens: int


def manifest_problems(
    text: str, manifest: Mapping[str, Any], *, count: Callable[[str], int], lines_of: LinesOf
) -> tuple[str, ...]:
    """Where ``manifest`` disagrees with ``text`` and the files it names (empty: none).

    Checked: ``tokens`` is the text's count; every item is a well-formed span of its file,
    items come in emission order (by path, then line) without overlaps; each item's lines
    stand verbatim in the text, in order; the items' tokens plus the document's header
    and footer make ``tokens``; ``files_packed`` is the number of files in the items.
    ``count`` counts tokens; ``lines_of`` gives a file's lines (:func:`file_lines`).
    """
    problems: list[str] = []
    recount = count(text)
    if manifest.get("tokens") != recount:
        problems.append(f"tokens is {manifest.get('tokens')!r}, the text counts {recount}")
    items = _items(manifest.get("items"), problems)
    _check_order(items, problems)
    if manifest.get("files_packed") != len({item.path for item in items}):
        problems.append(
            f"files_packed is {manifest.get('files_packed')!r} for"
            f" {len({item.path for item in items})} files in the items"
        )
    xml = manifest.get("format") == "xml"
    if not xml:
        _check_headings(text, items, problems)
    _check_spans_in_text(text, items, xml, lines_of, problems)
    _check_accounting(text, items, xml, recount, count, problems)
    return tuple(problems)


def _items(raw: Any, problems: list[str]) -> list[_Item]:
    if not isinstance(raw, list):
        problems.append("items is not a list")
        return []
    items = []
    for index, item in enumerate(raw):
        parsed = _item(index, item)
        if parsed is None:
            problems.append(f"items[{index}] is malformed: {item!r}")
        else:
            items.append(parsed)
    return items


def _item(index: int, item: Any) -> _Item | None:
    if not isinstance(item, dict):
        return None
    path, mode = item.get("path"), item.get("mode")
    numbers = [item.get(key) for key in ("start_line", "end_line", "tokens")]
    if not isinstance(path, str) or mode not in MODES:
        return None
    if not all(type(number) is int for number in numbers):
        return None
    start, end, tokens = (int(number) for number in numbers)  # type: ignore[arg-type]
    if not 1 <= start <= end or tokens < 0:
        return None
    return _Item(index, path, start, end, str(mode), tokens)


def _check_order(items: Sequence[_Item], problems: list[str]) -> None:
    for before, after in itertools.pairwise(items):
        if (after.path, after.start) <= (before.path, before.end):
            problems.append(
                f"items[{after.index}] {after.path}:{after.start} is out of order or overlaps"
                f" items[{before.index}] {before.path}:{before.start}-{before.end}"
            )


def _check_headings(text: str, items: Sequence[_Item], problems: list[str]) -> None:
    """Markdown heads each file's block with the spans it shows: they must be the items'."""
    position = 0
    for path, group in itertools.groupby(items, key=lambda item: item.path):
        spans = ", ".join(f"{item.start}-{item.end} {item.mode}" for item in group)
        heading = f"### {path} (lines {spans})\n"
        found = text.find(heading, position)
        if found < 0:
            problems.append(f"no heading `### {path} (lines {spans})` for the items of {path}")
            continue
        position = found + len(heading)


def _check_spans_in_text(
    text: str, items: Sequence[_Item], xml: bool, lines_of: LinesOf, problems: list[str]
) -> None:
    position = 0
    for item in items:
        lines = lines_of(item.path)
        if lines is None:
            problems.append(f"items[{item.index}] {item.path} cannot be read")
            continue
        if item.end > len(lines):
            problems.append(
                f"items[{item.index}] {item.path}:{item.start}-{item.end} runs past the"
                f" file's {len(lines)} lines"
            )
            continue
        expected = _rendered_span(item, "".join(lines[item.start - 1 : item.end]), xml)
        found = text.find(expected, position)
        if found < 0:
            problems.append(
                f"items[{item.index}] {item.path}:{item.start}-{item.end} is not in the text"
                " as the file has it"
            )
            continue
        position = found + len(expected)


def _rendered_span(item: _Item, content: str, xml: bool) -> str:
    """How the format writes a span (packrepo.render's documented rules)."""
    if not xml:
        return content
    cdata = _XML_FORBIDDEN.sub("\ufffd", content).replace("]]>", "]]]]><![CDATA[>")
    return (
        f'<lines from="{item.start}" to="{item.end}" mode="{item.mode}">'
        f"<![CDATA[\n{cdata}]]></lines>\n"
    )


def _check_accounting(
    text: str,
    items: Sequence[_Item],
    xml: bool,
    recount: int,
    count: Callable[[str], int],
    problems: list[str],
) -> None:
    footer = "</repository>\n" if xml else ""
    if not items:
        return
    marker = "<file path=" if xml else f"### {items[0].path} (lines "
    first_block = text.find(marker)
    if first_block < 0 or not text.endswith(footer):
        problems.append("the text has no recognisable header or footer")
        return
    overhead = count(text[:first_block]) + count(footer)
    claimed = sum(item.tokens for item in items)
    if claimed + overhead != recount:
        problems.append(
            f"items claim {claimed} tokens; with the header and footer ({overhead}) that is"
            f" {claimed + overhead}, the text counts {recount}"
        )


# ---------------------------------------------------------------------------
# Requests (pure, seeded)
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Subtree:
    """A directory of a prepared corpus tree that a request may pack."""

    repository: str
    relative: str  # POSIX path under the prepared tree
    path: str  # absolute
    files: int
    size: int


@dataclass(frozen=True)
class RepositoryPool:
    """What requests about one repository are drawn from."""

    repository: str
    subtrees: tuple[Subtree, ...]
    questions: tuple[str, ...]


@dataclass(frozen=True)
class PackRequest:
    """One shadow request; ``variant`` is the candidate it is replayed against."""

    index: int
    repository: str
    subtree: str
    tree: str
    budget: int
    query: str | None
    format: str
    variant: str
    replay: bool

    def describe(self) -> dict[str, Any]:
        return {
            "request": self.index,
            "repository": self.repository,
            "subtree": self.subtree,
            "budget": self.budget,
            "query": self.query,
            "format": self.format,
        }


def subtree_sizes(root: Path) -> dict[str, tuple[int, int]]:
    """(files, bytes) under every directory of ``root`` (the root is ``""``), links ignored."""
    sizes: dict[str, tuple[int, int]] = {}
    for directory, subdirectories, names in os.walk(root, topdown=False):
        relative = Path(directory).relative_to(root).as_posix()
        relative = "" if relative == "." else relative
        files = size = 0
        for name in names:
            path = os.path.join(directory, name)
            if not os.path.islink(path):
                files += 1
                size += os.path.getsize(path)
        for name in subdirectories:
            child = f"{relative}/{name}" if relative else name
            child_files, child_size = sizes.get(child, (0, 0))
            files, size = files + child_files, size + child_size
        sizes[relative] = (files, size)
    return sizes


def choose_subtrees(
    repository: str,
    root: Path,
    sizes: Mapping[str, tuple[int, int]],
    *,
    seed: int,
    count: int = SUBTREES_PER_REPOSITORY,
) -> tuple[Subtree, ...]:
    """A seeded draw of ``count`` small directories (never the root) of one repository."""
    eligible = sorted(
        relative
        for relative, (files, size) in sizes.items()
        if relative and 1 <= files <= MAX_SUBTREE_FILES and size <= MAX_SUBTREE_BYTES
    )
    draw = random.Random(f"{seed}:shadow:subtrees:{repository}")  # noqa: S311  # nosec B311
    chosen = sorted(draw.sample(eligible, min(count, len(eligible))))
    return tuple(
        Subtree(repository, relative, str(root / relative), *sizes[relative]) for relative in chosen
    )


def variant_weights(flags_by_variant: Mapping[str, Mapping[str, str]]) -> dict[str, float]:
    """Weight 1 per candidate; :data:`POOL_WEIGHT` for one that spawns a pool per pack."""
    weights = {}
    for name, flags in flags_by_variant.items():
        pool = flags.get("FASTPATH_PARALLEL_PROCESSING") == "1"
        cached = flags.get("FASTPATH_AGGRESSIVE_CACHING") == "1"
        weights[name] = POOL_WEIGHT if pool and not cached else 1.0
    return weights


def draw_requests(
    pools: Sequence[RepositoryPool], weights: Mapping[str, float], count: int, seed: int
) -> tuple[PackRequest, ...]:
    """``count`` seeded requests over the pools, each assigned one candidate by weight."""
    pools = [pool for pool in pools if pool.subtrees]
    if not pools:
        raise ShadowError("no repository has a sub-tree small enough to draw requests from")
    if not weights:
        raise ShadowError("no candidate variant to replay requests against")
    draw = random.Random(f"{seed}:shadow:requests")  # noqa: S311  # nosec B311
    names, shares = list(weights), list(weights.values())
    requests = []
    for index in range(count):
        pool = draw.choice(pools)
        subtree = draw.choice(pool.subtrees)
        budget = round(math.exp(draw.uniform(math.log(MIN_BUDGET), math.log(MAX_BUDGET))))
        asks = pool.questions and draw.random() < QUERY_SHARE
        requests.append(
            PackRequest(
                index=index,
                repository=pool.repository,
                subtree=subtree.relative,
                tree=subtree.path,
                budget=budget,
                query=draw.choice(pool.questions) if asks else None,
                format="xml" if draw.random() < XML_SHARE else "markdown",
                variant=draw.choices(names, shares)[0],
                replay=draw.random() < REPLAY_SHARE,
            )
        )
    return tuple(requests)


# ---------------------------------------------------------------------------
# Packing in an arm's worker process
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class PackOutcome:
    """What one arm made of one request. ``status``: ok, refused (budget) or crash."""

    index: int
    status: str
    error: str | None = None
    sha256: str | None = None  # of the text
    manifest_sha256: str | None = None  # of the manifest, cache statistics aside
    budget: int = 0
    recount: int = 0
    problems: tuple[str, ...] = ()
    replay_digest: str | None = None  # sha256 and manifest_sha256 of the second pack
    seconds: float = 0.0

    @property
    def digest(self) -> str:
        return f"{self.sha256}/{self.manifest_sha256}"


def text_digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def manifest_digest(manifest: Mapping[str, Any]) -> str:
    """The manifest's sha256 without ``cache`` (hit counts differ between cold and warm)."""
    kept = {key: value for key, value in manifest.items() if key != "cache"}
    return text_digest(json.dumps(kept, sort_keys=True, ensure_ascii=False))


def _read_lines(path: str) -> list[str] | None:
    try:
        with open(path, "rb") as handle:
            return file_lines(handle.read())
    except OSError:
        return None


_LINES: dict[str, list[str] | None] = {}


def _cached_lines(root: str) -> LinesOf:
    def lines_of(relative: str) -> list[str] | None:
        path = os.path.join(root, relative)
        if path not in _LINES:
            _LINES[path] = _read_lines(path)
        return _LINES[path]

    return lines_of


@functools.lru_cache(maxsize=4)
def _public_count(encoding: str) -> Callable[[str], int]:
    """The public encoder's count (loaded once per process: it takes about a second)."""
    from packrepo.tokens import load_public_counter

    return load_public_counter(encoding).count


def pack_outcome(request: PackRequest) -> PackOutcome:
    """Pack ``request`` with this process's flags and check the result (runs in a worker)."""
    import packrepo

    started = time.perf_counter()
    try:
        result = packrepo.pack(request.tree, request.budget, request.query, format=request.format)
    except packrepo.BudgetError as exc:
        return PackOutcome(request.index, "refused", error=str(exc), budget=request.budget)
    except Exception as exc:  # any other failure is the crash the invariant is about
        return PackOutcome(request.index, "crash", error=_error(exc), budget=request.budget)
    seconds = time.perf_counter() - started
    count = _public_count(result.manifest.get("encoding", "cl100k_base"))
    return PackOutcome(
        index=request.index,
        status="ok",
        sha256=text_digest(result.text),
        manifest_sha256=manifest_digest(result.manifest),
        budget=request.budget,
        recount=count(result.text),
        problems=manifest_problems(
            result.text, result.manifest, count=count, lines_of=_cached_lines(request.tree)
        ),
        replay_digest=_replay(request) if request.replay else None,
        seconds=seconds,
    )


def _replay(request: PackRequest) -> str:
    import packrepo

    try:
        again = packrepo.pack(request.tree, request.budget, request.query, format=request.format)
    except Exception as exc:  # a second pack that fails is nondeterminism too
        return f"failed: {_error(exc)}"
    return f"{text_digest(again.text)}/{manifest_digest(again.manifest)}"


def _error(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}".strip().rstrip(":")[:500]


def pack_batch(requests: Sequence[PackRequest]) -> list[PackOutcome]:
    return [pack_outcome(request) for request in requests]


def worker_fastpath_env() -> dict[str, str]:
    """What a freshly started worker sees (checked against its arm before any request)."""
    import packrepo

    packrepo.Flags.from_environ(os.environ)  # refuses bad flags now, not at the first pack
    return {key: value for key, value in os.environ.items() if key.startswith("FASTPATH_")}


# ---------------------------------------------------------------------------
# Arm lanes: one worker process per lane, started with the arm's environment
# ---------------------------------------------------------------------------


@contextlib.contextmanager
def _process_environment(environment: Mapping[str, str]) -> Iterator[None]:
    """Make ``environment`` the whole of ``os.environ`` while a worker is spawned.

    A spawned process inherits the environment at the moment it starts, so a worker is
    started with exactly its arm's variables; the runner's own is restored at once.
    """
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(environment)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


@dataclass
class Lane:
    """A worker process packing with one arm's flags."""

    arm: Arm
    executor: ProcessPoolExecutor
    cache_dir: Path

    def submit(
        self,
        requests: Sequence[PackRequest],
        worker: Callable[[Sequence[PackRequest]], list[Result]] = pack_batch,  # type: ignore[assignment]
    ) -> Future[list[Result]]:
        """Run ``worker`` (a module-level function, for pickling) on a batch in this lane."""
        return self.executor.submit(worker, list(requests))

    def close(self) -> None:
        self.executor.shutdown(wait=True, cancel_futures=True)


def open_lane(arm: Arm, scratch: Path) -> Lane:
    """Start a worker for ``arm`` and check the flags it sees (:class:`ShadowError` if not)."""
    cache_dir = Path(tempfile.mkdtemp(prefix=f"cache-{arm.name}-", dir=scratch))
    environment = worker_environment(arm, os.environ, cache_dir)
    environment.pop("PYTHONHASHSEED", None)  # see the module docstring: randomisation stays on
    context = multiprocessing.get_context("spawn")
    with _process_environment(environment):
        executor = ProcessPoolExecutor(max_workers=1, mp_context=context)
        ready = executor.submit(worker_fastpath_env)  # starts the process, inside the block
    lane = Lane(arm, executor, cache_dir)
    try:
        seen = ready.result(timeout=_WORKER_START_TIMEOUT_S)
    except Exception as exc:
        lane.close()
        raise ShadowError(f"worker of arm {arm.name} failed to start: {_error(exc)}") from None
    expected = expected_fastpath_env(arm, cache_dir)
    if seen != expected:
        lane.close()
        raise ShadowError(f"worker of arm {arm.name} sees FASTPATH_* = {seen}, expected {expected}")
    return lane


def batches(requests: Sequence[PackRequest], size: int = BATCH_SIZE) -> list[list[PackRequest]]:
    return [list(requests[start : start + size]) for start in range(0, len(requests), size)]


def run_lanes(
    work: Mapping[str, Sequence[PackRequest]], lanes: Mapping[str, Sequence[Lane]]
) -> dict[str, dict[int, PackOutcome]]:
    """Pack every arm's requests on its lanes, all arms at once; outcomes by request index.

    A worker that dies turns its batch into crashes (and its arm's later batches too).
    """
    pending: list[tuple[str, list[PackRequest], Future[list[PackOutcome]]]] = []
    for arm, requests in work.items():
        arm_lanes = lanes[arm]
        for number, batch in enumerate(batches(requests)):
            lane = arm_lanes[number % len(arm_lanes)]
            pending.append((arm, batch, lane.submit(batch)))
    outcomes: dict[str, dict[int, PackOutcome]] = {arm: {} for arm in work}
    # Every arm packs every request: the count is of packs, all arms together.
    reporter = ProgressReporter("packs", sum(len(requests) for requests in work.values()))
    packed = 0
    for arm, batch, future in pending:
        try:
            done = future.result(timeout=_BATCH_TIMEOUT_S)
        except Exception as exc:  # the worker died or hung: every request of the batch crashed
            done = [
                PackOutcome(r.index, "crash", error=_error(exc), budget=r.budget) for r in batch
            ]
        outcomes[arm].update((outcome.index, outcome) for outcome in done)
        packed += len(batch)
        reporter.update(packed)
    return outcomes


# ---------------------------------------------------------------------------
# Judging (pure)
# ---------------------------------------------------------------------------


@dataclass
class ArmReport:
    """Violations of one arm over its requests, with a few examples of each kind."""

    kinds: tuple[str, ...]
    requests: int = 0
    violations: Counter[str] = field(default_factory=Counter)
    examples: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    refused: int = 0
    differs_from_baseline: int = 0
    seconds: float = 0.0

    def note(self, kind: str, request: PackRequest, detail: str) -> None:
        self.violations[kind] += 1
        shown = self.examples.setdefault(kind, [])
        if len(shown) < EXAMPLES_PER_KIND:
            shown.append({**request.describe(), "detail": detail})

    @property
    def clean(self) -> bool:
        return self.requests > 0 and not any(self.violations[kind] for kind in self.kinds)

    def to_json(self) -> dict[str, Any]:
        return {
            "clean": self.clean,
            "requests": self.requests,
            "violations": {kind: self.violations[kind] for kind in self.kinds},
            "refused": self.refused,
            "differs_from_baseline": self.differs_from_baseline,
            "pack_seconds": round(self.seconds, 3),
            "examples": {kind: self.examples[kind] for kind in self.kinds if kind in self.examples},
        }


def check_invariants(report: ArmReport, request: PackRequest, outcome: PackOutcome) -> None:
    """The invariants one arm's outcome must hold on its own."""
    report.requests += 1
    report.seconds += outcome.seconds
    if outcome.status == "refused":
        report.refused += 1
        return
    if outcome.status != "ok":
        report.note("crash", request, outcome.error or "unknown error")
        return
    if outcome.recount > outcome.budget:
        report.note("over_budget", request, f"{outcome.recount} tokens for {outcome.budget}")
    if outcome.problems:
        report.note("invalid_manifest", request, "; ".join(outcome.problems[:3]))
    if outcome.replay_digest is not None and outcome.replay_digest != outcome.digest:
        report.note("nondeterministic", request, f"{outcome.digest} then {outcome.replay_digest}")


def judge(
    requests: Sequence[PackRequest],
    outcomes: Mapping[str, Mapping[int, PackOutcome]],
    *,
    baseline: str,
    must_match: frozenset[str],
) -> tuple[ArmReport, dict[str, ArmReport]]:
    """The baseline's report and each candidate's: invariants, plus identity where required.

    A candidate in ``must_match`` (performance intent) must give the baseline's text
    whenever both packed; a candidate refusing a request the baseline packed has crashed.
    """
    base_report = ArmReport(BASELINE_KINDS)
    reports: dict[str, ArmReport] = {}
    for request in requests:
        base = outcomes[baseline][request.index]
        check_invariants(base_report, request, base)
        report = reports.setdefault(request.variant, ArmReport(VIOLATION_KINDS))
        variant = outcomes[request.variant][request.index]
        if variant.status == "refused" and base.status == "ok":
            variant = PackOutcome(variant.index, "crash", error=f"refused: {variant.error}")
        check_invariants(report, request, variant)
        if base.status == "ok" and variant.status == "ok" and base.sha256 != variant.sha256:
            report.differs_from_baseline += 1
            if request.variant in must_match:
                report.note("mismatch", request, f"text {variant.sha256} vs {base.sha256}")
    return base_report, reports


# ---------------------------------------------------------------------------
# The run and its artifact
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ShadowRun:
    seed: int
    requests: tuple[PackRequest, ...]
    pools: tuple[RepositoryPool, ...]
    baseline: ArmReport
    variants: dict[str, ArmReport]
    weights: dict[str, float]
    wall_seconds: float


def shadow_document(run: ShadowRun, provenance: Mapping[str, Any]) -> dict[str, Any]:
    """``shadow.json`` (kind ``fastpath-shadow``, schema 1; see gates/INPUTS.md)."""
    return {
        "schema": SCHEMA,
        "kind": SHADOW_KIND,
        "provenance": dict(provenance),
        "requests": len(run.requests),
        "seed": run.seed,
        "replayed_twice": sum(1 for request in run.requests if request.replay),
        "wall_seconds": round(run.wall_seconds, 3),
        "method": {
            "subtrees": {
                "per_repository": SUBTREES_PER_REPOSITORY,
                "max_files": MAX_SUBTREE_FILES,
                "max_bytes": MAX_SUBTREE_BYTES,
            },
            "budgets": [MIN_BUDGET, MAX_BUDGET],
            "query_share": QUERY_SHARE,
            "xml_share": XML_SHARE,
            "replay_share": REPLAY_SHARE,
            "variant_weights": run.weights,
        },
        "repositories": {
            pool.repository: [subtree.relative for subtree in pool.subtrees] for pool in run.pools
        },
        "baseline": run.baseline.to_json(),
        "variants": {name: report.to_json() for name, report in sorted(run.variants.items())},
    }


def execute(
    requests: Sequence[PackRequest],
    arms: Mapping[str, Arm],
    *,
    baseline: str,
    must_match: frozenset[str],
    baseline_lanes: int = 2,
) -> tuple[ArmReport, dict[str, ArmReport]]:
    """Start the lanes, pack every request on the baseline and its variant, judge."""
    work: dict[str, list[PackRequest]] = {name: [] for name in arms}
    for request in requests:
        work[baseline].append(request)
        work[request.variant].append(request)
    work = {name: chosen for name, chosen in work.items() if chosen}
    with tempfile.TemporaryDirectory(prefix="shadow-") as scratch:
        lanes: dict[str, list[Lane]] = {}
        try:
            for name in work:
                count = baseline_lanes if name == baseline else 1
                lanes[name] = [open_lane(arms[name], Path(scratch)) for _ in range(count)]
            outcomes = run_lanes(work, lanes)
        finally:
            for arm_lanes in lanes.values():
                for lane in arm_lanes:
                    lane.close()
    return judge(requests, outcomes, baseline=baseline, must_match=must_match)


# ---------------------------------------------------------------------------
# The setting: registry arms and prepared corpus trees (the I/O edge)
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class PreparedRepository:
    """A corpus repository's prepared (oracle) tree and its question texts."""

    name: str
    tree: Path
    questions: tuple[str, ...]
    question_ids: tuple[str, ...]


@dataclass(frozen=True)
class Setting:
    """Everything a differential or shadow run reads from the registry and the corpus."""

    config: Path
    seed: int
    baseline: Arm
    candidates: dict[str, Arm]
    must_match: frozenset[str]  # candidates of intent `performance`: byte-identical
    registry_budgets: tuple[str, ...]
    repositories: tuple[PreparedRepository, ...]

    def provenance(self, producer: str) -> dict[str, Any]:
        from contracts.provenance import current_provenance

        return current_provenance(self.config, producer=producer).to_json()


def load_setting(
    config: Path,
    *,
    corpus: Path | None,
    profile: str,
    cache: Path | None,
    variants: str | None,
    seed: int | None,
) -> Setting:
    """Read the registry, pick the arms, fetch and prepare the profile's repositories."""
    from benchmarks.arms import plan_arms
    from benchmarks.corpus import DEFAULT_CORPUS_LIST, cache_dir, ensure_tree, load_corpus
    from benchmarks.oracle import ensure_question_set, tree_digest
    from benchmarks.preparation import chosen_entries
    from benchmarks.profiles import get_profile
    from packrepo.registry import load_registry

    registry = load_registry(config)
    names = [c.name for c in registry.candidates]
    if variants:
        names = [name.strip() for name in variants.split(",") if name.strip()]
        for name in names:
            registry.variant(name)  # unknown names raise RegistryError
        names = [name for name in names if not registry.variant(name).is_baseline]
    pairs = {name: plan_arms(registry, name) for name in names}
    baseline = plan_arms(registry, registry.baseline.name)[0]
    run_seed = registry.seed if seed is None else seed
    cache = cache or cache_dir()
    repositories = []
    for entry in chosen_entries(load_corpus(corpus or DEFAULT_CORPUS_LIST), get_profile(profile)):
        root = ensure_tree(entry, cache=cache)
        prepared = ensure_question_set(
            root,
            name=entry.name,
            version=entry.version,
            digest=entry.sha256 or tree_digest(root),
            seed=run_seed,
            cache=cache,
        )
        repositories.append(
            PreparedRepository(
                name=entry.name,
                tree=prepared.tree,
                questions=tuple(q.text for q in prepared.questions),
                question_ids=tuple(q.id for q in prepared.questions),
            )
        )
    return Setting(
        config=config,
        seed=run_seed,
        baseline=baseline,
        candidates={name: pair[1] for name, pair in pairs.items()},
        must_match=frozenset(
            name for name in names if registry.variant(name).intent == "performance"
        ),
        registry_budgets=registry.budgets,
        repositories=tuple(repositories),
    )


def expected_errors() -> tuple[type[Exception], ...]:
    """What the CLIs turn into one line and exit 2: bad input, never a bug."""
    from benchmarks.corpus import CorpusError
    from benchmarks.oracle import OracleError
    from benchmarks.profiles import ProfileError
    from packrepo.errors import PackError
    from packrepo.registry import RegistryError

    return (ShadowError, CorpusError, OracleError, ProfileError, RegistryError, PackError, OSError)


def report_error(program: str, exc: BaseException) -> int:
    filename = getattr(exc, "filename", None)
    where = f"{filename}: " if isinstance(exc, OSError) and filename else ""
    message = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
    print(f"{program}: error: {where}{message}", file=sys.stderr)
    return 2


def write_json(path: Path, document: Mapping[str, Any]) -> None:
    """Write a versioned artifact atomically (a reader sees the old file or the new one)."""
    from contracts.documents import write_json_atomically

    path.parent.mkdir(parents=True, exist_ok=True)
    write_json_atomically(path, document)


def add_setting_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seed", type=int, default=None, help="default: the registry's seed")
    parser.add_argument("--config", type=Path, default=Path("pyproject.toml"))
    parser.add_argument("--corpus", type=Path, default=None, help="corpus list (JSON)")
    parser.add_argument("--profile", default="standard", help="which repositories")
    parser.add_argument("--cache-dir", type=Path, default=None, help="corpus cache")
    parser.add_argument("--variants", default=None, help="candidates, e.g. V1,V4 (default all)")


def setting_from(arguments: argparse.Namespace) -> Setting:
    return load_setting(
        arguments.config,
        corpus=arguments.corpus,
        profile=arguments.profile,
        cache=arguments.cache_dir,
        variants=arguments.variants,
        seed=arguments.seed,
    )


def pools_of(
    setting: Setting, per_repository: int = SUBTREES_PER_REPOSITORY
) -> list[RepositoryPool]:
    return [
        RepositoryPool(
            repository.name,
            choose_subtrees(
                repository.name,
                repository.tree,
                subtree_sizes(repository.tree),
                seed=setting.seed,
                count=per_repository,
            ),
            repository.questions,
        )
        for repository in setting.repositories
    ]


def run_shadow(setting: Setting, count: int, pools: Sequence[RepositoryPool]) -> ShadowRun:
    started = time.monotonic()
    weights = variant_weights({name: arm.flags for name, arm in setting.candidates.items()})
    requests = draw_requests(pools, weights, count, setting.seed)
    arms = {setting.baseline.name: setting.baseline, **setting.candidates}
    base_report, reports = execute(
        requests, arms, baseline=setting.baseline.name, must_match=setting.must_match
    )
    return ShadowRun(
        seed=setting.seed,
        requests=requests,
        pools=tuple(pools),
        baseline=base_report,
        variants=reports,
        weights=weights,
        wall_seconds=time.monotonic() - started,
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.shadow",
        description="R4: replay seeded pack requests on the baseline and a variant side by side.",
    )
    parser.add_argument("--requests", type=int, default=DEFAULT_REQUESTS)
    parser.add_argument("--output", type=Path, default=Path("artifacts/shadow.json"))
    add_setting_arguments(parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run shadow traffic; 0 clean, 1 a violation found, 2 it could not run."""
    arguments = _parser().parse_args(argv)
    try:
        if arguments.requests <= 0:
            raise ShadowError(f"--requests must be positive, got {arguments.requests}")
        setting = setting_from(arguments)
        run = run_shadow(setting, arguments.requests, pools_of(setting))
        write_json(arguments.output, shadow_document(run, setting.provenance("benchmarks.shadow")))
    except expected_errors() as exc:
        return report_error("benchmarks.shadow", exc)
    for name, report in sorted(run.variants.items()):
        counts = ", ".join(f"{k} {v}" for k, v in report.to_json()["violations"].items())
        print(f"{name:>9}: {report.requests:>5} requests; {counts}")
    print(f"wrote {arguments.output}: {len(run.requests)} requests in {run.wall_seconds:.0f} s")
    return 0 if all(report.clean for report in run.variants.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
