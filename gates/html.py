"""``report.html``: one self-contained page (inline CSS and SVG, no URL, no script).

Decision banner first, then the gate table and what blocked whom, then the
plots: intervals per budget with the thresholds, QA/100k against budget,
latency distributions and power. Pure: the same inputs give the same bytes.
"""

from __future__ import annotations

from collections.abc import Iterable
from html import escape

from contracts.thresholds import LATENCY_MEAN, LATENCY_P95, PEAK_MEMORY, QA, GateThresholds
from gates import fmt, judged, plots, svg
from gates.evidence import (
    POOLED,
    Absent,
    Evidence,
    Quantiles,
    StatisticalAnalysis,
)
from gates.markdown import threshold_text
from gates.verdict import PROMOTE, TEXT, GateResult, Verdict
from packrepo.registry import Registry

FOREST_METRICS = (QA, LATENCY_MEAN, LATENCY_P95, PEAK_MEMORY)
# The gate the power chart shows (gates.rules.power): its observed value is the lowest
# design-stage power among the bounds it judges.
POWER_GATE = "power"

STYLE = """
body { margin: 0; background: #f6f7f9; color: #1f2328;
  font: 14px/1.45 "DejaVu Sans", "Liberation Sans", Arial, sans-serif; }
main { max-width: 1080px; margin: 0 auto; padding: 20px; }
section { background: #fff; border: 1px solid #d8dee4; border-radius: 8px;
  padding: 12px 18px 16px; margin: 16px 0; }
h1 { margin: 0 0 6px; font-size: 30px; }
h2 { font-size: 19px; margin: 6px 0 10px; }
.banner { border-radius: 8px; padding: 18px 22px; color: #fff; }
.banner.promote { background: #1a7f37; }
.banner.reject { background: #cf222e; }
.banner p { margin: 4px 0; font-size: 15px; }
.banner .meta { opacity: .9; font-size: 13px; }
table { border-collapse: collapse; width: 100%; font-size: 13px; }
th, td { border: 1px solid #d8dee4; padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #f0f3f6; }
td.pass { background: #dafbe1; color: #116329; white-space: nowrap; }
td.fail { background: #ffebe9; color: #a40e26; font-weight: bold; white-space: nowrap; }
td.na { color: #8c959f; text-align: center; }
th.chosen { background: #1a7f37; color: #fff; }
code { font-family: "DejaVu Sans Mono", monospace; font-size: 12px; }
ul.blocking li { margin: 3px 0; }
.note { color: #57606a; font-size: 13px; margin: 4px 0 8px; }
svg { display: block; max-width: 100%; height: auto; margin: 6px 0 14px;
  font-family: "DejaVu Sans", "Liberation Sans", Arial, sans-serif; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 2px 14px; margin: 0; }
dt { font-weight: bold; }
dd { margin: 0; font-family: "DejaVu Sans Mono", monospace; font-size: 12px; }
dl.run dd { font-family: inherit; font-size: 14px; }
dl.run dd ul { margin: 0; padding-left: 1.2em; }
"""


def render_html(
    verdict: Verdict, registry: Registry, evidence: Evidence, thresholds: GateThresholds
) -> str:
    colours = {v.name: svg.PALETTE[i % len(svg.PALETTE)] for i, v in enumerate(registry.candidates)}
    analysis = evidence.analysis
    sections = [
        _banner(verdict, evidence),
        _judged_section(evidence),
        _gate_section(verdict),
        _summary_section(verdict, analysis),
    ]
    if isinstance(analysis, StatisticalAnalysis):
        sections += [
            _forest_section(analysis, registry, thresholds, colours),
            _budget_section(analysis, registry, colours),
            _latency_section(analysis, registry, colours),
            _power_section(verdict, analysis, colours),
        ]
    else:
        sections.append(
            _section("Plots", f'<p class="note">{escape(analysis.reason)}: nothing to plot.</p>')
        )
    sections.append(_provenance_section(registry, evidence))
    title = f"FastPath gates: {_headline(verdict)}"
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(title)}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<main>\n"
        + "\n".join(sections)
        + "\n</main>\n</body>\n</html>\n"
    )


