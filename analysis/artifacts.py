"""Benchmark artifacts in, paired units out: the input edge of the analysis.

Reads ``baseline.json`` (the A/A run R0: arms ``baseline`` and ``baseline-2``)
and ``<V>_benchmark.json`` (run R1: arms ``baseline`` and ``V``) with the
benchmarks' own validator (:func:`benchmarks.artifact.parse_artifact`), then
pairs two arms' measured (non-warm-up) trials by ``unit_id``.

What is a per-variant error and what is bad input
-------------------------------------------------
The benchmark writer is atomic: a run that crashes leaves *no* ``.json`` (its
``.jsonl`` stream may remain). So

* a **missing** or **unreadable** (I/O error) artifact is the trace of a
  crashed or skipped run: it becomes that variant's ``error`` and the other
  variants are analysed as usual (:attr:`RunFile.error`);
* an artifact that **exists but breaks the contract** (not JSON, empty, NaN or
  Infinity, a malformed field, arms or variant that do not match its file
  name) or whose **units differ** from the other runs' (another profile, seed
  or budget list) cannot come from a crash: it is whole-run bad input,
  :class:`BenchmarkInputError`, one line and exit 2. The line names the file;
  ``--variants`` leaves a broken variant out explicitly, so one bad file
  never silently hides or taints the others.

Machines
--------
A :class:`Machine` is the environment fingerprint of a run (host digest,
system, architecture, cores, CPU model). Latency and memory are compared only
between arms measured on the same machine: each artifact holds both arms of
one run on one machine, so pairing within an artifact is always allowed.
Pairing arms of different artifacts (``--pair-with aa``) or an artifact whose
arms declare different hosts (``environment.workers.<arm>.host_sha256``, an
optional field for artifacts merged by hand) raises
:class:`CrossMachineError` when the machines differ. QA is deterministic and
may be paired across machines.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from analysis.bootstrap import FloatArray
from analysis.errors import AnalysisInputError
from benchmarks.artifact import Artifact, ArtifactError, Trial, parse_artifact
from benchmarks.looks import SEQUENTIAL
from benchmarks.profiles import PROFILES
from contracts.documents import load_json, read_input
from contracts.errors import EvidenceError, UnreadableError
from contracts.provenance import sha256_bytes
from packrepo.registry import Registry, Variant

__all__ = [
    "AA_FILE",
    "AA_SECOND_ARM",
    "ArmTrials",
    "BenchmarkInputError",
    "CrossMachineError",
    "Machine",
    "Measures",
    "PairedUnits",
    "RunFile",
    "RunSet",
    "arm_trials",
    "artifact_file",
    "check_commit",
    "check_same_units",
    "load_run",
    "load_runs",
    "machine_of",
    "pair_arms",
]

AA_FILE = "baseline.json"
AA_SECOND_ARM = "baseline-2"
NS_PER_MS = 1_000_000.0
BYTES_PER_MIB = 1024.0 * 1024.0


class BenchmarkInputError(AnalysisInputError):
    """Whole-run bad input: a malformed artifact, mismatched units (exit 2)."""


class CrossMachineError(BenchmarkInputError):
    """Latency or memory would be paired across two machines."""


@dataclass(frozen=True)
class Machine:
    """Where a run measured: the fields of the fingerprint that change a timing."""

    host_sha256: str
    system: str
    architecture: str
    cpu_count: int | None
    cpu_model: str

    @property
    def label(self) -> str:
        """``linux-x86_64-2cpu-5bce98``: short, stable, without the host name."""
        cores = "?" if self.cpu_count is None else str(self.cpu_count)
        return f"{self.system}-{self.architecture}-{cores}cpu-{self.host_sha256[:6]}"


def machine_of(environment: Mapping[str, Any], arm: str | None = None) -> Machine:
    """The machine of a run, or of one arm if the artifact declares per-arm hosts."""
    host = str(environment.get("host_sha256") or "unknown")
    workers = environment.get("workers")
    if arm is not None and isinstance(workers, Mapping):
        worker = workers.get(arm)
        if isinstance(worker, Mapping) and worker.get("host_sha256"):
            host = str(worker["host_sha256"])
    platform = str(environment.get("platform") or "unknown")
    cpu_count = environment.get("cpu_count")
    return Machine(
        host_sha256=host,
        system=platform.split("-", 1)[0].lower() or "unknown",
        architecture=str(environment.get("machine") or "unknown"),
        cpu_count=cpu_count if isinstance(cpu_count, int) else None,
        cpu_model=str(environment.get("cpu_model") or "unknown"),
    )


# ---------------------------------------------------------------------------
# Loading
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class RunFile:
    """One benchmark run as found on disk: its artifact, or why there is none."""

    variant: str
    path: Path
    artifact: Artifact | None
    error: str | None
    sha256: str | None = None  # of the bytes analysed: the link the gates check


def artifact_file(variant: Variant) -> str:
    """``baseline.json`` for the baseline's A/A run, ``<V>_benchmark.json`` otherwise."""
    return AA_FILE if variant.is_baseline else f"{variant.name}_benchmark.json"


