"""pipeline.designs: the side-by-side table, when two designs decided the same, and what
it does with a pipeline that decided nothing or kept runs that are not all there.

The pipeline never runs here: ``main`` gets a runner that writes a small fabricated
run (the files the table is read from) and returns the exit code under test.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from pipeline.designs import (
    Arm,
    Outcome,
    call_through_interrupt,
    main,
    read_outcome,
    same_decisions,
    table,
)


def _outcome(decision: str, v1: str, units: int, seconds: float, wall: float) -> Outcome:
    return Outcome(
        decision,
        wall,
        {"baseline": Arm("A/A", 288, 288, 200.0), "V1": Arm(v1, units, 288, seconds)},
    )


def test_the_table_puts_the_designs_side_by_side_with_ratios() -> None:
    sequential = _outcome("promote V1", "passed", 144, 50.0, 600.0)
    fixed = _outcome("promote V1", "passed", 288, 100.0, 900.0)
    text = table(sequential, fixed)
    assert "| V1 | passed | passed | 144 / 288 (50%) | 50 / 100 (50%) |" in text
    assert "| every benchmark | | | | 250 / 300 (83%) |" in text
    assert "pipeline wall time 600 s / 900 s (67%)" in text
    assert same_decisions(sequential, fixed)


def test_another_verdict_or_decision_is_not_the_same() -> None:
    fixed = _outcome("promote V1", "passed", 288, 100.0, 900.0)
    assert not same_decisions(_outcome("reject", "failed power", 144, 50.0, 600.0), fixed)
    # The failed gates may differ; the verdict (passed or not) may not.
    failed = _outcome("reject", "failed latency_non_inferiority", 72, 30.0, 600.0)
    also_failed = _outcome("reject", "failed latency_non_inferiority, power", 288, 90.0, 900.0)
    assert same_decisions(failed, also_failed)


def test_a_design_with_no_units_or_seconds_has_no_ratio() -> None:
    empty = Outcome("reject", 0.0, {"V1": Arm("failed power", 0, 0, 0.0)})
    text = table(_outcome("reject", "failed power", 0, 0.0, 0.0), empty)
    assert "| V1 | failed power | failed power | 0 / 0 (n/a) | 0 / 0 (n/a) |" in text
    assert "| baseline | A/A | not run | | |" in text  # an arm only one design ran
    assert "| every benchmark | | | | 200 / 0 (n/a) |" in text
    assert "pipeline wall time 0 s / 0 s (n/a)" in text


# --- fabricated runs -------------------------------------------------------------------


def _write(path: Path, document: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document), encoding="utf-8")


def _provenance(run_id: str) -> dict[str, object]:
    return {
        "git_sha": "0" * 40, "config_sha256": "0" * 64, "created_unix": 0.0, "dirty": False,
        "producer": "test", "command": [], "run_id": run_id, "inputs": {},
    }  # fmt: skip


def _benchmark(planned: int, measured: int, run_id: str) -> dict[str, object]:
    trials = [{"warmup": True}] * 2 + [{"warmup": False}] * (2 * measured)
    units = [{"id": f"u{n}"} for n in range(planned)]
    return {"units": units, "trials": trials, "provenance": _provenance(run_id)}


def write_run(
    artifacts: Path,
    decision: str = "promote",
    *,
    v1_passed: bool = True,
    v1_units: int = 4,
    v1_status: str = "ok",
    run_id: str = "run-1",
) -> None:
    """The files one pipeline run leaves that the table reads: 4 units an arm."""
    chosen = "V1" if decision == "promote" else None
    gates = [{"name": "latency_non_inferiority", "passed": v1_passed}]
    _write(
        artifacts / "gates.json",
        {
            "decision": decision,
            "chosen": chosen,
            "variants": {"V1": {"gates": gates}},
            "provenance": _provenance(run_id),
        },
    )
    steps = [
        {"session": "bench-baseline", "benchmark": True, "status": "ok", "seconds": 20.0},
        {"session": "bench-V1", "benchmark": True, "status": v1_status, "seconds": 5.0 * v1_units},
        {"session": "gates", "benchmark": False, "status": "ok", "seconds": 1.0},
    ]
    timings = {"run_id": run_id, "steps": steps, "run": {"wall_seconds": 60.0}}
    _write(artifacts / "timings.json", timings)
    _write(artifacts / "baseline.json", _benchmark(4, 4, run_id))
    if v1_status == "ok":
        _write(artifacts / "V1_benchmark.json", _benchmark(4, v1_units, run_id))
    (artifacts / "report.md").write_text("# report\n", encoding="utf-8")


def test_an_outcome_is_read_from_the_run_files(tmp_path: Path) -> None:
    write_run(tmp_path, v1_units=2)
    outcome = read_outcome(tmp_path)
    assert outcome == Outcome(
        "promote V1",
        60.0,
        {"baseline": Arm("A/A", 4, 4, 20.0), "V1": Arm("passed", 2, 4, 10.0)},
        "run-1",
    )


def test_a_benchmark_that_failed_counts_no_units(tmp_path: Path) -> None:
    write_run(tmp_path, "reject", v1_passed=False, v1_status="failed")
    arm = read_outcome(tmp_path).arms["V1"]
    assert arm == Arm("failed latency_non_inferiority", 0, 0, 20.0)


Runner = Callable[[list[str]], int]


def fake_pipeline(artifacts: Path, codes: dict[str, int], calls: list[str]) -> Runner:
    """Runs nothing: writes a run for the design the command asks for, then exits with
    its code (the decision files only for 0 and 1, as the pipeline does)."""

    def run(command: list[str]) -> int:
        design = "fixed" if "--fixed" in command else "sequential"
        calls.append(design)
        code = codes[design]
        for name in ("gates.json", "timings.json", "baseline.json", "V1_benchmark.json"):
            (artifacts / name).unlink(missing_ok=True)  # what promote sets aside first
        if code in (0, 1):
            units = 2 if design == "sequential" else 4
            decision = "promote" if code == 0 else "reject"
            write_run(artifacts, decision, v1_units=units, run_id=f"run-{design}")
        return code

    return run


@pytest.fixture
def checkout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory whose artifacts/ holds an earlier comparison's kept runs."""
    monkeypatch.chdir(tmp_path)
    for design in ("sequential", "fixed"):
        write_run(tmp_path / "artifacts" / "designs" / design, run_id=f"earlier-{design}")
    return tmp_path / "artifacts"


