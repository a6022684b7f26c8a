"""Task sessions for PackRepo: build (B0-B2), run (R0-R4), track (T), evaluate (E).

The sessions orchestrate only; the work lives in the packages and is called
with ``python -m``. ``nox -l`` lists every session with its docstring.
"""

from __future__ import annotations

import argparse
import shutil
import tarfile
from pathlib import Path

import nox
import nox.command

nox.needs_version = ">=2025.2.9"
nox.options.default_venv_backend = "uv|virtualenv"
nox.options.reuse_venv = "yes"
nox.options.error_on_missing_interpreters = False
nox.options.sessions = ["lint", "tests"]

ROOT = Path(__file__).parent
PYPROJECT = nox.project.load_toml(ROOT / "pyproject.toml")
ARTIFACTS = ROOT / "artifacts"


def _install(session: nox.Session, *groups: str, project: bool = True) -> None:
    """Install the project (non-editable, as users get it) and dependency groups."""
    requirements = [
        req for group in groups for req in nox.project.dependency_groups(PYPROJECT, group)
    ]
    if requirements:
        session.install(*requirements)
    if project:
        session.install(".")


# The CI design's floor: 90% of packrepo, contracts, analysis and gates (statements, branches).
COVERAGE_FLOOR = (
    "--cov=packrepo",
    "--cov=contracts",
    "--cov=analysis",
    "--cov=gates",
    "--cov-fail-under=90",
)


@nox.session
def tests(session: nox.Session) -> None:
    """Run the test suite in parallel (pytest-xdist), offline, with coverage (floor 90%)."""
    _install(session, "test")
    args = session.posargs or ["-n", "auto", "-q", *COVERAGE_FLOOR]
    session.run("pytest", *args)


def _stamp(session: nox.Session, report: str) -> None:
    """Write ``<stem>.provenance.json`` beside a report that has no room for provenance
    (commit, registry hash, the report's sha256), so that --skip-building and the gates
    can tell a current report from a stale one."""
    session.run("python", "-m", "gates.stamp", report)


@nox.session
def boot(session: nox.Session) -> None:
    """B0: environment manifest of the hermetic session (artifacts/boot_env.json)."""
    _install(session, "pipeline")
    session.run("python", "-m", "benchmarks.boot", "--output", "artifacts/boot_env.json")
    _stamp(session, "artifacts/boot_env.json")


LINT_TARGETS = ("packrepo", "contracts", "analysis", "gates", "benchmarks", "pipeline")


@nox.session
def lint(session: nox.Session) -> None:
    """B1: ruff, mypy --strict packrepo and bandit, each with a JSON artifact.

    Every tool runs even when an earlier one finds something, so the gates
    always get bandit.json; the session fails at the end if any tool did.
    Posargs pick tools: ``nox -s lint -- bandit``.
    """
    _install(session, "lint", "pipeline")
    ARTIFACTS.mkdir(exist_ok=True)
    tools = session.posargs or ["ruff", "mypy", "bandit"]
    failed: list[str] = []
    if "ruff" in tools:
        ruff_json = ["--exit-zero", "--output-format", "json", "-o", "artifacts/ruff.json"]
        session.run("ruff", "check", *ruff_json, ".")
        _stamp(session, "artifacts/ruff.json")
        _run_noting_failure(session, failed, "ruff", "ruff", "check", ".")
        _run_noting_failure(session, failed, "ruff format", "ruff", "format", "--check", ".")
    if "mypy" in tools:
        _run_noting_failure(session, failed, "mypy", "mypy", "--strict", "packrepo")
        with (ARTIFACTS / "mypy.json").open("w") as report:
            session.run(
                "mypy", "--strict", "packrepo", "-O", "json",
                stdout=report, success_codes=[0, 1], log=False,
            )  # fmt: skip
        _stamp(session, "artifacts/mypy.json")
    if "bandit" in tools:
        bandit = ["bandit", "-q", "-c", "pyproject.toml", "-r", *LINT_TARGETS]
        session.run(*bandit, "-f", "json", "-o", "artifacts/bandit.json", success_codes=[0, 1])
        _stamp(session, "artifacts/bandit.json")
        # Fails on medium or high findings (-ll); the JSON above keeps the low ones too.
        _run_noting_failure(session, failed, "bandit", *bandit, "-ll")
    if failed:
        session.error(f"lint failed: {', '.join(failed)} (details above and in artifacts/)")


def _run_noting_failure(session: nox.Session, failed: list[str], label: str, *command: str) -> None:
    try:
        session.run(*command)
    except nox.command.CommandFailed:
        failed.append(label)