def load_run(directory: Path, variant: Variant, registry: Registry) -> RunFile:
    """Read one run; a missing or unreadable file is the run's error, a bad one raises."""
    path = directory / artifact_file(variant)
    if not path.exists():
        return RunFile(variant.name, path, None, _missing_reason(path))
    try:
        raw = read_input(path)
    except UnreadableError as exc:  # present but unreadable (permissions, I/O): the run's
        return RunFile(variant.name, path, None, f"{path} is unreadable: {exc}")
    except EvidenceError as exc:  # a FIFO, a device, too large: bad input
        raise BenchmarkInputError(str(exc)) from None
    artifact = _parse(raw, path)
    _check_arms(artifact, path, variant, registry)
    stale = _stale_flags(artifact, variant, registry)
    return RunFile(variant.name, path, artifact, stale, sha256_bytes(raw))


def check_commit(runs: Sequence[RunFile], checkout_sha: str | None) -> None:
    """Refuse runs measured at another commit than the checkout's: their numbers describe
    other code. A dirty tree at the same commit is allowed here and marked downstream."""
    if checkout_sha is None:
        return
    for run in runs:
        if run.artifact is None:
            continue
        measured = run.artifact.provenance.git_sha
        if measured != checkout_sha:
            raise BenchmarkInputError(
                f"{run.path}: measured at commit {measured[:12]}, the checkout is at"
                f" {checkout_sha[:12]}: stale evidence, rerun the benchmark"
            )


def _missing_reason(path: Path) -> str:
    stream = path.with_suffix(".jsonl")
    if stream.exists():
        try:
            lines = sum(1 for line in read_input(stream).splitlines() if line.strip())
        except EvidenceError:
            lines = 0
        trials = max(0, lines - 1)  # the first line is the run header
        return (
            f"{path} is missing: the run was interrupted or crashed after {trials} trial(s)"
            f" (see {stream.name})"
        )
    return f"{path} is missing: the benchmark did not run or crashed before writing it"


def _parse(raw: bytes, path: Path) -> Artifact:
    if not raw.strip():
        raise BenchmarkInputError(f"{path}: the file is empty")
    try:
        document = load_json(raw, str(path))
    except EvidenceError as exc:
        raise BenchmarkInputError(str(exc)) from None
    try:
        artifact = parse_artifact(document, source=str(path))
    except ArtifactError as exc:
        raise BenchmarkInputError(str(exc)) from None
    if not artifact.units:
        raise BenchmarkInputError(f"{path}: the run has no units (an empty benchmark)")
    _check_design(artifact, path)
    return artifact


def _check_design(artifact: Artifact, path: Path) -> None:
    """A sequential run's looks are its profile's: the boundaries' information fractions
    come from them, so a run may not plan looks of its own."""
    design = artifact.design
    if design.kind != SEQUENTIAL:
        return
    if any(arm.name == AA_SECOND_ARM for arm in artifact.arms):
        raise BenchmarkInputError(
            f"{path}: an A/A run in looks; the A/A run is the fixed design (the noise floor"
            " measures every unit)"
        )
    name = str(artifact.profile.get("name"))
    profile = PROFILES.get(name)
    if profile is None:
        raise BenchmarkInputError(
            f"{path}: a sequential run of profile {name!r}, which benchmarks.profiles does not"
            f" define, so its looks cannot be checked (profiles: {', '.join(PROFILES)})"
        )
    if profile.looks != design.looks:
        raise BenchmarkInputError(
            f"{path}: the run was planned in {design.looks} looks, but the {name!r} profile"
            f" plans {profile.looks}"
        )


