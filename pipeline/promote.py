"""``python -m pipeline promote``: plan, run every stage, and exit with the decision.

The exit code is decided by the gates (0 promote, 1 reject, 2 bad input; see
:mod:`contracts.exitcodes`) and read back from ``pipeline_report.json``, because nox
reports any failing session as 1. The orchestrator adds only its own:
124 when the deadline passed and 130 when interrupted, after writing a partial
report that says which stages finished, and 2 when it cannot write to
``artifacts/`` (one line on stderr, and the partial report if it can be written).

One run at a time: a run holds ``artifacts/.pipeline.lock`` (:mod:`contracts.lock`)
from before it sets earlier outputs aside until it exits; a second run exits 2
naming the holder and touches nothing. ``python -m pipeline gate`` runs E1 alone
under the same lock and exits with the gates' exact code (``invoke gate``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import subprocess  # nosec B404  # runs the gates' nox session from a fixed plan, no shell
import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from contracts.documents import dumps, read_object, write_all_atomically
from contracts.errors import EvidenceError
from contracts.exitcodes import ExitCode, for_decision
from contracts.lock import LockHeldError, RunLock, acquire, lock_path
from contracts.names import HTML_FILE, LOG_FILE, MARKDOWN_FILE, REPORT_FILE, TIMINGS_FILE
from contracts.progress import PROGRESS_ENV, PROGRESS_VERSION
from contracts.provenance import (
    RUN_ID_ENV,
    checkout_dirty,
    checkout_git_sha,
    current_provenance,
    current_run_id,
)
from contracts.runfacts import RunFacts, cpu_affinity, cpu_model, load_average
from packrepo.registry import Registry, RegistryError, load_registry
from pipeline.building import (
    NOT_SKIPPED,
    Checkout,
    StaleBuildingError,
    current_building_evidence,
    reused_summary,
)
from pipeline.log import Log
from pipeline.plan import (
    DEFAULT_TIMEOUT_SECONDS,
    PROFILES,
    Options,
    Plan,
    PlanError,
    build_plan,
    parse_variants,
    render_plan,
)
from pipeline.progress import duration
from pipeline.records import partial_markdown, partial_report, timings_document
from pipeline.run import (
    CommandFor,
    Outcome,
    StepResult,
    StopRun,
    execute,
    nox_command,
)

# Every session writes here (the noxfile's ARTIFACTS); not an option, so that
# the orchestrator can never read a directory the sessions did not write.
ARTIFACTS_DIR = Path("artifacts")
CONFIG = Path("pyproject.toml")
PREVIOUS_DIR = "previous"
STOP_CODES = {"timeout": ExitCode.TIMEOUT, "interrupted": ExitCode.INTERRUPTED}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m pipeline",
        description="Run the FastPath promotion pipeline (B0-B2, R0-R4, T1-T2, E1).",
    )
    parser.add_argument(
        "command",
        choices=("promote", "plan", "gate"),
        help="run, print the plan, or run E1 (the gates) alone on artifacts/",
    )
    parser.add_argument("--variants", help="arms, e.g. baseline,V1,V3 (default: all)")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument(
        "--parallel", action="store_true", help="one session per core at once (the default)"
    )
    mode.add_argument("--sequential", action="store_true", help="one session at a time")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT_SECONDS, metavar="SECONDS")
    parser.add_argument(
        "--skip-building", action="store_true", help="skip B0-B2, reusing their current evidence"
    )
    parser.add_argument(
        "--allow-dirty",
        action="store_true",
        help="let the gates judge evidence from a tree with uncommitted changes",
    )
    parser.add_argument("--dry-run", action="store_true", help="print the plan, run nothing")
    parser.add_argument("--verbose", action="store_true", help="stream every session's output")
    parser.add_argument("--profile", default="standard", choices=PROFILES)
    parser.add_argument(
        "--fixed",
        action="store_true",
        help="the fixed design: every benchmark measures every unit (default: sequential"
        " looks, each variant stopping once its timed comparisons are decided)",
    )
    parser.add_argument("--config", type=Path, default=Path("pyproject.toml"))
    return parser


def options_from(args: argparse.Namespace) -> Options:
    return Options(
        variants=parse_variants(args.variants),
        # Parallel unless asked otherwise: sequential R0-R4 take about 23 minutes on
        # two cores, parallel about 12 (README, "The pipeline: measured").
        parallel=not args.sequential,
        timeout_seconds=args.timeout,
        skip_building=bool(args.skip_building),
        profile=args.profile,
        verbose=bool(args.verbose),
        allow_dirty=bool(args.allow_dirty),
        fixed=bool(args.fixed),
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        registry = load_registry(args.config)
        plan = build_plan(registry, options_from(args), ARTIFACTS_DIR)
    except (RegistryError, PlanError) as exc:
        return _refuse(str(exc))
    if args.command == "plan" or args.dry_run:
        print(render_plan(plan))
        return 0
    if args.command == "gate":
        return gate(plan)
    return run(plan, registry)


def _refuse(message: str) -> int:
    """The one line on stderr of a run that cannot go on; exit 2."""
    print(f"pipeline: {message}", file=sys.stderr)
    return ExitCode.BAD_INPUT


def _why(exc: OSError) -> str:
    return exc.strerror or str(exc)


def _take_lock(artifacts: Path) -> RunLock | int:
    """The run lock, or the exit code (2, one line said) when another run holds it or
    ``artifacts/`` cannot be written."""
    try:
        artifacts.mkdir(parents=True, exist_ok=True)
        return acquire(lock_path(artifacts))
    except LockHeldError as exc:
        return _refuse(str(exc))
    except OSError as exc:
        return _refuse(f"cannot write to {artifacts}: {_why(exc)}")


def run(plan: Plan, registry: Registry, *, command_for: CommandFor = nox_command) -> int:
    lock = _take_lock(plan.artifacts_dir)
    if isinstance(lock, int):
        return lock
    with lock:
        return _run_holding_lock(plan, registry, command_for)


def _run_holding_lock(plan: Plan, registry: Registry, command_for: CommandFor) -> int:
    artifacts = plan.artifacts_dir
    # The parent's run id (CI's, say) or this process's own; every session gets it in its
    # environment, so that every artifact of this run records the same run id.
    run_id = current_run_id()
    building: Mapping[str, object] = NOT_SKIPPED
    if plan.options.skip_building:
        try:
            reused = current_building_evidence(
                artifacts, _checkout(registry), allow_dirty=plan.options.allow_dirty
            )
        except StaleBuildingError as exc:
            return _refuse(str(exc))
        building = reused_summary(reused)
    record = _RunRecord(plan, run_id, building)
    try:
        _set_aside_previous(plan)
        log = Log(artifacts / LOG_FILE, verbose=plan.options.verbose, sessions=len(plan.steps))
    except OSError as exc:
        return record.stopped_by_error(f"cannot write to {artifacts}: {_why(exc)}")
    try:
        return _execute(plan, log, record, command_for)
    finally:
        log.close()


def _execute(plan: Plan, log: Log, record: _RunRecord, command_for: CommandFor) -> int:
    artifacts = plan.artifacts_dir
    skipped = " (building skipped: evidence reused)" if plan.options.skip_building else ""
    log.progress(
        f"plan: {len(plan.steps)} sessions, profile {plan.options.profile}, "
        f"concurrency {plan.concurrency}, timeout {plan.options.timeout_seconds:g} s, "
        f"run {record.run_id}{skipped}"
    )

    def before_phase(phase: str, results: list[StepResult]) -> None:
        if phase == "evaluating":
            try:
                record.write_timings(results)
            except (OSError, EvidenceError) as exc:
                raise StopRun(f"cannot write {artifacts / TIMINGS_FILE}: {_problem(exc)}") from None

    # Every stage that counts its work tells the board how far it is (contracts.progress).
    env = {**os.environ, RUN_ID_ENV: record.run_id, PROGRESS_ENV: str(PROGRESS_VERSION)}
    outcome = execute(plan, log, env=env, before_phase=before_phase, command_for=command_for)
    if outcome.stopped == "error":
        return record.stopped_by_error(outcome.error or "stopped", outcome)
    if outcome.stopped is not None:
        code = STOP_CODES[outcome.stopped]
        try:
            record.write_partial_report(outcome, code)
        except (OSError, EvidenceError) as exc:
            return _refuse(f"stopped ({outcome.stopped}); cannot write the report: {_problem(exc)}")
        log.progress(f"stopped ({outcome.stopped}); partial report: {artifacts / REPORT_FILE}")
        return int(code)
    decision_code = _decision_code(artifacts)
    log.progress(_closing_line(decision_code, artifacts, outcome.seconds))
    if log.write_error is not None:
        print(f"pipeline: warning: {LOG_FILE} is incomplete: {log.write_error}", file=sys.stderr)
    return decision_code


def _problem(exc: OSError | EvidenceError) -> str:
    return _why(exc) if isinstance(exc, OSError) else str(exc)


class _RunRecord:
    """What this run records about itself, written with the one atomic writer."""

    def __init__(self, plan: Plan, run_id: str, building: Mapping[str, object]) -> None:
        self.plan = plan
        self.run_id = run_id
        self.building = building
        self.started_at = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
        self.started = time.monotonic()
        self.load_start = load_average()

    def facts(self) -> RunFacts:
        """For the report's header; taken as the gates are about to run."""
        return RunFacts(
            profile=self.plan.options.profile,
            started_at=self.started_at,
            wall_seconds=time.monotonic() - self.started,
            load_start=self.load_start,
            load_end=load_average(),
            cpu_model=cpu_model(),
            cpu_count=os.cpu_count(),
            cpu_affinity=cpu_affinity(),
            concurrency=self.plan.concurrency,
        )

    def write_timings(self, results: list[StepResult]) -> None:
        document = timings_document(
            results,
            provenance=_provenance(),
            run_id=self.run_id,
            concurrency=self.plan.concurrency,
            building=self.building,
            allow_dirty=self.plan.options.allow_dirty,
            run=self.facts(),
        )
        write_all_atomically({self.plan.artifacts_dir / TIMINGS_FILE: dumps(document)})

    def write_partial_report(self, outcome: Outcome, code: int) -> None:
        document = partial_report(
            outcome,
            code=code,
            provenance=_provenance(),
            run_id=self.run_id,
            building=self.building,
        )
        markdown = partial_markdown(outcome, code=code, building=self.building)
        artifacts = self.plan.artifacts_dir
        write_all_atomically(
            {
                artifacts / REPORT_FILE: dumps(document),
                artifacts / MARKDOWN_FILE: markdown.encode("utf-8"),
            }
        )

    def stopped_by_error(self, message: str, outcome: Outcome | None = None) -> int:
        """Exit 2 with one line; the partial report too, when it can still be written."""
        if outcome is None:
            results = [StepResult(step) for step in self.plan.steps]
            outcome = Outcome(results, 0.0, self.plan.concurrency)
        outcome.stopped, outcome.error = "error", message
        try:
            self.write_partial_report(outcome, ExitCode.BAD_INPUT)
        except (OSError, EvidenceError):
            return _refuse(f"{message} (no partial report could be written either)")
        return _refuse(f"{message} (partial report: {self.plan.artifacts_dir / REPORT_FILE})")


