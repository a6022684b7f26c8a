"""The packer: scan, analyse, rank, select, count exactly, render.

Budget invariant. Selection works on estimates; then every chosen block is rendered and
counted exactly, blocks are dropped from the lowest priority up until header + blocks +
footer fit, and whole files from the reserve are tried in the slack that is left. The
parts are cut where BPE cannot merge across (:mod:`packrepo.render`), so their sum is the
count of the document; unless the text is streamed (V3), the assembled document is also
counted as a whole and trimmed further if that ever disagreed.
"""

from __future__ import annotations

import io
import os
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any, TextIO, cast

from packrepo import reuse
from packrepo.budget import parse_budget
from packrepo.cache import AnalysisCache, CacheStats, default_cache_dir, private_directory
from packrepo.errors import BudgetError, PackError
from packrepo.flags import Flags
from packrepo.heuristics import FileFacts, heuristic_scores, import_graph
from packrepo.hybrid import ChunkStats, HybridScores, hybrid_scores
from packrepo.overview import directory_overview
from packrepo.pipeline import (
    AnalysedTree,
    CompressedStore,
    FileRecord,
    MemoryStore,
    RereadStore,
    StaleAnalysis,
    TextStore,
    analyse_tree,
)
from packrepo.render import FORMATS, Block, Renderer
from packrepo.runners import AnalysisRequest
from packrepo.scan import DEFAULT_MAX_FILE_BYTES, ScannedFile, scan
from packrepo.selection import (
    Candidate,
    Selection,
    full_block,
    select_ladder,
    select_whole_files,
)
from packrepo.terms import query_terms
from packrepo.tokens import TokenCounter, load_counter
from packrepo.writer import Writer

DEFAULT_ENCODING = "cl100k_base"
# V4 keeps whole files when the whole tree is at most this many times the room: demoting
# files to chunks pays only when most of the tree must be left out. Measured with the QA
# oracle (benchmarks/outside_bench.py, 20 and 40 questions): the ladder scored 0.94x the
# baseline's QA/100k on requests at 50k; whole files by the hybrid score alone 1.00x and
# 1.03x (2 rooms left requests to the ladder); blended half and half with the heuristics,
# 1.05x and 1.06x, with jinja2 at 120k 1.13x either way and at 50k (a ladder case) 2.8x.
SMALL_TREE_ROOMS = 3
MANIFEST_SCHEMA = 1


@dataclass(frozen=True)
class PackResult:
    """The packed text, its manifest (JSON-ready) and its exact token count."""

    text: str
    manifest: dict[str, Any]
    tokens: int


@dataclass(frozen=True)
class _Options:
    root: str
    budget: int
    query: str | None
    flags: Flags
    format: str
    encoding: str
    max_file_bytes: int
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    overview: bool = False
    allow_secrets: bool = False


def pack(
    path: str | os.PathLike[str],
    budget: int | str,
    query: str | None = None,
    *,
    flags: Flags | None = None,
    format: str = "markdown",
    encoding: str = DEFAULT_ENCODING,
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
    overview: bool = False,
    allow_secrets: bool = False,
) -> PackResult:
    """Pack the tree at ``path`` into at most ``budget`` tokens (see :func:`pack_to`)."""
    buffer = io.StringIO()
    manifest = pack_to(
        path, budget, buffer, query, flags=flags, format=format, encoding=encoding,
        max_file_bytes=max_file_bytes, include=include, exclude=exclude, overview=overview,
        allow_secrets=allow_secrets,
    )  # fmt: skip
    return PackResult(text=buffer.getvalue(), manifest=manifest, tokens=manifest["tokens"])


