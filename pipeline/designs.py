"""``python -m pipeline.designs``: the sequential design against the fixed one, in one run.

Runs the whole pipeline twice on this checkout, same seed, corpus and profile:
first as it runs by default (sequential looks), then with ``--fixed`` (every
benchmark measures every unit). After each, the evidence that tells the two apart
is copied to ``artifacts/designs/<design>/``. Then it prints, side by side, each
variant's verdict, the units its timed trials measured and their seconds, the
pipeline's wall time, and the ratios (sequential / fixed).

This is a measurement, not a test: it takes the time of two pipelines (about 35
minutes on the 2-core machine). Exit 0 when the two designs reach the same
decision for every variant, 1 when they do not. A pipeline that ends without a
decision (its exit code is not 0 or 1) stops the comparison: no table, and this
command exits with that pipeline's code (2 bad input, 124 timeout, 130
interrupted). Kept runs that are missing or incomplete, or other bad input: one
line on stderr and exit 2. A new comparison first removes the kept runs of the
last one, so the two kept designs always come from the same invocation.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from contracts.documents import Fields, read_input, read_object, write_all_atomically
from contracts.errors import InputError, OneLineParser
from contracts.exitcodes import ExitCode, for_decision
from contracts.provenance import parse_provenance

PROGRAM = "designs"
DESIGNS = ("sequential", "fixed")
KEPT = ("gates.json", "statistical_analysis.json", "timings.json", "report.md")
# Where `python -m pipeline promote` writes (pipeline.promote.ARTIFACTS_DIR), relative to
# the directory it runs in; the full comparison reads the runs there.
PIPELINE_ARTIFACTS = Path("artifacts")

Runner = Callable[[list[str]], int]  # runs a command, returns its exit code


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
    run_id: str = ""  # the pipeline run every file of this outcome came from


def benchmark_file(arm: str) -> str:
    return "baseline.json" if arm == "baseline" else f"{arm}_benchmark.json"


def read_outcome(artifacts: Path) -> Outcome:
    """One design's decision, verdicts, units and seconds, from a pipeline's artifacts.

    Raises :class:`~contracts.errors.EvidenceError` naming the file for a missing,
    unreadable or malformed one."""
    gates = read_object(artifacts / "gates.json")
    timings = read_object(artifacts / "timings.json")
    run_id = timings.text("run_id")
    _same_run(artifacts / "gates.json", gates, run_id)
    verdicts = {name: _verdict(entry) for name, entry in gates.children("variants")}
    arms = {}
    for step in timings.items("steps"):
        if not step.flag("benchmark"):
            continue
        name = step.text("session").removeprefix("bench-")
        # A session stopped before it finished has no seconds.
        seconds = step.maybe_number("seconds") or 0.0
        units = planned = 0
        # A benchmark that failed left no artifact to count (the gates reject its variant
        # for that); one that finished must have left one.
        if step.text("status") == "ok":
            artifact = read_object(artifacts / benchmark_file(name))
            _same_run(artifacts / benchmark_file(name), artifact, run_id)
            units, planned = _units(artifact)
        arms[name] = Arm(verdicts.get(name, "A/A"), units, planned, seconds)
    decision = f"{gates.text('decision')} {gates.maybe_text('chosen') or ''}".strip()
    return Outcome(decision, timings.child("run").number("wall_seconds"), arms, run_id)


def _same_run(path: Path, document: Fields, run_id: str) -> None:
    """A file left by an earlier run (a pipeline that died before setting it aside) must
    not be counted as this run's."""
    found = parse_provenance(document).run_id
    if found != run_id:
        raise InputError(
            f"{path}: from run {found!r}, but timings.json is run {run_id!r}: not one run's files"
        )


def _verdict(entry: Fields) -> str:
    failed = [gate.text("name") for gate in entry.items("gates") if not gate.flag("passed")]
    return "passed" if not failed else "failed " + ", ".join(failed)


def _units(artifact: Fields) -> tuple[int, int]:
    """The units a benchmark measured (a pair of trials each, warm-ups aside) and planned."""
    measured = sum(1 for trial in artifact.items("trials") if not trial.flag("warmup")) // 2
    return measured, sum(1 for _ in artifact.items("units"))


