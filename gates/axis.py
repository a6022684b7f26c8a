"""Axis ranges that stay readable whatever finite numbers the evidence holds.

The readers accept any finite number, and 1e308 is finite. Drawn to scale, one
such value would flatten every other mark of its plot into a pixel (and,
before this module, overflowed the tick arithmetic). So each plot fits its
axis only to the values inside a plausible window, and every value outside
the fitted range is clamped to the frame's edge and marked there with an
arrowhead and its true value (:mod:`gates.plots`). Nothing is dropped
silently; only the scale refuses to follow an absurd value.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from gates import svg

RELATIVE_CHANGE_WINDOW = (-1.0, 5.0)
"""-100% is as low as a non-negative metric can fall; +500% (six times the baseline)
is about twice the largest change a real run has shown (V4's latency upper bound,
+237%), while the gates' thresholds sit within +-20%. Beyond it, an interval is
drawn to the edge and labelled instead of stretching the axis."""

TYPICAL_REACH = 20.0
"""Absolute values (QA/100k, latency in ms) fit the axis when within 20 times the
typical magnitude. Budgets 4 times apart, a slow variant (+159%) and a p95 tail
together keep real values within about 10 times their median; a value beyond 20
times would squeeze the rest into a twentieth of the plot."""


@dataclass(frozen=True)
class Clamped:
    value: float  # inside the axis
    side: int  # -1 clipped at the low end, +1 at the high end, 0 drawn to scale


@dataclass(frozen=True)
class Axis:
    """A padded, finite range; values outside it are drawn at its edge."""

    low: float
    high: float

    def clamp(self, value: float) -> Clamped:
        if value < self.low:
            return Clamped(self.low, -1)
        if value > self.high:
            return Clamped(self.high, 1)
        return Clamped(value, 0)


def fit(values: Iterable[float], window: tuple[float, float]) -> Axis:
    """The padded range of the finite ``values`` inside ``window`` (others are clipped)."""
    inside = [v for v in values if math.isfinite(v) and window[0] <= v <= window[1]]
    if not inside:
        return Axis(*svg.padded(0.0, 1.0))
    return Axis(*svg.padded(min(inside), max(inside)))


def typical_window(values: Iterable[float], reach: float = TYPICAL_REACH) -> tuple[float, float]:
    """``+-reach`` times the typical magnitude: the lower median of the non-zero ones,
    which stays typical when up to half the values are absurdly large."""
    magnitudes = sorted(abs(v) for v in values if math.isfinite(v) and v != 0.0)
    if not magnitudes:
        return (-reach, reach)
    typical = magnitudes[(len(magnitudes) - 1) // 2]
    limit = min(typical * reach, svg.LARGEST)
    return (-limit, limit)
