"""The decision, validated end to end: synthetic evidence with known truths through the real CLIs.

Run::

    python -m gates.simulate [--replications 200] [--jobs 2]

(It lives in ``gates`` because it drives both the analysis and the gates.)

Each replication writes a complete artifacts directory in the standard profile's
shape and runs ``python -m analysis`` and ``python -m gates`` on it (their
``main`` functions, in process: the same argument parsing, files, custody
checks and remake as the command line), then reads ``gates.json``. Figures are
rates with exact (Clopper-Pearson) 95% binomial intervals.

What is simulated, and how (the names say *simulated*; nothing here is measured):

* **Timed trials** (``simulated_machine``): the real schedule (warm-ups, one
  ABBA-interleaved pair per unit, 8 repositories x 3 questions x 3 budgets);
  latency lognormal per repository (sd 0.5) and question (sd 0.1), a budget
  factor, an AR(1) load drift over the schedule (phi 0.95) shared by the two
  trials of a pair only as far as time is shared, and heavy-tailed per-trial
  noise (Student t, 3 degrees of freedom). The noise scale is set so that the
  A/A run's pooled standard error matches the one measured on the 2-core
  machine (see ``MACHINE``).
* **Quality scores** (``quality.json``): the whole question pool of 10
  repositories x 40 questions, each question's baseline score per budget drawn
  (within its repository) from the measured pool in ``gates/data/quality_pool.json``:
  a standard quality stage's baseline scores and pack tokens, written by
  ``python -m gates.simulate --write-pool artifacts/quality.json``. Without it the
  study says so and uses the sparse nested model of :mod:`analysis.quality_fixtures`.
* **Every other piece of evidence** is the passing fixture set, so the decision
  turns on the statistics alone. It is stamped as a fixture and judged with
  ``--accept-fixtures --allow-dirty``.
* The simulation's registry is the project's with ``bootstrap_samples = 200``:
  the bootstrap intervals are descriptive (no gate reads them), and 10,000
  resamples would only slow the study down.
"""

from __future__ import annotations

import contextlib
import io
import math
import os
import tempfile
from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats  # type: ignore[import-untyped]

from analysis.fixtures import benchmark_run, write_run
from analysis.monitor import timed_monitor
from analysis.quality_fixtures import QualityEffect, variant_scores, write_quality
from analysis.quality_fixtures import quality_document as make_quality_document
from benchmarks.artifact import UnitRecord
from contracts.documents import load_json, read_input
from contracts.thresholds import thresholds_from_registry
from gates.simulate_model import (
    BUDGETS,
    COVERAGE,
    MACHINE,
    POOL,
    QUICK,
    STANDARD,
    MeasuredPool,
    Shape,
    draw_quality,
    gain_effect,
    load_pool,
    model_pool,
    simulated_machine,
    stopped_by,
)
from packrepo.registry import Registry, load_registry

QA_GATES = "qa_improvement+qa_significance+qa_budget_guard+recall_guard"


@dataclass(frozen=True)
class Scenario:
    """Known truths for every candidate; what counts, and what it should be."""

    name: str
    truth: str
    measure: str  # "promotion", "chosen:<V>", "gates:<V>:<gate>+<gate>" or "aa-misfire"
    design: str  # what the figure must be, as text
    at_most: float | None = None
    at_least: float | None = None
    also: tuple[tuple[str, str], ...] = ()  # further (measure, design) counted on the same runs
    latency: Mapping[str, tuple[float, ...]] = field(default_factory=dict)  # per budget
    memory: Mapping[str, float] = field(default_factory=dict)
    quality: Mapping[str, QualityEffect] = field(default_factory=dict)
    shape: Shape = STANDARD


