"""The orchestrator behind ``invoke promote``: plan, exit codes, deadline, Ctrl-C, crashes.

The sessions here are SIMULATED: each step runs a tiny Python script instead
of its nox session, so the orchestration (order, concurrency, signals, exit
codes, partial reports) is tested in seconds. The real sessions are exercised
by ``nox -s pipeline``. ``simulated`` and ``make_plan`` are shared with the other
``test_pipeline_*`` modules.
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from contracts.provenance import RUN_ID_ENV, current_run_id
from packrepo.registry import load_registry
from pipeline.plan import Options, PlanError, Step, build_plan, render_plan
from pipeline.promote import main, run
from pipeline.run import may_start

ROOT = Path(__file__).parent.parent
REGISTRY = load_registry(ROOT / "pyproject.toml")

# Actions: ok, fail, sleep (60 s), nap (1 s), long-nap (2.5 s), nap:SECONDS,
# promote/reject (write the gates' report), hold:PATH (wait until PATH exists),
# orphan:PATH (leave a process in the group that writes PATH 1.5 s later), count:N (N
# trials counted in progress lines, 0.1 s apart).
SIMULATED_SESSION = textwrap.dedent(
    """
    import json, os, pathlib, subprocess, sys, time
    session, artifacts, action = sys.argv[1], pathlib.Path(sys.argv[2]), sys.argv[3]
    started = time.monotonic()
    (artifacts / f"{session}.run_id").write_text(os.environ.get(sys.argv[4], ""))
    print(f"simulated {session}: {action}", flush=True)  # after its own writes
    kind, _, argument = action.partition(":")
    if kind in ("nap", "long-nap"):
        time.sleep(float(argument) if argument else 1.0 if kind == "nap" else 2.5)
        (artifacts / f"{session}.span").write_text(f"{started} {time.monotonic()}")
    if kind == "hold":
        deadline = time.monotonic() + 60
        while not pathlib.Path(argument).exists() and time.monotonic() < deadline:
            time.sleep(0.05)
    if kind == "orphan":
        late = f"import pathlib, time; time.sleep(1.5); pathlib.Path({argument!r}).write_text('x')"
        subprocess.Popen([sys.executable, "-c", late])
    if kind == "count":
        total = int(argument)
        for done in range(total + 1):
            line = {"what": "trials", "done": done, "total": total}
            print("@packrepo-progress 1", json.dumps(line), file=sys.stderr, flush=True)
            time.sleep(0.1)
    if action == "fail":
        sys.exit(1)
    if action == "sleep":
        time.sleep(60)
    if action in ("promote", "reject"):
        chosen = "V1" if action == "promote" else None
        report = {"schema": 1, "kind": "fastpath-pipeline-report", "decision": action,
                  "chosen": chosen}
        (artifacts / "pipeline_report.json").write_text(json.dumps(report))
    (artifacts / f"{session}.done").write_text("ok")
    """
)


@pytest.fixture(autouse=True)
def isolated_run(monkeypatch: pytest.MonkeyPatch) -> None:
    """No run id inherited from the test runner's environment; paths from the checkout."""
    monkeypatch.delenv(RUN_ID_ENV, raising=False)
    monkeypatch.chdir(ROOT)


def simulated(artifacts: Path, actions: dict[str, str]):
    def command_for(step: Step) -> list[str]:
        action = actions.get(step.session, "ok")
        script = [SIMULATED_SESSION, step.session, str(artifacts), action, RUN_ID_ENV]
        return [sys.executable, "-c", *script]

    return command_for


def make_plan(tmp_path: Path, **options: object):
    return build_plan(REGISTRY, Options(**options), tmp_path)  # type: ignore[arg-type]


