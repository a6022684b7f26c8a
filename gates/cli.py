"""``python -m gates --artifacts artifacts/ [--config pyproject.toml]``: judge, write, exit.

The only place where errors become one line on stderr and where the verdict
becomes an exit code (see :mod:`contracts.exitcodes`). Nothing is written unless
every input was read and every output rendered; on bad input the previous
run's outputs are removed so no earlier decision is mistaken for this one.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import os
import platform
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from contracts.documents import dumps, write_all_atomically
from contracts.errors import ConfigError, EvidenceError
from contracts.exitcodes import ExitCode, for_decision
from contracts.names import ANALYSIS_FILE, GATES_FILE, HTML_FILE, MARKDOWN_FILE, REPORT_FILE
from contracts.provenance import UNKNOWN_COMMIT, checkout_dirty, checkout_git_sha
from contracts.thresholds import thresholds_from_registry, validate_candidates
from gates.custody import Trust, benchmark_files
from gates.evidence import Evidence, StatisticalAnalysis
from gates.html import render_html
from gates.load import evidence_from_files, read_chain, uncommitted_checkout
from gates.markdown import render_markdown
from gates.remake import remake_problem
from gates.rules import evaluate
from gates.summary import RunContext, gates_document, pipeline_report
from gates.verdict import Verdict
from packrepo.registry import Registry, RegistryError, load_registry

OUTPUT_FILES = (GATES_FILE, REPORT_FILE, MARKDOWN_FILE, HTML_FILE)
STEP_SUMMARY = "GITHUB_STEP_SUMMARY"


@dataclass(frozen=True)
class Outcome:
    verdict: Verdict
    markdown: str


def parse_arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m gates",
        description="Judge the evidence in the artifacts directory against [tool.fastpath.gates]"
        " and promote at most one variant. Exit 0 promote, 1 reject, 2 bad input or config.",
    )
    parser.add_argument("--artifacts", type=Path, required=True, help="the artifacts directory")
    parser.add_argument(
        "--config", type=Path, default=Path("pyproject.toml"), help="the registry (pyproject.toml)"
    )
    parser.add_argument(
        "--variants",
        help="judge only these candidates, e.g. V1,V4 (default: every candidate in the registry)",
    )
    parser.add_argument(
        "--allow-dirty",
        action="store_true",
        help="judge evidence measured on a tree with uncommitted changes (recorded in the report)",
    )
    parser.add_argument(
        "--accept-fixtures",
        action="store_true",
        help="judge hand-built fixture evidence, for demonstrations and simulations (recorded)",
    )
    return parser.parse_args(argv)


def select_candidates(registry: Registry, names: str | None) -> Registry:
    """The registry with only the named candidates (and the baseline); None keeps them all."""
    if not names:
        return registry
    chosen = {name.strip() for name in names.split(",") if name.strip()}
    for name in sorted(chosen):
        registry.variant(name)  # an unknown name is a configuration error
    keep = {registry.baseline.name, *chosen}
    variants = {name: v for name, v in registry.variants.items() if name in keep}
    return dataclasses.replace(registry, variants=variants)


def render_outputs(
    verdict: Verdict, registry: Registry, evidence: Evidence, run: RunContext
) -> tuple[dict[str, bytes], str]:
    """Every output's bytes, rendered before anything is written."""
    analysis = evidence.analysis
    git_sha = (
        analysis.provenance.git_sha
        if isinstance(analysis, StatisticalAnalysis)
        else evidence.checkout_git_sha or UNKNOWN_COMMIT
    )
    markdown = render_markdown(verdict, git_sha, evidence)
    html = render_html(verdict, registry, evidence, thresholds_from_registry(registry))
    outputs = {
        GATES_FILE: dumps(gates_document(verdict, registry, evidence)),
        REPORT_FILE: dumps(pipeline_report(verdict, registry, evidence, run)),
        MARKDOWN_FILE: markdown.encode("utf-8"),
        HTML_FILE: html.encode("utf-8"),
    }
    return outputs, markdown