def scenarios(
    registry: Registry, alpha: float, family: int, gains: Mapping[float, QualityEffect]
) -> list[Scenario]:
    """The study's cases; V1 stands for a latency variant and V4 for a quality one.
    ``gains`` maps a QA/100k gain to the quality effect that makes it true."""
    latency = next(v.name for v in registry.candidates if v.metric == "latency")
    quality = [v.name for v in registry.candidates if v.intent == "quality"]
    first = quality[0]
    bound = alpha / family
    return [
        Scenario("null", "every variant identical to the baseline", "promotion",
                 f"at most alpha = {alpha:g}", at_most=alpha),
        Scenario("redraw-null", "quality variants redraw 30% of the questions, net gain 0",
                 "promotion", f"at most alpha = {alpha:g}", at_most=alpha,
                 quality={q: QualityEffect(redraw=0.3, token_jitter=0.0) for q in quality}),
        Scenario("qa+20%", f"{first}: QA/100k +20% at every budget, latency unchanged",
                 f"chosen:{first}", "at least 80%", at_least=0.80,
                 quality={first: gains[0.20]},
                 also=((f"gates:{first}:{QA_GATES}", "the QA gates alone"),
                       (f"gates:{first}:qa_budget_guard", "the QA guards at every budget"),
                       (f"gates:{first}:recall_guard", "the recall guards at every budget"),
                       (f"gates:{first}:latency_non_inferiority", "the latency guards alone"))),
        Scenario("qa+13%", f"{first}: QA/100k +13%, the registry's target", f"gates:{first}:"
                 "qa_significance", "at least 80% (design power)", at_least=0.80,
                 quality={first: gains[0.13]}),
        Scenario("qa+10%", f"{first}: QA/100k +10%, below the +13% target",
                 f"gates:{first}:{QA_GATES}", "near 0 (reported)",
                 quality={first: gains[0.10]}),
        Scenario("latency-20%", f"{latency}: -20% latency at every budget", f"chosen:{latency}",
                 "at least 80%", at_least=0.80, latency={latency: (-0.20, -0.20, -0.20)}),
        Scenario("latency-null", "every variant identical: can a neutral latency pass?",
                 f"gates:{latency}:latency_non_inferiority", "reported (power of the guards)",
                 also=((f"gates:{latency}:power", "reported: not inconclusive"),)),
        Scenario("tradeoff", f"{latency}: -35% / -20% / +15% latency by budget",
                 f"chosen:{latency}", "at most 5%", at_most=0.05,
                 latency={latency: (-0.35, -0.20, 0.15)}),
        Scenario("at-margin", f"{latency}: +10% latency at every budget, the margin",
                 f"gates:{latency}:latency_non_inferiority",
                 f"at most the one-sided {bound:.2g} per bound", at_most=bound,
                 latency={latency: (0.10, 0.10, 0.10)},
                 also=tuple((f"upper:{latency}:latency_mean:{b}:0.1",
                             f"one bound, at most {bound:.2g}") for b in ("50k", "120k", "200k"))),
        Scenario("quick-null", "quick profile, every variant identical", "aa-misfire",
                 f"at most alpha = {alpha:g}", at_most=alpha, shape=QUICK),
        Scenario("quick-latency-20%", f"quick profile, {latency} -20%", "promotion",
                 "0 (exploratory)", at_most=0.0, shape=QUICK,
                 latency={latency: (-0.20, -0.20, -0.20)}),
    ]  # fmt: skip


# --- one replication through the real CLIs --------------------------------------------


@dataclass(frozen=True)
class Outcome:
    decision: str
    chosen: str | None
    passed: Mapping[str, Mapping[str, bool]]  # variant -> gate -> passed
    aa_stable: bool
    bounds: Mapping[tuple[str, str, str], tuple[float | None, float | None]] = field(
        default_factory=dict
    )  # (variant, metric, budget) -> (ci_low, ci_high) of the gated interval
    units: Mapping[str, tuple[int, int]] = field(default_factory=dict)  # measured, planned