@nox.session
def smoke(session: nox.Session) -> None:
    """B2: golden smokes, pytest -k "smoke or basic" --maxfail=1 (artifacts/smoke_tests.json)."""
    _install(session, "test")
    session.run(
        "pytest", "-p", "pipeline.smoke", "--smoke-report", "artifacts/smoke_tests.json",
        "-k", "smoke or basic", "--maxfail=1", "-q", "-p", "no:cacheprovider", *session.posargs,
    )  # fmt: skip


# ---------------------------------------------------------------------------
# Benchmarks (R0-R1): one session per registry variant, generated, so that a variant
# added to [tool.fastpath.variants] gets its session with no change here.
# ---------------------------------------------------------------------------
FASTPATH = PYPROJECT["tool"]["fastpath"]


def _bench_output(variant: str, spec: dict[str, object]) -> str:
    return (
        "artifacts/baseline.json"
        if spec.get("intent") == "baseline"
        else f"artifacts/{variant}_benchmark.json"
    )


def _bench(session: nox.Session, *, variant: str, spec: dict[str, object]) -> None:
    """Paired, interleaved trials of one variant; posargs override the defaults (last wins)."""
    _install(session, "pipeline")
    session.install("pip")  # pip states its default index when none is configured (corpus)
    defaults = [
        "--variant", variant,
        "--output", _bench_output(variant, spec),
        "--budgets", ",".join(FASTPATH["budgets"]),
        "--seed", str(FASTPATH["seed"]),
        "--profile", "standard",
    ]  # fmt: skip
    # The sequential design needs the analysis's monitor, which the orchestrator hands
    # to the runner (pipeline.monitored); `-- --fixed` measures every unit.
    session.run("python", "-m", "pipeline.monitored", "run", *defaults, *session.posargs)


def _register_bench(variant: str, spec: dict[str, object]) -> None:
    def bench(session: nox.Session) -> None:
        _bench(session, variant=variant, spec=spec)

    if spec.get("intent") == "baseline":
        bench.__doc__ = "R0: A/A benchmark, the baseline against itself (the noise floor)."
    else:
        what = str(spec.get("description", "")).split(":")[0]
        bench.__doc__ = f"R1: benchmark {variant} ({what}) against the paired baseline."
    bench.__name__ = bench.__qualname__ = f"bench_{variant}"
    nox.session(name=f"bench-{variant}", default=False, tags=["bench"])(bench)


for _variant, _spec in FASTPATH["variants"].items():
    _register_bench(_variant, _spec)


@nox.session(default=False)
def quality(session: nox.Session) -> None:
    """R1q: every arm scored on the whole question pool; untimed, cached, on every core."""
    _install(session, "pipeline")
    session.install("pip")  # pip states its default index when none is configured (corpus)
    defaults = ["--output", "artifacts/quality.json", "--profile", "standard"]
    session.run("python", "-m", "benchmarks", "quality", *defaults, *session.posargs)


@nox.session(default=False)
def peers(session: nox.Session) -> None:
    """Reference lines: files-to-prompt's and gitingest's dumps scored on quality.json's
    questions (artifacts/peers.json; never a gate). Installs both from the package index."""
    _install(session, "pipeline")
    session.install("files-to-prompt", "gitingest")
    session.run(
        "python", "-m", "benchmarks", "peers", "--quality", "artifacts/quality.json",
        "--output", "artifacts/peers.json", *session.posargs,
    )  # fmt: skip


# ---------------------------------------------------------------------------
# Tracking (T1-T2), evaluating (E1) and the whole chain.
# ---------------------------------------------------------------------------


@nox.session
def analyze(session: nox.Session) -> None:
    """T1-T2: paired BCa intervals, multiplicity, power and risk from the benchmark artifacts."""
    _install(session, "pipeline")
    gates = FASTPATH["gates"]
    session.run(
        "python", "-m", "analysis", "--input", "artifacts", "--output", "artifacts",
        "--bootstrap-samples", str(gates["bootstrap_samples"]),
        *session.posargs,
    )  # fmt: skip


@nox.session
def gates(session: nox.Session) -> None:
    """E1: acceptance gates; writes gates.json, pipeline_report.json, report.md and report.html.

    The session fails unless the gates promote: a reject (1) fails it like bad
    input (2), so that `nox -s gates` and CI's decide job fail on reject. The
    exact code is `invoke gate`'s (and `python -m pipeline gate`'s).
    """
    _install(session, "pipeline")
    session.run("python", "-m", "gates", "--artifacts", "artifacts", *session.posargs)


