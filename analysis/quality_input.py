"""``quality.json`` (``benchmarks.quality``) read into typed columns for the analysis.

Every check here is a reason to refuse the file (exit 2): columns of the wrong
length, a score outside [0, 1], a token count that is not a positive integer,
budgets other than the registry's, questions drawn with another seed (a pool
cannot be picked), an arm the registry does not know, a query-agnostic arm whose
recorded byte check disagrees with its pack digests, or a file measured at
another commit or with another registry.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from analysis.bootstrap import FloatArray
from analysis.errors import AnalysisInputError
from contracts.documents import Fields, parse_document, read_input
from contracts.names import KINDS, QUALITY_FILE
from contracts.provenance import Provenance, parse_provenance, sha256_bytes
from packrepo.budget import parse_budget
from packrepo.registry import Registry


@dataclass(frozen=True)
class ArmScores:
    """One arm: per budget, scores and pack tokens aligned with ``QualityRuns.questions``."""

    name: str
    error: str | None  # a query-agnostic arm whose packs are not the baseline's bytes
    scores: Mapping[int, FloatArray]
    tokens: Mapping[int, FloatArray]
    digests: Mapping[int, tuple[str, ...]]
    query_aware: bool


@dataclass(frozen=True)
class QualityRuns:
    path: Path
    sha256: str
    provenance: Provenance
    profile: str
    budgets: tuple[int, ...]
    repositories: tuple[str, ...]  # per question
    questions: tuple[str, ...]  # "repository/question id", the resampling unit
    arms: Mapping[str, ArmScores]


def load_quality(path: Path, registry: Registry, commit: str | None) -> QualityRuns | None:
    """The quality evidence, or None when the file is absent (the QA gates then fail)."""
    if not (path.is_symlink() or path.exists()):
        return None
    payload = read_input(path)
    fields = parse_document(payload, str(path), KINDS[QUALITY_FILE])
    provenance = parse_provenance(fields)
    if commit is not None and provenance.git_sha != commit:
        raise AnalysisInputError(
            f"{path}: measured at commit {provenance.git_sha[:12]}, the checkout is at"
            f" {commit[:12]}; run the quality stage again"
        )
    if provenance.config_sha256 != registry.config_sha256:
        raise AnalysisInputError(f"{path}: measured with another registry; run it again")
    budgets = _budgets(fields)
    _check_design(path, fields, budgets, registry)
    rows = list(fields.items("questions"))
    if not rows:
        raise AnalysisInputError(f"{path}: no question")
    repositories = tuple(row.text("repository") for row in rows)
    questions = tuple(
        f"{repo}/{row.text('id')}" for repo, row in zip(repositories, rows, strict=True)
    )
    if len(set(questions)) != len(questions):
        raise AnalysisInputError(f"{path}: a question is listed twice")
    arms = {name: _arm(name, table, budgets, len(rows)) for name, table in fields.children("arms")}
    for name in registry.variants:
        if name not in arms:
            raise AnalysisInputError(f"{path}: no scores for {name}; run the quality stage again")
    unknown = sorted(set(arms) - set(registry.variants))
    if unknown:
        raise AnalysisInputError(f"{path}: arm {unknown[0]} is not in the registry")
    _check_bytes(path, registry, arms)
    return QualityRuns(
        path=path,
        sha256=sha256_bytes(payload),
        provenance=provenance,
        profile=fields.text("profile"),
        budgets=budgets,
        repositories=repositories,
        questions=questions,
        arms=arms,
    )


def _check_design(path: Path, fields: Fields, budgets: tuple[int, ...], registry: Registry) -> None:
    """The registry's budgets and seed: a quality run at other budgets, or with questions
    drawn by another seed (a pool chosen among several), is refused."""
    expected = tuple(sorted(parse_budget(label) for label in registry.budgets))
    if budgets != expected:
        raise AnalysisInputError(
            f"{path}: scored at budgets {list(budgets)}, the registry lists {list(expected)}"
        )
    if fields.count("seed") != registry.seed:
        raise AnalysisInputError(
            f"{path}: questions drawn with seed {fields.count('seed')}, the registry's is"
            f" {registry.seed}"
        )


def _budgets(fields: Fields) -> tuple[int, ...]:
    values = fields.raw.get("budgets")
    if (
        not isinstance(values, list)
        or not values
        or any(isinstance(v, bool) or not isinstance(v, int) or v <= 0 for v in values)
        or len(set(values)) != len(values)
    ):
        raise fields.error("budgets", "must be a list of distinct positive integers")
    return tuple(sorted(values))


def _arm(name: str, table: Fields, budgets: tuple[int, ...], n: int) -> ArmScores:
    columns = table.child("budgets")
    scores: dict[int, FloatArray] = {}
    tokens: dict[int, FloatArray] = {}
    digests: dict[int, tuple[str, ...]] = {}
    for budget in budgets:
        cell = columns.child(str(budget))
        score = _column(cell, "score", n)
        if np.any(score < 0) or np.any(score > 1):
            raise cell.error("score", "holds a value outside [0, 1]")
        token = _column(cell, "tokens", n)
        if np.any(token <= 0) or np.any(token != np.round(token)):
            raise cell.error("tokens", "holds a value that is not a positive integer")
        scores[budget], tokens[budget] = score, token
        digests[budget] = _digests(cell, n)
    return ArmScores(
        name=name,
        error=table.maybe_text("error"),
        scores=scores,
        tokens=tokens,
        digests=digests,
        query_aware=table.flag("query_aware"),
    )


def _digests(cell: Fields, n: int) -> tuple[str, ...]:
    values = cell.raw.get("pack_sha256")
    if (
        not isinstance(values, list)
        or len(values) != n
        or not all(isinstance(v, str) and len(v) == 64 for v in values)
    ):
        raise cell.error("pack_sha256", f"must be a list of {n} sha256 digests")
    return tuple(values)  # type: ignore[arg-type]


def _check_bytes(path: Path, registry: Registry, arms: Mapping[str, ArmScores]) -> None:
    """The byte check is redone from the digests, never taken from the file's word:
    a query-agnostic arm's `error` must say exactly whether its packs differ from the
    baseline's, and an arm is query-aware exactly when its registry flags say so."""
    baseline = arms[registry.baseline.name]
    for name, arm in arms.items():
        hybrid = registry.variant(name).flags.get("FASTPATH_HYBRID_MODE") == "1"
        if arm.query_aware != hybrid:
            raise AnalysisInputError(
                f"{path}: arm {name} is recorded as {'' if arm.query_aware else 'not '}query-aware,"
                f" its registry flags say {'' if hybrid else 'not '}so"
            )
        if arm.query_aware or name == registry.baseline.name:
            continue
        differs = any(arm.digests[b] != baseline.digests[b] for b in arm.digests)
        if differs != (arm.error is not None):
            said = "an error" if arm.error else "no error"
            raise AnalysisInputError(
                f"{path}: arm {name} records {said}, but its pack digests"
                f" {'differ from' if differs else 'equal'} the baseline's"
            )


def _column(cell: Fields, key: str, n: int) -> FloatArray:
    values = cell.raw.get(key)
    if not isinstance(values, list) or len(values) != n:
        raise cell.error(key, f"must be a list of {n} numbers, one per question")
    if any(isinstance(v, bool) or not isinstance(v, int | float) for v in values):
        raise cell.error(key, "must hold numbers only")
    column = np.asarray(values, dtype=float)
    if not np.all(np.isfinite(column)):
        raise cell.error(key, "holds a value that is not finite")
    return column
