"""Task sessions for PackRepo: build (B0-B2), run (R0-R4), track (T), evaluate (E).

The sessions orchestrate only; the work lives in the packages and is called
with ``python -m``. ``nox -l`` lists every session with its docstring.
"""

from __future__ import annotations

from pathlib import Path

import nox

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


@nox.session
def tests(session: nox.Session) -> None:
    """Run the test suite in parallel (pytest-xdist), offline, with coverage."""
    _install(session, "test")
    args = session.posargs or ["-n", "auto", "-q"]
    session.run("pytest", *args)


@nox.session
def lint(session: nox.Session) -> None:
    """Static analysis: ruff, mypy --strict on packrepo, bandit."""
    _install(session, "lint", "pipeline")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    session.run("mypy", "--strict", "packrepo")
    session.run(
        "bandit", "-q", "-c", "pyproject.toml", "-r", "packrepo", "analysis", "gates", "benchmarks"
    )


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
    session.install("pip")  # the corpus is fetched with pip, and uv-made environments have none
    defaults = [
        "--variant", variant,
        "--output", _bench_output(variant, spec),
        "--budgets", ",".join(FASTPATH["budgets"]),
        "--seed", str(FASTPATH["seed"]),
        "--profile", "standard",
    ]  # fmt: skip
    session.run("python", "-m", "benchmarks", "run", *defaults, *session.posargs)


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