def decide(
    artifacts: Path, config: Path, variants: str | None = None, trust: Trust | None = None
) -> Outcome:
    """Read, judge, render, then write: raises InputError or RegistryError on bad input."""
    full = load_registry(config)
    registry = select_candidates(full, variants)
    thresholds_from_registry(registry)
    validate_candidates(registry)
    checkout = config.resolve().parent
    files = read_chain(artifacts)
    sha = checkout_git_sha(checkout)
    evidence = evidence_from_files(
        files,
        sha,
        location=artifacts,
        trust=trust,
        uncommitted_checkout=uncommitted_checkout(sha, checkout_dirty(checkout)),
    )
    evidence = _remade(artifacts, config, evidence, files.get(ANALYSIS_FILE))
    judged = None if registry is full else tuple(v.name for v in registry.candidates)
    verdict = evaluate(full, evidence, judged)
    run = RunContext(
        created_unix=time.time(), python=platform.python_version(), platform=platform.platform()
    )
    outputs, markdown = render_outputs(verdict, registry, evidence, run)
    write_all_atomically({artifacts / name: payload for name, payload in outputs.items()})
    return Outcome(verdict=verdict, markdown=markdown)


def _remade(artifacts: Path, config: Path, evidence: Evidence, raw: bytes | None) -> Evidence:
    """Hold the analysis (``raw``, the bytes judged) to what its verified inputs give
    (``gates.remake``), when it names its inputs and every link to them holds; a fixture
    analysis names none."""
    analysis = evidence.analysis
    custody = evidence.custody
    if not isinstance(analysis, StatisticalAnalysis) or raw is None or custody.broken:
        return evidence
    if not benchmark_files(analysis.provenance):
        return evidence
    problem = remake_problem(artifacts, config, analysis, raw)
    return dataclasses.replace(evidence, custody=custody.with_remade(problem))


def append_step_summary(markdown: str) -> None:
    """Append the report to the CI job summary when the runner provides one."""
    target = os.environ.get(STEP_SUMMARY)
    if target:
        with open(target, "a", encoding="utf-8") as handle:
            handle.write(markdown)


def remove_outputs(artifacts: Path) -> None:
    for name in OUTPUT_FILES:
        (artifacts / name).unlink(missing_ok=True)


def _naming_the_file(exc: Exception, config: Path) -> str:
    """Evidence errors name their file; configuration errors get the registry's path."""
    message = str(exc)
    if isinstance(exc, EvidenceError) or str(config) in message:
        return message
    return f"{config}: {message}"


def main(argv: Sequence[str] | None = None) -> int:
    arguments = parse_arguments(argv)
    try:
        trust = Trust(accept_fixtures=arguments.accept_fixtures, allow_dirty=arguments.allow_dirty)
        outcome = decide(arguments.artifacts, arguments.config, arguments.variants, trust)
    except (EvidenceError, ConfigError, RegistryError) as exc:
        with contextlib.suppress(OSError):
            remove_outputs(arguments.artifacts)
        print(f"gates: error: {_naming_the_file(exc, arguments.config)}", file=sys.stderr)
        return ExitCode.BAD_INPUT
    except OSError as exc:
        with contextlib.suppress(OSError):
            remove_outputs(arguments.artifacts)
        print(
            f"gates: error: cannot write to {arguments.artifacts}: {exc.strerror}", file=sys.stderr
        )
        return ExitCode.BAD_INPUT
    except KeyboardInterrupt:
        with contextlib.suppress(OSError):
            remove_outputs(arguments.artifacts)
        print("gates: interrupted", file=sys.stderr)
        return ExitCode.INTERRUPTED
    except Exception:
        # A bug, not bad input: the traceback is for us, but no earlier decision may stay
        # behind looking like this run's.
        with contextlib.suppress(OSError):
            remove_outputs(arguments.artifacts)
        raise
    try:
        append_step_summary(outcome.markdown)
    except OSError as exc:
        # The decision stands; only the CI summary is lost.
        print(f"gates: warning: cannot append to ${STEP_SUMMARY}: {exc.strerror}", file=sys.stderr)
    verdict = outcome.verdict
    blocked = f" ({verdict.blocked_summary})" if verdict.chosen is None and verdict.variants else ""
    print(f"gates: {verdict.decision.upper()}: {verdict.reason}{blocked}")
    return for_decision(verdict.decision)