def _headline(verdict: Verdict) -> str:
    return f"PROMOTE {verdict.chosen}" if verdict.decision == PROMOTE else "REJECT"


def _section(title: str, content: str) -> str:
    return f"<section>\n<h2>{escape(title)}</h2>\n{content}\n</section>"


def _banner(verdict: Verdict, evidence: Evidence) -> str:
    css = "promote" if verdict.decision == PROMOTE else "reject"
    mark = "✓" if verdict.decision == PROMOTE else "✗"
    analysis = evidence.analysis
    meta = (
        f"Evidence for commit {fmt.short_sha(analysis.provenance.git_sha)}, config"
        f" {fmt.short_sha(analysis.provenance.config_sha256)}, seed {analysis.seed},"
        f" {analysis.n_resamples} bootstrap resamples"
        if isinstance(analysis, StatisticalAnalysis)
        else analysis.reason
    )
    blocked = (
        f"<p>Blocked: {escape(verdict.blocked_summary)}.</p>\n" if verdict.blocked_summary else ""
    )
    return (
        f'<header class="banner {css}">\n<h1>{mark} {escape(_headline(verdict))}</h1>\n'
        f"<p>{escape(_sentence(verdict.reason))}</p>\n{blocked}"
        f'<p class="meta">{escape(meta)}</p>\n</header>'
    )


def _judged_section(evidence: Evidence) -> str:
    """Profile, commit, date, wall time, load and CPUs: what the numbers below were made on."""
    items = "".join(
        f"<dt>{escape(label)}</dt><dd>{_fact(value)}</dd>"
        for label, value in judged.run_facts(evidence)
    )
    return _section("What was judged", f'<dl class="run">{items}</dl>')


def _fact(value: str | tuple[str, ...]) -> str:
    if isinstance(value, str):
        return escape(value)
    return "<ul>" + "".join(f"<li>{escape(line)}</li>" for line in value) + "</ul>"


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:] + "."


# --- gate table ----------------------------------------------------------------------


def _gate_section(verdict: Verdict) -> str:
    if not verdict.variants:
        return _section("Gates", '<p class="note">The registry lists no candidate variants.</p>')
    head = "".join(
        f'<th class="chosen">{escape(v.variant)} (chosen)</th>'
        if v.variant == verdict.chosen
        else f"<th>{escape(v.variant)} <small>{escape(v.intent)}</small></th>"
        for v in verdict.variants
    )
    rows = []
    for name in verdict.gate_names:
        gates = [v.gate(name) for v in verdict.variants]
        example = next(gate for gate in gates if gate is not None)
        cells = "".join(_gate_cell(gate) for gate in gates)
        rows.append(
            f"<tr><td><code>{escape(name)}</code></td>"
            f"<td>{escape(example.measure)}</td>"
            f"<td>{escape(threshold_text(example))}</td>{cells}</tr>"
        )
    table = (
        f"<table>\n<tr><th>Gate</th><th>Measures</th><th>Threshold</th>{head}</tr>\n"
        + "\n".join(rows)
        + "\n</table>"
    )
    note = (
        '<p class="note">Hover a cell for its reason; — marks a gate that does not apply to'
        " the variant's intent.</p>"
    )
    return _section("Gates", note + table + _blocking(verdict))


def _gate_cell(gate: GateResult | None) -> str:
    if gate is None:
        return '<td class="na">—</td>'
    css, mark = ("pass", "✓") if gate.passed else ("fail", "✗")
    shown = (
        ""
        if gate.unit == TEXT or gate.observed is None
        else f" {fmt.value(gate.unit, gate.observed)}"
    )
    return f'<td class="{css}" title="{escape(gate.reason)}">{mark}{escape(shown)}</td>'


def _blocking(verdict: Verdict) -> str:
    blocked = [v for v in verdict.variants if not v.passed]
    if not blocked:
        return ""
    items = []
    for variant in blocked:
        reasons = "".join(
            f"<li><code>{escape(g.name)}</code>: {escape(g.reason)}</li>" for g in variant.blocking
        )
        items.append(
            f"<li><b>{escape(variant.variant)}</b> ({escape(variant.intent)})"
            f"<ul>{reasons}</ul></li>"
        )
    return '<h3>Blocking gates</h3>\n<ul class="blocking">' + "".join(items) + "</ul>"