def _checkout(registry: Registry) -> Checkout:
    directory = CONFIG.resolve().parent
    return Checkout(
        git_sha=checkout_git_sha(directory),
        config_sha256=registry.config_sha256,
        dirty=checkout_dirty(directory),
    )


def gate(plan: Plan, *, command_for: CommandFor = nox_command) -> int:
    """E1 alone, under the run lock, exiting with the gates' exact code (0, 1 or 2).

    nox turns every failing session into 1, so the code is read back from the
    report the gates write only when they decide; the previous decision is set
    aside first, so that a gates session that never ran cannot be mistaken for one
    that did.
    """
    step = plan.phase("evaluating")[0]
    artifacts = plan.artifacts_dir
    lock = _take_lock(artifacts)
    if isinstance(lock, int):
        return lock
    with lock:
        try:
            _set_aside(artifacts, step.artifacts)
        except OSError as exc:
            return _refuse(f"cannot write to {artifacts}: {_why(exc)}")
        env = {**os.environ, RUN_ID_ENV: current_run_id()}
        try:
            # A fixed argument list from the plan, no shell.
            subprocess.run(  # nosec B603
                command_for(step), check=False, stdin=subprocess.DEVNULL, env=env
            )
        except OSError as exc:
            return _refuse(f"cannot start the gates: {_why(exc)}")
        except KeyboardInterrupt:
            return ExitCode.INTERRUPTED
        return _decision_code(artifacts)


