"""What the orchestrator itself records: ``timings.json`` and the partial report.

Pure functions from a run's results to documents; :mod:`pipeline.promote` writes
them. ``timings.json`` is written before E1, which reads it (``stages``, for the
report); ``steps[]`` holds each step's interval on one clock, the monotonic
seconds since the run started, so anyone can check from the file alone that no
two benchmarks ran side by side.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from contracts.documents import SCHEMA
from contracts.names import KINDS, TIMINGS_FILE
from contracts.runfacts import RunFacts
from pipeline.run import Outcome, StepResult

REPORT_KIND = "fastpath-pipeline-report"
CLOCK = "monotonic seconds since the run started"


def _rounded(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds, 3)


def steps_summary(results: Sequence[StepResult]) -> list[dict[str, Any]]:
    return [
        {
            "stage": result.step.stage,
            "session": result.step.session,
            "benchmark": result.step.is_benchmark,
            "status": result.status,
            "returncode": result.returncode,
            "start_seconds": _rounded(result.start_seconds),
            "end_seconds": _rounded(result.end_seconds),
            "seconds": _rounded(result.seconds),
        }
        for result in results
    ]


def timings_document(
    results: Sequence[StepResult],
    *,
    provenance: Mapping[str, Any],
    run_id: str,
    concurrency: int,
    building: Mapping[str, object],
    allow_dirty: bool,
    run: RunFacts | None = None,
) -> dict[str, Any]:
    facts = {} if run is None else {"run": run.to_json()}
    return {
        "schema": SCHEMA,
        "kind": KINDS[TIMINGS_FILE],
        "provenance": dict(provenance),
        "run_id": run_id,
        "concurrency": concurrency,
        "allow_dirty": allow_dirty,
        "building": dict(building),
        # Seconds per finished session, the field the gates read for the report.
        "stages": {
            result.step.session: round(result.seconds, 3)
            for result in results
            if result.seconds is not None
        },
        "clock": CLOCK,
        "steps": steps_summary(results),
        **facts,
    }


STOP_REASONS = {
    "timeout": "the deadline passed",
    "interrupted": "it was interrupted",
    "error": "the orchestrator could not go on",
}


def partial_report(
    outcome: Outcome,
    *,
    code: int,
    provenance: Mapping[str, Any],
    run_id: str,
    building: Mapping[str, object],
) -> dict[str, Any]:
    """``pipeline_report.json`` of a run that stopped before the gates decided."""
    return {
        "schema": SCHEMA,
        "kind": REPORT_KIND,
        "decision": outcome.stopped,
        "complete": False,
        "exit_code": int(code),
        "chosen_variant": None,
        "error": outcome.error,
        "provenance": dict(provenance),
        "run_id": run_id,
        "concurrency": outcome.concurrency,
        "building": dict(building),
        "seconds": round(outcome.seconds, 3),
        "clock": CLOCK,
        "steps": steps_summary(outcome.results),
    }


def partial_markdown(outcome: Outcome, *, code: int, building: Mapping[str, object]) -> str:
    finished = [r.step.session for r in outcome.results if r.status in ("ok", "failed")]
    unfinished = [r.step.session for r in outcome.results if r.status not in ("ok", "failed")]
    reason = STOP_REASONS.get(outcome.stopped or "", "it stopped")
    if outcome.error:
        reason += f": {outcome.error}"
    lines = [
        f"# FastPath promotion: no decision (exit {int(code)})",
        "",
        f"The pipeline stopped after {outcome.seconds:.0f} s because {reason}.",
        "",
        f"- Finished: {', '.join(finished) or 'none'}",
        f"- Not finished: {', '.join(unfinished) or 'none'}",
    ]
    if building.get("skipped"):
        reused = building.get("reused")
        names = ", ".join(reused) if isinstance(reused, Mapping) else ""
        lines.append(f"- Building skipped (--skip-building), reused: {names or 'nothing'}")
    return "\n".join(lines) + "\n"