def one_error_line(err: str) -> str:
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("designs: error: ")
    return lines[0]


def test_both_designs_decided_the_same(checkout: Path, capsys: pytest.CaptureFixture[str]) -> None:
    calls: list[str] = []
    assert main([], run=fake_pipeline(checkout, {"sequential": 0, "fixed": 0}, calls)) == 0
    assert calls == ["sequential", "fixed"]
    out = capsys.readouterr().out
    assert "| V1 | passed | passed | 2 / 4 (50%) | 10 / 20 (50%) |" in out
    assert out.endswith("same decision for every variant\n")
    kept = sorted(p.name for p in (checkout / "designs" / "sequential").iterdir())
    assert kept == ["V1_benchmark.json", "baseline.json", "gates.json", "report.md", "timings.json"]
    assert read_outcome(checkout / "designs" / "sequential").arms["V1"].units == 2


def test_designs_that_decided_differently_exit_1(
    checkout: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    calls: list[str] = []
    assert main([], run=fake_pipeline(checkout, {"sequential": 0, "fixed": 1}, calls)) == 1
    assert capsys.readouterr().out.endswith("the designs decided differently\n")


@pytest.mark.parametrize(
    ("design", "code", "exits"),
    [("sequential", 2, 2), ("sequential", 3, 3), ("fixed", 2, 2), ("fixed", 3, 3),
     ("fixed", 124, 124), ("sequential", -9, 137)],
)  # fmt: skip
def test_a_pipeline_without_a_decision_stops_the_comparison(
    checkout: Path, capsys: pytest.CaptureFixture[str], design: str, code: int, exits: int
) -> None:
    codes = {"sequential": 0, "fixed": 0, design: code}
    calls: list[str] = []
    assert main([], run=fake_pipeline(checkout, codes, calls)) == exits
    assert calls == (["sequential"] if design == "sequential" else ["sequential", "fixed"])
    out, err = capsys.readouterr()
    line = one_error_line(err)
    assert f"the {design} pipeline exited {exits} without a decision" in line
    assert "| V1 |" not in out  # no table
    assert "decided" not in out  # and no comparison
    # The earlier comparison's kept run of the failed design is gone, not left to be
    # reported beside this one's.
    assert not (checkout / "designs" / design).exists()


def test_a_decision_that_is_not_the_runs_is_refused(
    checkout: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def stale(command: list[str]) -> int:
        write_run(checkout, "reject", v1_passed=False)
        return 0  # the pipeline promoted, but gates.json says reject

    assert main([], run=stale) == 2
    line = one_error_line(capsys.readouterr().err)
    assert "says 'reject' but the sequential pipeline exited 0" in line


def test_a_decision_without_its_files_is_refused(
    checkout: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([], run=lambda command: 1) == 2
    line = one_error_line(capsys.readouterr().err)
    assert "artifacts/gates.json: cannot read: No such file or directory" in line


def test_the_kept_runs_are_reported_without_running_anything(
    checkout: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--report-only"], run=lambda command: pytest.fail("ran the pipeline")) == 0
    assert capsys.readouterr().out.endswith("same decision for every variant\n")


@pytest.mark.parametrize(
    ("damage", "problem"),
    [
        ("fixed/gates.json", "the kept fixed run cannot be used: "),
        ("sequential/timings.json", "designs/sequential/timings.json: cannot read"),
        ("fixed/V1_benchmark.json", "designs/fixed/V1_benchmark.json: cannot read"),
        ("fixed", "designs/fixed/gates.json: cannot read: No such file or directory"),
    ],
)
def test_report_only_names_the_missing_file(
    checkout: Path, capsys: pytest.CaptureFixture[str], damage: str, problem: str
) -> None:
    target = checkout / "designs" / damage
    if target.is_dir():
        for path in target.iterdir():
            path.unlink()
        target.rmdir()
    else:
        target.unlink()
    assert main(["--report-only", "--artifacts", str(checkout)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert problem in one_error_line(err)


KEPT_GATES = {"decision": "promote", "chosen": "V1", "provenance": _provenance("earlier-fixed")}
KEPT_TIMINGS = {"run_id": "earlier-fixed", "steps": [], "run": {"wall_seconds": 1.0}}
KEPT_V1 = {"units": [], "trials": [], "provenance": _provenance("earlier-fixed")}


@pytest.mark.parametrize(
    ("file", "content", "problem"),
    [
        ("gates.json", [], "expected a JSON object, got list"),
        ("gates.json", {**KEPT_GATES, "variants": []}, "`variants`"),
        ("gates.json", {**KEPT_GATES, "provenance": _provenance("other")}, "from run 'other'"),
        ("timings.json", {**KEPT_TIMINGS, "steps": [{"session": 1}]}, "`benchmark` is missing"),
        ("timings.json", {**KEPT_TIMINGS, "run": {"wall_seconds": "60"}}, "must be a number"),
        ("timings.json", {"steps": [], "run": {}}, "`run_id` is missing"),
        ("V1_benchmark.json", {**KEPT_V1, "trials": [{"warmup": "no"}]}, "`warmup` must be"),
        ("V1_benchmark.json", {**KEPT_V1, "provenance": _provenance("x")}, "from run 'x'"),
    ],
)
def test_a_malformed_kept_run_is_one_line_even_under_python_O(
    checkout: Path, capsys: pytest.CaptureFixture[str], file: str, content: object, problem: str
) -> None:
    # Checked by the contract reader, not by assert (which python -O removes).
    _write(checkout / "designs" / "fixed" / file, content)
    assert main(["--report-only"]) == 2
    assert problem in one_error_line(capsys.readouterr().err)


def test_one_run_s_files_kept_as_both_designs_are_refused(
    checkout: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_run(checkout / "designs" / "fixed", run_id="earlier-sequential")
    assert main(["--report-only"]) == 2
    assert "both designs' files are from run 'earlier-sequential'" in one_error_line(
        capsys.readouterr().err
    )


def test_a_decision_left_by_an_earlier_run_is_refused(
    checkout: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def died_early(command: list[str]) -> int:
        # A pipeline that crashed (exit 1) before setting aside the last run's files,
        # which say reject: they match the exit code, but not this run.
        write_run(checkout, "reject", v1_passed=False, run_id="last-week")
        timings = json.loads((checkout / "timings.json").read_text(encoding="utf-8"))
        _write(checkout / "timings.json", {**timings, "run_id": "this-run"})
        return 1

    assert main([], run=died_early) == 2
    assert "from run 'last-week', but timings.json is run 'this-run'" in one_error_line(
        capsys.readouterr().err
    )


def test_the_runner_waits_for_the_pipeline_through_ctrl_c(tmp_path: Path) -> None:
    # The child needs a moment after SIGINT to stop its sessions; the runner must not
    # kill it meanwhile (subprocess.call would, after 0.25 s), and returns its own code.
    script = tmp_path / "child.py"
    script.write_text(
        "import os, signal, sys, time\n"
        "def stop(*_):\n"
        "    time.sleep(0.6)\n"
        "    sys.exit(130)\n"
        "signal.signal(signal.SIGINT, stop)\n"
        "time.sleep(0.2)\n"  # the runner is waiting by now (it waits right after the fork)
        "os.kill(os.getppid(), signal.SIGINT)\n"  # Ctrl-C reaches the whole group
        "os.kill(os.getpid(), signal.SIGINT)\n"
        "time.sleep(10)\n",
        encoding="utf-8",
    )
    assert call_through_interrupt([sys.executable, str(script)]) == 130


def test_another_artifacts_directory_is_only_for_report_only(
    checkout: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--artifacts", "elsewhere"], run=lambda c: pytest.fail("ran")) == 2
    assert "only with --report-only" in one_error_line(capsys.readouterr().err)


def test_a_bad_argument_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--bogus"]) == 2
    assert "unrecognized arguments: --bogus" in one_error_line(capsys.readouterr().err)
