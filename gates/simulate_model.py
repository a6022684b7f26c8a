"""What the end-to-end study simulates (:mod:`gates.simulate`): a noisy machine and a quality pool.

Everything here is *simulated*, calibrated on measurements named beside each
number; nothing here is a measurement.

* ``simulated_machine``: timed trials on a noisy 2-core machine (lognormal latency per
  repository and question, a budget factor, AR(1) load drift, heavy-tailed noise).
* ``MeasuredPool``: the baseline's per-question scores and pack tokens from a real
  quality stage (``gates/data/quality_pool.json``), and how often a real query-aware arm
  lost a question the baseline had found, per budget.
* ``stopped_by``: a sequential run, from a complete run measured look by look and the
  real monitor (``analysis.monitor``) asked after each look.
* ``gain_effect``: a quality arm with a known QA/100k gain. The measured scores are
  nearly all 0 or 1 (a pack holds a question's gold lines or not), so a gain cannot come
  from scaling scores: the arm *finds* questions the baseline misses and *loses* some it
  found, at the measured loss rate, with the find rate solved so that the expected
  QA/100k gain over the pool is exactly the one asked for at every budget.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats  # type: ignore[import-untyped]

from analysis.quality_fixtures import BaselineScores, QualityEffect, nested_baseline
from benchmarks.artifact import Artifact, UnitRecord
from benchmarks.looks import Monitor, look_ends, measure_in_looks
from benchmarks.summary import summarise
from contracts.documents import load_json, read_input, write_json_atomically
from contracts.errors import InputError

BUDGETS = (50_000, 120_000, 200_000)
# The length of a simulated machine's drift series: a run's trials (warm-ups included)
# must fit in it (gates.simulate_cli refuses sizes that do not).
MACHINE_SLOTS = 4096
POOL = Path(__file__).with_name("data") / "quality_pool.json"


@dataclass(frozen=True)
class Machine:
    """A simulated noisy machine: how latency and memory vary (log scale)."""

    base_ms: float = 450.0
    repository_sd: float = 0.5
    question_sd: float = 0.1
    budget_factors: tuple[float, ...] = (1.0, 1.08, 1.2)
    drift_phi: float = 0.95
    drift_sd: float = 0.01
    noise_df: float = 3.0
    # Calibrated so that the A/A run's pooled mean-latency standard error is 2.2%, as
    # measured on the 2-core machine (README); per budget it is then about 3.5%.
    noise_scale: float = 0.075
    memory_mib: float = 60.0
    memory_sd: float = 0.002


MACHINE = Machine()


@dataclass(frozen=True)
class Shape:
    repositories: int
    questions: int
    quality_repositories: int
    quality_questions: int
    profile: str
    looks: int = 1  # the sequential design's looks (1: the fixed design)


# The profiles' shapes (benchmarks.profiles): standard plans 12 questions in 4 looks.
STANDARD = Shape(8, 12, 10, 40, "standard", looks=4)
QUICK = Shape(2, 3, 2, 40, "quick")
# The coverage study's fixed-n regime: 8 repositories x 3 questions, 24 question clusters.
COVERAGE = Shape(8, 3, 10, 40, "standard")


def simulated_machine(
    machine: Machine, effects: Sequence[float], memory_effect: float, rng: np.random.Generator
) -> Callable[[UnitRecord, bool, int], tuple[float, float]]:
    """A measure function for ``analysis.fixtures.benchmark_run``: one run on one machine."""
    repository = {f"repo{r}": rng.normal(0.0, machine.repository_sd) for r in range(64)}
    question: dict[tuple[str, str], float] = {}
    drift = np.zeros(MACHINE_SLOTS)
    shocks = rng.normal(0.0, machine.drift_sd, MACHINE_SLOTS)
    for t in range(1, MACHINE_SLOTS):
        drift[t] = machine.drift_phi * drift[t - 1] + shocks[t]
    # Heavy tails, cut at 5 scale units so that the mean latency (the truth a ratio of
    # means estimates) exists: exp of an unbounded t has no mean.
    draws = stats.t.rvs(machine.noise_df, size=MACHINE_SLOTS, random_state=rng)
    noise = np.clip(draws, -5.0, 5.0) * machine.noise_scale
    index = {b: i for i, b in enumerate(BUDGETS)}

    def measure(unit: UnitRecord, is_second: bool, slot: int) -> tuple[float, float]:
        key = (unit.repository, unit.question_id)
        if key not in question:
            question[key] = rng.normal(0.0, machine.question_sd)
        b = index[unit.budget]
        log_ms = math.log(machine.base_ms * machine.budget_factors[b])
        log_ms += repository[unit.repository] + question[key] + drift[slot] + noise[slot]
        latency_ms = math.exp(log_ms) * ((1.0 + effects[b]) if is_second else 1.0)
        memory = machine.memory_mib * math.exp(0.3 * repository[unit.repository])
        memory *= math.exp(rng.normal(0.0, machine.memory_sd))
        memory *= (1.0 + memory_effect) if is_second else 1.0
        return latency_ms * 1e6, memory * 1024 * 1024

    return measure


@dataclass(frozen=True)
class MeasuredPool:
    """A quality stage's baseline scores, and the share of the questions the baseline found
    that a query-aware arm lost, per budget (empty without a measured arm)."""

    base: BaselineScores
    lose: tuple[float, ...]
    note: str


@contextmanager
def _shaped(path: Path, what: str) -> Iterator[None]:
    """A file that parses but lacks what the study reads is bad input, one line."""
    try:
        yield
    except (KeyError, TypeError, ValueError, StopIteration, AttributeError) as exc:
        detail = f"no {exc}" if isinstance(exc, KeyError) else type(exc).__name__
        raise InputError(f"{path}: not {what} the study can read ({detail})") from None


def write_pool(quality_path: Path, output: Path = POOL) -> None:
    """The measured baseline scores and pack tokens of a quality stage, and the first
    quality arm's loss rates, for the study."""
    document = load_json(read_input(quality_path), str(quality_path))
    with _shaped(quality_path, "a quality.json"):
        pool = _pool(document)
    output.parent.mkdir(parents=True, exist_ok=True)
    write_json_atomically(output, pool)