def _check_arms(artifact: Artifact, path: Path, variant: Variant, registry: Registry) -> None:
    baseline = registry.baseline.name
    second = AA_SECOND_ARM if variant.is_baseline else variant.name
    names = sorted(arm.name for arm in artifact.arms)
    if artifact.variant != variant.name:
        raise BenchmarkInputError(
            f"{path}: holds a run of {artifact.variant!r}, expected {variant.name!r}"
        )
    if names != sorted((baseline, second)):
        raise BenchmarkInputError(
            f"{path}: arms are {names}, expected {sorted((baseline, second))}"
        )


def _stale_flags(artifact: Artifact, variant: Variant, registry: Registry) -> str | None:
    """The run measured other flags than the registry now declares: stale evidence."""
    expected = {arm.name: registry.baseline.flags for arm in artifact.arms}
    if not variant.is_baseline:
        expected[variant.name] = variant.flags
    for arm in artifact.arms:
        if dict(arm.flags) != dict(expected[arm.name]):
            return (
                f"arm {arm.name!r} ran with flags {dict(sorted(arm.flags.items()))}, the registry"
                f" now declares {dict(sorted(expected[arm.name].items()))}: rerun the benchmark"
            )
    return None


def check_same_units(runs: Sequence[RunFile]) -> None:
    """Every run measures the same units (same profile, seed and budgets), or raise."""
    loaded = [(run.path, run.artifact) for run in runs if run.artifact is not None]
    if len(loaded) < 2:
        return
    reference_path, reference = loaded[0]
    expected = {unit.id for unit in reference.units}
    for path, artifact in loaded[1:]:
        found = {unit.id for unit in artifact.units}
        if found != expected:
            only_here = sorted(found - expected)
            only_there = sorted(expected - found)
            example = (only_here or only_there)[0]
            raise BenchmarkInputError(
                f"{path}: its {len(found)} units do not match the {len(expected)} of"
                f" {reference_path} ({len(only_here)} only here, {len(only_there)} only there,"
                f" e.g. {example!r}); every run must use the same profile, seed and budgets"
            )


@dataclass(frozen=True)
class RunSet:
    """The runs to analyse: the A/A run and each requested candidate's run."""

    directory: Path
    aa: RunFile
    candidates: Mapping[str, RunFile]  # registry order


def load_runs(directory: Path, registry: Registry, candidates: Sequence[str]) -> RunSet:
    """Load the A/A run and the candidates' runs; raise on whole-run bad input.

    Raises :class:`BenchmarkInputError` when no artifact exists at all, when
    one is malformed, or when their units differ.
    """
    if not directory.is_dir():
        raise BenchmarkInputError(f"{directory}: input directory not found")
    aa = load_run(directory, registry.baseline, registry)
    runs = {name: load_run(directory, registry.variant(name), registry) for name in candidates}
    every = [aa, *runs.values()]
    if all(run.artifact is None and not run.path.exists() for run in every):
        expected = ", ".join(run.path.name for run in every)
        raise BenchmarkInputError(f"{directory}: no benchmark artifact found (expected {expected})")
    check_same_units(every)
    return RunSet(directory=directory, aa=aa, candidates=runs)


# ---------------------------------------------------------------------------
# Pairing
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ArmTrials:
    """The measured trials of one arm of one run, by unit id."""

    source: str  # the artifact's path, for messages
    arm: str
    machine: Machine
    trials: Mapping[str, Trial]


def arm_trials(artifact: Artifact, source: str, arm: str) -> ArmTrials:
    """One arm's non-warm-up trials (the loader guarantees exactly one per unit)."""
    trials = {t.unit_id: t for t in artifact.trials if t.arm == arm and not t.warmup}
    return ArmTrials(source, arm, machine_of(artifact.environment, arm), trials)


def restricted(arm: ArmTrials, unit_ids: Iterable[str]) -> ArmTrials:
    """The arm's trials of ``unit_ids`` only (a sequential run stopped at a look)."""
    wanted = set(unit_ids)
    kept = {unit: trial for unit, trial in arm.trials.items() if unit in wanted}
    return ArmTrials(arm.source, arm.arm, arm.machine, kept)


