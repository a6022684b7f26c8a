"""R1q, the quality stage: every arm scored on the whole question pool, untimed.

A pack is deterministic for a tree, an arm's flags, a question and a budget, so
its QA score is a fact to compute once, not a noisy measurement to repeat. This
stage computes those facts for every repository of the profile and every
question of its pool (``benchmarks.oracle.QUESTION_POOL``), for the baseline
and every candidate, and writes ``quality.json``; the analysis reads QA/100k and
recall from it, and the timed trials (``benchmarks.runner``) carry latency and
memory only.

What it pays for:

* Query-agnostic arms (the baseline, V1-V3) make one pack per repository and
  budget, and every question of the repository is scored on it. V1-V3 promise
  the baseline's bytes: each of their packs is compared by sha256 with the
  baseline's, and a mismatch is recorded as the arm's ``error`` (its QA is then
  not "unchanged": the gate fails with the pack named).
* Query-aware arms (hybrid mode: V4, V5) make one pack per question and budget.
  A task is one repository's share of questions for one arm, so a worker
  process packs the same tree many times in a row (whatever packrepo keeps
  between calls in that process is reused; the output must not change, which
  ``tests/test_quality.py`` checks against a cold pack).
* Tasks run on every core. Results are cached by content
  (``benchmarks.quality_cache``): the prepared tree's digest, the digest of the
  ``packrepo`` sources, the arm's effective flags, the questions and the
  budgets. A re-run on unchanged code reads them back.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.corpus import Corpus, ensure_tree
from benchmarks.oracle import (
    ORACLE_VERSION,
    GoldSpan,
    Question,
    QuestionSet,
    ensure_question_set,
    score_evidence,
    tree_digest,
)
from benchmarks.profiles import Profile
from benchmarks.quality_cache import ScoreCache, code_digest
from contracts.documents import SCHEMA
from contracts.names import KINDS, QUALITY_FILE
from contracts.progress import ProgressReporter
from contracts.provenance import current_provenance
from packrepo.registry import Registry

METHOD = (
    "evidence recall per question (the fraction of its gold lines a pack holds); QA/100k is"
    " 100000 x the sum of scores over the sum of pack tokens"
)


class QualityError(RuntimeError):
    """The stage cannot go on (no questions, an arm whose flags do not parse, ...)."""


@dataclass(frozen=True)
class QualityConfig:
    registry: Registry
    profile: Profile
    budgets: tuple[int, ...]
    seed: int
    corpus: Corpus
    corpus_cache: Path
    score_cache: Path
    jobs: int
    config_path: Path = Path("pyproject.toml")
    progress: Callable[[str], None] | None = None


@dataclass(frozen=True, eq=False)
class Task:
    """One arm on one repository's share of questions: what a worker process runs."""

    arm: str
    flags: Mapping[str, str]
    query_aware: bool
    repository: str
    tree: str
    questions: tuple[tuple[str, str, tuple[str, int, int]], ...]  # id, text, gold span
    budgets: tuple[int, ...]
    key: str  # the cache key of exactly this work


@dataclass(frozen=True)
class Scored:
    """One question on one arm's pack at one budget."""

    question: str
    budget: int
    score: float
    tokens: int
    pack_sha256: str


# --- the work of one task (runs in a worker process) ------------------------------------


def run_task(task: Task) -> tuple[Scored, ...]:
    """Pack and score; pure given the tree, the flags and the packrepo sources."""
    import packrepo  # in the worker: the parent need not load the packer

    flags = packrepo.Flags.from_environ(task.flags)
    lines: dict[str, list[str]] = {}
    scored: list[Scored] = []

    def score(question: tuple[str, str, tuple[str, int, int]], budget: int, pack: Any) -> None:
        gold = GoldSpan(*question[2])
        if gold.path not in lines:
            text = (Path(task.tree) / gold.path).read_text(encoding="utf-8")
            lines[gold.path] = text.split("\n")
        evidence = score_evidence(gold, lines[gold.path], pack.manifest["items"], pack.text)
        digest = hashlib.sha256(pack.text.encode()).hexdigest()
        scored.append(Scored(question[0], budget, evidence.score, int(pack.tokens), digest))

    if task.query_aware:
        for question in task.questions:
            for budget in task.budgets:
                score(question, budget, packrepo.pack(task.tree, budget, question[1], flags=flags))
    else:
        for budget in task.budgets:
            pack = packrepo.pack(task.tree, budget, None, flags=flags)
            for question in task.questions:
                score(question, budget, pack)
    return tuple(scored)