def pack_to(
    path: str | os.PathLike[str],
    budget: int | str,
    out: TextIO,
    query: str | None = None,
    *,
    flags: Flags | None = None,
    format: str = "markdown",
    encoding: str = DEFAULT_ENCODING,
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
    overview: bool = False,
    allow_secrets: bool = False,
) -> dict[str, Any]:
    """Write the pack of ``path`` to ``out`` and return its manifest.

    ``flags`` None reads the ``FASTPATH_*`` environment once. With memory optimisation (V3)
    blocks are written one at a time as they are rendered; otherwise the document is
    assembled, counted whole, then written. ``include``/``exclude`` are gitignore-style
    patterns; ``overview`` puts a directory overview, counted in the budget, at the top.
    A file whose emitted text would hold a secret is withheld (manifest ``skipped`` counts
    it under ``secret``, ``withheld`` names it and the kind) unless ``allow_secrets``.
    """
    options = replace(
        _options(path, budget, query, flags, format, encoding, max_file_bytes),
        include=tuple(include),
        exclude=tuple(exclude),
        overview=overview,
        allow_secrets=allow_secrets,
    )
    counter = load_counter(options.encoding)
    renderer = Renderer(options.format, title=os.path.basename(options.root))
    fixed = counter.count(renderer.header()) + counter.count(renderer.footer())
    if fixed >= options.budget:
        raise BudgetError(
            f"budget {options.budget} is too small: the pack's header alone takes {fixed} tokens"
        )
    scanned = scan(
        options.root,
        max_file_bytes=options.max_file_bytes,
        include=options.include,
        exclude=options.exclude,
    )
    if options.overview:
        lines = directory_overview(
            [file.path for file in scanned.files], options.budget, counter.count
        )
        renderer = replace(renderer, overview=lines)
        fixed = counter.count(renderer.header()) + counter.count(renderer.footer())
    cache, cache_unused = _cache(options)
    terms = query_terms(options.query or "") if options.flags.hybrid_mode else ()
    try:
        tree, writer, blocks, exact = _analyse_and_fit(
            options, scanned.files, cache, terms, fixed, counter, renderer, trust_snapshot=True
        )
    except StaleAnalysis:
        # The V1 snapshot (or the tree kept from the last query) described a file that has
        # since changed under an unchanged stat signature: a miss, so analyse again reading
        # every file (and save a true snapshot).
        reuse.forget()
        if cache is not None:
            cache.stats = CacheStats()
        tree, writer, blocks, exact = _analyse_and_fit(
            options, scanned.files, cache, terms, fixed, counter, renderer, trust_snapshot=False
        )
    if options.flags.memory_optimization:
        writer.stream(blocks, out)
    else:
        blocks = writer.write_whole(blocks, exact, out)
    tokens = fixed + sum(exact[block.path] for block in blocks)
    skipped = Counter(scanned.skipped) + tree.skipped + Counter({"secret": len(writer.withheld)})
    manifest = _manifest(options, tree, blocks, exact, tokens, dict(sorted(skipped.items())), cache)
    manifest["query_terms"] = list(terms)  # empty: the query did not steer this pack
    if writer.withheld:  # absent when nothing was withheld, as in every pack before
        manifest["withheld"] = [
            {"path": path, "reason": reason} for path, reason in sorted(writer.withheld.items())
        ]
    if cache_unused is not None:
        manifest["cache"] = {"unused": cache_unused}
    return manifest


def _analyse_and_fit(
    options: _Options,
    files: tuple[ScannedFile, ...],
    cache: AnalysisCache | None,
    terms: tuple[str, ...],
    fixed: int,
    counter: TokenCounter,
    renderer: Renderer,
    *,
    trust_snapshot: bool,
) -> tuple[AnalysedTree, Writer, list[Block], dict[str, int]]:
    request = AnalysisRequest(
        encoding=options.encoding,
        detailed=options.flags.hybrid_mode,
        with_terms=bool(terms),
        keep_terms=frozenset(terms),
    )
    flags = options.flags
    reusable = flags.hybrid_mode
    arm = (flags.memory_optimization, flags.compression, cache.directory if cache else None)
    key = reuse.tree_key(options.root, files, request, options.max_file_bytes, arm)
    recalled = reuse.recall(key, request) if reusable else None
    store: TextStore
    known: dict[tuple[object, ...], object] = {}
    if recalled is not None:
        tree, store, known = recalled
        if cache is not None:  # the first pack brought the V1 cache up to date for this tree
            cache.stats.hits += len(tree.records)
    else:
        store = _store(options.flags, options.max_file_bytes)
        tree = analyse_tree(
            options.root,
            files,
            request,
            store,
            cache=cache,
            batch_size=options.flags.batch_size if options.flags.parallel_processing else None,
            max_file_bytes=options.max_file_bytes,
            trust_snapshot=trust_snapshot,
        )
        if reusable:
            reuse.remember(key, tree, store, known)
    writer = Writer(
        renderer,
        counter,
        store,
        options.budget,
        keep_rendered=not options.flags.memory_optimization,
        allow_secrets=options.allow_secrets,
        known=known,
    )
    selection = _select(
        tree.records, terms, options, writer.estimate, options.budget - fixed, known
    )
    blocks, exact = writer.fit(selection, fixed)
    return tree, writer, blocks, exact


def _options(
    path: str | os.PathLike[str],
    budget: int | str,
    query: str | None,
    flags: Flags | None,
    format: str,
    encoding: str,
    max_file_bytes: int,
) -> _Options:
    flags = Flags.from_environ(os.environ) if flags is None else flags
    tokens = parse_budget(budget)
    if format not in FORMATS:
        raise PackError(f"format must be one of {', '.join(FORMATS)}, got {format!r}")
    root = os.fspath(path)
    if not os.path.exists(root):
        raise PackError(f"{root}: no such directory")
    if not os.path.isdir(root):
        raise PackError(f"{root} is not a directory")
    return _Options(
        root=os.path.realpath(root),
        budget=tokens,
        query=query if query and query.strip() else None,
        flags=flags,
        format=format,
        encoding=encoding,
        max_file_bytes=max_file_bytes,
    )