def kept_files(artifacts: Path, outcome: Outcome) -> list[str]:
    """What is kept of a design's run: the documents the table and a reader of it need,
    and each benchmark artifact the run left."""
    names = [*KEPT, *(benchmark_file(name) for name in outcome.arms)]
    return [name for name in names if (artifacts / name).is_file()]


def keep(artifacts: Path, kept: Path, names: Iterable[str]) -> None:
    """Copy ``names`` from ``artifacts`` into ``kept``, each file whole (read through the
    contract reader, written atomically), so an interrupted copy leaves no partial one."""
    outputs = {kept / name: read_input(artifacts / name) for name in names}
    kept.mkdir(parents=True, exist_ok=True)
    write_all_atomically(outputs)


def exit_code(returncode: int) -> int:
    """A child's code as this process's: killed by signal N (Popen's -N) is the shell's
    128 + N."""
    return 128 - returncode if returncode < 0 else returncode


def run_design(design: str, profile: str, kept: Path, run: Runner) -> Outcome | int:
    """Run the pipeline in ``design`` and keep its evidence; its outcome, or the exit code
    when it reached no decision (the comparison stops there)."""
    extra = ["--fixed"] if design == "fixed" else []
    command = [sys.executable, "-m", "pipeline", "promote", "--profile", profile, *extra]
    print(f"{PROGRAM}: {design}: {' '.join(command[1:])}", flush=True)
    code = exit_code(run(command))
    if code not in (ExitCode.PROMOTE, ExitCode.REJECT):
        # Bad input (2), the timeout (124), an interruption (130): not a decision, and
        # exiting 1 here would read as "the designs decided differently" or REJECT.
        print(
            f"{PROGRAM}: error: the {design} pipeline exited {code} without a decision;"
            " no comparison",
            file=sys.stderr,
        )
        return code
    outcome = read_outcome(PIPELINE_ARTIFACTS)
    try:
        decided = for_decision(outcome.decision.split(" ")[0])
    except ValueError:
        decided = None
    # What the gates wrote must be this run's: the pipeline exits with their decision.
    if decided != code:
        raise InputError(
            f"{PIPELINE_ARTIFACTS / 'gates.json'} says {outcome.decision!r} but the {design}"
            f" pipeline exited {code}: not this run's decision"
        )
    keep(PIPELINE_ARTIFACTS, kept / design, kept_files(PIPELINE_ARTIFACTS, outcome))
    return outcome


def ratio(numerator: float, denominator: float) -> str:
    """``numerator / denominator`` as a percentage; "n/a" when there is nothing to divide
    by (a design that measured no unit, or took no time)."""
    return f"{numerator / denominator:.0%}" if denominator > 0 else "n/a"


def table(sequential: Outcome, fixed: Outcome) -> str:
    header = (
        "| arm | verdict (sequential) | verdict (fixed) | units seq / fixed | seconds seq / fixed |"
    )
    lines = [header, "|---|---|---|---|---|"]
    names = [*sequential.arms, *(name for name in fixed.arms if name not in sequential.arms)]
    for name in names:
        seq, fix = sequential.arms.get(name), fixed.arms.get(name)
        if seq is None or fix is None:
            # Only one design ran this arm: nothing to put beside it.
            lines.append(
                f"| {name} | {seq.verdict if seq else 'not run'} |"
                f" {fix.verdict if fix else 'not run'} | | |"
            )
            continue
        lines.append(
            f"| {name} | {seq.verdict} | {fix.verdict} | {seq.units} / {fix.units}"
            f" ({ratio(seq.units, fix.units)}) | {seq.seconds:.0f} / {fix.seconds:.0f}"
            f" ({ratio(seq.seconds, fix.seconds)}) |"
        )
    total_seq = sum(a.seconds for a in sequential.arms.values())
    total_fix = sum(a.seconds for a in fixed.arms.values())
    lines.append(
        f"| every benchmark | | | | {total_seq:.0f} / {total_fix:.0f}"
        f" ({ratio(total_seq, total_fix)}) |"
    )
    lines.append(
        f"\ndecision: sequential {sequential.decision}, fixed {fixed.decision}; pipeline wall"
        f" time {sequential.wall_seconds:.0f} s / {fixed.wall_seconds:.0f} s"
        f" ({ratio(sequential.wall_seconds, fixed.wall_seconds)})"
    )
    return "\n".join(lines)


