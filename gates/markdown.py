"""``report.md``: the decision first, then a gates x variants table, then what blocked whom.

Short enough for a CI job summary (``$GITHUB_STEP_SUMMARY``). Pure: the same
verdict gives the same text.
"""

from __future__ import annotations

from gates import fmt, judged
from gates.evidence import Evidence, StatisticalAnalysis
from gates.verdict import PROMOTE, RELATIVE_CHANGE, TEXT, WITHIN, GateResult, Verdict

MARK_OK = "✅"
MARK_BLOCKED = "❌"
NOT_APPLICABLE = "—"


def render_markdown(verdict: Verdict, git_sha: str, evidence: Evidence | None = None) -> str:
    lines = [
        f"## FastPath gates: {headline(verdict)}",
        "",
        f"**{verdict.reason[:1].upper()}{verdict.reason[1:]}.**",
        "",
        f"Evidence for commit `{fmt.short_sha(git_sha)}`. Thresholds from `[tool.fastpath.gates]`.",
        "",
        *([] if evidence is None else run_list(evidence)),
        *gate_table(verdict),
        *blocking_list(verdict),
        *([] if evidence is None else effects(verdict, evidence)),
    ]
    return "\n".join(lines) + "\n"


def run_list(evidence: Evidence) -> list[str]:
    """What was judged: profile, commit, date, wall time, load and CPUs."""
    items = []
    for label, value in judged.run_facts(evidence):
        if isinstance(value, str):
            items.append(f"- **{label}**: {_escape(value)}")
        else:
            items += [f"- **{label}**:", *(f"  - {_escape(line)}" for line in value)]
    return [*items, ""]


def effects(verdict: Verdict, evidence: Evidence) -> list[str]:
    """Each variant's pooled effects with their adjusted intervals."""
    analysis = evidence.analysis
    if not isinstance(analysis, StatisticalAnalysis) or not verdict.variants:
        return []
    header, *rows = judged.effects_table(verdict, analysis)
    lines = ["### Effects", "", "| " + " | ".join(header) + " |", "|---" * len(header) + "|"]
    lines += ["| " + " | ".join(_escape(cell) for cell in row) + " |" for row in rows]
    note = (
        "Pooled over budgets, relative to the measured baseline; in brackets the BCa interval"
        " at the multiplicity-adjusted level."
    )
    return [*lines, "", note, ""]


def headline(verdict: Verdict) -> str:
    if verdict.decision == PROMOTE:
        return f"{MARK_OK} PROMOTE {verdict.chosen}"
    return f"{MARK_BLOCKED} REJECT (no variant promoted)"


def threshold_text(gate: GateResult) -> str:
    if gate.unit == TEXT:
        return str(gate.threshold)
    if gate.unit == RELATIVE_CHANGE and gate.threshold == 0:
        return "identical (= 0)" if gate.comparator == WITHIN else f"{gate.comparator} 0"
    return f"{gate.comparator} {fmt.value(gate.unit, gate.threshold)}"


def cell_text(gate: GateResult | None) -> str:
    if gate is None:
        return NOT_APPLICABLE
    mark = MARK_OK if gate.passed else MARK_BLOCKED
    if gate.unit == TEXT or gate.observed is None:
        return mark
    return f"{mark} {fmt.value(gate.unit, gate.observed)}"


def gate_table(verdict: Verdict) -> list[str]:
    if not verdict.variants:
        return []
    names = [v.variant for v in verdict.variants]
    rows = [
        "| Gate | Measures | Threshold | " + " | ".join(names) + " |",
        "|---|---|---|" + "---|" * len(names),
    ]
    for gate_name in verdict.gate_names:
        gates = [v.gate(gate_name) for v in verdict.variants]
        example = next(gate for gate in gates if gate is not None)
        cells = [
            _escape(example.measure),
            _escape(threshold_text(example)),
            *(cell_text(gate) for gate in gates),
        ]
        rows.append(f"| `{gate_name}` | " + " | ".join(cells) + " |")
    return [*rows, ""]


def blocking_list(verdict: Verdict) -> list[str]:
    blocked = [v for v in verdict.variants if not v.passed]
    if not blocked:
        return []
    lines = ["### Blocking gates", ""]
    for variant in blocked:
        reasons = "; ".join(f"`{g.name}`: {_escape(g.reason)}" for g in variant.blocking)
        lines.append(f"- **{variant.variant}** ({variant.intent}): {reasons}")
    return [*lines, ""]


def _escape(text: str) -> str:
    """Keep a reason inside its table cell or list item."""
    return " ".join(text.split()).replace("|", "\\|")
