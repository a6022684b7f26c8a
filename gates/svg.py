"""A few SVG primitives for the report's plots, written by hand.

Hand-written rather than matplotlib: four simple plot types do not justify a
plotting stack in the pipeline's dependencies, fixed-precision coordinates make
the HTML byte-identical for the same inputs, and text stays text (selectable,
searchable, and rendered with the page's fonts). Inline SVG inside HTML needs
no namespace declaration, so the page holds no URL at all.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from html import escape

# Okabe & Ito (2008) colour-blind-safe palette; the baseline is drawn in ink.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#8C6D00")
BASELINE_INK = "#222222"
GRID = "#e3e3e3"
AXIS = "#555555"
GREEN = "#1a7f37"
RED = "#cf222e"


def num(value: float) -> str:
    """A coordinate with fixed precision, so output bytes do not depend on float noise."""
    text = f"{value:.1f}"
    return "0.0" if text == "-0.0" else text


@dataclass(frozen=True)
class Scale:
    """A linear map from data values to pixels."""

    low: float
    high: float
    start: float
    end: float

    def __call__(self, value: float) -> float:
        span = self.high - self.low or 1.0
        return self.start + (value - self.low) / span * (self.end - self.start)


def nice_ticks(low: float, high: float, count: int = 6) -> list[float]:
    """Round tick values covering [low, high] (1, 2, 2.5 or 5 times a power of ten)."""
    if not (math.isfinite(low) and math.isfinite(high)):
        return []
    if high <= low:
        high = low + 1.0
    raw_step = (high - low) / max(count - 1, 1)
    magnitude = 10 ** math.floor(math.log10(raw_step))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw_step)
    first = math.floor(low / step + 1e-9) * step
    ticks = []
    tick = first
    while tick <= high + step * 1e-9:
        if tick >= low - step * 1e-9:
            ticks.append(round(tick, 12))
        tick += step
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
    """Widen [low, high] so marks never touch the frame."""
    if high <= low:
        return low - 1.0, high + 1.0
    margin = (high - low) * share
    return low - margin, high + margin


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
