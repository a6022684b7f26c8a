"""A few SVG primitives for the report's plots, written by hand.

Hand-written rather than matplotlib: four simple plot types do not justify a
plotting stack in the pipeline's dependencies, fixed-precision coordinates make
the HTML byte-identical for the same inputs, and text stays text (selectable,
searchable, and rendered with the page's fonts). Inline SVG inside HTML needs
no namespace declaration, so the page holds no URL at all.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from html import escape

# Okabe & Ito (2008) colour-blind-safe palette; the baseline is drawn in ink.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#8C6D00")
BASELINE_INK = "#222222"
GRID = "#e3e3e3"
AXIS = "#555555"
GREEN = "#1a7f37"
RED = "#cf222e"


WIDTH = 1040.0
"""Every plot of the report: this wide, its rows labelled left of ``LABEL_MARGIN``."""
LABEL_MARGIN = 150.0
RIGHT_MARGIN = 40.0
LARGEST = sys.float_info.max
COORDINATE_LIMIT = 1e6
"""Far outside any plot; the plots clamp values to their frame before this, so the
limit only keeps a stray coordinate from printing as a 300-digit number."""


def num(value: float) -> str:
    """A coordinate with fixed precision, so output bytes do not depend on float noise."""
    if math.isnan(value):
        raise ValueError("a plot coordinate is NaN")  # a defect: the plots clamp every value
    text = f"{min(max(value, -COORDINATE_LIMIT), COORDINATE_LIMIT):.1f}"
    return "0.0" if text == "-0.0" else text


@dataclass(frozen=True)
class Scale:
    """A linear map from data values to pixels."""

    low: float
    high: float
    start: float
    end: float

    def __call__(self, value: float) -> float:
        # Halves, so that high - low cannot overflow even for bounds near +-1e308.
        span = self.high / 2 - self.low / 2 or 0.5
        return self.start + (value / 2 - self.low / 2) / span * (self.end - self.start)


def nice_ticks(low: float, high: float, count: int = 6) -> list[float]:
    """Round tick values covering [low, high] (1, 2, 2.5 or 5 times a power of ten).

    Total over finite floats: no overflow near +-1e308, no endless loop when the
    range is below the float resolution of its bounds (then the bounds are the ticks).
    """
    if not (math.isfinite(low) and math.isfinite(high)):
        return []
    if high <= low:
        high = low + 1.0
    intervals = max(count - 1, 1)
    raw_step = high / intervals - low / intervals
    if not raw_step > 0:
        return [low]
    if not math.isfinite(raw_step):  # one step wider than the largest float
        return [low, high]
    magnitude = 10.0 ** math.floor(math.log10(raw_step))
    steps = (m * magnitude for m in (1, 2, 2.5, 5, 10))
    step = next((s for s in steps if s >= raw_step), LARGEST)
    first, last = math.floor(low / step + 1e-9), math.floor(high / step + 1e-9)
    if not 0 < step < LARGEST or last - first > 4 * count:
        return [low, high]
    ticks: list[float] = []
    for index in range(first, last + 1):
        tick = round(index * step, 12)
        # In steps, so that no sum overflows; a difference that does has the right sign.
        inside = (tick - low) / step >= -1e-9 and (high - tick) / step >= -1e-9
        if math.isfinite(tick) and inside and (not ticks or tick > ticks[-1]):
            ticks.append(tick)
    return ticks


def percent_labels(ticks: list[float]) -> list[tuple[float, str]]:
    """Tick labels for fractions as percentages, with only as many decimals as the step needs."""
    step = abs(ticks[1] - ticks[0]) if len(ticks) > 1 else 1.0
    decimals = 0 if step * 100 >= 1 - 1e-9 and (step * 100) % 1 < 1e-9 else 1
    labels = []
    for tick in ticks:
        label = f"{tick * 100:+.{decimals}f}%"
        labels.append((tick, "0%" if abs(tick) < 1e-12 else label))
    return labels


def padded(low: float, high: float, share: float = 0.08) -> tuple[float, float]:
    """Widen [low, high] so marks never touch the frame; finite for any finite bounds."""
    margin = max(1.0, abs(low) * share) if high <= low else high * share - low * share
    return max(low - margin, -LARGEST), min(high + margin, LARGEST)


def arrowhead(x: float, y: float, direction: str, *, fill: str, size: float = 7.0) -> str:
    """A triangle with its tip at (x, y), pointing ``left``, ``right``, ``up`` or ``down``:
    the mark of a value clipped at the edge of its axis."""
    half = size * 0.6
    base = {
        "right": ((x - size, y - half), (x - size, y + half)),
        "left": ((x + size, y - half), (x + size, y + half)),
        "up": ((x - half, y + size), (x + half, y + size)),
        "down": ((x - half, y - size), (x + half, y - size)),
    }[direction]
    points = [(x, y), *base]
    path = " ".join(f"{num(px)},{num(py)}" for px, py in points)
    return f'<polygon points="{path}" fill="{fill}"/>'


def text(
    x: float,
    y: float,
    content: str,
    *,
    anchor: str = "start",
    size: int = 12,
    weight: str = "normal",
    fill: str = BASELINE_INK,
    rotate: bool = False,
) -> str:
    transform = f' transform="rotate(-90 {num(x)} {num(y)})"' if rotate else ""
    return (
        f'<text x="{num(x)}" y="{num(y)}" text-anchor="{anchor}" font-size="{size}"'
        f' font-weight="{weight}" fill="{fill}"{transform}>{escape(content)}</text>'
    )


def line(
    x1: float,
    y1: float,
    x2: float,
    y2: float,
    *,
    stroke: str = AXIS,
    width: float = 1.0,
    dash: str | None = None,
) -> str:
    dashes = f' stroke-dasharray="{dash}"' if dash else ""
    return (
        f'<line x1="{num(x1)}" y1="{num(y1)}" x2="{num(x2)}" y2="{num(y2)}"'
        f' stroke="{stroke}" stroke-width="{width}"{dashes}/>'
    )


def rect(
    x: float,
    y: float,
    width: float,
    height: float,
    *,
    fill: str,
    stroke: str = "none",
    opacity: float = 1.0,
) -> str:
    return (
        f'<rect x="{num(x)}" y="{num(y)}" width="{num(max(width, 0.0))}"'
        f' height="{num(max(height, 0.0))}" fill="{fill}" stroke="{stroke}"'
        f' fill-opacity="{opacity}"/>'
    )


def circle(x: float, y: float, radius: float, *, fill: str, stroke: str = "white") -> str:
    return (
        f'<circle cx="{num(x)}" cy="{num(y)}" r="{num(radius)}" fill="{fill}" stroke="{stroke}"/>'
    )


def diamond(x: float, y: float, radius: float, *, fill: str) -> str:
    points = [(x, y - radius), (x + radius, y), (x, y + radius), (x - radius, y)]
    path = " ".join(f"{num(px)},{num(py)}" for px, py in points)
    return f'<polygon points="{path}" fill="{fill}" stroke="white"/>'


def polyline(
    points: list[tuple[float, float]], *, stroke: str, width: float = 2.0, dash: str | None = None
) -> str:
    path = " ".join(f"{num(x)},{num(y)}" for x, y in points)
    dashes = f' stroke-dasharray="{dash}"' if dash else ""
    return (
        f'<polyline points="{path}" fill="none" stroke="{stroke}" stroke-width="{width}"{dashes}/>'
    )


def document(width: float, height: float, label: str, body: list[str]) -> str:
    """An inline SVG element; ``label`` is what a screen reader says about the plot."""
    return (
        f'<svg viewBox="0 0 {num(width)} {num(height)}" width="{num(width)}"'
        f' height="{num(height)}" role="img" aria-label="{escape(label)}">'
        f"<title>{escape(label)}</title>" + "".join(body) + "</svg>"
    )


def x_axis(scale: Scale, y: float, top: float, labels: list[tuple[float, str]]) -> list[str]:
    """Vertical grid lines from ``top`` to ``y`` and tick labels under ``y``."""
    parts = [line(scale.start, y, scale.end, y, stroke=AXIS)]
    for value, label in labels:
        x = scale(value)
        parts.append(line(x, top, x, y, stroke=GRID))
        parts.append(text(x, y + 16, label, anchor="middle", size=11, fill=AXIS))
    return parts


def y_axis(scale: Scale, x: float, right: float, labels: list[tuple[float, str]]) -> list[str]:
    """Horizontal grid lines from ``x`` to ``right`` and tick labels left of ``x``."""
    parts = [line(x, scale.start, x, scale.end, stroke=AXIS)]
    for value, label in labels:
        y = scale(value)
        parts.append(line(x, y, right, y, stroke=GRID))
        parts.append(text(x - 6, y + 4, label, anchor="end", size=11, fill=AXIS))
    return parts


def clip_marks(clipped: Mapping[int, list[str]], y: float, scale: Scale, colour: str) -> list[str]:
    """For a horizontal row at ``y``: an arrowhead at each edge (side -1 the start, +1 the
    end) where values of the row were clipped, and their true values above the row,
    inside the frame."""
    parts = []
    for side, values in clipped.items():
        if not values:
            continue
        edge = scale.end if side > 0 else scale.start
        # Just outside the frame, where no marker drawn at the edge can cover it.
        parts.append(arrowhead(edge + 9 * side, y, "right" if side > 0 else "left", fill=colour))
        anchor, x = ("end", edge - 10) if side > 0 else ("start", edge + 10)
        parts.append(text(x, y - 7, ", ".join(values), anchor=anchor, size=10, fill=AXIS))
    return parts
