"""A benchmark run: prepare the corpus and questions, run paired trials, write the artifact.

The flow of one run (R0 for the baseline, R1 for a variant):

1. the profile's repositories are fetched and extracted and their question sets
   prepared (``benchmarks.preparation``), both cached;
2. two arms are planned from the registry: baseline against the variant, or
   baseline against a second baseline worker for the A/A noise floor;
3. each arm gets its own worker process (``benchmarks.arms``);
4. warm-up pairs, then every unit as an ABBA-interleaved pair
   (``benchmarks.schedule``); each trial is appended to ``<output>.jsonl``
   as soon as it is measured. With a monitor (``benchmarks.looks``; the
   orchestrator hands it over) the units come in looks, and the run stops at
   the first look the monitor says is enough;
5. the artifact (trials, summaries, environment, design) is written atomically.

An interrupted run continues with ``--resume`` (``benchmarks.resume``).
"""

from __future__ import annotations

import datetime as dt
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import orjson

from benchmarks.arms import Arm, ArmWorker, WorkerError, plan_arms
from benchmarks.artifact import (
    ArmSpec,
    Artifact,
    CorpusRef,
    Trial,
    trial_to_json,
    write_artifact,
)
from benchmarks.corpus import Corpus
from benchmarks.environment import fingerprint, load_average, machine_identity
from benchmarks.looks import (
    FIXED_DESIGN,
    Design,
    Monitor,
    design_kind,
    look_ends,
    measure_in_looks,
)
from benchmarks.oracle import (
    ORACLE_VERSION,
    QUESTION_POOL,
)
from benchmarks.preparation import (
    Repository,
    plan_units,
    prepare_repositories,
    unit_records,
    warmup_units,
)
from benchmarks.profiles import Profile
from benchmarks.resume import (
    Resumed,
    keep_interrupted,
    measurement_code,
    read_resumable,
    rewrite_stream,
)
from benchmarks.schedule import ScheduledTrial, Unit, interleave
from benchmarks.summary import summarise
from contracts.documents import SCHEMA
from contracts.names import TRIAL_STREAM_KIND
from contracts.progress import ProgressReporter
from contracts.provenance import current_provenance, sha256_file
from packrepo.registry import Registry

TRIAL_TIMEOUT_S = 600.0
ORACLE_METHOD = (
    "evidence recall, a proxy for QA accuracy with no LLM: the fraction of the gold lines"
    " (the target's span) that the pack contains; questions are docstring sentences with"
    " identifiers removed, asked of a tree whose copy of that docstring is removed"
)


class BenchmarkError(RuntimeError):
    """A run cannot go on (no questions, a worker that will not start, ...)."""


@dataclass(frozen=True)
class RunConfig:
    variant: str
    budgets: tuple[int, ...]
    seed: int
    profile: Profile
    output: Path
    corpus: Corpus
    registry: Registry
    cache: Path
    trial_timeout_s: float = TRIAL_TIMEOUT_S
    progress: bool = True
    config_path: Path = Path("pyproject.toml")
    resume: bool = False  # continue the interrupted run in stream_path (benchmarks.resume)
    # The sequential design's monitor (benchmarks.looks); None: the fixed design.
    monitor: Monitor | None = None

    @property
    def looks(self) -> int:
        """Planned looks: the profile's when a monitor watches the run, else one. A monitor
        on a one-look profile plans one look: the fixed design, the monitor never asked."""
        return self.profile.looks if self.monitor is not None else 1

    @property
    def stream_path(self) -> Path:
        """Where trials are streamed as they complete: the output with ``.jsonl``."""
        return self.output.with_suffix(".jsonl")


# ---------------------------------------------------------------------------
# Trials
# ---------------------------------------------------------------------------


def trial_record(scheduled: ScheduledTrial, response: dict[str, Any]) -> Trial:
    """A trial from a worker's response; a failure keeps its error and no measurement."""
    unit = scheduled.unit
    ok = bool(response.get("ok"))
    measured = response if ok else {}
    return Trial(
        unit_id=unit.id,
        repository=unit.repository,
        question_id=unit.question_id,
        budget=unit.budget,
        arm=scheduled.arm,
        order_index=scheduled.order_index,
        position=scheduled.position,
        warmup=scheduled.warmup,
        ok=ok,
        error=None if ok else str(response.get("error") or "unknown error"),
        qa_score=measured.get("qa_score"),
        pack_tokens=measured.get("pack_tokens"),
        latency_ns=measured.get("latency_ns"),
        peak_rss_bytes=measured.get("peak_rss_bytes"),
        memory_method=measured.get("memory_method"),
        gold_lines=measured.get("gold_lines"),
        present_lines=measured.get("present_lines"),
        unverified_lines=measured.get("unverified_lines"),
    )


