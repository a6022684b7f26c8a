"""The I/O edge of ``python -m benchmarks peers``: read quality.json, prepare, write peers.json."""

from __future__ import annotations

from importlib import metadata
from pathlib import Path

from benchmarks.corpus import Corpus
from benchmarks.oracle import GoldSpan
from benchmarks.peers import PEER_COMMANDS, peers_document
from benchmarks.profiles import get_profile
from benchmarks.quality import QualityConfig, prepare
from contracts.documents import SCHEMA, read_document, write_json_atomically
from contracts.names import KINDS, QUALITY_FILE
from contracts.provenance import current_provenance
from packrepo.registry import load_registry

PEERS_KIND = "fastpath-peers"


def write_peers(
    quality_path: Path, output: Path, registry_path: Path, corpus: Corpus, cache: Path
) -> None:
    quality = read_document(quality_path, KINDS[QUALITY_FILE])
    registry = load_registry(registry_path)
    config = QualityConfig(
        registry=registry,
        profile=get_profile(quality.text("profile")),
        budgets=tuple(int(b) for b in quality.raw["budgets"]),  # type: ignore[union-attr]
        seed=quality.count("seed"),
        corpus=corpus,
        corpus_cache=cache,
        score_cache=cache / "quality",
        jobs=1,
        config_path=registry_path,
    )
    repositories = prepare(config)
    trees = {r.name: r.tree for r in repositories}
    gold: dict[str, GoldSpan] = {
        f"{r.name}/{q.id}": q.gold for r in repositories for q in r.questions
    }
    versions = {}
    for name in PEER_COMMANDS:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "unknown"
    from packrepo.tokens import load_counter

    counter = load_counter(registry.encoding)
    document = peers_document(quality.raw, trees, gold, versions, counter.count)
    provenance = current_provenance(registry_path, producer="benchmarks.peers")
    write_json_atomically(
        output,
        {"schema": SCHEMA, "kind": PEERS_KIND, **document, "provenance": provenance.to_json()},
    )