def replicate(
    scenario: Scenario, registry_path: Path, other_evidence: Mapping[str, bytes], seed: int
) -> Outcome:
    from analysis.cli import main as analysis_main
    from gates.cli import main as gates_main

    registry = load_registry(registry_path)
    thresholds = thresholds_from_registry(registry)
    rng = np.random.default_rng(seed)
    shape = scenario.shape
    with tempfile.TemporaryDirectory(prefix="e2e-") as scratch:
        artifacts = Path(scratch)
        units: dict[str, tuple[int, int]] = {}
        for name in (registry.baseline.name, *(v.name for v in registry.candidates)):
            effects = scenario.latency.get(name, (0.0,) * len(BUDGETS))
            measure = simulated_machine(MACHINE, effects, scenario.memory.get(name, 0.0), rng)
            # The A/A run measures every unit; a candidate, look by look, as its monitor says.
            looks = 1 if name == registry.baseline.name else shape.looks
            run = benchmark_run(
                registry, name, repositories=shape.repositories, questions=shape.questions,
                seed=int(rng.integers(2**31)), profile=shape.profile, measure=measure,
                looks=looks,
            )  # fmt: skip
            if looks > 1:
                run = stopped_by(run, timed_monitor(registry, thresholds, name), looks)
            units[name] = (len(run.measured_unit_ids()), len(run.units))
            write_run(artifacts, registry, run)
        assert _POOL is not None, "run_study loads the pool in every worker"
        base = draw_quality(_POOL, shape, rng)
        document = make_quality_document(
            registry, scenario.quality, base, BUDGETS, seed=int(rng.integers(2**31)),
            profile=shape.profile,
        )  # fmt: skip
        write_quality(artifacts, document)
        for name, payload in other_evidence.items():
            (artifacts / name).write_bytes(payload)
        config = ["--config", str(registry_path)]
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            code = analysis_main(["--input", scratch, "--output", scratch, *config])
            if code != 0:
                raise RuntimeError(f"the analysis refused a simulated run (exit {code})")
            gates_main(["--artifacts", scratch, *config, "--accept-fixtures", "--allow-dirty"])
        verdict = load_json(read_input(artifacts / "gates.json"), "gates.json")
        analysis = load_json(
            read_input(artifacts / "statistical_analysis.json"), "statistical_analysis.json"
        )
    passed = {
        name: {gate["name"]: bool(gate["passed"]) for gate in entry["gates"]}
        for name, entry in verdict["variants"].items()
    }
    bounds = {
        (row["variant"], row["metric"], row["budget"]): (row["ci_low"], row["ci_high"])
        for row in analysis["comparisons"]
    }
    return Outcome(
        verdict["decision"],
        verdict["chosen"],
        passed,
        bool(analysis["environment"]["stable"]),
        bounds,
        units,
    )


_POOL: MeasuredPool | None = None


def _init_worker(pool_path: str, seed: int) -> None:
    global _POOL
    _POOL = load_pool(Path(pool_path)) or model_pool(seed)


def counted(measure: str, outcome: Outcome) -> bool:
    """Whether ``outcome`` is the event ``measure`` names."""
    kind, _, rest = measure.partition(":")
    if kind == "promotion":
        return outcome.decision == "promote"
    if kind == "chosen":
        return outcome.chosen == rest
    if kind == "gates":
        variant, _, gates = rest.partition(":")
        return all(outcome.passed[variant][gate] for gate in gates.split("+"))
    if kind == "aa-misfire":
        return not outcome.aa_stable
    if kind == "upper":  # upper:<variant>:<metric>:<budget>:<limit>, the bound at most limit
        variant, metric, budget, limit = rest.split(":")
        high = outcome.bounds[(variant, metric, budget)][1]
        return high is not None and high <= float(limit) + 1e-12
    raise ValueError(f"unknown measure {measure}")


def binomial_interval(successes: int, trials: int) -> tuple[float, float]:
    """Exact (Clopper-Pearson) 95% interval for a proportion."""
    interval = stats.binomtest(successes, trials).proportion_ci(confidence_level=0.95)
    return float(interval.low), float(interval.high)