def _pool(document: dict[str, Any]) -> dict[str, Any]:
    budgets = [str(b) for b in document["budgets"]]
    arms = document["arms"]
    baseline = next(a for a in arms.values() if a["intent"] == "baseline")
    columns = [baseline["budgets"][b] for b in budgets]
    quality = next((name for name, a in arms.items() if a["intent"] == "quality"), None)
    lose: list[float] = []
    if quality is not None:
        for budget in budgets:
            base = np.asarray(baseline["budgets"][budget]["score"]) > 0
            arm = np.asarray(arms[quality]["budgets"][budget]["score"]) > 0
            lose.append(round(float((base & ~arm).sum() / max(1, base.sum())), 4))
    pool = {
        "note": "baseline scores and pack tokens per question (rows) and budget (columns),"
        f" measured by the quality stage at commit {document['provenance']['git_sha'][:12]},"
        f" {document['profile']} profile; 'lose': the share of the questions the baseline"
        f" found that {quality} lost, per budget; python -m gates.simulate --write-pool",
        "budgets": document["budgets"],
        "lose": lose,
        "repositories": [q["repository"] for q in document["questions"]],
        "scores": [list(row) for row in zip(*(c["score"] for c in columns), strict=True)],
        "tokens": [list(row) for row in zip(*(c["tokens"] for c in columns), strict=True)],
    }
    return pool


def load_pool(path: Path = POOL) -> MeasuredPool | None:
    """The measured pool, if the data file is there."""
    if not path.is_file():
        return None
    document = load_json(read_input(path), str(path))
    with _shaped(path, "a measured pool"):
        base = BaselineScores(
            repositories=tuple(document["repositories"]),
            scores=np.asarray(document["scores"], dtype=float),
            tokens=np.asarray(document["tokens"], dtype=float),
        )
        return MeasuredPool(base, tuple(document.get("lose", ())), document["note"])


def model_pool(seed: int) -> MeasuredPool:
    """The nested model of :mod:`analysis.quality_fixtures`, when no pool was measured."""
    base = nested_baseline(10, 40, BUDGETS, np.random.default_rng([seed, 1]))
    return MeasuredPool(base, (), "the nested model (no measured pool)")


def draw_quality(pool: MeasuredPool, shape: Shape, rng: np.random.Generator) -> BaselineScores:
    """The question pool of one run: measured rows resampled within each repository."""
    source = pool.base
    names = sorted(set(source.repositories))[: shape.quality_repositories]
    rows: list[int] = []
    labels: list[str] = []
    for name in names:
        members = [i for i, label in enumerate(source.repositories) if label == name]
        rows += list(rng.choice(members, size=shape.quality_questions, replace=True))
        labels += [name] * shape.quality_questions
    return BaselineScores(tuple(labels), source.scores[rows], source.tokens[rows])


def gain_effect(pool: MeasuredPool, gain: float) -> QualityEffect:
    """A quality arm whose expected QA/100k is ``1 + gain`` times the baseline's at every
    budget: it loses the measured share of the questions the baseline found, and finds
    (scoring 1) the share of the missed ones that makes up the rest.

    Per budget, with ``m`` the mean score and ``f`` the share found (each repository
    weighted as a run draws it), the arm's expected score is
    ``(1 - lose) m + find (1 - f)``; tokens are the baseline's, so ``find`` solves
    ``(1 - lose) m + find (1 - f) = (1 + gain) m``.
    """
    base = pool.base
    weights = np.asarray([1.0 / base.repositories.count(r) for r in base.repositories])
    weights /= weights.sum()
    mean = weights @ base.scores
    found = weights @ (base.scores > 0)
    lose = np.asarray(pool.lose or (0.0,) * base.scores.shape[1])
    find = (gain + lose) * mean / (1.0 - found)
    if np.any(find > 1.0) or np.any(find < 0.0):
        raise ValueError(f"a QA/100k gain of {gain:+.0%} cannot be made from this pool")
    return QualityEffect(
        find=tuple(float(x) for x in find), lose=tuple(float(x) for x in lose), token_jitter=0.0
    )


def stopped_by(artifact: Artifact, monitor: Monitor, looks: int) -> Artifact:
    """The *simulated* sequential run: what the runner would have kept of ``artifact`` (a
    complete run measured look by look, ``analysis.fixtures.benchmark_run(looks=...)``)
    had ``monitor`` watched it: the runner's own loop, measuring from the trials made."""
    units = [u.unit for u in artifact.units]
    made = list(artifact.trials)
    ends = look_ends(made, units, looks)
    kept, design = measure_in_looks(monitor, units, ends, [], lambda start, end: made[start:end])
    names = [arm.name for arm in artifact.arms]
    return dataclasses.replace(
        artifact,
        trials=tuple(kept),
        summaries=summarise(kept, names, artifact.budgets),
        design=design,
    )
