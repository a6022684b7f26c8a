"""``python -m pipeline promote``: plan, run every stage, and exit with the decision.

The exit code is decided by the gates (0 promote, 1 reject, 2 bad input; see
:mod:`contracts.exitcodes`) and read back from ``pipeline_report.json``, because nox
reports any failing session as 1. The orchestrator adds only its own two:
124 when the deadline passed and 130 when interrupted, after writing a partial
report that says which stages finished.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from contracts.documents import SCHEMA, write_json_atomically, write_text_atomically
from contracts.exitcodes import ExitCode, for_decision
from contracts.names import LOG_FILE, MARKDOWN_FILE, REPORT_FILE, TIMINGS_FILE
from contracts.provenance import current_provenance, current_run_id
from packrepo.registry import Registry, RegistryError, load_registry
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
from pipeline.run import CommandFor, Log, Outcome, StepResult, execute, nox_command

# Every session writes here (the noxfile's ARTIFACTS); not an option, so that
# the orchestrator can never read a directory the sessions did not write.
ARTIFACTS_DIR = Path("artifacts")
CONFIG = Path("pyproject.toml")
PREVIOUS_DIR = "previous"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m pipeline",
        description="Run the FastPath promotion pipeline (B0-B2, R0-R4, T1-T2, E1).",
    )
    parser.add_argument("command", choices=("promote", "plan"), help="run, or print the plan")
    parser.add_argument("--variants", help="arms, e.g. baseline,V1,V3 (default: all)")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument(
        "--parallel", action="store_true", help="one session per core at once (the default)"
    )
    mode.add_argument("--sequential", action="store_true", help="one session at a time")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT_SECONDS, metavar="SECONDS")
    parser.add_argument("--skip-building", action="store_true", help="skip B0-B2")
    parser.add_argument("--dry-run", action="store_true", help="print the plan, run nothing")
    parser.add_argument("--verbose", action="store_true", help="stream every session's output")
    parser.add_argument("--profile", default="standard", choices=PROFILES)
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
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        registry = load_registry(args.config)
        plan = build_plan(registry, options_from(args), ARTIFACTS_DIR)
    except (RegistryError, PlanError) as exc:
        print(f"pipeline: {exc}", file=sys.stderr)
        return ExitCode.BAD_INPUT
    if args.command == "plan" or args.dry_run:
        print(render_plan(plan))
        return 0
    return run(plan, registry)


def run(plan: Plan, registry: Registry, *, command_for: CommandFor = nox_command) -> int:
    artifacts = plan.artifacts_dir
    artifacts.mkdir(parents=True, exist_ok=True)
    current_run_id()  # exported: every session of this run records the same run id
    _set_aside_previous(plan)
    log = Log(artifacts / LOG_FILE, verbose=plan.options.verbose)
    log.progress(
        f"plan: {len(plan.steps)} sessions, profile {plan.options.profile}, "
        f"concurrency {plan.concurrency}, timeout {plan.options.timeout_seconds:g} s"
    )

    def before_phase(phase: str, results: list[StepResult]) -> None:
        if phase == "evaluating":
            _write_timings(artifacts, registry, results, plan.concurrency)

    try:
        outcome = execute(plan, log, before_phase=before_phase, command_for=command_for)
        if outcome.stopped is not None:
            stop_code = ExitCode.TIMEOUT if outcome.stopped == "timeout" else ExitCode.INTERRUPTED
            _write_partial_report(artifacts, registry, outcome, stop_code)
            log.progress(f"stopped ({outcome.stopped}); partial report: {artifacts / REPORT_FILE}")
            return int(stop_code)
        decision_code = _decision_code(artifacts)
        log.progress(_closing_line(decision_code, artifacts))
        return decision_code
    finally:
        log.close()


def _decision_code(artifacts: Path) -> int:
    try:
        report = json.loads((artifacts / REPORT_FILE).read_text(encoding="utf-8"))
        return int(for_decision(str(report["decision"])))
    except (OSError, ValueError, KeyError, TypeError):
        # The gates refused their input (exit 2) and wrote no report.
        return ExitCode.BAD_INPUT


def _closing_line(code: int, artifacts: Path) -> str:
    meaning = {0: "PROMOTE", 1: "REJECT", 2: "BAD INPUT (see pipeline.log)"}.get(code, str(code))
    return f"decision: {meaning} (exit {code}); report: {artifacts / 'report.md'}"


def _set_aside_previous(plan: Plan) -> None:
    """Move the outputs this run will rewrite into ``previous/``.

    An earlier run's evidence left in place could be read as this run's when a
    stage fails; moving (not deleting) keeps what was measured before.
    """
    names = {name for step in plan.steps for name in step.artifacts}
    names |= {REPORT_FILE, MARKDOWN_FILE, TIMINGS_FILE, LOG_FILE}
    present = [plan.artifacts_dir / name for name in sorted(names)]
    present = [path for path in present if path.exists()]
    if not present:
        return
    previous = plan.artifacts_dir / PREVIOUS_DIR
    previous.mkdir(exist_ok=True)
    for path in present:
        shutil.move(str(path), previous / path.name)
        jsonl = path.with_name(path.name + "l") if path.suffix == ".json" else None
        if jsonl is not None and jsonl.exists():
            shutil.move(str(jsonl), previous / jsonl.name)


def _provenance() -> dict[str, Any]:
    return current_provenance(CONFIG, producer="pipeline.promote").to_json()


def _steps_summary(results: list[StepResult]) -> list[dict[str, Any]]:
    return [
        {
            "stage": result.step.stage,
            "session": result.step.session,
            "status": result.status,
            "returncode": result.returncode,
            "seconds": None if result.seconds is None else round(result.seconds, 3),
        }
        for result in results
    ]


def _write_timings(
    artifacts: Path, registry: Registry, results: list[StepResult], concurrency: int
) -> None:
    document = {
        "schema": SCHEMA,
        "kind": "fastpath-timings",
        "provenance": _provenance(),
        "concurrency": concurrency,
        "stages": {
            result.step.session: round(result.seconds, 3)
            for result in results
            if result.seconds is not None
        },
        "steps": _steps_summary(results),
    }
    write_json_atomically(artifacts / TIMINGS_FILE, document)


def _write_partial_report(artifacts: Path, registry: Registry, outcome: Outcome, code: int) -> None:
    finished = [r.step.session for r in outcome.results if r.status in ("ok", "failed")]
    unfinished = [r.step.session for r in outcome.results if r.status not in ("ok", "failed")]
    document = {
        "schema": SCHEMA,
        "kind": "fastpath-pipeline-report",
        "decision": outcome.stopped,
        "complete": False,
        "exit_code": int(code),
        "chosen_variant": None,
        "provenance": _provenance(),
        "concurrency": outcome.concurrency,
        "seconds": round(outcome.seconds, 3),
        "steps": _steps_summary(outcome.results),
    }
    write_json_atomically(artifacts / REPORT_FILE, document)
    reason = "the deadline passed" if outcome.stopped == "timeout" else "it was interrupted"
    markdown = (
        f"# FastPath promotion: no decision (exit {int(code)})\n\n"
        f"The pipeline stopped after {outcome.seconds:.0f} s because {reason}.\n\n"
        f"- Finished: {', '.join(finished) or 'none'}\n"
        f"- Not finished: {', '.join(unfinished) or 'none'}\n"
    )
    write_text_atomically(artifacts / MARKDOWN_FILE, markdown)
