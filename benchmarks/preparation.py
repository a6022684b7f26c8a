"""What a benchmark run measures: the profile's repositories, questions and units.

Fetching, extracting and preparing the questions are cached
(``benchmarks.corpus``, ``benchmarks.oracle``); a unit is one (repository,
question, budget) that both arms measure (``benchmarks.schedule``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from benchmarks.artifact import GoldRef, UnitRecord
from benchmarks.corpus import Corpus, CorpusEntry, ensure_verified_tree
from benchmarks.oracle import Question, QuestionSet, ensure_question_set
from benchmarks.profiles import Profile
from benchmarks.schedule import Unit, make_units


@dataclass(frozen=True)
class Repository:
    entry: CorpusEntry
    digest: str
    tree_sha256: str  # the extracted tree, as its manifest records it
    question_set: QuestionSet
    questions: tuple[Question, ...]  # the profile's prefix of the question set


def chosen_entries(corpus: Corpus, profile: Profile) -> tuple[CorpusEntry, ...]:
    count = len(corpus) if profile.repositories is None else profile.repositories
    return corpus.entries[:count]


def prepare_repositories(
    corpus: Corpus, profile: Profile, *, cache: Path, seed: int
) -> tuple[Repository, ...]:
    """Fetch, extract and prepare every repository of the profile (cached after the first run)."""
    repositories = []
    for entry in chosen_entries(corpus, profile):
        root, tree_sha256 = ensure_verified_tree(entry, cache=cache)
        digest = entry.sha256 or tree_sha256
        question_set = ensure_question_set(
            root,
            name=entry.name,
            version=entry.version,
            digest=digest,
            seed=seed,
            cache=cache,
        )
        questions = question_set.questions[: profile.questions_per_repository]
        repositories.append(Repository(entry, digest, tree_sha256, question_set, questions))
    return tuple(repositories)


def plan_units(repositories: Sequence[Repository], budgets: Sequence[int]) -> tuple[Unit, ...]:
    return make_units(
        [(r.entry.name, [q.id for q in r.questions]) for r in repositories], sorted(budgets)
    )


def warmup_units(
    repositories: Sequence[Repository], budgets: Sequence[int], rounds: int
) -> list[Unit]:
    """Each repository's first question at the smallest budget, ``rounds`` times."""
    smallest = min(budgets)
    return [
        Unit(r.entry.name, r.questions[0].id, smallest)
        for _ in range(rounds)
        for r in repositories
        if r.questions
    ]


def unit_records(
    units: Sequence[Unit], repositories: dict[str, Repository]
) -> tuple[UnitRecord, ...]:
    records = []
    for unit in units:
        question = next(
            q for q in repositories[unit.repository].questions if q.id == unit.question_id
        )
        gold = question.gold
        records.append(
            UnitRecord(
                id=unit.id,
                repository=unit.repository,
                question_id=unit.question_id,
                budget=unit.budget,
                question=question.text,
                gold=GoldRef(gold.path, gold.start_line, gold.end_line),
            )
        )
    return tuple(records)