# --- per-variant summary -------------------------------------------------------------


def _summary_section(verdict: Verdict, analysis: StatisticalAnalysis | Absent) -> str:
    if isinstance(analysis, Absent) or not verdict.variants:
        return ""
    header, *rows = judged.effects_table(verdict, analysis)
    head = "".join(f"<th>{escape(cell)}</th>" for cell in header)
    body = "\n".join(
        f"<tr><th>{escape(row[0])}</th>"
        + "".join(f"<td>{escape(c)}</td>" for c in row[1:])
        + "</tr>"
        for row in rows
    )
    table = f"<table>\n<tr>{head}</tr>\n{body}\n</table>"
    note = (
        '<p class="note">Pooled over budgets, relative to the measured baseline, with the BCa'
        " interval at the multiplicity-adjusted level.</p>"
    )
    return _section("Variants", note + table)


# --- plots -------------------------------------------------------------------------------


def _budgets(analysis: StatisticalAnalysis, registry: Registry) -> list[str]:
    """Registry budgets first (in registry order), then any others the analysis used."""
    seen = list(registry.budgets)
    extra = sorted({row.budget for row in analysis.comparisons} - {*seen, POOLED})
    return [*seen, *extra]


def _forest_section(
    analysis: StatisticalAnalysis,
    registry: Registry,
    thresholds: GateThresholds,
    colours: dict[str, str],
) -> str:
    budgets = [*_budgets(analysis, registry), POOLED]
    lines = {
        QA: [
            plots.ThresholdLine(
                thresholds.qa_improvement,
                f"quality gate {fmt.change(thresholds.qa_improvement)}",
                svg.GREEN,
            )
        ],
        LATENCY_MEAN: [
            plots.ThresholdLine(
                thresholds.performance_regression,
                f"non-inferiority margin {fmt.change(thresholds.performance_regression)}",
                svg.RED,
            )
        ],
    }
    lines[LATENCY_P95] = lines[LATENCY_MEAN]
    figures = []
    for metric in FOREST_METRICS:
        rows = [
            plots.ForestRow(
                name, budget, colour, row.relative_change, row.interval, budget == POOLED
            )
            for name, colour in colours.items()
            for budget in budgets
            if (row := analysis.comparison(name, metric, budget)) is not None
        ]
        if not rows:
            continue
        better = "higher is better" if metric == QA else "lower is better"
        label = fmt.metric_label(metric)
        figures.append(f"<h3>{escape(label)}</h3>")
        figures.append(
            plots.forest_plot(
                f"{label}: relative change per budget", rows, lines.get(metric, []), better
            )
        )
    note = (
        '<p class="note">Point estimate and interval of each variant against the baseline, per'
        " budget and pooled. The solid vertical line is no change; dashed lines are the gate"
        " thresholds.</p>"
    )
    return _section("Intervals per budget", note + "\n".join(figures))


def _budget_section(
    analysis: StatisticalAnalysis, registry: Registry, colours: dict[str, str]
) -> str:
    budgets = _budgets(analysis, registry)
    baseline = tuple(_baseline_qa(analysis, colours, budget) for budget in budgets)
    series = [plots.Series("baseline (measured)", svg.BASELINE_INK, baseline, baseline=True)]
    for name, colour in colours.items():
        values = tuple(_variant_qa(analysis, name, budget) for budget in budgets)
        if any(value is not None for value in values):
            label = f"{name} (same as baseline)" if values == baseline else name
            series.append(plots.Series(label, colour, values))
    if all(value is None for s in series for value in s.values):
        return _section(
            "QA/100k against budget",
            '<p class="note">No QA/100k values per budget in the analysis.</p>',
        )
    return _section(
        "QA/100k against budget", plots.budget_plot("QA/100k against token budget", budgets, series)
    )


def _baseline_qa(
    analysis: StatisticalAnalysis, colours: dict[str, str], budget: str
) -> float | None:
    for name in colours:
        cell = analysis.distributions.get(name, {}).get(budget)
        if cell is not None and cell.baseline_qa_per_100k is not None:
            return cell.baseline_qa_per_100k
    rows = (analysis.comparison(name, QA, budget) for name in colours)
    return next((row.baseline_value for row in rows if row is not None), None)


