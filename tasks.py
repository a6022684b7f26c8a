"""invoke tasks: chain the nox sessions of the promotion pipeline.

``invoke promote`` runs every stage (see ``invoke plan`` for what and how) and
exits with the decision: 0 promote, 1 reject, 2 bad input or config,
124 timeout, 130 interrupted; ``invoke gate`` exits with the gates' exact code.
The logic lives in :mod:`pipeline`; these tasks only translate options.

Commands are argument lists run without a shell (never ``c.run`` with a string),
so an option's value is one argument however it is spelled. Every task that
writes to ``artifacts/`` holds the pipeline's run lock (:mod:`contracts.lock`)
and exits 2 when another run holds it.
"""

from __future__ import annotations

import os
import shutil
import subprocess  # nosec B404  # nox from this interpreter, argument lists, no shell
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from invoke.collection import Collection
from invoke.context import Context
from invoke.exceptions import Exit
from invoke.tasks import task

from contracts.lock import LockHeldError, acquire, lock_path
from contracts.names import LOCK_FILE

ROOT = Path(__file__).parent
ARTIFACTS = ROOT / "artifacts"
NOXFILE = ROOT / "noxfile.py"
KEPT = ("README.md", LOCK_FILE)  # `invoke clean` keeps these


def _pipeline(argv: list[str]) -> None:
    """``python -m pipeline ARGV`` in this process, from the checkout; exit with its code."""
    try:
        from pipeline.promote import main
    except ModuleNotFoundError as exc:
        raise Exit(
            f"invoke: the orchestrator needs `{exc.name}` here: install the `pipeline` "
            "dependency group in invoke's environment, or run `nox -s pipeline`",
            code=2,
        ) from None
    os.chdir(ROOT)  # the orchestrator's paths (artifacts/, pyproject.toml) are the checkout's
    code = main(argv)
    if code:
        raise Exit(code=code)


@contextmanager
def _holding_run_lock() -> Iterator[None]:
    """The pipeline's run lock, or exit 2 with one line naming its holder."""
    try:
        ARTIFACTS.mkdir(exist_ok=True)
        lock = acquire(lock_path(ARTIFACTS))
    except LockHeldError as exc:
        raise Exit(f"invoke: {exc}", code=2) from None
    except OSError as exc:
        raise Exit(f"invoke: cannot write to {ARTIFACTS}: {exc.strerror or exc}", code=2) from None
    with lock:
        yield


def _nox(*arguments: str) -> None:
    """One nox invocation holding the run lock; exit with nox's code."""
    command = [sys.executable, "-m", "nox", "--noxfile", str(NOXFILE), *arguments]
    with _holding_run_lock():
        returncode = subprocess.run(command, check=False).returncode  # nosec B603
    if returncode:
        raise Exit(code=returncode)


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
    allow_dirty: bool,
    fixed: bool = False,
) -> list[str]:
    argv = [command, "--timeout", str(timeout), "--profile", profile]
    argv += ["--fixed"] if fixed else []
    argv += ["--variants", variants] if variants else []
    argv += ["--parallel"] if parallel else ["--sequential"]
    argv += ["--skip-building"] if skip_building else []
    argv += ["--allow-dirty"] if allow_dirty else []
    argv += ["--dry-run"] if dry_run else []
    argv += ["--verbose"] if verbose else []
    return argv


@task(
    help={
        "variants": "comma-separated arms, e.g. baseline,V1,V3 (default: every arm)",
        "parallel": "run sessions concurrently, at most one per core (the default)",
        "sequential": "run one session at a time",
        "timeout": "seconds before everything stops with a partial report (exit 124)",
        "skip-building": "skip B0-B2 (boot, lint, smoke), reusing their evidence if current",
        "allow-dirty": "let the gates judge evidence from a tree with uncommitted changes",
        "dry-run": "print the plan (sessions, commands, flags, artifacts) and run nothing",
        "fixed": "the fixed design: every benchmark measures every unit (default: sequential)",
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
    allow_dirty: bool = False,
    dry_run: bool = False,
    verbose: bool = False,
    profile: str = "standard",
    fixed: bool = False,
) -> None:
    """Run the whole pipeline (B0-B2, R0-R4, T1-T2, E1) and exit with its decision."""
    _pipeline(
        _pipeline_argv(
            "promote",
            variants=variants,
            parallel=parallel and not sequential,
            timeout=timeout,
            skip_building=skip_building,
            dry_run=dry_run,
            verbose=verbose,
            profile=profile,
            allow_dirty=allow_dirty,
            fixed=fixed,
        )
    )


@task(help={"variants": "comma-separated arms (default: every arm)", "profile": "profile"})
def plan(c: Context, variants: str = "", profile: str = "standard") -> None:
    """Print the promotion plan without running it."""
    _pipeline(["plan", "--profile", profile, *(["--variants", variants] if variants else [])])


@task(help={"variant": "the arm to benchmark (baseline, V1, ...)", "profile": "profile"})
def bench(c: Context, variant: str = "baseline", profile: str = "standard") -> None:
    """Benchmark one arm against the paired baseline (nox -s bench-VARIANT)."""
    _nox("-s", f"bench-{variant}", "--", "--profile", profile)


@task
def analyze(c: Context) -> None:
    """T1-T2: BCa intervals, power, multiplicity and risk from the benchmark artifacts."""
    _nox("-s", "analyze")


@task(
    help={
        "variants": "judge only these candidates (default: every candidate)",
        "allow-dirty": "let the gates judge evidence from a tree with uncommitted changes",
    }
)
def gate(c: Context, variants: str = "", allow_dirty: bool = False) -> None:
    """E1: judge the evidence, write the decision and the report; exit 0, 1 or 2 exactly."""
    argv = ["gate", *(["--variants", variants] if variants else [])]
    _pipeline(argv + (["--allow-dirty"] if allow_dirty else []))


@task
def report(c: Context) -> None:
    """Print the last run's report (artifacts/report.md)."""
    path = ARTIFACTS / "report.md"
    if not path.exists():
        raise Exit(f"report: {path} does not exist; run `invoke promote` first", code=2)
    print(path.read_text(encoding="utf-8"))


@task
def clean(c: Context) -> None:
    """Remove every artifact except artifacts/README.md (not while a run holds the lock)."""
    with _holding_run_lock():
        for path in ARTIFACTS.iterdir():
            if path.name in KEPT:
                continue
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()


namespace = Collection(promote, plan, bench, analyze, gate, report, clean)