# --- planning -----------------------------------------------------------------------------


@dataclass(frozen=True)
class PreparedRepository:
    name: str
    version: str
    tree: Path
    tree_sha256: str
    questions: tuple[Question, ...]


def prepare(config: QualityConfig) -> tuple[PreparedRepository, ...]:
    """Every repository of the profile with its whole question pool."""
    wanted = config.profile.quality_repositories
    entries = config.corpus.entries if wanted is None else config.corpus.entries[:wanted]
    prepared = []
    for entry in entries:
        root = ensure_tree(entry, cache=config.corpus_cache)
        question_set: QuestionSet = ensure_question_set(
            root,
            name=entry.name,
            version=entry.version,
            digest=entry.sha256 or tree_digest(root),
            seed=config.seed,
            cache=config.corpus_cache,
        )
        if not question_set.questions:
            raise QualityError(f"{entry.name}: the oracle found no question to ask")
        prepared.append(
            PreparedRepository(
                name=entry.name,
                version=entry.version,
                tree=question_set.tree,
                tree_sha256=tree_digest(question_set.tree),
                questions=question_set.questions,
            )
        )
    return tuple(prepared)


def plan_tasks(
    config: QualityConfig, repositories: Sequence[PreparedRepository], sources: str
) -> list[Task]:
    """Every arm x repository, query-aware arms in shares of ``QUESTIONS_PER_TASK``."""
    import packrepo

    tasks = []
    for variant in config.registry.variants.values():
        flags = dict(variant.flags)
        flags["FASTPATH_CACHE_DIR"] = str(config.score_cache / "packrepo-v1-cache" / variant.name)
        try:
            effective = packrepo.Flags.from_environ(flags)
        except packrepo.FlagError as exc:
            raise QualityError(f"{variant.name}: {exc}") from None
        for repository in repositories:
            questions = tuple(
                (q.id, q.text, (q.gold.path, q.gold.start_line, q.gold.end_line))
                for q in repository.questions
            )
            shares = _shares(questions) if effective.hybrid_mode else [questions]
            for share in shares:
                key = _task_key(sources, repository.tree_sha256, effective, share, config.budgets)
                tasks.append(
                    Task(
                        arm=variant.name,
                        flags=flags,
                        query_aware=effective.hybrid_mode,
                        repository=repository.name,
                        tree=str(repository.tree),
                        questions=share,
                        budgets=config.budgets,
                        key=key,
                    )
                )
    return tasks


# Questions per query-aware task: fixed, so the cache keys do not depend on the core count.
QUESTIONS_PER_TASK = 20


def _shares(items: tuple[Any, ...]) -> list[tuple[Any, ...]]:
    return [items[i : i + QUESTIONS_PER_TASK] for i in range(0, len(items), QUESTIONS_PER_TASK)]


def _task_key(
    sources: str, tree: str, flags: Any, questions: tuple[Any, ...], budgets: Sequence[int]
) -> str:
    manifest = sorted(flags.to_manifest().items(), key=lambda item: item[0])
    text = repr((ORACLE_VERSION, sources, tree, manifest, questions, tuple(budgets)))
    return hashlib.sha256(text.encode()).hexdigest()


# --- running ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    results: Mapping[Task, tuple[Scored, ...]]
    hits: int
    misses: int
    seconds: float


def run_tasks(
    tasks: Sequence[Task], cache: ScoreCache, jobs: int, note: Callable[[str], None]
) -> Outcome:
    started = time.perf_counter()
    results: dict[Task, tuple[Scored, ...]] = {}
    missing = []
    for task in tasks:
        found = cache.get(task.key)
        if found is None:
            missing.append(task)
        else:
            results[task] = tuple(Scored(**row) for row in found)
    note(f"quality: {len(results)} of {len(tasks)} tasks cached; {len(missing)} to pack")
    reporter = ProgressReporter("tasks", len(missing))  # to the orchestrator, when it asks
    if missing:
        # Longest first: query-aware shares dominate; the short ones fill the gaps.
        missing.sort(key=lambda t: -len(t.questions) * len(t.budgets) * (t.query_aware + 0.05))
        for done, (task, scored) in enumerate(_execute(missing, jobs), start=1):
            cache.put(task.key, [s.__dict__ for s in scored])
            results[task] = scored
            note(f"quality: {done}/{len(missing)} packed ({task.arm} on {task.repository})")
            reporter.update(done)
    return Outcome(results, len(tasks) - len(missing), len(missing), time.perf_counter() - started)


