"""The plan: which nox sessions run, in which phase, with which arguments.

A plan is data. ``--dry-run`` prints it; :mod:`pipeline.run` executes it.
"""

from __future__ import annotations

import math
import os
import shlex
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from contracts.names import LOCK_FILE
from packrepo.registry import Registry, RegistryError

PHASES = ("building", "running", "tracking", "evaluating")
DEFAULT_TIMEOUT_SECONDS = 7200.0
PROFILES = ("quick", "standard", "full")


class PlanError(ValueError):
    """The options do not make a runnable plan (unknown variant, bad timeout, ...)."""


@dataclass(frozen=True)
class Step:
    """One nox session of the pipeline."""

    stage: str  # the design's stage label: B0, R1, T1, ...
    phase: str  # one of PHASES
    session: str
    args: tuple[str, ...] = ()
    artifacts: tuple[str, ...] = ()
    variant: str | None = None
    flags: dict[str, str] = field(default_factory=dict)
    # Benchmark steps are CPU-bound and timing-sensitive: the runner runs one at a
    # time, never beside another benchmark (pipeline.run.may_start).
    is_benchmark: bool = False
    # A session that spreads over every core (R3 and R4 run each arm in a worker of its
    # own): the runner never runs one beside a benchmark, whose timings it would disturb.
    uses_every_core: bool = False

    def command(self, python: str = sys.executable) -> list[str]:
        """The nox invocation; nox runs on the interpreter that runs the orchestrator."""
        command = [python, "-m", "nox", "-s", self.session]
        if self.args:
            command += ["--", *self.args]
        return command


@dataclass(frozen=True)
class Options:
    variants: tuple[str, ...] | None = None  # None: every arm of the registry
    parallel: bool = False
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS
    skip_building: bool = False
    profile: str = "standard"
    verbose: bool = False
    # Passed to the gates (`--allow-dirty`): evidence from a tree with uncommitted
    # changes may then be judged, and --skip-building may reuse such evidence.
    allow_dirty: bool = False
    # The fixed design: every benchmark measures every unit (no look, no early stop).
    fixed: bool = False


@dataclass(frozen=True)
class Plan:
    steps: tuple[Step, ...]
    options: Options
    artifacts_dir: Path
    concurrency: int  # how many sessions of a phase may run at once (one per core)

    def phase(self, name: str) -> tuple[Step, ...]:
        return tuple(step for step in self.steps if step.phase == name)


def parse_variants(text: str | None) -> tuple[str, ...] | None:
    """``"baseline,V1,V3"`` -> ("baseline", "V1", "V3"); empty -> None (all arms)."""
    if not text:
        return None
    names = tuple(name.strip() for name in text.split(",") if name.strip())
    return names or None


def build_plan(registry: Registry, options: Options, artifacts_dir: Path) -> Plan:
    """Every stage of the design in order; the arms come from the registry."""
    # NaN compares false with everything, so `<= 0` alone would let it through as "no limit".
    if not (math.isfinite(options.timeout_seconds) and options.timeout_seconds > 0):
        raise PlanError(
            f"`--timeout` must be a finite number of seconds above 0, "
            f"got {options.timeout_seconds:g}"
        )
    if options.profile not in PROFILES:
        known = ", ".join(PROFILES)
        raise PlanError(f"`--profile` must be one of {known}, got {options.profile!r}")
    arms = _selected_arms(registry, options.variants)
    steps: list[Step] = []
    if not options.skip_building:
        steps += _building_steps()
    # The running phase starts its sessions in this order: R2 first, because it is the
    # longest (it runs the property tests three times over, under coverage and mutmut);
    # started last, it would run alone at the end while a core idles.
    advanced, *spreading = _testing_steps(options.profile, parallel=options.parallel)
    quality = Step(
        "R1q",
        "running",
        "quality",
        ("--profile", options.profile),
        ("quality.json",),
        uses_every_core=True,
    )
    benchmarks = _benchmark_steps(registry, arms, options.profile, fixed=options.fixed)
    steps += [advanced, *benchmarks, quality, *spreading]
    variant_args = ("--variants", ",".join(arms)) if options.variants else ()
    steps.append(
        Step(
            "T1-T2",
            "tracking",
            "analyze",
            args=variant_args,
            artifacts=("statistical_analysis.json", "bca_analysis.json", "risk_assessment.json"),
        )
    )
    steps.append(gates_step(variant_args, allow_dirty=options.allow_dirty))
    concurrency = (os.cpu_count() or 1) if options.parallel else 1
    return Plan(tuple(steps), options, artifacts_dir, concurrency)


def _selected_arms(registry: Registry, variants: tuple[str, ...] | None) -> tuple[str, ...]:
    if variants is None:
        return tuple(registry.variants)
    for name in variants:
        try:
            registry.variant(name)
        except RegistryError as exc:
            raise PlanError(f"`--variants`: {exc}") from None
    baseline = registry.baseline.name
    # The baseline's A/A run is the noise floor every decision needs.
    return (baseline, *(name for name in variants if name != baseline))


GATES_OUTPUTS = ("gates.json", "pipeline_report.json", "report.md", "report.html")