def _decision_code(artifacts: Path) -> int:
    try:
        report = read_object(artifacts / REPORT_FILE)
        return int(for_decision(report.text("decision")))
    except (EvidenceError, ValueError):
        # The gates refused their input (exit 2) and wrote no report.
        return ExitCode.BAD_INPUT


def _closing_line(code: int, artifacts: Path, seconds: float) -> str:
    """The decision, the variant and where the report is."""
    took = f"after {duration(seconds)}"
    if code == ExitCode.BAD_INPUT:
        log_file = artifacts / LOG_FILE
        return f"decision: none, the gates refused their input (exit 2, {took}); see {log_file}"
    try:
        chosen = read_object(artifacts / REPORT_FILE).raw.get("chosen")
    except EvidenceError:
        chosen = None
    decision = f"PROMOTE {chosen}" if code == ExitCode.PROMOTE else "REJECT (no variant promoted)"
    if code not in (ExitCode.PROMOTE, ExitCode.REJECT):
        decision = f"exit {code}"
    return f"decision: {decision} (exit {code}, {took}); report: {artifacts / HTML_FILE}"


def _set_aside_previous(plan: Plan) -> None:
    """Move the outputs this run will rewrite into ``previous/``.

    An earlier run's evidence left in place could be read as this run's when a
    stage fails; moving (not deleting) keeps what was measured before. Only the
    outputs of the planned steps move: with --skip-building the reused building
    evidence stays where the gates read it, and the lock file is never touched.
    """
    names = {name for step in plan.steps for name in step.artifacts}
    names |= {REPORT_FILE, MARKDOWN_FILE, TIMINGS_FILE, LOG_FILE}
    _set_aside(plan.artifacts_dir, names)


def _set_aside(artifacts: Path, names: Iterable[str]) -> None:
    present = [artifacts / name for name in sorted(names)]
    present = [path for path in present if path.exists()]
    if not present:
        return
    previous = artifacts / PREVIOUS_DIR
    previous.mkdir(exist_ok=True)
    for path in present:
        shutil.move(str(path), previous / path.name)
        jsonl = path.with_name(path.name + "l") if path.suffix == ".json" else None
        if jsonl is not None and jsonl.exists():
            shutil.move(str(jsonl), previous / jsonl.name)


def _provenance() -> dict[str, Any]:
    return current_provenance(CONFIG, producer="pipeline.promote").to_json()