def _store(flags: Flags, max_file_bytes: int) -> TextStore:
    if not flags.memory_optimization:
        return MemoryStore(max_file_bytes)
    return CompressedStore(max_file_bytes) if flags.compression else RereadStore(max_file_bytes)


def _cache(options: _Options) -> tuple[AnalysisCache | None, str | None]:
    """The V1 cache, if on and its directory is private to us, else why it is unused
    (entries that another user can write could steer the pack)."""
    if not options.flags.aggressive_caching:
        return None, None
    base = default_cache_dir(os.environ, options.flags.cache_dir)
    if not private_directory(base):
        return None, "not a private directory"
    return AnalysisCache.open(base, options.encoding), None


def _select(
    records: list[FileRecord],
    terms: tuple[str, ...],
    options: _Options,
    estimate: Callable[[Block], int],
    room: int,
    known: dict[tuple[object, ...], object],
) -> Selection:
    """The blocks to offer the writer. ``known`` is shared by the packs of one unchanged
    tree (packrepo/reuse.py): the import graph and heuristics depend on the tree alone,
    and the hybrid scores on the tree and the query, not on the budget."""
    graph, heuristic = cast(
        tuple[dict[str, tuple[str, ...]], dict[str, float]],
        _remembered(known, ("graph",), lambda: _graph_and_heuristics(records)),
    )
    if not options.flags.hybrid_mode:
        candidates = [Candidate(r.path, r.analysis, heuristic[r.path]) for r in records]
        return select_whole_files(candidates, room, estimate)
    scores = cast(
        HybridScores,
        _remembered(
            known,
            ("hybrid", terms),
            lambda: hybrid_scores(_chunk_stats(records), terms, graph, heuristic),
        ),
    )
    candidates = [
        Candidate(r.path, r.analysis, scores.file_scores[r.path], scores.chunk_scores[r.path])
        for r in records
    ]
    whole_tree = sum(estimate(full_block(candidate)) for candidate in candidates)
    if whole_tree <= SMALL_TREE_ROOMS * room:
        # Much of the tree fits: whole files, chosen in equal parts on the query's evidence
        # and on the query-agnostic heuristics (a strong prior when most files go in).
        top = max(heuristic.values(), default=0.0) or 1.0
        blended = [
            Candidate(c.path, c.analysis, 0.5 * c.score + 0.5 * heuristic[c.path] / top)
            for c in candidates
        ]
        return select_whole_files(blended, room, estimate)
    return select_ladder(candidates, room, estimate, options.flags.adaptive_threshold)


def _remembered(
    known: dict[tuple[object, ...], object], key: tuple[object, ...], make: Callable[[], object]
) -> object:
    if key not in known:
        known[key] = make()
    return known[key]


def _chunk_stats(records: list[FileRecord]) -> dict[str, list[ChunkStats]]:
    return {
        record.path: [
            ChunkStats(counts=counts, length=length)
            for counts, length in zip(record.terms.counts, record.terms.lengths, strict=True)
        ]
        if record.terms is not None
        else [ChunkStats(counts={}, length=0) for _ in record.analysis.chunks]
        for record in records
    }


def _graph_and_heuristics(
    records: list[FileRecord],
) -> tuple[dict[str, tuple[str, ...]], dict[str, float]]:
    facts = [FileFacts(record.path, record.analysis) for record in records]
    graph = import_graph(facts)
    return graph, heuristic_scores(facts, graph)


def _manifest(
    options: _Options,
    tree: AnalysedTree,
    blocks: list[Block],
    exact: dict[str, int],
    tokens: int,
    skipped: dict[str, int],
    cache: AnalysisCache | None,
) -> dict[str, Any]:
    manifest: dict[str, Any] = {
        "schema": MANIFEST_SCHEMA,
        "encoding": options.encoding,
        "budget": options.budget,
        "tokens": tokens,
        "format": options.format,
        "query": options.query,
        "root": os.path.basename(options.root),
        "files_scanned": len(tree.records),
        "files_packed": len(blocks),
        "files_with_replacement_chars": tree.replaced,
        "items": [item for block in blocks for item in _items(block, exact[block.path])],
        "skipped": skipped,
        "flags": options.flags.to_manifest(),
    }
    if cache is not None:
        manifest["cache"] = {
            "hits": cache.stats.hits,
            "misses": cache.stats.misses,
            "write_errors": cache.stats.write_errors,
        }
    return manifest


def _items(block: Block, block_tokens: int) -> list[dict[str, Any]]:
    """One item per span; the block's framing is charged to its first span."""
    rest = sum(segment.tokens for segment in block.segments[1:])
    items = []
    for index, segment in enumerate(block.segments):
        items.append(
            {
                "path": block.path,
                "start_line": segment.start,
                "end_line": segment.end,
                "mode": segment.mode,
                "tokens": block_tokens - rest if index == 0 else segment.tokens,
                "score": segment.score,
            }
        )
    return items
