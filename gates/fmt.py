"""Pure formatting of the numbers gates talk about, shared by reasons and reports.

Fixed precision everywhere so that the same inputs give the same bytes; total over
floats (a relative change of 1e308 is written, not raised on or shown as "inf").
"""

from __future__ import annotations

import math
from decimal import Decimal

from gates.evidence import Interval
from gates.verdict import COUNT, FLAG, FRACTION, RELATIVE_CHANGE, Value

METRIC_LABELS = {
    "qa_per_100k": "QA/100k",
    "latency_mean": "mean latency",
    "latency_p95": "p95 latency",
    "peak_memory_mean": "peak memory",
    "recall_mean": "recall",
}


def metric_label(metric: str) -> str:
    return METRIC_LABELS.get(metric, metric)


LARGEST_FIXED_PERCENT = 1e6
"""From a million percent on, a percentage is written in powers of ten."""


def _percent(value: float, spec: str) -> str:
    """``value`` as a percentage. Total over floats: ``1e308 * 100`` overflows to ``inf``
    in floats, so huge values are scaled exactly (Decimal) and written as ``+1.0e+310%``;
    NaN and infinities, which no reader accepts, are written as ``n/a``."""
    if not math.isfinite(value):
        return "n/a"
    if abs(value) * 100 < LARGEST_FIXED_PERCENT:
        return f"{value * 100:{spec}}%"
    sign = "+" if spec.startswith("+") else ""
    return f"{Decimal(value) * 100:{sign}.1e}%"


def change(value: float) -> str:
    """A relative change as a signed percentage: 0.1234 -> '+12.3%'."""
    text = _percent(value, "+.1f")
    return "+0.0%" if text == "-0.0%" else text


def share(value: float) -> str:
    """A fraction in [0, 1] as a percentage: 0.8 -> '80.0%'."""
    return _percent(value, ".1f")


def level(confidence_level: float) -> str:
    """A confidence level without noise, and never rounded up to certainty: 0.99 -> '99%',
    0.995 -> '99.5%', 0.9984375 -> '99.84%', a first look's 0.9999988 -> '99.99988%'
    (two significant digits of what the level leaves out, so "100%" is only 100%)."""
    missed = 1.0 - confidence_level
    if not (math.isfinite(confidence_level) and 0.0 < missed < 1.0):
        return _percent(confidence_level, ".4g")
    decimals = min(12, max(0, 1 - math.floor(math.log10(missed * 100))))
    text = f"{confidence_level * 100:.{decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return f"{text}%"


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
        return count(observed)
    return str(observed)


def count(value: float) -> str:
    """A count as an integer; one beyond any real count in powers of ten (``int(1e308)``
    has 309 digits)."""
    if not math.isfinite(value):
        return "n/a"
    if abs(value) >= 1e15:
        return f"{value:.3g}"
    return str(int(value))