def _variant_qa(analysis: StatisticalAnalysis, name: str, budget: str) -> float | None:
    cell = analysis.distributions.get(name, {}).get(budget)
    if cell is not None and cell.qa_per_100k is not None:
        return cell.qa_per_100k
    row = analysis.comparison(name, QA, budget)
    return None if row is None else row.variant_value


def _latency_section(
    analysis: StatisticalAnalysis, registry: Registry, colours: dict[str, str]
) -> str:
    boxes = list(_latency_boxes(analysis, _budgets(analysis, registry), colours))
    if not boxes:
        content = (
            '<p class="note">The analysis carries no latency quantiles'
            " (<code>distributions</code>).</p>"
        )
    else:
        content = plots.latency_plot("Latency distributions per budget", boxes)
    return _section("Latency distributions", content)


def _latency_boxes(
    analysis: StatisticalAnalysis, budgets: list[str], colours: dict[str, str]
) -> Iterable[plots.Box]:
    for budget in budgets:
        cells = {name: analysis.distributions.get(name, {}).get(budget) for name in colours}
        baseline: Quantiles | None = next(
            (
                c.baseline_latency_ms
                for c in cells.values()
                if c is not None and c.baseline_latency_ms
            ),
            None,
        )
        if baseline is not None:
            yield plots.Box(budget, "baseline", svg.BASELINE_INK, baseline)
        for name, cell in cells.items():
            if cell is not None and cell.latency_ms is not None:
                yield plots.Box(budget, name, colours[name], cell.latency_ms)


def _power_section(verdict: Verdict, analysis: StatisticalAnalysis, colours: dict[str, str]) -> str:
    """The power the ``power`` gate judged, read from its result: the chart cannot plot
    another metric's power than the table judges."""
    bars, threshold = [], None
    for v in verdict.variants:
        gate = v.gate(POWER_GATE)
        if gate is None:
            continue
        threshold = _number(gate.threshold) if _number(gate.threshold) is not None else threshold
        achieved = _number(gate.observed)
        note = "" if gate.passed else gate.reason.split(";")[0]  # "inconclusive: N units needed"
        if achieved is None:
            note = gate.reason  # no power analysis: the gate says why
        bars.append(plots.PowerBar(v.variant, "", achieved, colours[v.variant], note, gate.passed))
    if not bars or threshold is None:
        return ""
    caption = (
        "lowest design-stage power of each variant's powered bounds (mean latency at every"
        " budget; QA/100k for quality variants), as the power gate judges it; a bound already"
        " established passes without it"
    )
    return _section(
        "Statistical power",
        plots.power_plot("Power per variant, as gated", bars, threshold, caption=caption),
    )


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


# --- provenance ------------------------------------------------------------------------


def _provenance_section(registry: Registry, evidence: Evidence) -> str:
    entries = [
        ("registry config", registry.config_sha256),
        ("checkout commit", evidence.checkout_git_sha or "unknown (not a git checkout)"),
    ]
    analysis = evidence.analysis
    if isinstance(analysis, StatisticalAnalysis):
        environment = analysis.environment
        entries += [
            ("analysis commit", analysis.provenance.git_sha),
            ("seed", str(analysis.seed)),
            (
                "level",
                f"alpha {analysis.alpha:g} one-sided, Bonferroni over {analysis.family_size}"
                f" gated bounds: each at {1 - analysis.alpha / analysis.family_size:.5g}",
            ),
            (
                "profile",
                analysis.scope.profile + (" (exploratory)" if analysis.scope.exploratory else ""),
            ),
            (
                "A/A environment",
                "stable"
                if environment.stable
                else "unstable: " + ", ".join(environment.aa_significant),
            ),
            ("machines", ", ".join(environment.machines) or "none listed"),
        ]
    if evidence.timings is not None:
        entries += [
            (f"time: {stage}", f"{seconds:.1f} s")
            for stage, seconds in evidence.timings.stages.items()
        ]
    items = "".join(f"<dt>{escape(k)}</dt><dd>{escape(v)}</dd>" for k, v in entries)
    return _section("Provenance", f"<dl>{items}</dl>")