def _request(scheduled: ScheduledTrial, repositories: dict[str, Repository]) -> dict[str, Any]:
    repository = repositories[scheduled.unit.repository]
    question = next(q for q in repository.questions if q.id == scheduled.unit.question_id)
    return {
        "op": "pack",
        "tree": str(repository.question_set.tree),
        "budget": scheduled.unit.budget,
        "query": question.text,
        "gold": {
            "path": question.gold.path,
            "start_line": question.gold.start_line,
            "end_line": question.gold.end_line,
        },
    }


def _measure(worker: ArmWorker, request: dict[str, Any], timeout_s: float) -> dict[str, Any]:
    """One trial; a worker that dies or hangs becomes a failed trial and is restarted."""
    try:
        return worker.request(request, timeout_s)
    except WorkerError as exc:
        try:
            worker.start()
        except WorkerError as restart:
            raise BenchmarkError(f"{exc}; restarting it failed: {restart}") from None
        return {"ok": False, "error": str(exc)}


@contextmanager
def _workers(arms: Sequence[Arm], scratch: Path) -> Iterator[dict[str, ArmWorker]]:
    workers = {arm.name: ArmWorker(arm, scratch=scratch) for arm in arms}
    try:
        for worker in workers.values():
            try:
                worker.start()
            except WorkerError as exc:
                raise BenchmarkError(str(exc)) from None
        yield workers
    finally:
        for worker in workers.values():
            worker.stop()


@contextmanager
def _progress(enabled: bool, total: int, label: str) -> Iterator[Any]:
    """A rich progress bar on stderr; a no-op callable when disabled."""
    if not enabled:
        yield lambda: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=False,
    ) as progress:
        task = progress.add_task(label, total=total)
        yield lambda: progress.advance(task)


def _stream_header(
    config: RunConfig, arms: Sequence[Arm], repositories: Sequence[Repository], started_at: str
) -> dict[str, Any]:
    """The run's identity: a resumed run must have the same (``benchmarks.resume``)."""
    return {
        "record": "run",
        "kind": TRIAL_STREAM_KIND,
        "schema": SCHEMA,
        "variant": config.variant,
        "arms": [{"name": a.name, "variant": a.variant, "flags": a.flags} for a in arms],
        "profile": config.profile.name,
        "seed": config.seed,
        "budgets": sorted(config.budgets),
        "corpus": [[r.entry.name, r.entry.version, r.digest, r.tree_sha256] for r in repositories],
        "trial_timeout_s": config.trial_timeout_s,
        # The rule the artifact's design record follows too (benchmarks.looks.design_kind).
        "design": {"kind": design_kind(config.looks), "looks": config.looks},
        "code": measurement_code(),
        "machine": machine_identity(),
        "started_at": started_at,
    }


def _write_line(stream: IO[bytes], record: dict[str, Any]) -> None:
    stream.write(orjson.dumps(record, option=orjson.OPT_SORT_KEYS) + b"\n")
    stream.flush()


def run_trials(
    schedule: Sequence[ScheduledTrial],
    workers: dict[str, ArmWorker],
    repositories: dict[str, Repository],
    *,
    stream: IO[bytes],
    timeout_s: float,
    progress: bool,
    done: int = 0,
    total: int | None = None,
) -> list[Trial]:
    """Measure ``schedule``; ``done`` of ``total`` trials of the run came before it."""
    trials: list[Trial] = []
    total = done + len(schedule) if total is None else total
    reporter = ProgressReporter("trials", total)  # to the orchestrator, when it asks
    with _progress(progress, len(schedule), "trials") as advance:
        for scheduled in schedule:
            request = _request(scheduled, repositories)
            response = _measure(workers[scheduled.arm], request, timeout_s)
            trial = trial_record(scheduled, response)
            _write_line(stream, {"record": "trial", **trial_to_json(trial)})
            trials.append(trial)
            advance()
            reporter.update(done + len(trials))
    return trials