def test_plan_covers_every_stage_in_order_with_registry_arms(tmp_path: Path) -> None:
    plan = make_plan(tmp_path)
    sessions = [step.session for step in plan.steps]
    arms = [f"bench-{name}" for name in REGISTRY.variants]
    assert sessions == [
        "boot", "lint", "smoke", "advanced", *arms, "quality", "differential", "shadow",
        "analyze", "gates",
    ]  # fmt: skip
    quality = next(step for step in plan.steps if step.session == "quality")
    assert quality.uses_every_core  # never beside a benchmark
    assert quality.artifacts == ("quality.json",)
    assert [step.phase for step in plan.steps][-2:] == ["tracking", "evaluating"]


def test_parallel_plans_give_the_mutation_stage_one_core(tmp_path: Path) -> None:
    def advanced_args(**options: object) -> tuple[str, ...]:
        plan = make_plan(tmp_path, **options)
        return next(step.args for step in plan.steps if step.session == "advanced")

    assert advanced_args(parallel=True, profile="quick")[-2:] == ("--workers", "1")
    assert "--workers" not in advanced_args(parallel=False, profile="quick")
    assert make_plan(tmp_path, parallel=False).concurrency == 1


def test_sessions_of_a_phase_overlap_up_to_the_concurrency_and_phases_do_not(
    tmp_path: Path,
) -> None:
    plan = dataclasses.replace(
        make_plan(tmp_path, variants=("V1", "V3"), parallel=True), concurrency=2
    )
    actions = {step.session: "nap" for step in plan.steps}
    # The last benchmark outlasts the others: R3 could start beside it, and must not.
    actions["bench-V3"] = "long-nap"
    actions["gates"] = "reject"
    assert run(plan, REGISTRY, command_for=simulated(tmp_path, actions)) == 1
    spans = {}
    for step in plan.steps:
        if step.session != "gates":
            start, end = (tmp_path / f"{step.session}.span").read_text().split()
            spans[step.session] = (step.phase, float(start), float(end))
    for phase in ("building", "running"):
        mine = [(start, end) for kind, start, end in spans.values() if kind == phase]
        edges = sorted([(start, 1) for start, _ in mine] + [(end, -1) for _, end in mine])
        overlap = peak = 0
        for _, change in edges:
            overlap += change
            peak = max(peak, overlap)
        assert peak == 2, phase  # both cores busy, never a third session
    last_building = max(end for kind, _, end in spans.values() if kind == "building")
    first_running = min(start for kind, start, _ in spans.values() if kind == "running")
    assert last_building < first_running
    # R3 and R4 spread over every core: no benchmark runs beside them.
    last_benchmark = max(spans[f"bench-{arm}"][2] for arm in ("baseline", "V1", "V3"))
    assert last_benchmark <= min(spans[name][1] for name in ("differential", "shadow"))


def test_a_benchmark_runs_beside_no_benchmark_and_no_session_over_every_core() -> None:
    benchmark = Step("R1", "running", "bench-V1", is_benchmark=True)
    other_benchmark = Step("R1", "running", "bench-V2", is_benchmark=True)
    spreading = Step("R4", "running", "shadow", uses_every_core=True)
    single = Step("R2", "running", "advanced")
    assert not may_start(spreading, [single, benchmark])
    assert not may_start(benchmark, [spreading])
    assert not may_start(benchmark, [single, other_benchmark])
    assert may_start(benchmark, [single])
    assert may_start(spreading, [single, spreading])
    assert may_start(single, [benchmark])


def test_dry_run_prints_sessions_commands_flags_and_artifacts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["promote", "--dry-run", "--variants", "V3", "--profile", "quick"])
    out = capsys.readouterr().out
    assert code == 0
    assert "bench-baseline" in out  # the A/A noise floor is always planned
    assert "bench-V3" in out
    assert "bench-V4" not in out
    assert "python -m nox -s bench-V3 -- --profile quick" in out
    assert "FASTPATH_MEMORY_OPTIMIZATION=1" in out
    assert "artifacts/V3_benchmark.json" in out
    assert "python -m nox -s shadow -- --requests 1000 --profile quick" in out


