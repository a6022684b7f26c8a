"""The artifacts the stages exchange: one file name and one ``kind`` each, written down once.

``gates/INPUTS.md`` and ``benchmarks/SCHEMA.md`` describe their fields.
"""

from __future__ import annotations

ANALYSIS_FILE = "statistical_analysis.json"
BCA_FILE = "bca_analysis.json"
RISK_FILE = "risk_assessment.json"
ADVANCED_FILE = "advanced_testing.json"
DIFFERENTIAL_FILE = "differential.json"
SHADOW_FILE = "shadow.json"
BANDIT_FILE = "bandit.json"
BANDIT_PROVENANCE_FILE = "bandit.provenance.json"
SMOKE_FILE = "smoke_tests.json"
TIMINGS_FILE = "timings.json"
GATES_FILE = "gates.json"
REPORT_FILE = "pipeline_report.json"
MARKDOWN_FILE = "report.md"
HTML_FILE = "report.html"
LOG_FILE = "pipeline.log"
LOCK_FILE = ".pipeline.lock"
AA_FILE = "baseline.json"
QUALITY_FILE = "quality.json"
BENCHMARK_KIND = "fastpath-benchmark"
TRIAL_STREAM_KIND = "fastpath-benchmark-trials"

# Evidence the gates judge beside the analysis. The analysis records the digest of
# each one present when it runs, so that none can be swapped in after it.
CHAINED_EVIDENCE = (
    ADVANCED_FILE,
    DIFFERENTIAL_FILE,
    SHADOW_FILE,
    SMOKE_FILE,
    BANDIT_FILE,
    BANDIT_PROVENANCE_FILE,
)

KINDS = {
    ANALYSIS_FILE: "fastpath-statistical-analysis",
    BCA_FILE: "fastpath-bca-analysis",
    RISK_FILE: "fastpath-risk-assessment",
    ADVANCED_FILE: "fastpath-advanced-testing",
    DIFFERENTIAL_FILE: "fastpath-differential",
    SHADOW_FILE: "fastpath-shadow",
    SMOKE_FILE: "fastpath-smoke",
    TIMINGS_FILE: "fastpath-timings",
    BANDIT_PROVENANCE_FILE: "fastpath-provenance",
    QUALITY_FILE: "fastpath-quality",
}


STAMP_SUFFIX = ".provenance.json"


def stamp_file(subject: str) -> str:
    """Where ``python -m gates.stamp`` writes a foreign report's provenance:
    ``bandit.json`` -> ``bandit.provenance.json``."""
    return subject.removesuffix(".json") + STAMP_SUFFIX


def benchmark_file(variant: str, *, is_baseline: bool) -> str:
    """``baseline.json`` for the baseline's A/A run, ``<V>_benchmark.json`` otherwise."""
    return AA_FILE if is_baseline else f"{variant}_benchmark.json"


def stream_file(artifact_file: str) -> str:
    """The trial stream beside a benchmark artifact: ``V1_benchmark.json`` -> ``.jsonl``."""
    return artifact_file.removesuffix(".json") + ".jsonl"


def budget_label(budget: int) -> str:
    """``120000`` -> ``"120k"``, the registry's spelling of a budget."""
    return f"{budget // 1000}k" if budget % 1000 == 0 else str(budget)
