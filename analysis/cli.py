"""``python -m analysis``: benchmark artifacts in, three analysis documents out.

::

    python -m analysis --input artifacts --output artifacts \\
        [--bootstrap-samples 10000] [--variants baseline,V1,V4] \\
        [--seed 1337] [--pair-with run|aa] [--config pyproject.toml] [--verbose]
    python -m analysis compare BASE.json CAND.json [--json]   # pyperf / pytest-benchmark

The only place where errors become one line on stderr and an exit code:
0 the documents were written, 2 bad input or configuration (nothing is
written, and this command's earlier outputs are removed so that no stale
analysis is judged). Defaults come from ``[tool.fastpath]`` through
``packrepo.registry.load_registry``. The level is the registry's ``alpha`` and
family (``contracts.family``) and nothing on the command line changes it; a
``--variants`` subset is analysed in the registry's family and recorded as
incomplete, which the gates report but never promote.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from analysis.artifacts import RunFile, check_commit, load_runs
from analysis.documents import (
    ANALYSIS_FILE,
    BCA_FILE,
    OUTPUT_FILES,
    RISK_FILE,
    Scope,
    bca_document,
    encode,
    risk_document,
    statistical_analysis_document,
)
from analysis.errors import AnalysisInputError
from analysis.pipeline_analysis import POOLED, AnalysisResult, Settings, analyse
from analysis.quality_input import QualityRuns, load_quality
from analysis.risk import Coverage, RiskLimits, assess
from contracts.documents import read_document, write_all_atomically
from contracts.errors import EvidenceError, InputError
from contracts.exitcodes import ExitCode
from contracts.family import gated_bounds
from contracts.names import ADVANCED_FILE, CHAINED_EVIDENCE, KINDS, QUALITY_FILE
from contracts.provenance import (
    UNKNOWN_COMMIT,
    Provenance,
    current_provenance,
    parse_provenance,
    sha256_file,
)
from contracts.thresholds import GateThresholds, thresholds_from_registry
from packrepo.registry import Registry, RegistryError, load_registry

BAD_INPUT = ExitCode.BAD_INPUT
PROGRAM = "analysis"
PRODUCER = "analysis"


@dataclass(frozen=True)
class Outcome:
    result: AnalysisResult
    written: tuple[Path, ...]
    seconds: float


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m analysis",
        description="Paired BCa analysis of the benchmark artifacts (T1) and risk assessment"
        " (T2). Writes statistical_analysis.json, bca_analysis.json and risk_assessment.json."
        " Other tools' results: `python -m analysis compare BASE.json CAND.json`.",
    )
    parser.add_argument("--input", type=Path, required=True, help="directory of the artifacts")
    parser.add_argument("--output", type=Path, required=True, help="where to write the documents")
    parser.add_argument(
        "--bootstrap-samples", type=int, help="bootstrap resamples (default: the registry's)"
    )
    parser.add_argument(
        "--variants", help="analyse only these arms, e.g. baseline,V1,V4 (default: all)"
    )
    parser.add_argument("--seed", type=int, help="bootstrap seed (default: the registry's)")
    parser.add_argument(
        "--pair-with",
        choices=("run", "aa"),
        default="run",
        help="pair each variant with the baseline arm of its own run (default) or of the A/A"
        " run; timings are never paired across machines",
    )
    parser.add_argument("--config", type=Path, default=Path("pyproject.toml"), help="registry")
    parser.add_argument("--verbose", action="store_true", help="print the pooled comparisons")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments[:1] == ["compare"]:
        from analysis.interop import main as compare_main

        return compare_main(arguments[1:])
    options = build_parser().parse_args(arguments)
    try:
        outcome = run(options)
    except (AnalysisInputError, InputError, RegistryError) as exc:
        _remove_outputs(options.output)
        print(f"{PROGRAM}: error: {_one_line(exc)}", file=sys.stderr)
        return BAD_INPUT
    except OSError as exc:
        _remove_outputs(options.output)
        print(
            f"{PROGRAM}: error: cannot write to {options.output}: {exc.strerror}", file=sys.stderr
        )
        return BAD_INPUT
    except BaseException:
        # A bug or an interrupt: no earlier analysis may stay behind looking like this run's.
        _remove_outputs(options.output)
        raise
    if options.verbose:
        print(render_summary(outcome.result))
    print(_closing_line(outcome))
    return 0


def run(options: argparse.Namespace) -> Outcome:
    """Load, analyse, render every document, then write them all (or none)."""
    started = time.perf_counter()
    registry = load_registry(options.config)
    thresholds = thresholds_from_registry(registry)
    settings = _settings(options, registry, thresholds)
    candidates = select_candidates(registry, options.variants)
    runs = load_runs(options.input, registry, candidates)
    checkout = current_provenance(options.config, producer=PRODUCER)
    every_run = (runs.aa, *runs.candidates.values())
    commit = None if checkout.git_sha == UNKNOWN_COMMIT else checkout.git_sha
    check_commit(every_run, commit)
    quality = load_quality(options.input / QUALITY_FILE, registry, commit)
    profile = evidence_profile(every_run, quality)
    result = analyse(runs, quality, registry, settings)
    coverage_path = options.input / ADVANCED_FILE
    coverage = read_coverage(coverage_path, checkout)
    provenance = _with_inputs(checkout, every_run, quality, options.input)
    limits = RiskLimits(
        qa_target=thresholds.qa_improvement,
        performance_margin=thresholds.performance_regression,
        mutation_score=thresholds.mutation_score,
        property_coverage=thresholds.property_coverage,
    )
    intents = {name: variant.intent for name, variant in registry.variants.items()}
    risk = assess(result, intents, limits, coverage)
    scope = Scope(
        profile=profile,
        exploratory=is_exploratory(profile),
        analysed=candidates,
        registry_candidates=tuple(v.name for v in registry.candidates),
        bounds=tuple(b.label for b in gated_bounds(registry, thresholds, registry.budgets)),
    )
    files = {
        ANALYSIS_FILE: encode(statistical_analysis_document(result, provenance, scope)),
        BCA_FILE: encode(bca_document(result, provenance)),
        RISK_FILE: encode(risk_document(result, risk, provenance)),
    }
    options.output.mkdir(parents=True, exist_ok=True)
    targets = {options.output / name: payload for name, payload in files.items()}
    write_all_atomically(targets)
    return Outcome(result, tuple(targets), time.perf_counter() - started)


def evidence_profile(runs: Sequence[RunFile], quality: QualityRuns | None) -> str:
    """The one profile every piece of evidence was measured in; mixed profiles are bad input."""
    found = {
        str(run.artifact.profile.get("name")): run.path.name
        for run in runs
        if run.artifact is not None
    }
    if quality is not None:
        found.setdefault(quality.profile, quality.path.name)
    if len(found) > 1:
        described = ", ".join(f"{file} {name!r}" for name, file in sorted(found.items()))
        raise AnalysisInputError(f"the evidence mixes profiles: {described}")
    return next(iter(found), "unknown")


def is_exploratory(profile: str) -> bool:
    """A profile the registry of profiles marks exploratory; an unknown one is too."""
    from benchmarks.profiles import PROFILES

    known = PROFILES.get(profile)
    return known is None or known.exploratory


def _with_inputs(
    checkout: Provenance,
    runs: Sequence[RunFile],
    quality: QualityRuns | None,
    directory: Path,
) -> Provenance:
    """The analysis's provenance: the digest of every benchmark artifact it read, so the
    gates can walk back to the trial streams, and of every other piece of evidence present
    now (advanced_testing.json among them), so that none can be swapped in later; dirty
    when any input or the checkout was."""
    inputs = {run.path.name: run.sha256 for run in runs if run.sha256 is not None}
    dirty = checkout.dirty or any(
        run.artifact.provenance.dirty for run in runs if run.artifact is not None
    )
    if quality is not None:
        inputs[quality.path.name] = quality.sha256
        dirty = dirty or quality.provenance.dirty
    for name in CHAINED_EVIDENCE:
        path = directory / name
        if path.is_symlink() or path.exists():
            inputs[name] = sha256_file(path)
    return replace(checkout, inputs=inputs, dirty=dirty)


def _settings(
    options: argparse.Namespace, registry: Registry, thresholds: GateThresholds
) -> Settings:
    samples = (
        options.bootstrap_samples
        if options.bootstrap_samples is not None
        else thresholds.bootstrap_samples
    )
    if samples < 1:
        raise AnalysisInputError(f"`--bootstrap-samples` must be positive; got {samples}")
    seed = options.seed if options.seed is not None else registry.seed
    if seed < 0:
        raise AnalysisInputError(f"`--seed` must be a non-negative integer; got {seed}")
    return Settings(
        alpha=thresholds.alpha,
        family_size=len(gated_bounds(registry, thresholds, registry.budgets)),
        n_resamples=samples,
        seed=seed,
        target_power=thresholds.power,
        qa_target=thresholds.qa_improvement,
        performance_margin=thresholds.performance_regression,
        recall_margin=thresholds.recall_margin,
        thresholds=thresholds,
        qa_margin=thresholds.qa_margin,
        pair_with=options.pair_with,
        aa_tolerance=thresholds.aa_tolerance,
    )


def select_candidates(registry: Registry, names: str | None) -> tuple[str, ...]:
    """The candidates to analyse, in registry order; the baseline is always analysed."""
    if not names:
        return tuple(variant.name for variant in registry.candidates)
    chosen = {name.strip() for name in names.split(",") if name.strip()}
    for name in sorted(chosen):
        registry.variant(name)  # an unknown name is a configuration error
    return tuple(v.name for v in registry.candidates if v.name in chosen)


def read_coverage(path: Path, provenance: Provenance) -> Coverage:
    """``advanced_testing.json`` if usable for this commit and configuration, else why not."""
    if not path.exists():
        return Coverage(None, None, f"{path.name} is missing (no R2 run yet)")
    try:
        fields = read_document(path, KINDS[ADVANCED_FILE])
        made = parse_provenance(fields)
        mutation_score = fields.number("mutation_score")
        property_coverage = fields.number("property_coverage")
    except EvidenceError as exc:
        return Coverage(None, None, f"{path.name} is not usable: {_one_line(exc)}")
    if (made.git_sha, made.config_sha256) != (provenance.git_sha, provenance.config_sha256):
        return Coverage(
            None, None, f"{path.name} is stale: produced for commit {made.git_sha[:12]}"
        )
    return Coverage(mutation_score, property_coverage, None)


def _remove_outputs(directory: Path) -> None:
    for name in OUTPUT_FILES:
        with contextlib.suppress(OSError):
            (directory / name).unlink(missing_ok=True)


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())


def _closing_line(outcome: Outcome) -> str:
    result = outcome.result
    environment = result.environment
    errors = [run.name for run in result.variants if run.error is not None]
    state = "A/A stable" if environment.stable else "A/A UNSTABLE"
    if errors:
        state += f"; no evidence for {', '.join(errors)}"
    if result.quality.problem:
        state += f"; {result.quality.problem}"
    written = ", ".join(path.name for path in outcome.written)
    where = outcome.written[0].parent if outcome.written else ""
    return (
        f"{PROGRAM}: wrote {written} to {where} ({len(result.variants) - 1} candidate(s),"
        f" {result.settings.n_resamples} resamples, {state}; {outcome.seconds:.1f} s)"
    )


def render_summary(result: AnalysisResult) -> str:
    """The pooled rows as a plain-text table, then errors and the A/A verdict."""
    lines = [
        f"{'variant':<9} {'metric':<17} {'baseline':>10} {'variant':>10} {'change':>8}"
        f"  {'interval':<21} {'method':<10} {'power':>5}  cluster interval",
    ]
    for row in result.rows:
        if row.budget != POOLED:
            continue
        unit, cluster = row.interval, row.repository
        change = "n/a" if row.relative_change is None else f"{row.relative_change:+.1%}"
        interval = "none" if unit is None else f"[{unit.low:+.1%}, {unit.high:+.1%}]"
        method = "none" if unit is None else unit.method
        power = "" if row.power is None else f"{row.power.achieved:.2f}"
        repo = "none" if cluster is None else f"[{cluster.low:+.1%}, {cluster.high:+.1%}]"
        lines.append(
            f"{row.variant:<9} {row.metric:<17} {row.baseline_value:>10.4g}"
            f" {row.variant_value:>10.4g} {change:>8}  {interval:<21} {method:<10}"
            f" {power:>5}  {repo}"
        )
    settings = result.settings
    lines.append(
        f"each bound one-sided at {1 - settings.alpha_bound:.5g} (alpha {settings.alpha:g} over"
        f" the registry's {result.family_size} gated bounds, Bonferroni); intervals: cluster t"
        " over questions; the cluster column: over repositories"
    )
    for run in result.variants:
        if run.error is not None:
            lines.append(f"{run.name}: {run.error}")
        elif run.n_failed:
            lines.append(
                f"{run.name}: {run.n_failed} of {run.n_trials} trials failed; analysed the"
                f" {run.n_paired} of {run.n_units} units where both arms succeeded"
            )
    environment = result.environment
    lines.append(
        "environment: "
        + ("stable" if environment.stable else f"UNSTABLE ({environment.reason})")
        + f"; machines: {', '.join(environment.machines) or 'none'}"
    )
    return "\n".join(lines)
