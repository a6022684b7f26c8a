"""Hand-built benchmark artifacts (schema 2) for tests and demonstrations.

The analysis reads what ``python -m benchmarks run`` writes; these builders
write the same records (``benchmarks.artifact`` dataclasses, summaries
recomputed by ``benchmarks.summary``), small and with known effects, so a
test can state what the analysis must find. Every number is made up.

``python -m analysis.fixtures DIR`` writes a directory for the default
registry: an A/A run and one run per candidate, each with a chosen effect.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import math
import sys
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import orjson

from analysis.artifacts import AA_SECOND_ARM, artifact_file
from analysis.quality_fixtures import (
    QualityEffect,
    nested_baseline,
    quality_document,
    write_quality,
)
from benchmarks.artifact import (
    ArmSpec,
    Artifact,
    CorpusRef,
    GoldRef,
    Trial,
    UnitRecord,
    trial_to_json,
    write_artifact,
)
from benchmarks.schedule import FIRST, SECOND, unit_looks
from benchmarks.summary import summarise
from contracts.documents import SCHEMA, write_all_atomically
from contracts.names import TRIAL_STREAM_KIND
from contracts.provenance import (
    FIXTURE_PRODUCER,
    UNKNOWN_COMMIT,
    Provenance,
    checkout_git_sha,
    sha256_bytes,
)
from packrepo.registry import Registry, load_registry, parse_registry

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised only on 3.10
    import tomli as tomllib

__all__ = [
    "DEFAULT_HOST",
    "FIXTURE_REGISTRY_TOML",
    "Effect",
    "benchmark_run",
    "fixture_registry",
    "main",
    "unit_id",
    "write_registry",
    "write_run",
]

DEFAULT_HOST = "0123456789abcdef"
BUDGETS = (50_000, 120_000, 200_000)
# A small registry for tests: one candidate of each kind, fewer resamples.
FIXTURE_REGISTRY_TOML = """\
[tool.fastpath]
schema = 1
encoding = "cl100k_base"
budgets = ["50k", "120k", "200k"]
seed = 7

[tool.fastpath.variants.baseline]
intent = "baseline"
flags = { FASTPATH_POLICY_V2 = "0" }

[tool.fastpath.variants.P1]
intent = "performance"
metric = "latency"
flags = { FASTPATH_POLICY_V2 = "1", FASTPATH_AGGRESSIVE_CACHING = "1" }

[tool.fastpath.variants.M1]
intent = "performance"
metric = "memory"
flags = { FASTPATH_POLICY_V2 = "1", FASTPATH_MEMORY_OPTIMIZATION = "1" }

[tool.fastpath.variants.Q1]
intent = "quality"
metric = "qa_per_100k"
flags = { FASTPATH_POLICY_V2 = "1", FASTPATH_HYBRID_MODE = "1" }

[tool.fastpath.gates]
qa_improvement = 0.13
performance_regression = 0.10
mutation_score = 0.80
property_coverage = 0.70
security_high_findings = 0
power = 0.80
qa_margin = 0.10
recall_margin = 0.05
alpha = 0.025
bootstrap_samples = 1000
"""
# The same units measure the same in every run: a unit's baseline QA score is
# deterministic (as the real oracle's is) and its typical latency is fixed.
_UNIT_SEED = 20_260_101


# (unit, is the second arm, slot in the schedule) -> (latency ns, peak memory bytes)
Measure = Callable[[UnitRecord, bool, int], tuple[float, float]]


@dataclass(frozen=True)
class Effect:
    """What the second arm does differently from the first (relative changes).

    ``qa`` multiplies every unit's score by ``1 + qa`` (times ``qa_noise``
    uniform jitter); ``latency`` and ``memory`` multiply the measures;
    ``latency_noise`` is the lognormal sigma of each trial's latency.
    ``failed_units`` lists unit ids whose second-arm trial fails.
    """

    qa: float = 0.0
    qa_noise: float = 0.0
    latency: float = 0.0
    latency_noise: float = 0.02
    memory: float = 0.0
    failed_units: Collection[str] = field(default_factory=tuple)


def unit_id(repository: str, question: str, budget: int) -> str:
    return f"{repository}|{question}|{budget}"


def _units(repositories: int, questions: int, budgets: Sequence[int]) -> list[UnitRecord]:
    return [
        UnitRecord(
            id=unit_id(f"repo{r}", f"q{q}", budget),
            repository=f"repo{r}",
            question_id=f"q{q}",
            budget=budget,
            question=f"what does function {q} of repository {r} do",
            gold=GoldRef(path=f"pkg/mod{q}.py", start_line=1, end_line=10),
        )
        for r in range(repositories)
        for q in range(questions)
        for budget in budgets
    ]


@dataclass(frozen=True)
class _Base:
    """A unit's deterministic baseline: score, tokens, typical latency and memory."""

    score: float
    tokens: int
    latency_ns: float
    memory_bytes: float