@nox.session
def pipeline(session: nox.Session) -> None:
    """The whole chain, B0 to E1, on the bundled registry and cached corpus (invoke promote)."""
    # The orchestrator writes its records with the contracts layer (orjson), so it runs
    # in a session of its own with nox installed there: that nox starts every stage as
    # its own session. It exits 0 promote, 1 reject, 2 bad input, 124, 130; nox turns
    # every non-zero code into its own failure (`invoke promote` keeps the exact code).
    _install(session, "pipeline")
    session.install(f"nox[uv]{nox.needs_version}")
    args = session.posargs or ["--profile", "standard", "--parallel"]
    session.run("python", "-m", "pipeline", "promote", *args)


@nox.session(default=False)
def designs(session: nox.Session) -> None:
    """The pipeline twice, sequential then --fixed, and the two side by side (~35 min)."""
    _install(session, "pipeline")
    session.install(f"nox[uv]{nox.needs_version}")
    session.run("python", "-m", "pipeline.designs", *session.posargs)


# ---------------------------------------------------------------------------
# Advanced testing (R2-R4): one artifact each for the gates (gates/INPUTS.md).
# ---------------------------------------------------------------------------


@nox.session
def advanced(session: nox.Session) -> None:
    """R2: property coverage, a sampled mutmut score (artifacts/advanced_testing.json), and
    randomised property exploration."""
    _install(session, "advanced")
    session.run("python", "-m", "benchmarks.advanced", *session.posargs)
    # Randomised exploration: new hypothesis examples every run (the test suite itself is
    # derandomised, tests/conftest.py), so a failure here is a finding, not flakiness.
    session.run(
        "pytest", "tests/properties", "-q", "-p", "no:cacheprovider", "-n", "2",
        env={"PACKREPO_HYPOTHESIS": "explore"},
    )  # fmt: skip


@nox.session
def differential(session: nox.Session) -> None:
    """R3: V1-V3 byte-identical to the baseline, V4/V5 to golden packs (differential.json)."""
    _install(session, "pipeline")
    session.install("pip")  # pip states its default index when none is configured (corpus)
    session.run("python", "-m", "benchmarks.differential", *session.posargs)


@nox.session
def shadow(session: nox.Session) -> None:
    """R4: 10,000 seeded pack requests on the baseline and a variant side by side (shadow.json)."""
    _install(session, "pipeline")
    session.install("pip")  # pip states its default index when none is configured (corpus)
    session.run("python", "-m", "benchmarks.shadow", *session.posargs)


# ---------------------------------------------------------------------------
# Packaging: the distribution as a user gets it.
# ---------------------------------------------------------------------------
CONSUMER = ROOT / "tests" / "packaging" / "consumer.py"


@nox.session(default=False, tags=["release"])
def package(session: nox.Session) -> None:
    """Build the sdist and wheel, install the wheel alone, use it as a consumer would.

    `packrepo --version` (checked against the tag in a release: posargs `--tag vX.Y.Z`),
    `python -m packrepo --help`, and `mypy --strict` on a consumer of `packrepo.pack`,
    all run outside the checkout so that only the installed package is seen.
    """
    parser = argparse.ArgumentParser(prog="nox -s package --")
    parser.add_argument("--tag", help="a release tag, which must be v + packrepo.__version__")
    parser.add_argument("--dist", default=str(ROOT / "dist"), help="where to build")
    options = parser.parse_args(session.posargs)
    session.install("build", "mypy>=1.10")
    dist = Path(options.dist)
    shutil.rmtree(dist, ignore_errors=True)
    session.run("python", "-m", "build", "--outdir", str(dist), str(ROOT))
    (wheel,) = dist.glob("packrepo-*.whl")
    (sdist,) = dist.glob("packrepo-*.tar.gz")
    with tarfile.open(sdist) as bundle:
        shipped = [name.split("/", 1)[-1] for name in bundle.getnames()]
    if any(name.startswith("tests/") for name in shipped) or "LICENSE" not in shipped:
        session.error(f"the sdist must ship LICENSE and no tests: {sorted(shipped)}")
    session.install(str(wheel))
    outside = session.create_tmp()
    session.chdir(outside)
    shutil.copy(CONSUMER, "consumer.py")
    version = session.run("packrepo", "--version", silent=True)
    expected = f"packrepo {(options.tag or '').removeprefix('v')}".strip()
    if options.tag and str(version).strip() != expected:
        session.error(f"tag {options.tag} but the package says {str(version).strip()!r}")
    session.run("python", "-m", "packrepo", "--help")
    session.run("mypy", "--strict", "--no-incremental", "consumer.py")
