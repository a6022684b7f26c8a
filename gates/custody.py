"""The chain of custody: from the decision's analysis back to the raw trial streams.

The analysis names, by sha256, every artifact it read (``provenance.inputs``);
each benchmark artifact names its trial stream the same way. Walking those
links, a link is broken when a named file is missing, when its bytes are not
the ones recorded, when a benchmark was measured at another commit than the
analysis was made for, or when a stream does not hold the artifact's trials.
The gate ``evidence_chain`` fails on any broken link and names it.

Two kinds of evidence are whole but not trusted by default, and each has an
explicit, recorded override: evidence stamped ``fixture`` (hand-built
demonstrations and simulations; ``--accept-fixtures``) and evidence measured on
a tree with uncommitted changes (``--allow-dirty``).

:func:`assess_custody` is pure over the bytes the loader read.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace

from contracts.documents import load_json, parse_document
from contracts.errors import EvidenceError
from contracts.names import (
    AA_FILE,
    ANALYSIS_FILE,
    BENCHMARK_KIND,
    CHAINED_EVIDENCE,
    KINDS,
    QUALITY_FILE,
    TRIAL_STREAM_KIND,
)
from contracts.provenance import UNKNOWN_COMMIT, Provenance, parse_provenance, sha256_bytes


@dataclass(frozen=True)
class Trust:
    """What the user explicitly accepted for this decision; recorded in the report."""

    accept_fixtures: bool = False
    allow_dirty: bool = False


@dataclass(frozen=True)
class Custody:
    """What walking the chain found. ``problems`` is empty when the chain holds."""

    trust: Trust
    broken: tuple[str, ...] = ()
    fixtures: tuple[str, ...] = ()  # documents stamped fixture, by file name
    dirty: tuple[str, ...] = ()  # documents made from a tree with uncommitted changes
    runs: Mapping[str, str] = field(default_factory=dict)  # file -> run id
    links: int = 0  # digests verified
    uncommitted_checkout: str | None = None  # why the judging checkout names no clean commit
    remade: bool = False  # the analysis was remade from its inputs and matched

    def with_remade(self, problem: str | None) -> Custody:
        """The outcome of remaking the analysis from its inputs (``gates.remake``)."""
        if problem is None:
            return replace(self, remade=True)
        return replace(self, broken=(*self.broken, problem))

    @property
    def problems(self) -> tuple[str, ...]:
        found = list(self.broken)
        if self.uncommitted_checkout and not self.trust.allow_dirty:
            found.append(f"{self.uncommitted_checkout} (commit, or pass --allow-dirty)")
        if self.fixtures and not self.trust.accept_fixtures:
            found.append(
                f"fixture evidence, not measured: {', '.join(self.fixtures)}"
                " (--accept-fixtures judges it as a demonstration)"
            )
        if self.dirty and not self.trust.allow_dirty:
            found.append(
                f"measured on a tree with uncommitted changes: {', '.join(self.dirty)}"
                " (commit, or pass --allow-dirty to judge it anyway)"
            )
        return tuple(found)


def benchmark_files(analysis: Provenance) -> list[str]:
    """The benchmark artifacts among the analysis's inputs (the files the loader must read)."""
    return [name for name in analysis.inputs if _is_benchmark(name)]


def _is_benchmark(name: str) -> bool:
    return name == AA_FILE or name.endswith("_benchmark.json")


def assess_custody(
    documents: Mapping[str, Provenance],
    expected_benchmarks: Iterable[str],
    files: Mapping[str, bytes],
    trust: Trust,
    uncommitted_checkout: str | None = None,
) -> Custody:
    """Walk the chain. ``documents`` maps each evidence file present to its provenance;
    ``expected_benchmarks`` are the benchmark artifacts of the runs the analysis reports
    trials for; ``files`` holds the bytes of every chain file the loader could read."""
    walk = _Walk(files)
    for name, provenance in documents.items():
        walk.note(name, provenance)
    analysis = documents.get(ANALYSIS_FILE)
    if analysis is not None:
        walk.analysis(analysis, tuple(expected_benchmarks))
    return Custody(
        trust=trust,
        broken=tuple(walk.broken),
        fixtures=tuple(walk.fixtures),
        dirty=tuple(walk.dirty),
        runs=dict(walk.runs),
        links=walk.links,
        uncommitted_checkout=uncommitted_checkout,
    )