def same_decisions(sequential: Outcome, fixed: Outcome) -> bool:
    def passed(outcome: Outcome) -> dict[str, bool]:
        return {name: arm.verdict == "passed" for name, arm in outcome.arms.items()}

    return sequential.decision == fixed.decision and passed(sequential) == passed(fixed)


def report_only(kept: Path) -> list[Outcome]:
    outcomes = []
    for design in DESIGNS:
        try:
            outcomes.append(read_outcome(kept / design))
        except InputError as exc:
            raise InputError(f"the kept {design} run cannot be used: {exc}") from None
    return outcomes


def compare(profile: str, kept: Path, run: Runner) -> list[Outcome] | int:
    # The last comparison's kept runs go first: a run that fails must not leave the other
    # design's older evidence to be reported beside this one's.
    for design in DESIGNS:
        shutil.rmtree(kept / design, ignore_errors=True)
    outcomes = []
    for design in DESIGNS:
        outcome = run_design(design, profile, kept, run)
        if isinstance(outcome, int):
            return outcome
        outcomes.append(outcome)
    return outcomes


def distinct_runs(outcomes: Sequence[Outcome]) -> None:
    """The two designs are two pipeline runs, not one run's files kept twice."""
    if len({outcome.run_id for outcome in outcomes}) < len(outcomes):
        raise InputError(f"both designs' files are from run {outcomes[0].run_id!r}")


def call_through_interrupt(command: list[str]) -> int:
    """Run ``command`` and wait for it, even through Ctrl-C: the pipeline gets the same
    SIGINT and needs its grace period to stop its sessions (which run in their own
    process groups) and write its partial report; ``subprocess.call`` would kill it
    after a quarter of a second. Its own exit code (130) then says it was interrupted."""
    with subprocess.Popen(command) as child:
        while True:
            try:
                return child.wait()
            except KeyboardInterrupt:
                continue


def main(argv: Sequence[str] | None = None, *, run: Runner = call_through_interrupt) -> int:
    parser = OneLineParser(prog="python -m pipeline.designs", description=__doc__)
    parser.add_argument("--profile", default="standard")
    parser.add_argument(
        "--artifacts",
        type=Path,
        default=PIPELINE_ARTIFACTS,
        help="where the kept runs are (artifacts/designs/<design>/); the pipeline itself"
        " writes to artifacts/, so another directory is for --report-only",
    )
    parser.add_argument(
        "--report-only", action="store_true", help="print the table of the kept runs, run nothing"
    )
    try:
        args = parser.parse_args(argv)
        kept = args.artifacts / "designs"
        if args.report_only:
            outcomes: list[Outcome] | int = report_only(kept)
        elif args.artifacts.resolve() != PIPELINE_ARTIFACTS.resolve():
            # The pipeline would write elsewhere: the table would be of older files.
            raise InputError(
                f"--artifacts {args.artifacts}: the pipeline writes to {PIPELINE_ARTIFACTS}/"
                " here; another directory only with --report-only"
            )
        else:
            outcomes = compare(args.profile, kept, run)
        if not isinstance(outcomes, int):
            distinct_runs(outcomes)
    except (InputError, OSError) as exc:
        print(f"{PROGRAM}: error: {_one_line(exc)}", file=sys.stderr)
        return int(ExitCode.BAD_INPUT)
    except KeyboardInterrupt:
        # Between the pipelines (the runner waits through Ctrl-C while one runs).
        print(f"{PROGRAM}: interrupted; no comparison", file=sys.stderr)
        return int(ExitCode.INTERRUPTED)
    if isinstance(outcomes, int):
        return outcomes
    sequential, fixed = outcomes
    print(table(sequential, fixed))
    same = same_decisions(sequential, fixed)
    print("same decision for every variant" if same else "the designs decided differently")
    return 0 if same else 1


def _one_line(exc: Exception) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        exc = InputError(f"{exc.filename}: {exc.strerror}" if exc.filename else exc.strerror)
    return " ".join(str(exc).split())


if __name__ == "__main__":
    raise SystemExit(main())