def test_dry_run_runs_nothing(tmp_path: Path) -> None:
    plan = make_plan(tmp_path, skip_building=True)
    text = render_plan(plan)
    assert "[building] skipped (--skip-building): reusing boot_env.json" in text
    assert "Dirty tree: refused" in text
    assert list(tmp_path.iterdir()) == []


def test_allow_dirty_reaches_the_gates_and_the_dry_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plan = make_plan(tmp_path, allow_dirty=True, variants=("V1",))
    gates = next(step for step in plan.steps if step.session == "gates")
    assert gates.args == ("--variants", "baseline,V1", "--allow-dirty")
    assert "--allow-dirty" not in make_plan(tmp_path).steps[-1].args
    assert main(["promote", "--dry-run", "--allow-dirty"]) == 0
    out = capsys.readouterr().out
    assert "python -m nox -s gates -- --allow-dirty" in out
    assert "Dirty tree: allowed (--allow-dirty, passed to the gates)" in out


@pytest.mark.parametrize("timeout", ["0", "-1", "nan", "NaN", "inf", "-inf", "1e999"])
def test_timeout_must_be_finite_and_positive(
    timeout: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["promote", "--dry-run", f"--timeout={timeout}"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "`--timeout` must be a finite number of seconds above 0" in err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["promote", "--variants", "V9"], "unknown variant `V9`"),
        (["promote", "--timeout", "0"], "`--timeout` must be a finite number"),
    ],
)
def test_bad_options_exit_2_with_one_line(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert message in err
    assert len(err.splitlines()) == 1


def test_bad_config_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "pyproject.toml"
    config.write_text("[tool.fastpath]\nschema = 99\n")
    assert main(["promote", "--config", str(config)]) == 2
    assert "schema" in capsys.readouterr().err


def test_build_plan_refuses_unknown_profile(tmp_path: Path) -> None:
    with pytest.raises(PlanError, match="profile"):
        make_plan(tmp_path, profile="huge")


@pytest.mark.parametrize(("decision", "code"), [("promote", 0), ("reject", 1)])
def test_exit_code_is_the_gates_decision(tmp_path: Path, decision: str, code: int) -> None:
    plan = make_plan(tmp_path, variants=("V1",), parallel=True)
    assert run(plan, REGISTRY, command_for=simulated(tmp_path, {"gates": decision})) == code
    timings = json.loads((tmp_path / "timings.json").read_text())
    assert timings["concurrency"] == plan.concurrency
    assert set(timings["stages"]) >= {"boot", "bench-baseline", "bench-V1", "analyze"}
    assert timings["building"] == {"skipped": False, "reused": {}}
    assert "simulated bench-V1: ok" in (tmp_path / "pipeline.log").read_text()


def test_every_session_gets_the_run_id_that_timings_records(tmp_path: Path) -> None:
    plan = make_plan(tmp_path, variants=("V1",))
    run(plan, REGISTRY, command_for=simulated(tmp_path, {"gates": "reject"}))
    run_id = json.loads((tmp_path / "timings.json").read_text())["run_id"]
    assert run_id == current_run_id()
    seen = {path.read_text() for path in tmp_path.glob("*.run_id")}
    assert seen == {run_id}
    assert len(list(tmp_path.glob("*.run_id"))) == len(plan.steps)


def test_no_report_from_the_gates_means_bad_input(tmp_path: Path) -> None:
    plan = make_plan(tmp_path, variants=("V1",))
    assert run(plan, REGISTRY, command_for=simulated(tmp_path, {"gates": "fail"})) == 2


def test_a_crashing_variant_does_not_stop_the_others(tmp_path: Path) -> None:
    plan = make_plan(tmp_path, variants=("V1", "V2", "V3"))
    actions = {"bench-V2": "fail", "gates": "reject"}
    assert run(plan, REGISTRY, command_for=simulated(tmp_path, actions)) == 1
    for session in ("bench-V1", "bench-V3", "analyze"):
        assert (tmp_path / f"{session}.done").exists()
    steps = json.loads((tmp_path / "timings.json").read_text())["steps"]
    status = {step["session"]: step["status"] for step in steps}
    assert status["bench-V2"] == "failed"
    assert status["bench-V3"] == "ok"


def test_timeout_stops_children_and_writes_a_partial_report(tmp_path: Path) -> None:
    plan = make_plan(tmp_path, variants=("V1",), timeout_seconds=4.0)
    started = time.monotonic()
    code = run(plan, REGISTRY, command_for=simulated(tmp_path, {"bench-V1": "sleep"}))
    assert code == 124
    assert time.monotonic() - started < 30
    report = json.loads((tmp_path / "pipeline_report.json").read_text())
    assert report["decision"] == "timeout"
    assert report["complete"] is False
    status = {step["session"]: step["status"] for step in report["steps"]}
    assert status["bench-baseline"] == "ok"
    assert status["bench-V1"] == "timeout"
    assert status["gates"] == "pending"
    assert report["exit_code"] == 124
    assert report["building"] == {"skipped": False, "reused": {}}
    assert "no decision" in (tmp_path / "report.md").read_text()


def test_previous_artifacts_are_set_aside_not_deleted(tmp_path: Path) -> None:
    (tmp_path / "V1_benchmark.json").write_text('{"old": true}')
    (tmp_path / "V1_benchmark.jsonl").write_text('{"old": true}\n')
    (tmp_path / "ruff.provenance.json").write_text('{"old": true}')
    plan = make_plan(tmp_path, variants=("V1",))
    run(plan, REGISTRY, command_for=simulated(tmp_path, {"gates": "reject"}))
    previous = tmp_path / "previous"
    assert (previous / "V1_benchmark.json").read_text() == '{"old": true}'
    assert (previous / "V1_benchmark.jsonl").exists()
    assert (previous / "ruff.provenance.json").exists()  # a stamp goes with its report
    assert not (previous / ".pipeline.lock").exists()


SIGINT_DRIVER = textwrap.dedent(
    """
    import signal
    import sys
    from pathlib import Path
    # A shell gives Ctrl-C its default meaning; a test worker may hand its children SIGINT
    # ignored, which Python then keeps ignored.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    sys.path.insert(0, {root!r})
    sys.path.insert(0, {tests!r})
    from packrepo.registry import load_registry
    from pipeline.plan import Options, build_plan
    from pipeline.promote import run
    from test_pipeline import simulated
    artifacts = Path({artifacts!r})
    registry = load_registry(Path({root!r}) / "pyproject.toml")
    plan = build_plan(registry, Options(variants=("V1",)), artifacts)
    sys.exit(run(plan, registry, command_for=simulated(artifacts, {{"bench-V1": "sleep"}})))
    """
)


def test_sigint_stops_children_cleanly_and_exits_130(tmp_path: Path) -> None:
    driver = SIGINT_DRIVER.format(
        root=str(ROOT), tests=str(ROOT / "tests"), artifacts=str(tmp_path)
    )
    environment = {k: v for k, v in os.environ.items() if not k.startswith("PACKREPO_")}
    process = subprocess.Popen(
        [sys.executable, "-c", driver], stderr=subprocess.PIPE, text=True, cwd=ROOT,
        env=environment,
    )  # fmt: skip
    log = tmp_path / "pipeline.log"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if log.exists() and "simulated bench-V1: sleep" in log.read_text():
            break
        time.sleep(0.1)
    else:
        process.kill()
        process.communicate()
        pytest.fail("the simulated bench-V1 session never started")
    os.kill(process.pid, signal.SIGINT)
    _, stderr = process.communicate(timeout=120)  # a loaded machine stops slowly
    assert process.returncode == 130, stderr
    report = json.loads((tmp_path / "pipeline_report.json").read_text())
    assert report["decision"] == "interrupted"
    # The sleeping child's process group is gone: no simulated session outlives us.
    leftovers = subprocess.run(
        ["pgrep", "-f", f"simulated.*{tmp_path}"], capture_output=True, text=True, check=False
    )
    assert leftovers.stdout.strip() == ""