class _Walk:
    def __init__(self, files: Mapping[str, bytes]) -> None:
        self.files = files
        self.broken: list[str] = []
        self.fixtures: list[str] = []
        self.dirty: list[str] = []
        self.runs: dict[str, str] = {}
        self.links = 0

    def note(self, name: str, provenance: Provenance) -> None:
        if provenance.is_fixture:
            self.fixtures.append(name)
        if provenance.dirty:
            self.dirty.append(name)
        self.runs[name] = provenance.run_id

    def analysis(self, analysis: Provenance, expected: tuple[str, ...]) -> None:
        if not analysis.inputs:
            if not analysis.is_fixture:
                self.broken.append(f"{ANALYSIS_FILE} names no benchmark artifact it was made from")
            return
        for name in (AA_FILE, *expected):
            if name not in analysis.inputs:
                self.broken.append(
                    f"{ANALYSIS_FILE} was not made from {name}"
                    + (" (the A/A run)" if name == AA_FILE else " (its run's trials)")
                )
        for name in (*CHAINED_EVIDENCE, QUALITY_FILE):
            if name in self.files and name not in analysis.inputs:
                self.broken.append(
                    f"{name} was not there when {ANALYSIS_FILE} was made (written after it)"
                )
        for name, digest in sorted(analysis.inputs.items()):
            payload = self.link(ANALYSIS_FILE, name, digest)
            if payload is not None:
                self.input(name, payload, analysis)

    def input(self, name: str, payload: bytes, analysis: Provenance) -> None:
        """Follow one verified input of the analysis to what it was made from."""
        if _is_benchmark(name):
            self.benchmark(name, payload, analysis)
        elif name == QUALITY_FILE:
            self.quality(payload, analysis)
        elif name not in CHAINED_EVIDENCE:
            self.broken.append(f"{ANALYSIS_FILE} names {name}, which is not evidence")

    def link(self, reader: str, name: str, digest: str) -> bytes | None:
        """The bytes of ``name`` if they are the ones ``reader`` recorded, else None."""
        payload = self.files.get(name)
        if payload is None:
            self.broken.append(f"{name} (read by {reader}, sha256 {digest[:12]}) is missing")
            return None
        found = sha256_bytes(payload)
        if found != digest:
            self.broken.append(
                f"{name} is not the file {reader} read (sha256 {digest[:12]} then,"
                f" {found[:12]} now)"
            )
            return None
        self.links += 1
        return payload

    def measured(self, name: str, provenance: Provenance, analysis: Provenance) -> None:
        """Note a measurement the analysis read, and hold it to the analysis's commit.

        Outside a git checkout the analysis knows no commit to hold it to; inside one,
        `analysis_current` holds the analysis to the checkout."""
        self.note(name, provenance)
        if analysis.git_sha != UNKNOWN_COMMIT and provenance.git_sha != analysis.git_sha:
            self.broken.append(
                f"{name} was measured at commit {provenance.git_sha[:12]}, the analysis was"
                f" made for {analysis.git_sha[:12]}"
            )

    def quality(self, payload: bytes, analysis: Provenance) -> None:
        """The quality stage's scores: stamped like a benchmark, measured at the same commit."""
        try:
            provenance = parse_provenance(
                parse_document(payload, QUALITY_FILE, KINDS[QUALITY_FILE])
            )
        except EvidenceError as exc:
            self.broken.append(str(exc))
            return
        self.measured(QUALITY_FILE, provenance, analysis)

    def benchmark(self, name: str, payload: bytes, analysis: Provenance) -> None:
        try:
            fields = parse_document(payload, name, BENCHMARK_KIND)
            provenance = parse_provenance(fields)
            trials = len(list(fields.items("trials")))
        except EvidenceError as exc:
            self.broken.append(str(exc))
            return
        self.measured(name, provenance, analysis)
        streams = [s for s in provenance.inputs if s.endswith(".jsonl")]
        if not streams:
            self.broken.append(f"{name} names no trial stream it was made from")
        for stream in streams:
            raw = self.link(name, stream, provenance.inputs[stream])
            if raw is not None:
                self.stream(stream, raw, trials, name)

    def stream(self, name: str, raw: bytes, trials: int, artifact: str) -> None:
        lines = [line for line in raw.splitlines() if line.strip()]
        try:
            header = load_json(lines[0], name) if lines else None
        except EvidenceError as exc:
            self.broken.append(str(exc))
            return
        if not isinstance(header, dict) or header.get("kind") != TRIAL_STREAM_KIND:
            self.broken.append(f"{name} does not start with a {TRIAL_STREAM_KIND} header")
            return
        if len(lines) - 1 != trials:
            self.broken.append(
                f"{name} holds {len(lines) - 1} trial records, {artifact} holds {trials} trials"
            )