def gates_step(variant_args: tuple[str, ...] = (), *, allow_dirty: bool = False) -> Step:
    """E1; also run alone by ``python -m pipeline gate`` (``invoke gate``)."""
    args = (*variant_args, "--allow-dirty") if allow_dirty else variant_args
    return Step("E1", "evaluating", "gates", args=args, artifacts=GATES_OUTPUTS)


# What each building session writes: its evidence, and for the files that have no room
# for a `provenance` object of their own, the stamp `python -m gates.stamp` writes beside
# them (`<stem>.provenance.json`). --skip-building reuses exactly these files.
BUILDING_OUTPUTS: dict[str, tuple[str, ...]] = {
    "boot": ("boot_env.json", "boot_env.provenance.json"),
    "lint": (
        "ruff.json",
        "ruff.provenance.json",
        "mypy.json",
        "mypy.provenance.json",
        "bandit.json",
        "bandit.provenance.json",
    ),
    "smoke": ("smoke_tests.json",),
}


def _building_steps() -> list[Step]:
    return [
        Step("B0", "building", "boot", artifacts=BUILDING_OUTPUTS["boot"]),
        Step("B1", "building", "lint", artifacts=BUILDING_OUTPUTS["lint"]),
        Step("B2", "building", "smoke", artifacts=BUILDING_OUTPUTS["smoke"]),
    ]


def _benchmark_steps(
    registry: Registry, arms: Sequence[str], profile: str, *, fixed: bool = False
) -> list[Step]:
    steps = []
    for name in arms:
        variant = registry.variant(name)
        artifact = "baseline.json" if variant.is_baseline else f"{name}_benchmark.json"
        steps.append(
            Step(
                "R0" if variant.is_baseline else "R1",
                "running",
                f"bench-{name}",
                args=("--profile", profile, *(("--fixed",) if fixed else ())),
                artifacts=(artifact,),
                variant=name,
                flags=dict(variant.flags),
                is_benchmark=True,
            )
        )
    return steps


# How much R2-R4 do per profile. `standard` is each session's own default (300 sampled
# mutants, 10,000 shadow requests); `quick` shrinks them so that `invoke promote
# --profile quick` ends within 3 minutes, and says so in its artifacts (the sample
# sizes and request counts are recorded there and shown by the gates).
TESTING_ARGS: dict[str, dict[str, tuple[str, ...]]] = {
    "quick": {
        "advanced": ("--mutants", "30"),
        "differential": ("--profile", "quick"),
        "shadow": ("--requests", "1000", "--profile", "quick"),
    },
    "standard": {},
    "full": {"advanced": ("--mutants", "0"), "differential": ("--profile", "full")},
}


def _testing_steps(profile: str, *, parallel: bool) -> list[Step]:
    args = TESTING_ARGS[profile]
    advanced = args.get("advanced", ())
    if parallel:
        # One core per session: R2's pytest workers and mutmut children would otherwise
        # take the core a benchmark runs on (and R2 gains little from a second one).
        advanced = (*advanced, "--workers", "1")
    return [
        Step("R2", "running", "advanced", advanced, ("advanced_testing.json",)),
        Step(
            "R3",
            "running",
            "differential",
            args.get("differential", ()),
            ("differential.json",),
            uses_every_core=True,
        ),
        Step(
            "R4",
            "running",
            "shadow",
            args.get("shadow", ()),
            ("shadow.json",),
            uses_every_core=True,
        ),
    ]


def render_plan(plan: Plan) -> str:
    """The dry-run text: sessions, commands, flags and artifact paths, phase by phase."""
    options = plan.options
    lines = [
        f"Promotion plan: profile {options.profile}, timeout {options.timeout_seconds:g} s, "
        f"{'parallel' if options.parallel else 'sequential'} "
        f"(at most {plan.concurrency} session(s) of a phase at once, "
        "one benchmark at a time)",
        f"Artifacts: {plan.artifacts_dir} (one run at a time: {plan.artifacts_dir / LOCK_FILE})",
        "Dirty tree: "
        + ("allowed (--allow-dirty, passed to the gates)" if options.allow_dirty else "refused"),
    ]
    for phase in PHASES:
        steps = plan.phase(phase)
        if not steps and phase == "building":
            reused = ", ".join(name for names in BUILDING_OUTPUTS.values() for name in names)
            lines.append(f"\n[{phase}] skipped (--skip-building): reusing {reused}")
            lines.append("         only if current: made at this commit, with this registry")
            continue
        if not steps:
            lines.append(f"\n[{phase}] skipped")
            continue
        lines.append(f"\n[{phase}]")
        for step in steps:
            lines.append(f"  {step.stage:<6} {step.session}")
            lines.append(f"         $ {shlex.join(step.command('python'))}")
            if step.flags:
                flags = " ".join(f"{key}={value}" for key, value in sorted(step.flags.items()))
                lines.append(f"         flags: {flags}")
            if step.uses_every_core and plan.concurrency > 1:
                lines.append("         uses every core: never runs beside a benchmark")
            artifacts = ", ".join(str(plan.artifacts_dir / name) for name in step.artifacts)
            lines.append(f"         writes: {artifacts}")
    return "\n".join(lines)
