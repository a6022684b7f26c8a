"""invoke tasks: chain the nox sessions of the promotion pipeline.

``invoke promote`` runs every stage (see ``invoke plan`` for what and how) and
exits with the decision: 0 promote, 1 reject, 2 bad input or config,
124 timeout, 130 interrupted. The logic lives in :mod:`pipeline`; these tasks
only translate options.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from invoke import Collection, Context, Exit, task

ARTIFACTS = Path(__file__).parent / "artifacts"


def _pipeline_argv(
    command: str,
    *,
    variants: str,
    parallel: bool,
    timeout: float,
    skip_building: bool,
    dry_run: bool,
    verbose: bool,
    profile: str,
) -> list[str]:
    argv = [command, "--timeout", str(timeout), "--profile", profile]
    argv += ["--variants", variants] if variants else []
    argv += ["--parallel"] if parallel else ["--sequential"]
    argv += ["--skip-building"] if skip_building else []
    argv += ["--dry-run"] if dry_run else []
    argv += ["--verbose"] if verbose else []
    return argv


@task(
    help={
        "variants": "comma-separated arms, e.g. baseline,V1,V3 (default: every arm)",
        "parallel": "run sessions concurrently, at most one per core (the default)",
        "sequential": "run one session at a time",
        "timeout": "seconds before everything stops with a partial report (exit 124)",
        "skip-building": "skip B0-B2 (boot, lint, smoke)",
        "dry-run": "print the plan (sessions, commands, flags, artifacts) and run nothing",
        "verbose": "stream every session's output to the terminal",
        "profile": "benchmark profile: quick, standard or full",
    }
)
def promote(
    c: Context,
    variants: str = "",
    parallel: bool = True,
    sequential: bool = False,
    timeout: float = 7200.0,
    skip_building: bool = False,
    dry_run: bool = False,
    verbose: bool = False,
    profile: str = "standard",
) -> None:
    """Run the whole pipeline (B0-B2, R0-R4, T1-T2, E1) and exit with its decision."""
    from pipeline.promote import main

    argv = _pipeline_argv(
        "promote",
        variants=variants,
        parallel=parallel and not sequential,
        timeout=timeout,
        skip_building=skip_building,
        dry_run=dry_run,
        verbose=verbose,
        profile=profile,
    )
    code = main(argv)
    if code:
        raise Exit(code=code)


@task(help={"variants": "comma-separated arms (default: every arm)", "profile": "profile"})
def plan(c: Context, variants: str = "", profile: str = "standard") -> None:
    """Print the promotion plan without running it."""
    from pipeline.promote import main

    code = main(["plan", "--profile", profile, *(["--variants", variants] if variants else [])])
    if code:
        raise Exit(code=code)


@task(help={"variant": "the arm to benchmark (baseline, V1, ...)", "profile": "profile"})
def bench(c: Context, variant: str = "baseline", profile: str = "standard") -> None:
    """Benchmark one arm against the paired baseline (nox -s bench-VARIANT)."""
    c.run(f"nox -s bench-{variant} -- --profile {profile}", pty=False)


@task
def analyze(c: Context) -> None:
    """T1-T2: BCa intervals, power, multiplicity and risk from the benchmark artifacts."""
    c.run("nox -s analyze")


@task
def gate(c: Context) -> None:
    """E1: judge the evidence and write the decision and the report (exit 0/1/2)."""
    result = c.run("nox -s gates", warn=True)
    if result is not None and result.exited:
        raise Exit(code=result.exited)


@task
def report(c: Context) -> None:
    """Print the last run's report (artifacts/report.md)."""
    path = ARTIFACTS / "report.md"
    if not path.exists():
        raise Exit(f"report: {path} does not exist; run `invoke promote` first", code=2)
    print(path.read_text(encoding="utf-8"))


@task
def clean(c: Context) -> None:
    """Remove every artifact except artifacts/README.md."""
    for path in ARTIFACTS.iterdir():
        if path.name == "README.md":
            continue
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink()


namespace = Collection(promote, plan, bench, analyze, gate, report, clean)
