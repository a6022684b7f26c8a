"""What the gates conclude: one result per gate, per variant, and the decision."""

from __future__ import annotations

from dataclasses import dataclass

from gates.evidence import Interval

PROMOTE = "promote"
REJECT = "reject"
# Evidence that may report but never promote (an exploratory profile, a reduced run).
EXPLORATORY = "exploratory"

# How a gate's threshold and observed value are read and formatted.
RELATIVE_CHANGE = "relative_change"  # a signed fraction: +0.13 is +13%
FRACTION = "fraction"  # a share in [0, 1]: 0.8 is 80%
COUNT = "count"
FLAG = "flag"
TEXT = "text"

Value = float | int | bool | str | None

# The comparator of an equivalence gate: |observed| and its interval within +/- threshold.
WITHIN = "within +/-"

# The order gates are listed in, everywhere: provenance, intent-specific, shared.
GATE_ORDER = (
    "analysis_current",
    "evidence_chain",
    "run_completed",
    "qa_improvement",
    "qa_significance",
    "qa_unchanged",
    "latency_improvement",
    "memory_improvement",
    "qa_budget_guard",
    "recall_guard",
    "latency_non_inferiority",
    "latency_p95_non_inferiority",
    "power",
    "mutation_score",
    "property_coverage",
    "security",
    "smoke_tests",
    "differential",
    "shadow",
    "environment_stable",
)


@dataclass(frozen=True)
class GateResult:
    """One gate for one variant: what was required, what was seen, and why it passed or not."""

    name: str
    passed: bool
    reason: str
    comparator: str
    threshold: Value
    observed: Value
    unit: str
    measure: str = ""
    interval: Interval | None = None


@dataclass(frozen=True)
class VariantVerdict:
    """Every gate of one candidate, and the two numbers the decision ranks by."""

    variant: str
    intent: str
    primary_metric: str
    gates: tuple[GateResult, ...]
    qa_gain: float | None
    latency_change: float | None
    # The pooled intervals behind the two numbers: a promoted gain is shown with its interval.
    qa_interval: Interval | None = None
    latency_interval: Interval | None = None

    @property
    def passed(self) -> bool:
        return all(gate.passed for gate in self.gates)

    @property
    def blocking(self) -> tuple[GateResult, ...]:
        return tuple(gate for gate in self.gates if not gate.passed)

    def gate(self, name: str) -> GateResult | None:
        return next((gate for gate in self.gates if gate.name == name), None)


@dataclass(frozen=True)
class Verdict:
    """The decision over all candidates."""

    decision: str
    chosen: str | None
    reason: str
    variants: tuple[VariantVerdict, ...]

    @property
    def blocked_summary(self) -> str:
        """Which gates blocked which variant, in one line: ``V1: power; V4: qa_improvement``."""
        return "; ".join(
            f"{v.variant}: {', '.join(gate.name for gate in v.blocking)}"
            for v in self.variants
            if not v.passed
        )

    @property
    def gate_names(self) -> tuple[str, ...]:
        """Every gate that appears for some variant, in :data:`GATE_ORDER`."""
        names = {gate.name for verdict in self.variants for gate in verdict.gates}
        known = [name for name in GATE_ORDER if name in names]
        return (*known, *sorted(names.difference(GATE_ORDER)))