def run_study(
    chosen: Sequence[Scenario],
    registry_path: Path,
    other_evidence: Mapping[str, bytes],
    *,
    replications: int,
    seed: int,
    jobs: int,
    pool_path: Path = POOL,
) -> tuple[list[tuple[Scenario, str, str, int, int]], dict[tuple[str, str], tuple[int, int]]]:
    """Every measure's count of events in ``replications`` runs of its scenario, seeded per
    replication: (scenario, measure, design, events, runs); and the units every candidate
    measured and planned, summed over a scenario's runs."""
    tasks = [
        (scenario, registry_path, other_evidence, _replication_seed(seed, index, rep))
        for index, scenario in enumerate(chosen)
        for rep in range(replications)
    ]
    counts: dict[tuple[str, str], int] = {}
    if jobs <= 1:
        _init_worker(str(pool_path), seed)
        outcomes = [replicate(*task) for task in tasks]
    else:
        with ProcessPoolExecutor(
            jobs, initializer=_init_worker, initargs=(str(pool_path), seed)
        ) as ex:
            outcomes = list(ex.map(_replicate_star, tasks, chunksize=4))
    units: dict[tuple[str, str], tuple[int, int]] = {}
    for (scenario, *_), outcome in zip(tasks, outcomes, strict=True):
        for measure, _ in _measures(scenario):
            key = (scenario.name, measure)
            counts[key] = counts.get(key, 0) + counted(measure, outcome)
        for variant, (measured, planned) in outcome.units.items():
            so_far = units.get((scenario.name, variant), (0, 0))
            units[(scenario.name, variant)] = (so_far[0] + measured, so_far[1] + planned)
    results = [
        (s, measure, design, counts[(s.name, measure)], replications)
        for s in chosen
        for measure, design in _measures(s)
    ]
    return results, units


def verdict_mark(scenario: Scenario, measure: str, rate: float, high: float) -> str:
    """ "ok" or "MISSED" for a scenario's own measure against its design; "" otherwise."""
    if measure != scenario.measure:
        return ""
    ok = scenario.at_least is None or rate >= scenario.at_least
    if scenario.at_most is not None:
        ok = ok and rate <= scenario.at_most + 1e-12 and high <= max(0.05, scenario.at_most)
    return "ok" if ok else "MISSED"


def _measures(scenario: Scenario) -> list[tuple[str, str]]:
    return [(scenario.measure, scenario.design), *scenario.also]


def _replicate_star(task: tuple[Scenario, Path, Mapping[str, bytes], int]) -> Outcome:
    return replicate(*task)


def _replication_seed(seed: int, scenario: int, rep: int) -> int:
    return int(np.random.SeedSequence([seed, scenario, rep]).generate_state(1)[0])


def default_jobs() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1


def study_registry(directory: Path, pyproject: Path, samples: int = 50) -> Path:
    """The project's registry with fewer descriptive bootstrap resamples."""
    text = pyproject.read_text(encoding="utf-8")
    marker = "bootstrap_samples = "
    start = text.index(marker)
    end = text.index("\n", start)
    path = directory / "pyproject.toml"
    path.write_text(text[:start] + f"{marker}{samples}" + text[end:], encoding="utf-8")
    return path


def passing_other_evidence(registry: Registry) -> dict[str, bytes]:
    """Every file the gates read besides the analysis and its inputs, clean."""
    from contracts.names import ANALYSIS_FILE
    from gates import fixtures as gates_fixtures

    documents = gates_fixtures.passing_documents(registry, git_sha="unknown")
    files = gates_fixtures.encode(documents, registry.config_sha256)
    del files[ANALYSIS_FILE]
    return files


# --- coverage of the gated intervals in the gates' regime ------------------------------


@dataclass(frozen=True)
class Coverage:
    label: str
    method: str
    level: float
    covered: int
    trials: int


