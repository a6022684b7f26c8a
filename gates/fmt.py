"""Pure formatting of the numbers gates talk about, shared by reasons and reports.

Fixed precision everywhere so that the same inputs give the same bytes.
"""

from __future__ import annotations

from gates.evidence import Interval
from gates.verdict import COUNT, FLAG, FRACTION, RELATIVE_CHANGE, Value

METRIC_LABELS = {
    "qa_per_100k": "QA/100k",
    "latency_mean": "mean latency",
    "latency_p95": "p95 latency",
    "peak_memory_mean": "peak memory",
}


def metric_label(metric: str) -> str:
    return METRIC_LABELS.get(metric, metric)


def change(value: float) -> str:
    """A relative change as a signed percentage: 0.1234 -> '+12.3%'."""
    text = f"{value * 100:+.1f}%"
    return "+0.0%" if text == "-0.0%" else text


def share(value: float) -> str:
    """A fraction in [0, 1] as a percentage: 0.8 -> '80.0%'."""
    return f"{value * 100:.1f}%"


def level(confidence_level: float) -> str:
    """A confidence level without noise: 0.99 -> '99%', 0.995 -> '99.5%'."""
    return f"{confidence_level * 100:.4g}%"


def interval(bounds: Interval) -> str:
    return f"[{change(bounds.low)}, {change(bounds.high)}] at {level(bounds.confidence_level)}"


def short_sha(sha: str) -> str:
    return sha[:12]


def value(unit: str, observed: Value) -> str:
    """Format a gate's threshold or observed value for people."""
    if observed is None:
        return "n/a"
    if isinstance(observed, bool) or unit == FLAG:
        return "yes" if observed else "no"
    if isinstance(observed, int | float) and unit == RELATIVE_CHANGE:
        return change(float(observed))
    if isinstance(observed, int | float) and unit == FRACTION:
        return share(float(observed))
    if isinstance(observed, int | float) and unit == COUNT:
        return str(int(observed))
    return str(observed)
