"""``python -m pipeline.designs``: the sequential design against the fixed one, in one run.

Runs the whole pipeline twice on this checkout, same seed, corpus and profile:
first as it runs by default (sequential looks), then with ``--fixed`` (every
benchmark measures every unit). After each, the evidence that tells the two apart
is copied to ``artifacts/designs/<design>/``. Then it prints, side by side, each
variant's verdict, the units its timed trials measured and their seconds, the
pipeline's wall time, and the ratios (sequential / fixed).

This is a measurement, not a test: it takes the time of two pipelines (about 35
minutes on the 2-core machine). Exit 0 when the two designs reach the same
decision for every variant, 1 when they do not, 2 when a pipeline fails.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from contracts.documents import load_json, read_input

DESIGNS = ("sequential", "fixed")
KEPT = ("gates.json", "statistical_analysis.json", "timings.json", "report.md")


@dataclass(frozen=True)
class Arm:
    verdict: str  # "passed" or the failed gates
    units: int
    planned: int
    seconds: float


@dataclass(frozen=True)
class Outcome:
    decision: str
    wall_seconds: float
    arms: dict[str, Arm]


def _document(path: Path) -> dict[str, object]:
    document = load_json(read_input(path), str(path))
    assert isinstance(document, dict)
    return document


def read_outcome(artifacts: Path) -> Outcome:
    gates, timings = _document(artifacts / "gates.json"), _document(artifacts / "timings.json")
    seconds = {
        str(step["session"]).removeprefix("bench-"): float(step["seconds"])
        for step in timings["steps"]  # type: ignore[attr-defined]
        if step["benchmark"]
    }
    arms = {}
    for name, seconds_taken in seconds.items():
        file = "baseline.json" if name == "baseline" else f"{name}_benchmark.json"
        artifact = _document(artifacts / file)
        units = artifact["units"]
        measured = sum(1 for t in artifact["trials"] if not t["warmup"]) // 2  # type: ignore[attr-defined]
        verdict = "A/A"
        if name in gates["variants"]:  # type: ignore[operator]
            entry = gates["variants"][name]  # type: ignore[index]
            failed = [g["name"] for g in entry["gates"] if not g["passed"]]
            verdict = "passed" if not failed else "failed " + ", ".join(failed)
        arms[name] = Arm(verdict, measured, len(units), seconds_taken)  # type: ignore[arg-type]
    decision = f"{gates['decision']} {gates['chosen'] or ''}".strip()
    return Outcome(decision, float(timings["run"]["wall_seconds"]), arms)  # type: ignore[index]


def _run(design: str, profile: str, artifacts: Path) -> Outcome:
    extra = ["--fixed"] if design == "fixed" else []
    command = [sys.executable, "-m", "pipeline", "promote", "--profile", profile, *extra]
    print(f"designs: {design}: {' '.join(command[1:])}", flush=True)
    code = subprocess.call(command)
    if code not in (0, 1):
        raise SystemExit(f"designs: the {design} pipeline exited {code}")
    kept = artifacts / "designs" / design
    kept.mkdir(parents=True, exist_ok=True)
    for name in (*KEPT, *(p.name for p in artifacts.glob("*_benchmark.json")), "baseline.json"):
        shutil.copy2(artifacts / name, kept / name)
    return read_outcome(kept)


def table(sequential: Outcome, fixed: Outcome) -> str:
    header = (
        "| arm | verdict (sequential) | verdict (fixed) | units seq / fixed | seconds seq / fixed |"
    )
    lines = [header, "|---|---|---|---|---|"]
    for name, seq in sequential.arms.items():
        fix = fixed.arms[name]
        lines.append(
            f"| {name} | {seq.verdict} | {fix.verdict} | {seq.units} / {fix.units}"
            f" ({seq.units / fix.units:.0%}) | {seq.seconds:.0f} / {fix.seconds:.0f}"
            f" ({seq.seconds / fix.seconds:.0%}) |"
        )
    total_seq = sum(a.seconds for a in sequential.arms.values())
    total_fix = sum(a.seconds for a in fixed.arms.values())
    lines.append(
        f"| every benchmark | | | | {total_seq:.0f} / {total_fix:.0f}"
        f" ({total_seq / total_fix:.0%}) |"
    )
    lines.append(
        f"\ndecision: sequential {sequential.decision}, fixed {fixed.decision}; pipeline wall"
        f" time {sequential.wall_seconds:.0f} s / {fixed.wall_seconds:.0f} s"
        f" ({sequential.wall_seconds / fixed.wall_seconds:.0%})"
    )
    return "\n".join(lines)


def same_decisions(sequential: Outcome, fixed: Outcome) -> bool:
    def passed(outcome: Outcome) -> dict[str, bool]:
        return {name: arm.verdict == "passed" for name, arm in outcome.arms.items()}

    return sequential.decision == fixed.decision and passed(sequential) == passed(fixed)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipeline.designs", description=__doc__)
    parser.add_argument("--profile", default="standard")
    parser.add_argument("--artifacts", type=Path, default=Path("artifacts"))
    parser.add_argument(
        "--report-only", action="store_true", help="print the table of the kept runs, run nothing"
    )
    args = parser.parse_args(argv)
    if args.report_only:
        kept = args.artifacts / "designs"
        outcomes = [read_outcome(kept / design) for design in DESIGNS]
    else:
        outcomes = [_run(design, args.profile, args.artifacts) for design in DESIGNS]
    sequential, fixed = outcomes
    print(table(sequential, fixed))
    same = same_decisions(sequential, fixed)
    print("same decision for every variant" if same else "the designs decided differently")
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