def coverage_study(
    replications: int, seed: int, levels: Sequence[float], bca_replications: int
) -> list[Coverage]:
    """Cluster t (and BCa on a subset) on simulated timed runs with a known -20% effect,
    pooled (24 question clusters) and at one budget (24 units), and on simulated quality
    runs with a known +20% QA/100k gain (400 questions)."""
    from analysis.calibrated import LogRatio, cluster_t

    truth = math.log(0.8)
    counts: dict[tuple[str, str, float], int] = {}
    rng = np.random.default_rng(seed)
    pool = load_pool() or model_pool(seed)
    gain = gain_effect(pool, 0.20)
    for rep in range(replications):
        units, questions, _, budgets = _standard_units()
        measure = simulated_machine(MACHINE, (-0.2, -0.2, -0.2), 0.0, rng)
        base = np.empty(len(units))
        variant = np.empty(len(units))
        for i, unit in enumerate(units):
            first, second = 2 * i, 2 * i + 1
            base_slot, variant_slot = (first, second) if i % 2 == 0 else (second, first)
            base[i] = measure(unit, False, base_slot)[0]
            variant[i] = measure(unit, True, variant_slot)[0]
        cells = {
            "latency pooled (24 question clusters)": (np.ones(len(units), bool), questions),
            "latency at 120k (24 units)": (budgets == 120_000, None),
        }
        drawn = draw_quality(pool, STANDARD, rng)
        scores_v, _ = variant_scores(drawn, gain, rng)
        for level in levels:
            for label, (mask, clusters) in cells.items():
                ratio = LogRatio.mean_ratio(variant[mask], base[mask], label)
                labels = None if clusters is None else [clusters[j] for j in np.flatnonzero(mask)]
                interval = cluster_t(ratio, labels, level)
                hit = math.log1p(interval.low) <= truth <= math.log1p(interval.high)
                key = (label, "cluster t", level)
                counts[key] = counts.get(key, 0) + hit
            qa = LogRatio.ratio_of_ratios(
                scores_v.ravel(), drawn.tokens.ravel(), drawn.scores.ravel(), drawn.tokens.ravel()
            )
            question_labels = [
                f"{r}/{i}" for i, r in enumerate(drawn.repositories) for _ in BUDGETS
            ]
            interval = cluster_t(qa, question_labels, level)
            hit = interval.low <= 0.20 <= interval.high
            key = ("QA/100k pooled (400 questions)", "cluster t", level)
            counts[key] = counts.get(key, 0) + hit
        if rep < bca_replications:
            _bca_coverage(counts, variant, base, questions, truth, levels, rep, seed)
    found = []
    for (label, method, level), hits in sorted(counts.items()):
        trials = replications if method == "cluster t" else min(bca_replications, replications)
        found.append(Coverage(label, method, level, hits, trials))
    return found


def _bca_coverage(
    counts: dict[tuple[str, str, float], int],
    variant: np.ndarray[Any, np.dtype[np.float64]],
    base: np.ndarray[Any, np.dtype[np.float64]],
    questions: Sequence[str],
    truth: float,
    levels: Sequence[float],
    rep: int,
    seed: int,
) -> None:
    from analysis.batch import MeanRatio, bca_relative_change

    for level in levels:
        batch = bca_relative_change(
            [MeanRatio(variant, base)],
            confidence_level=level,
            n_resamples=2000,
            seed=np.random.SeedSequence([seed, 99, rep]),
            clusters=np.asarray(questions),
        )
        hit = math.log1p(batch.low[0]) <= truth <= math.log1p(batch.high[0])
        key = ("latency pooled (24 question clusters)", "BCa (2,000 resamples)", level)
        counts[key] = counts.get(key, 0) + hit


def _standard_units() -> tuple[
    list[UnitRecord], list[str], list[str], np.ndarray[Any, np.dtype[np.int64]]
]:
    from benchmarks.artifact import GoldRef

    units = [
        UnitRecord(f"repo{r}|q{q}|{b}", f"repo{r}", f"q{q}", b, "", GoldRef("m.py", 1, 2))
        for r in range(COVERAGE.repositories)
        for q in range(COVERAGE.questions)
        for b in BUDGETS
    ]
    questions = [f"{u.repository}|{u.question_id}" for u in units]
    return units, questions, [u.repository for u in units], np.asarray([u.budget for u in units])


if __name__ == "__main__":
    from gates.simulate_cli import main

    raise SystemExit(main())