# ---------------------------------------------------------------------------
# The run
# ---------------------------------------------------------------------------


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def run_benchmark(config: RunConfig) -> Artifact:
    """Run the whole benchmark of ``config`` and write its artifact and trial stream."""
    started_at, wall_start = _now(), time.perf_counter()
    load_start = load_average()
    arms = plan_arms(config.registry, config.variant)
    repositories = prepare_repositories(
        config.corpus, config.profile, cache=config.cache, seed=config.seed
    )
    if not any(r.questions for r in repositories):
        raise BenchmarkError("the profile selects no question")
    units = plan_units(repositories, config.budgets)
    schedule = interleave(
        units,
        (arms[0].name, arms[1].name),
        seed=config.seed,
        warmup_units=warmup_units(repositories, config.budgets, config.profile.warmup_rounds),
        looks=config.looks,
    )
    look_ends(schedule, units, config.looks)  # refused before any worker starts
    header = _stream_header(config, arms, repositories, started_at)
    # Checked before any worker starts: a stream this run cannot continue costs nothing.
    resumed = read_resumable(config.stream_path, header, schedule) if config.resume else None
    if resumed is None:
        kept = keep_interrupted(config.stream_path, config.output)
        if kept is not None:
            note = f"benchmarks: {config.stream_path} held an interrupted run's trials; kept"
            print(f"{note} as {kept} (--resume continues such a run)", file=sys.stderr)
    prepared_s = time.perf_counter() - wall_start
    by_name = {r.entry.name: r for r in repositories}
    config.output.parent.mkdir(parents=True, exist_ok=True)
    with (
        tempfile.TemporaryDirectory(prefix="packrepo-bench-") as scratch,
        _workers(arms, Path(scratch)) as workers,
        _open_stream(config, header, resumed) as stream,
    ):
        measured: list[Trial] = []
        if resumed is not None and resumed.trials:
            measured = list(resumed.trials)
            if len(measured) < len(schedule):
                _warm_up(schedule, workers, by_name, config.trial_timeout_s)
        trials_start = time.perf_counter()
        trials, design = _measure_looks(config, schedule, units, measured, workers, by_name, stream)
        trials_s = time.perf_counter() - trials_start
        readies = {name: w.ready for name, w in workers.items()}
        environment = fingerprint(arms, readies, header["machine"])
    environment["load_average"] = {"start": load_start, "end": load_average()}
    # The stream is closed: its digest links this artifact to the raw trials.
    provenance = current_provenance(
        config.config_path,
        producer="benchmarks",
        inputs={config.stream_path.name: sha256_file(config.stream_path)},
    )
    artifact = Artifact(
        variant=config.variant,
        arms=tuple(ArmSpec(a.name, a.variant, dict(a.flags)) for a in arms),
        profile={
            "name": config.profile.name,
            "repositories": len(repositories),
            "questions_per_repository": config.profile.questions_per_repository,
            "warmup_rounds": config.profile.warmup_rounds,
            "looks": config.profile.looks,
        },
        seed=config.seed,
        budgets=tuple(sorted(config.budgets)),
        corpus=tuple(
            CorpusRef(
                r.entry.name,
                r.entry.version,
                r.digest,
                r.entry.tokens,
                len(r.questions),
                tree_sha256=r.tree_sha256,
            )
            for r in repositories
        ),
        oracle={"version": ORACLE_VERSION, "question_pool": QUESTION_POOL, "method": ORACLE_METHOD},
        environment=environment,
        units=unit_records(units, by_name),
        trials=tuple(trials),
        summaries=summarise(trials, [a.name for a in arms], config.budgets),
        timings={
            "started_at": started_at if resumed is None else resumed.started_at,
            **_resumed_timings(resumed, started_at),
            "finished_at": _now(),
            "prepare_seconds": round(prepared_s, 3),
            "trials_seconds": round(trials_s, 3),
            "wall_seconds": round(time.perf_counter() - wall_start, 3),
        },
        provenance=provenance,
        design=design,
    )
    write_artifact(config.output, artifact)
    return artifact


def _measure_looks(
    config: RunConfig,
    schedule: Sequence[ScheduledTrial],
    units: Sequence[Unit],
    measured: list[Trial],
    workers: dict[str, ArmWorker],
    repositories: dict[str, Repository],
    stream: IO[bytes],
) -> tuple[list[Trial], Design]:
    """The rest of the schedule: all of it (fixed), or look by look with the monitor (one
    look, the fixed design again: ``measure_in_looks`` does not ask the monitor then)."""

    def measure(start: int, end: int) -> list[Trial]:
        return run_trials(
            schedule[start:end],
            workers,
            repositories,
            stream=stream,
            timeout_s=config.trial_timeout_s,
            progress=config.progress,
            done=start,
            total=len(schedule),
        )

    if config.monitor is None:
        return measured + measure(len(measured), len(schedule)), FIXED_DESIGN
    return measure_in_looks(
        config.monitor, units, look_ends(schedule, units, config.looks), measured, measure
    )


@contextmanager
def _open_stream(
    config: RunConfig, header: dict[str, Any], resumed: Resumed | None
) -> Iterator[IO[bytes]]:
    """A new stream with this run's header, or the resumed one cut to its complete pairs."""
    if resumed is None:
        with config.stream_path.open("wb") as stream:
            _write_line(stream, header)
            yield stream
        return
    rewrite_stream(config.stream_path, resumed)
    with config.stream_path.open("ab") as stream:
        yield stream


def _warm_up(
    schedule: Sequence[ScheduledTrial],
    workers: dict[str, ArmWorker],
    repositories: dict[str, Repository],
    timeout_s: float,
) -> None:
    """New workers of a resumed run get the schedule's warm-up pairs again, unrecorded."""
    for scheduled in schedule:
        if scheduled.warmup:
            _measure(workers[scheduled.arm], _request(scheduled, repositories), timeout_s)


def _resumed_timings(resumed: Resumed | None, resumed_at: str) -> dict[str, Any]:
    if resumed is None:
        return {}
    return {
        "resumed": {
            "at": resumed_at,
            "after_trials": len(resumed.trials),
            "dropped_trials": resumed.dropped,
        }
    }
