"""Hand-built ``quality.json`` documents (the quality stage's output) with known effects.

Made-up numbers in the shape ``benchmarks.quality`` writes, for tests, the
demonstration directory of ``python -m analysis.fixtures`` and the end-to-end
simulation (:mod:`gates.simulate`), which passes its own baseline
scores. Stamped as a fixture: the gates refuse it unless ``--accept-fixtures``.

The default baseline is sparse and nested, like the oracle's: a question's
evidence is found from some budget on (the larger the budget, the likelier),
and a found question scores the fraction of its gold lines the pack holds.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from contracts.documents import SCHEMA, write_json_atomically
from contracts.names import KINDS, QUALITY_FILE
from contracts.provenance import UNKNOWN_COMMIT
from packrepo.registry import Registry

FIND_RATE = (0.2, 0.55, 0.85)  # share of questions found, smallest budget first


@dataclass(frozen=True)
class QualityEffect:
    """What a candidate does to the baseline's scores.

    ``multiplier`` scales every score (capped at 1); ``redraw`` is the share of
    questions whose score is drawn afresh (found or not at the baseline's rate),
    so some are lost and others gained; ``lose`` and ``find`` (per budget) are the
    shares of the questions the baseline found that the arm loses (scoring 0) and of
    those it missed that the arm finds (scoring 1), one draw per question for every
    budget, so that a question found at one budget tends to be at the larger ones;
    ``identical`` arms copy the baseline's
    packs byte for byte (performance variants); ``bytes_differ`` marks an arm
    whose packs are not the baseline's (the quality stage's error).
    """

    multiplier: float = 1.0
    redraw: float = 0.0
    lose: tuple[float, ...] = ()
    find: tuple[float, ...] = ()
    identical: bool = False
    bytes_differ: bool = False
    token_jitter: float = 0.03  # the variant's packs use up to this much less of the budget


@dataclass(frozen=True)
class BaselineScores:
    """Per question (rows) and budget (columns), with repository labels and pack tokens."""

    repositories: tuple[str, ...]
    scores: np.ndarray[Any, np.dtype[np.float64]]
    tokens: np.ndarray[Any, np.dtype[np.float64]]


def nested_baseline(
    repositories: int, questions: int, budgets: Sequence[int], rng: np.random.Generator
) -> BaselineScores:
    """Sparse nested recall: found from a budget on, score a Beta(4, 2) share once found."""
    n = repositories * questions
    labels = tuple(f"repo{r}" for r in range(repositories) for _ in range(questions))
    ease = rng.uniform(0.0, 1.0, n)
    shift = np.repeat(rng.normal(0.0, 0.15, repositories), questions)
    rates = np.asarray(FIND_RATE[: len(budgets)] + (0.9,) * max(0, len(budgets) - 3))
    found = (ease[:, None] + shift[:, None]) < rates[None, :]
    share = rng.beta(4.0, 2.0, n)
    # A larger budget holds more of a found question's gold lines.
    depth = 0.5 + 0.25 * np.arange(len(budgets))
    scores = np.where(found, np.minimum(1.0, share[:, None] * depth[None, :]), 0.0)
    fill = np.repeat(rng.uniform(0.9, 0.99, (repositories, len(budgets))), questions, axis=0)
    tokens = np.round(fill * np.asarray(budgets, dtype=float)[None, :])
    return BaselineScores(labels, scores, tokens)


def variant_scores(
    base: BaselineScores, effect: QualityEffect, rng: np.random.Generator
) -> tuple[np.ndarray[Any, np.dtype[np.float64]], np.ndarray[Any, np.dtype[np.float64]]]:
    if effect.identical:
        return base.scores.copy(), base.tokens.copy()
    scores = np.minimum(1.0, base.scores * effect.multiplier)
    if effect.redraw > 0:
        rows = rng.uniform(0.0, 1.0, scores.shape[0]) < effect.redraw
        donors = rng.integers(0, scores.shape[0], int(rows.sum()))
        scores[rows] = np.minimum(1.0, base.scores[donors] * effect.multiplier)
    if effect.lose or effect.find:
        lose_draw, find_draw = rng.uniform(0.0, 1.0, (2, scores.shape[0]))
        for j in range(scores.shape[1]):
            found = base.scores[:, j] > 0
            if effect.lose:
                scores[found & (lose_draw < effect.lose[j]), j] = 0.0
            if effect.find:
                scores[~found & (find_draw < effect.find[j]), j] = 1.0
    if effect.token_jitter == 0:
        return scores, base.tokens.copy()
    tokens = base.tokens * rng.uniform(1.0 - effect.token_jitter, 1.0, base.tokens.shape)
    return scores, np.round(tokens)


def quality_document(
    registry: Registry,
    effects: Mapping[str, QualityEffect],
    base: BaselineScores,
    budgets: Sequence[int],
    *,
    seed: int,
    profile: str = "standard",
    git_sha: str = UNKNOWN_COMMIT,
) -> dict[str, Any]:
    """``quality.json`` for the registry's arms: the baseline's scores and each effect."""
    rng = np.random.default_rng([seed, 7])
    n = len(base.repositories)
    ids = [f"q{i % 10_000:04d}" for i in range(n)]
    arms: dict[str, Any] = {}
    for variant in registry.variants.values():
        effect = effects.get(variant.name, QualityEffect(identical=True))
        if variant.is_baseline:
            effect = QualityEffect(identical=True)
        scores, tokens = variant_scores(base, effect, rng)
        query_aware = variant.flags.get("FASTPATH_HYBRID_MODE") == "1"
        same_bytes = effect.identical and not effect.bytes_differ and not query_aware
        marker = "baseline" if same_bytes else variant.name
        arms[variant.name] = {
            "intent": variant.intent,
            "flags": dict(variant.flags),
            "query_aware": query_aware,
            "error": f"{variant.name}'s pack of repo0 at {budgets[0]} tokens is not the"
            " baseline's (fixture)"
            if effect.bytes_differ
            else None,
            "budgets": {
                str(b): {
                    "score": [float(x) for x in scores[:, j]],
                    "tokens": [int(x) for x in tokens[:, j]],
                    "pack_sha256": [_sha(marker, i, b) for i in range(n)],
                }
                for j, b in enumerate(budgets)
            },
        }
    return {
        "schema": SCHEMA,
        "kind": KINDS[QUALITY_FILE],
        "profile": profile,
        "seed": registry.seed,  # the oracle's seed; `seed` above only draws the made-up scores
        "budgets": list(budgets),
        "oracle": {"version": 1, "method": "fixture"},
        "code_sha256": "0" * 64,
        "repositories": [
            {"name": name, "version": "1.0", "tree_sha256": "0" * 64, "questions": count}
            for name, count in sorted(_counts(base.repositories).items())
        ],
        "questions": [
            {"repository": r, "id": q} for r, q in zip(base.repositories, ids, strict=True)
        ],
        "arms": arms,
        "cache": {"hits": 0, "misses": 0},
        "timings": {"seconds": 0.0, "jobs": 1},
        "provenance": _provenance(registry.config_sha256, git_sha),
    }


def _sha(marker: str, question: int, budget: int) -> str:
    return hashlib.sha256(f"{marker}:{question}:{budget}".encode()).hexdigest()


def _counts(labels: Sequence[str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for label in labels:
        counts[label] = counts.get(label, 0) + 1
    return counts


def _provenance(config_sha256: str, git_sha: str) -> dict[str, Any]:
    from analysis.fixtures import fixture_provenance

    provenance = fixture_provenance(config_sha256, git_sha=git_sha)
    return provenance.to_json() | {"producer": "fixture:analysis.quality_fixtures"}


def write_quality(directory: Path, document: Mapping[str, Any]) -> Path:
    path = directory / QUALITY_FILE
    write_json_atomically(path, document)
    return path
