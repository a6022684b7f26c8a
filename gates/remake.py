"""Remake the analysis from its inputs and hold it to the document the gates were given.

The analysis is deterministic (seeded resampling, rounded output), so running it
again on the very benchmark artifacts whose digests the chain verified, with
the settings the document records, must give the same document but for its
provenance (time, argv, run id). Any other difference means the numbers the
gates would judge are not the numbers those trials give: a hand-edited
interval, an invented comparison, a trial count that does not match. What
remains to a forger is to invent the trials themselves, consistently; on CI the
attestations close that (docs/ci-attestation.md).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from analysis.cli import build_parser
from analysis.cli import run as run_analysis
from analysis.errors import AnalysisInputError
from contracts.documents import load_json, parse_object, read_input
from contracts.errors import InputError
from contracts.names import ANALYSIS_FILE
from gates.evidence import StatisticalAnalysis
from packrepo.registry import RegistryError

IGNORED = ("provenance",)  # when and by which command; not what was concluded


def remake_problem(
    artifacts: Path, config: Path, analysis: StatisticalAnalysis, raw: bytes
) -> str | None:
    """None when the analysis remade from its inputs matches ``raw``; else what differs."""
    recorded = parse_object(raw, ANALYSIS_FILE)
    baseline = [name for name, run in analysis.variants.items() if run.intent == "baseline"]
    candidates = [name for name, run in analysis.variants.items() if run.intent != "baseline"]
    with tempfile.TemporaryDirectory(prefix="gates-remake-") as scratch:
        argv = [
            "--input", str(artifacts), "--output", scratch, "--config", str(config),
            "--seed", str(analysis.seed), "--bootstrap-samples", str(analysis.n_resamples),
            "--pair-with", recorded.text("pairing"),
            "--variants", ",".join(candidates or baseline),
        ]  # fmt: skip
        try:
            run_analysis(build_parser().parse_args(argv))
        except (AnalysisInputError, InputError, RegistryError) as exc:
            return f"{ANALYSIS_FILE} cannot be remade from its inputs: {exc}"
        remade = load_json(read_input(Path(scratch) / ANALYSIS_FILE), ANALYSIS_FILE)
    difference = first_difference(_without(recorded.raw), _without(remade))
    if difference is None:
        return None
    return (
        f"{ANALYSIS_FILE} is not what its inputs give: {difference}"
        " (edited after the analysis, or not made by it)"
    )


def _without(document: object) -> object:
    if isinstance(document, dict):
        return {key: value for key, value in document.items() if key not in IGNORED}
    return document


def first_difference(recorded: object, remade: object, where: str = "") -> str | None:
    """The first key path where two JSON values differ, with both values."""
    if isinstance(recorded, dict) and isinstance(remade, dict):
        for key in sorted(set(recorded) | set(remade)):
            if key not in recorded or key not in remade:
                side = "missing" if key not in recorded else "not remade"
                return f"`{where}{key}` {side}"
            found = first_difference(recorded[key], remade[key], f"{where}{key}.")
            if found is not None:
                return found
        return None
    if isinstance(recorded, list) and isinstance(remade, list):
        if len(recorded) != len(remade):
            return f"`{where.rstrip('.')}` has {len(recorded)} entries, remade {len(remade)}"
        for index, (a, b) in enumerate(zip(recorded, remade, strict=True)):
            found = first_difference(a, b, f"{where.rstrip('.')}[{index}].")
            if found is not None:
                return found
        return None
    if recorded != remade or type(recorded) is not type(remade):
        return f"`{where.rstrip('.')}` is {recorded!r}, remade {remade!r}"
    return None