@dataclass(frozen=True, eq=False)
class Measures:
    """One arm's measures on the paired units, in unit order.

    ``peak_rss_mib`` holds NaN where the platform gave no per-trial peak.
    """

    qa_score: FloatArray
    pack_tokens: FloatArray
    latency_ms: FloatArray
    peak_rss_mib: FloatArray

    def select(self, mask: np.ndarray[Any, np.dtype[np.bool_]]) -> Measures:
        return Measures(
            self.qa_score[mask],
            self.pack_tokens[mask],
            self.latency_ms[mask],
            self.peak_rss_mib[mask],
        )


@dataclass(frozen=True, eq=False)
class PairedUnits:
    """Units where both arms succeeded, with the measures of each arm.

    ``n_units`` counts every unit of the run; ``n_failed`` the failed trials
    per arm. A unit with a failed trial in either arm is left out of every
    statistic (its partner trial would be unpaired).
    """

    unit_ids: tuple[str, ...]
    repositories: tuple[str, ...]
    questions: tuple[str, ...]  # "repository|question_id": the budgets of one question
    budgets: np.ndarray[Any, np.dtype[np.int64]]
    baseline: Measures
    variant: Measures
    n_units: int
    n_failed: Mapping[str, int]
    first_error: str | None

    @property
    def n_paired(self) -> int:
        return len(self.unit_ids)

    def select(self, mask: np.ndarray[Any, np.dtype[np.bool_]]) -> PairedUnits:
        kept = np.flatnonzero(mask)
        return PairedUnits(
            unit_ids=tuple(self.unit_ids[i] for i in kept),
            repositories=tuple(self.repositories[i] for i in kept),
            questions=tuple(self.questions[i] for i in kept),
            budgets=self.budgets[mask],
            baseline=self.baseline.select(mask),
            variant=self.variant.select(mask),
            n_units=self.n_units,
            n_failed=self.n_failed,
            first_error=self.first_error,
        )


def pair_arms(baseline: ArmTrials, variant: ArmTrials, *, timing: bool) -> PairedUnits:
    """Pair two arms by ``unit_id``, keeping units where both trials succeeded.

    ``timing`` says latency or memory will be compared: then both arms must
    come from one machine (:class:`CrossMachineError` otherwise).
    """
    if timing and baseline.machine != variant.machine:
        raise CrossMachineError(
            f"refusing to pair latency of {variant.arm} ({variant.source}, machine"
            f" {variant.machine.label}) with {baseline.arm} ({baseline.source}, machine"
            f" {baseline.machine.label}): timings are paired only within one machine's run"
        )
    if set(baseline.trials) != set(variant.trials):
        raise BenchmarkInputError(
            f"the units of {variant.arm} ({variant.source}) do not match those of"
            f" {baseline.arm} ({baseline.source})"
        )
    unit_ids = sorted(baseline.trials)
    kept = [u for u in unit_ids if baseline.trials[u].ok and variant.trials[u].ok]
    failed = [t for arm in (baseline, variant) for t in arm.trials.values() if not t.ok]
    first = sorted(failed, key=lambda t: t.order_index)[0] if failed else None
    pairs = [(baseline.trials[u], variant.trials[u]) for u in kept]
    return PairedUnits(
        unit_ids=tuple(kept),
        repositories=tuple(b.repository for b, _ in pairs),
        questions=tuple(f"{b.repository}|{b.question_id}" for b, _ in pairs),
        budgets=np.array([b.budget for b, _ in pairs], dtype=np.int64),
        baseline=_measures([b for b, _ in pairs]),
        variant=_measures([v for _, v in pairs]),
        n_units=len(unit_ids),
        n_failed={
            arm.arm: sum(1 for t in arm.trials.values() if not t.ok) for arm in (baseline, variant)
        },
        first_error=None if first is None else f"{first.unit_id} ({first.arm}): {first.error}",
    )


def _measures(trials: Sequence[Trial]) -> Measures:
    def column(values: Sequence[float | int | None], scale: float = 1.0) -> FloatArray:
        return np.array([np.nan if v is None else v / scale for v in values], dtype=np.float64)

    return Measures(
        qa_score=column([t.qa_score for t in trials]),
        pack_tokens=column([t.pack_tokens for t in trials]),
        latency_ms=column([t.latency_ns for t in trials], NS_PER_MS),
        peak_rss_mib=column([t.peak_rss_bytes for t in trials], BYTES_PER_MIB),
    )
