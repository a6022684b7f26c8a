"""``quality.json`` (``benchmarks.quality``) read into typed columns for the analysis.

Every check here is a reason to refuse the file (exit 2): columns of the wrong
length, a score outside [0, 1], a token count that is not a positive integer,
budgets other than the timed runs', an arm the registry does not know, or a
file measured at another commit.
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
from packrepo.registry import Registry


@dataclass(frozen=True)
class ArmScores:
    """One arm: per budget, scores and pack tokens aligned with ``QualityRuns.questions``."""

    name: str
    error: str | None  # a query-agnostic arm whose packs are not the baseline's bytes
    scores: Mapping[int, FloatArray]
    tokens: Mapping[int, FloatArray]


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
    for budget in budgets:
        cell = columns.child(str(budget))
        score = _column(cell, "score", n)
        if np.any(score < 0) or np.any(score > 1):
            raise cell.error("score", "holds a value outside [0, 1]")
        token = _column(cell, "tokens", n)
        if np.any(token <= 0) or np.any(token != np.round(token)):
            raise cell.error("tokens", "holds a value that is not a positive integer")
        scores[budget], tokens[budget] = score, token
    return ArmScores(name=name, error=table.maybe_text("error"), scores=scores, tokens=tokens)


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