def _bases(units: Sequence[UnitRecord]) -> dict[str, _Base]:
    rng = np.random.default_rng(_UNIT_SEED)
    bases = {}
    for unit in sorted(units, key=lambda u: u.id):
        scale = unit.budget / BUDGETS[0]
        bases[unit.id] = _Base(
            score=float(rng.uniform(0.1, 0.5)),
            tokens=int(unit.budget * rng.uniform(0.85, 0.99)),
            latency_ns=float(3e8 * math.sqrt(scale) * rng.lognormal(0.0, 0.3)),
            memory_bytes=float(60e6 * rng.lognormal(0.0, 0.1)),
        )
    return bases


def benchmark_run(
    registry: Registry,
    variant: str,
    *,
    effect: Effect | None = None,
    repositories: int = 4,
    questions: int = 3,
    budgets: Sequence[int] = BUDGETS,
    seed: int = 0,
    host: str = DEFAULT_HOST,
    arm_hosts: Mapping[str, str] | None = None,
    profile: str = "standard",
    measure: Measure | None = None,
    looks: int = 1,
) -> Artifact:
    """A complete run of ``variant`` (the baseline's A/A run if it is the baseline).

    The second arm (``variant``, or ``baseline-2`` for the A/A run) applies
    ``effect`` to the first arm's measures; both arms see independent
    latency noise. ``arm_hosts`` declares per-arm hosts, as an artifact
    merged from two machines would. ``measure``, if given, replaces the
    latency and memory model: it is called with the unit, whether the trial is
    the second arm's, and the trial's position in the schedule, and returns
    (latency in ns, peak memory in bytes); the end-to-end simulation
    (:mod:`gates.simulate`) passes a model of a noisy machine. With ``looks`` > 1
    the units are measured look by look, as a sequential run measures them
    (``benchmarks.schedule.unit_looks``); every unit is still measured.
    """
    effect = effect or Effect()
    baseline = registry.baseline
    spec = registry.variant(variant)
    second = AA_SECOND_ARM if spec.is_baseline else spec.name
    arms = (
        ArmSpec(baseline.name, baseline.name, dict(baseline.flags)),
        ArmSpec(second, spec.name, dict(spec.flags)),
    )
    units = _units(repositories, questions, budgets)
    bases = _bases(units)
    rng = np.random.default_rng(seed)
    trials = _warmups(units, arms, repositories)
    assigned = unit_looks([u.unit for u in units], looks)
    in_order = [unit for _, unit in sorted(zip(assigned, units, strict=True), key=lambda p: p[0])]
    for index, unit in enumerate(in_order, start=len(trials) // 2):
        order = arms if index % 2 == 0 else arms[::-1]
        for position, arm in zip((FIRST, SECOND), order, strict=True):
            is_second = arm.name == second
            trial = _trial(unit, arm.name, index, position, bases[unit.id], effect, is_second, rng)
            if measure is not None and trial.ok:
                slot = 2 * index + (0 if position == FIRST else 1)
                latency, memory = measure(unit, is_second, slot)
                trial = dataclasses.replace(
                    trial, latency_ns=int(latency), peak_rss_bytes=int(memory)
                )
            trials.append(trial)
    names = [arm.name for arm in arms]
    return Artifact(
        variant=spec.name,
        arms=arms,
        # Named after the profile whose decision rule it stands in for (the gates treat an
        # exploratory profile differently); the sizes below say how small it really is.
        profile={
            "name": profile,
            "repositories": repositories,
            "questions_per_repository": questions,
            "warmup_rounds": 1,
        },
        seed=seed,
        budgets=tuple(sorted(budgets)),
        corpus=tuple(
            CorpusRef(f"repo{r}", "1.0", f"{r:064x}", 100_000, questions)
            for r in range(repositories)
        ),
        oracle={"version": 1, "question_pool": questions, "method": "fixture"},
        environment=_environment(arms, host, arm_hosts or {}),
        units=tuple(units),
        trials=tuple(trials),
        summaries=summarise(trials, names, sorted(budgets)),
        timings={
            "started_at": "2026-01-01T00:00:00+00:00",
            "finished_at": "2026-01-01T00:01:00+00:00",
            "prepare_seconds": 0.0,
            "trials_seconds": 60.0,
            "wall_seconds": 60.0,
        },
        provenance=fixture_provenance(registry.config_sha256),
    )


def _warmups(
    units: Sequence[UnitRecord], arms: Sequence[ArmSpec], repositories: int
) -> list[Trial]:
    """One warm-up pair per repository, absurdly slow: the analysis must leave it out."""
    trials = []
    for r in range(repositories):
        unit = next(u for u in units if u.repository == f"repo{r}")
        for position, arm in zip((FIRST, SECOND), arms, strict=True):
            trials.append(
                Trial(
                    unit_id=unit.id,
                    repository=unit.repository,
                    question_id=unit.question_id,
                    budget=unit.budget,
                    arm=arm.name,
                    order_index=r,
                    position=position,
                    warmup=True,
                    ok=True,
                    error=None,
                    qa_score=0.0,
                    pack_tokens=1,
                    latency_ns=10**12,
                    peak_rss_bytes=10**12,
                    memory_method="linux-vmhwm-above-ready",
                    gold_lines=10,
                    present_lines=0,
                    unverified_lines=0,
                )
            )
    return trials


def _trial(
    unit: UnitRecord,
    arm: str,
    index: int,
    position: str,
    base: _Base,
    effect: Effect,
    is_second: bool,
    rng: np.random.Generator,
) -> Trial:
    jitter = float(rng.lognormal(0.0, effect.latency_noise))
    if is_second and unit.id in effect.failed_units:
        return Trial(
            unit.id, unit.repository, unit.question_id, unit.budget, arm, index, position,
            False, False, "RuntimeError: fixture failure", None, None, None, None, None,
            None, None, None,
        )  # fmt: skip
    score, latency, memory = base.score, base.latency_ns * jitter, base.memory_bytes
    if is_second:
        noise = float(rng.uniform(1.0 - effect.qa_noise, 1.0 + effect.qa_noise))
        score = min(1.0, score * (1.0 + effect.qa) * noise)
        latency *= 1.0 + effect.latency
        memory *= 1.0 + effect.memory
    gold = 10
    return Trial(
        unit_id=unit.id,
        repository=unit.repository,
        question_id=unit.question_id,
        budget=unit.budget,
        arm=arm,
        order_index=index,
        position=position,
        warmup=False,
        ok=True,
        error=None,
        qa_score=score,
        pack_tokens=base.tokens,
        latency_ns=int(latency),
        peak_rss_bytes=int(memory),
        memory_method="linux-vmhwm-above-ready",
        gold_lines=gold,
        present_lines=round(score * gold),
        unverified_lines=0,
    )


def _environment(
    arms: Sequence[ArmSpec], host: str, arm_hosts: Mapping[str, str]
) -> dict[str, object]:
    workers: dict[str, dict[str, object]] = {}
    for arm in arms:
        worker: dict[str, object] = {
            "fastpath_env": dict(arm.flags),
            "effective_flags": dict(arm.flags),
            "memory_method": "linux-vmhwm-above-ready",
            "python": "3.11.7",
        }
        if arm.name in arm_hosts:
            worker["host_sha256"] = arm_hosts[arm.name]
        workers[arm.name] = worker
    return {
        "host_sha256": host,
        "platform": "Linux-6.1.0-x86_64-with-glibc2.36",
        "machine": "x86_64",
        "cpu_model": "Fixture CPU",
        "cpu_count": 2,
        "cpu_affinity": 2,
        "python": {"version": "3.11.7", "implementation": "CPython", "executable": "python"},
        "packages": {},
        "git": {"sha": None, "dirty": None},
        "flags": {arm.name: dict(arm.flags) for arm in arms},
        "workers": workers,
        "load_average": {"start": [0.0, 0.0, 0.0], "end": [0.0, 0.0, 0.0]},
    }


def write_registry(path: Path) -> Registry:
    """Write :data:`FIXTURE_REGISTRY_TOML` as a ``pyproject.toml`` and load it."""
    path.write_text(FIXTURE_REGISTRY_TOML, encoding="utf-8")
    return load_registry(path)


def fixture_registry() -> Registry:
    """The fixture registry, parsed (``config_sha256`` is that of its bytes)."""
    table = tomllib.loads(FIXTURE_REGISTRY_TOML)["tool"]["fastpath"]
    registry = parse_registry(table)
    digest = hashlib.sha256(FIXTURE_REGISTRY_TOML.encode("utf-8")).hexdigest()
    return dataclasses.replace(registry, config_sha256=digest)


def fixture_provenance(
    config_sha256: str, inputs: Mapping[str, str] | None = None, git_sha: str = UNKNOWN_COMMIT
) -> Provenance:
    """Stamped ``fixture``: the analysis reads it, the gates refuse it unless told it is a
    demonstration or a simulation (``--accept-fixtures``). A fixture was measured at no
    commit; :func:`main` stamps the commit of its ``--config`` so a demo can be analysed."""
    return Provenance(
        git_sha=git_sha,
        config_sha256=config_sha256,
        created_unix=1767225600.0,
        producer=f"{FIXTURE_PRODUCER}:analysis.fixtures",
        command=("python", "-m", "analysis.fixtures"),
        run_id="fixture",
        inputs=dict(inputs or {}),
    )


def write_run(directory: Path, registry: Registry, artifact: Artifact) -> Path:
    """Write ``artifact`` and its trial stream where the analysis looks for its variant's run;
    the artifact's provenance links to the stream by its sha256, as a real run's does."""
    path = directory / artifact_file(registry.variant(artifact.variant))
    stream = path.with_suffix(".jsonl")
    header = {
        "record": "run",
        "kind": TRIAL_STREAM_KIND,
        "schema": SCHEMA,
        "variant": artifact.variant,
    }
    lines = [orjson.dumps(header, option=orjson.OPT_SORT_KEYS)]
    lines += [
        orjson.dumps({"record": "trial", **trial_to_json(t)}, option=orjson.OPT_SORT_KEYS)
        for t in artifact.trials
    ]
    payload = b"\n".join(lines) + b"\n"
    write_all_atomically({stream: payload})
    linked = dataclasses.replace(
        artifact,
        provenance=dataclasses.replace(
            artifact.provenance, inputs={stream.name: sha256_bytes(payload)}
        ),
    )
    write_artifact(path, linked)
    return path


def default_effects(registry: Registry) -> dict[str, Effect]:
    """Quality variants gain QA, latency variants get faster, memory variants smaller."""
    effects = {}
    for variant in registry.candidates:
        if variant.intent == "quality":
            effects[variant.name] = Effect(qa=0.4, qa_noise=0.05, latency=0.02)
        elif variant.metric == "memory":
            effects[variant.name] = Effect(memory=-0.2)
        else:
            effects[variant.name] = Effect(latency=-0.3)
    return effects


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m analysis.fixtures", description=__doc__)
    parser.add_argument("directory", type=Path, help="where to write the benchmark artifacts")
    parser.add_argument("--config", type=Path, default=Path("pyproject.toml"))
    arguments = parser.parse_args(argv)
    registry = load_registry(arguments.config)
    arguments.directory.mkdir(parents=True, exist_ok=True)
    commit = checkout_git_sha(arguments.config.resolve().parent) or UNKNOWN_COMMIT
    runs = [benchmark_run(registry, registry.baseline.name)]
    runs += [
        benchmark_run(registry, name, effect=effect, seed=index)
        for index, (name, effect) in enumerate(default_effects(registry).items(), start=1)
    ]
    for run in runs:
        stamp = dataclasses.replace(run.provenance, git_sha=commit)
        write_run(arguments.directory, registry, dataclasses.replace(run, provenance=stamp))
    write_quality(arguments.directory, default_quality(registry, git_sha=commit))
    return 0


def default_quality(
    registry: Registry, *, git_sha: str = UNKNOWN_COMMIT, seed: int = 0, profile: str = "standard"
) -> dict[str, object]:
    """``quality.json`` for the registry: quality variants +40% QA, the others identical."""
    rng = np.random.default_rng([seed, 3])
    base = nested_baseline(8, 40, BUDGETS, rng)
    effects = {
        v.name: QualityEffect(multiplier=1.6, redraw=0.1)
        for v in registry.candidates
        if v.intent == "quality"
    }
    return quality_document(
        registry, effects, base, BUDGETS, seed=seed, profile=profile, git_sha=git_sha
    )


if __name__ == "__main__":
    raise SystemExit(main())