def _execute(tasks: Sequence[Task], jobs: int) -> Iterator[tuple[Task, tuple[Scored, ...]]]:
    if jobs <= 1:
        for task in tasks:
            yield task, run_task(task)
        return
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
        futures = {pool.submit(run_task, task): task for task in tasks}
        for future in as_completed(futures):
            yield futures[future], future.result()


# --- the artifact -------------------------------------------------------------------------


def quality_document(
    config: QualityConfig,
    repositories: Sequence[PreparedRepository],
    outcome: Outcome,
    sources: str,
) -> dict[str, Any]:
    """``quality.json``: per arm and budget, columns aligned with ``questions``."""
    order = [(r.name, q.id) for r in repositories for q in r.questions]
    arms: dict[str, Any] = {}
    by_arm: dict[str, dict[tuple[str, str, int], Scored]] = {}
    aware: dict[str, bool] = {}
    for task, scored in outcome.results.items():
        aware[task.arm] = task.query_aware
        table = by_arm.setdefault(task.arm, {})
        for row in scored:
            table[(task.repository, row.question, row.budget)] = row
    baseline = config.registry.baseline.name
    for variant in config.registry.variants.values():
        table = by_arm[variant.name]
        columns = {}
        for budget in config.budgets:
            rows = [table[(repo, question, budget)] for repo, question in order]
            columns[str(budget)] = {
                "score": [r.score for r in rows],
                "tokens": [r.tokens for r in rows],
                "pack_sha256": [r.pack_sha256 for r in rows],
            }
        arms[variant.name] = {
            "intent": variant.intent,
            "flags": dict(variant.flags),
            "query_aware": aware[variant.name],
            "error": None
            if variant.name == baseline or aware[variant.name]
            else _byte_mismatch(variant.name, by_arm[baseline], table),
            "budgets": columns,
        }
    provenance = current_provenance(config.config_path, producer="benchmarks.quality")
    return {
        "schema": SCHEMA,
        "kind": KINDS[QUALITY_FILE],
        "profile": config.profile.name,
        "seed": config.seed,
        "budgets": list(config.budgets),
        "oracle": {"version": ORACLE_VERSION, "method": METHOD},
        "code_sha256": sources,
        "repositories": [
            {
                "name": r.name,
                "version": r.version,
                "tree_sha256": r.tree_sha256,
                "questions": len(r.questions),
            }
            for r in repositories
        ],
        "questions": [{"repository": repo, "id": question} for repo, question in order],
        "arms": arms,
        "cache": {"hits": outcome.hits, "misses": outcome.misses},
        "timings": {"seconds": round(outcome.seconds, 3), "jobs": config.jobs},
        "provenance": provenance.to_json(),
    }


def _byte_mismatch(
    arm: str,
    baseline: Mapping[tuple[str, str, int], Scored],
    table: Mapping[tuple[str, str, int], Scored],
) -> str | None:
    """A query-agnostic arm must give the baseline's bytes on every pack: the first that
    does not, or None."""
    for key in sorted(baseline):
        mine, theirs = table[key].pack_sha256, baseline[key].pack_sha256
        if mine != theirs:
            repository, _, budget = key
            return (
                f"{arm}'s pack of {repository} at {budget} tokens is not the baseline's"
                f" (sha256 {mine[:12]}, baseline {theirs[:12]})"
            )
    return None


def evaluate_quality(config: QualityConfig) -> dict[str, Any]:
    """Prepare, plan, run (cached, parallel) and build the document."""
    note = config.progress or (lambda _: None)
    repositories = prepare(config)
    total = sum(len(r.questions) for r in repositories)
    note(f"quality: {total} questions in {len(repositories)} repositories")
    sources = code_digest()
    tasks = plan_tasks(config, repositories, sources)
    outcome = run_tasks(tasks, ScoreCache(config.score_cache), config.jobs, note)
    return quality_document(config, repositories, outcome, sources)


def default_jobs() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1)
