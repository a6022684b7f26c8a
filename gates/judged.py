"""What the report judged: the run's facts for its header, and the table of effects.

Pure functions from the evidence to rows of text, shared by ``report.md`` and
``report.html`` so the two never disagree. The facts come from ``timings.json``
(``run``, written by the orchestrator) and the analysis's provenance; what the
evidence does not hold is said to be missing, never guessed.
"""

from __future__ import annotations

import datetime as dt

from contracts.runfacts import RunFacts
from contracts.thresholds import LATENCY_MEAN, LATENCY_P95, PEAK_MEMORY, QA
from gates import fmt
from gates.evidence import Comparison, Evidence, StatisticalAnalysis
from gates.verdict import Verdict

EFFECT_METRICS = (QA, LATENCY_MEAN, LATENCY_P95, PEAK_MEMORY)
NOT_RECORDED = "not recorded"


# A header fact: one value, or one line per variant (a run of five variants would
# otherwise be one paragraph-long line).
Fact = tuple[str, "str | tuple[str, ...]"]


def run_facts(evidence: Evidence) -> list[Fact]:
    """(label, value) rows for the report's header, in reading order."""
    analysis = evidence.analysis
    run: RunFacts | None = None if evidence.timings is None else evidence.timings.run
    commit = (
        analysis.provenance.git_sha
        if isinstance(analysis, StatisticalAnalysis)
        else evidence.checkout_git_sha or NOT_RECORDED
    )
    rows: list[Fact] = [("profile", NOT_RECORDED if run is None else run.profile)]
    if isinstance(analysis, StatisticalAnalysis):
        resumed = tuple(f"{name} {r.resumed}" for name, r in analysis.variants.items() if r.resumed)
        if resumed:  # said only when it happened: the pairs are the same, their moments not
            rows.append(("resumed runs", resumed))
        runs = analysis.variants.items()
        looked = tuple(f"{name}: {r.design.summary}" for name, r in runs if r.design is not None)
        if looked:  # the timed intervals of these runs are at their last look's level
            rows.append(("sequential runs", looked))
    rows.append(("commit", fmt.short_sha(commit)))
    rows.append(("date", _date(run, analysis)))
    if run is None:
        rows += [
            ("wall time", NOT_RECORDED + " (no timings.json run facts: gates run alone?)"),
            ("load average", NOT_RECORDED),
            ("CPU", NOT_RECORDED),
        ]
        return rows
    rows.append(("wall time", f"{_duration(run.wall_seconds)} from the start to the gates"))
    loads = f"{_load(run.load_start)} at start, {_load(run.load_end)} at the gates"
    rows.append(("load average", f"{loads} (1, 5 and 15 minutes)"))
    rows.append(("CPU", _cpu(run)))
    return rows


def _date(run: RunFacts | None, analysis: object) -> str:
    if run is not None:
        return run.started_at.replace("T", " ").replace("+00:00", " UTC")
    if isinstance(analysis, StatisticalAnalysis) and analysis.provenance.created_unix:
        when = dt.datetime.fromtimestamp(analysis.provenance.created_unix, dt.timezone.utc)
        return when.strftime("%Y-%m-%d %H:%M:%S UTC") + " (the analysis)"
    return NOT_RECORDED


def _duration(seconds: float) -> str:
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest:02d} s" if minutes else f"{rest} s"


def _load(load: tuple[float, ...] | None) -> str:
    return NOT_RECORDED if load is None else " / ".join(f"{value:.2f}" for value in load)


def _cpu(run: RunFacts) -> str:
    count = "?" if run.cpu_count is None else str(run.cpu_count)
    usable = "" if run.cpu_affinity in (None, run.cpu_count) else f", {run.cpu_affinity} usable"
    return (
        f"{run.cpu_model}: {count} CPU(s){usable}; at most {run.concurrency} session(s) at once,"
        " one benchmark at a time"
    )


def effect_text(row: Comparison | None) -> str:
    """``+12.3% [+8.1%, +16.0%]``: the pooled change with its adjusted interval."""
    if row is None:
        return "n/a"
    point = "n/a" if row.relative_change is None else fmt.change(row.relative_change)
    if row.interval is None:
        return point
    return f"{point} [{fmt.change(row.interval.low)}, {fmt.change(row.interval.high)}]"


def effects_table(verdict: Verdict, analysis: StatisticalAnalysis) -> list[list[str]]:
    """Header row, then one row per variant: intent, verdict, each metric's pooled effect."""
    header = ["Variant", "Intent", "Verdict"]
    header += [f"{fmt.metric_label(metric)} change" for metric in EFFECT_METRICS]
    rows = [header]
    for variant in verdict.variants:
        status = "passes every gate" if variant.passed else f"{len(variant.blocking)} gate(s) fail"
        effects = [effect_text(analysis.comparison(variant.variant, m)) for m in EFFECT_METRICS]
        rows.append([variant.variant, variant.intent, status, *effects])
    return rows
