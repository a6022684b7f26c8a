"""The report's four plots as inline SVG: intervals, QA against budget, latency, power.

Each function takes plain typed rows and returns an ``<svg>`` string (pure). The
forest plot of intervals lives in :mod:`gates.forest`; every axis is fitted by
:mod:`gates.axis`, so an absurd value is clipped and labelled, never drawn to scale.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from gates import axis, fmt, svg
from gates.evidence import QUANTILE_NAMES, Quantiles
from gates.forest import ForestRow, ThresholdLine, forest_plot
from gates.svg import LABEL_MARGIN, RIGHT_MARGIN, WIDTH

__all__ = [
    "Box",
    "ForestRow",
    "PowerBar",
    "Series",
    "ThresholdLine",
    "budget_plot",
    "forest_plot",
    "latency_plot",
    "power_plot",
]


@dataclass(frozen=True)
class Series:
    name: str
    colour: str
    values: tuple[float | None, ...]
    baseline: bool = False


@dataclass(frozen=True)
class Box:
    group: str
    name: str
    colour: str
    quantiles: Quantiles


@dataclass(frozen=True)
class PowerBar:
    variant: str
    metric: str
    achieved: float | None
    colour: str
    note: str
    passed: bool | None = None  # the gate's own pass or fail; None: judged by the threshold


# --- QA/100k against budget -----------------------------------------------------------


def budget_plot(title: str, budgets: Sequence[str], series: Sequence[Series]) -> str:
    """QA/100k at each token budget: the baseline and each variant."""
    height, top, bottom, left, legend_width = 380.0, 24.0, 64.0, 80.0, 250.0
    values = [v for s in series for v in s.values if v is not None]
    fitted = axis.fit(values, axis.typical_window(values))
    y_scale = svg.Scale(fitted.low, fitted.high, height - bottom, top)
    right = WIDTH - legend_width
    step = (right - left) / max(len(budgets), 1)
    xs = [left + step * (index + 0.5) for index in range(len(budgets))]
    ticks = [(tick, f"{tick:g}") for tick in svg.nice_ticks(fitted.low, fitted.high)]
    body = svg.y_axis(y_scale, left, right, ticks)
    body.append(svg.line(left, height - bottom, right, height - bottom))
    for x, budget in zip(xs, budgets, strict=True):
        body.append(svg.text(x, height - bottom + 18, budget, anchor="middle", size=12))
    body.append(svg.text((left + right) / 2, height - 18, "token budget", anchor="middle", size=12))
    body.append(
        svg.text(
            18,
            (top + height - bottom) / 2,
            "QA/100k (higher is better)",
            anchor="middle",
            size=12,
            rotate=True,
        )
    )
    # The baseline goes on top, dashed, so variants equal to it stay visible beneath.
    for one in sorted(series, key=lambda one: one.baseline):
        body += _series(one, xs, y_scale, fitted)
    for index, one in enumerate(series):
        body += _legend_entry(right + 20, top + 12 + 22 * index, one)
    return svg.document(WIDTH, height, title, body)


def _series(series: Series, xs: list[float], y_scale: svg.Scale, fitted: axis.Axis) -> list[str]:
    measured = [(x, v) for x, v in zip(xs, series.values, strict=True) if v is not None]
    points = [(x, y_scale(fitted.clamp(v).value)) for x, v in measured]
    if series.baseline:
        line = svg.polyline(points, stroke=series.colour, width=2.5, dash="7 5")
        markers = [svg.rect(x - 4, y - 4, 8, 8, fill=series.colour) for x, y in points]
    else:
        line = svg.polyline(points, stroke=series.colour, width=2.5)
        markers = [svg.circle(x, y, 4.5, fill=series.colour) for x, y in points]
    # A value beyond the axis sits on its edge with an arrowhead and its true value.
    for (x, value), (_, y) in zip(measured, points, strict=True):
        side = fitted.clamp(value).side
        if side:
            tip = y - 9 * side  # beyond the frame, where the marker cannot cover it
            markers.append(svg.arrowhead(x, tip, "up" if side > 0 else "down", fill=series.colour))
            markers.append(svg.text(x + 8, y + (12 if side > 0 else -4), f"{value:.4g}", size=10))
    return ([line] if len(points) > 1 else []) + markers


def _legend_entry(x: float, y: float, series: Series) -> list[str]:
    weight = "bold" if series.baseline else "normal"
    dash = "7 5" if series.baseline else None
    return [
        svg.line(x, y - 4, x + 26, y - 4, stroke=series.colour, width=3, dash=dash),
        svg.text(x + 34, y, series.name, size=12, weight=weight),
    ]


# --- latency distributions ----------------------------------------------------------------


def latency_plot(title: str, boxes: Sequence[Box]) -> str:
    """Box plots from quantiles: whiskers p5-p95, box p25-p75, line at the median."""
    row_height, group_gap, top, bottom = 22.0, 16.0, 16.0, 64.0
    y, positions, previous = top, [], None
    for box in boxes:
        y += group_gap if previous not in (None, box.group) else 0.0
        positions.append(y + row_height / 2)
        y += row_height
        previous = box.group
    height = y + bottom
    values = [value for box in boxes for value in (box.quantiles.p5, box.quantiles.p95)]
    fitted = axis.fit(values, axis.typical_window(values))
    if fitted.high > 0:  # latency is not negative: no axis below 0 ms
        fitted = axis.Axis(max(fitted.low, 0.0), fitted.high)
    scale = svg.Scale(fitted.low, fitted.high, LABEL_MARGIN, WIDTH - RIGHT_MARGIN)
    axis_y = height - bottom + 6
    ticks = [(tick, f"{tick:g}") for tick in svg.nice_ticks(fitted.low, fitted.high, 8)]
    body = svg.x_axis(scale, axis_y, top, ticks)
    for box, y in zip(boxes, positions, strict=True):
        body += _box(box, y, scale, fitted)
    body.append(
        svg.text(
            scale.start,
            axis_y + 38,
            "latency per run, ms (whiskers p5 to p95, box p25 to p75, bar at the median)",
            size=12,
        )
    )
    return svg.document(WIDTH, height, title, body)


def _box(box: Box, y: float, scale: svg.Scale, fitted: axis.Axis) -> list[str]:
    quantiles = {name: getattr(box.quantiles, name) for name in QUANTILE_NAMES}
    clamped = {name: fitted.clamp(value) for name, value in quantiles.items()}
    x = {name: scale(point.value) for name, point in clamped.items()}
    weight = "bold" if box.name == "baseline" else "normal"
    parts = [
        svg.text(
            LABEL_MARGIN - 10,
            y + 4,
            f"{box.group} · {box.name}",
            anchor="end",
            size=12,
            weight=weight,
        ),
        svg.line(x["p5"], y, x["p95"], y, stroke=box.colour, width=1.5),
        svg.rect(
            min(x["p25"], x["p75"]),
            y - 7,
            abs(x["p75"] - x["p25"]),
            14,
            fill=box.colour,
            stroke=box.colour,
            opacity=0.35,
        ),
        svg.line(x["p50"], y - 8, x["p50"], y + 8, stroke=svg.BASELINE_INK, width=2.5),
    ]
    clipped: dict[int, list[str]] = {-1: [], 1: []}
    for name in ("p5", "p95"):
        if not clamped[name].side:
            parts.append(svg.line(x[name], y - 5, x[name], y + 5, stroke=box.colour, width=1.5))
    for name, point in clamped.items():
        if point.side:
            clipped[point.side].append(f"{name} {quantiles[name]:.4g} ms")
    return parts + svg.clip_marks(clipped, y, scale, box.colour)


# --- power -------------------------------------------------------------------------------


def power_plot(
    title: str,
    bars: Sequence[PowerBar],
    threshold: float,
    *,
    caption: str = "achieved power on the variant's primary metric (pooled)",
) -> str:
    """Achieved power of each variant, with the required power drawn."""
    row_height, top, bottom = 30.0, 30.0, 60.0
    height = top + row_height * len(bars) + bottom
    scale = svg.Scale(0.0, 1.0, LABEL_MARGIN, WIDTH - 260)
    axis_y = top + row_height * len(bars) + 6
    ticks = [(tick / 10, f"{tick * 10}%") for tick in range(0, 11, 2)]
    body = svg.x_axis(scale, axis_y, top - 6, ticks)
    for index, bar in enumerate(bars):
        body += _power_bar(bar, top + row_height * (index + 0.5), scale, threshold)
    x = scale(threshold)
    body.append(svg.line(x, top - 10, x, axis_y, stroke=svg.RED, width=2, dash="6 4"))
    body.append(
        svg.text(
            x,
            top - 14,
            f"required {fmt.share(threshold)}",
            anchor="middle",
            size=12,
            weight="bold",
            fill=svg.RED,
        )
    )
    body.append(
        svg.text(
            scale.start,
            axis_y + 38,
            caption,
            size=12,
        )
    )
    return svg.document(WIDTH, height, title, body)


def _power_bar(bar: PowerBar, y: float, scale: svg.Scale, threshold: float) -> list[str]:
    parts = [svg.text(LABEL_MARGIN - 10, y + 4, bar.variant, anchor="end", size=12, weight="bold")]
    if bar.achieved is None:
        why = bar.note or f"no power analysis ({bar.metric})"
        parts.append(svg.text(scale.start + 6, y + 4, why, size=12))
        return parts
    passed = bar.achieved >= threshold if bar.passed is None else bar.passed
    colour = svg.GREEN if passed else svg.RED
    parts.append(
        svg.rect(
            scale.start, y - 9, scale(bar.achieved) - scale.start, 18, fill=colour, opacity=0.8
        )
    )
    on = f" on {bar.metric}" if bar.metric else ""  # empty when the caption names it
    label = f"{fmt.share(bar.achieved)}{on}" + (f" — {bar.note}" if bar.note else "")
    parts.append(svg.text(scale(1.0) + 8, y + 4, label, size=12))
    return parts
