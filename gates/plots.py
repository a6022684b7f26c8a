"""The report's four plots as inline SVG: intervals, QA against budget, latency, power.

Each function takes plain typed rows and returns an ``<svg>`` string (pure).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from gates import fmt, svg
from gates.evidence import Interval, Quantiles

WIDTH = 1040.0
LABEL_MARGIN = 150.0
RIGHT_MARGIN = 40.0


@dataclass(frozen=True)
class ForestRow:
    variant: str
    budget: str
    colour: str
    relative_change: float | None
    interval: Interval | None
    pooled: bool


@dataclass(frozen=True)
class ThresholdLine:
    value: float
    label: str
    colour: str


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


# --- forest plot -----------------------------------------------------------------


def forest_plot(
    title: str, rows: Sequence[ForestRow], thresholds: Sequence[ThresholdLine], better: str
) -> str:
    """Each variant's relative change with its interval, per budget and pooled."""
    row_height, group_gap, top, bottom = 20.0, 10.0, 24.0 + 14.0 * len(thresholds), 70.0
    positions = _row_positions(rows, top, row_height, group_gap)
    height = (positions[-1] if positions else top) + row_height / 2 + bottom
    values = [0.0, *(t.value for t in thresholds)]
    for row in rows:
        values += [row.interval.low, row.interval.high] if row.interval else []
        values += [row.relative_change] if row.relative_change is not None else []
    low, high = svg.padded(min(values), max(values))
    scale = svg.Scale(low, high, LABEL_MARGIN, WIDTH - RIGHT_MARGIN)
    axis_y = height - bottom + 6
    ticks = svg.percent_labels(svg.nice_ticks(low, high, 8))
    body = [*_group_bands(rows, positions, row_height), *svg.x_axis(scale, axis_y, top - 8, ticks)]
    body += _threshold_lines(thresholds, scale, top - 8, axis_y)
    for row, y in zip(rows, positions, strict=True):
        body += _forest_row(row, y, scale)
    body.append(
        svg.text(
            scale.start,
            axis_y + 38,
            f"relative change against the measured baseline ({better})",
            size=12,
        )
    )
    body += _forest_legend(axis_y + 56)
    return svg.document(WIDTH, height, title, body)


def _row_positions(
    rows: Sequence[ForestRow], top: float, row_height: float, group_gap: float
) -> list[float]:
    positions, y, previous = [], top, None
    for row in rows:
        if previous is not None and row.variant != previous:
            y += group_gap
        positions.append(y + row_height / 2)
        y += row_height
        previous = row.variant
    return positions


def _group_bands(rows: Sequence[ForestRow], positions: list[float], row_height: float) -> list[str]:
    """Shade every other variant's rows so groups read at a glance."""
    bands, shade, start = [], False, 0
    for index, row in enumerate(rows):
        last = index + 1 == len(rows) or rows[index + 1].variant != row.variant
        if last:
            if shade:
                top = positions[start] - row_height / 2
                height = positions[index] - positions[start] + row_height
                bands.append(svg.rect(8, top, WIDTH - 16, height, fill="#f4f6f8"))
            shade, start = not shade, index + 1
    return bands


def _threshold_lines(
    thresholds: Sequence[ThresholdLine], scale: svg.Scale, top: float, bottom: float
) -> list[str]:
    parts = [svg.line(scale(0.0), top, scale(0.0), bottom, stroke=svg.AXIS, width=1.5)]
    for index, threshold in enumerate(thresholds):
        x = scale(threshold.value)
        parts.append(svg.line(x, top, x, bottom, stroke=threshold.colour, width=2, dash="6 4"))
        # Keep the label inside the frame when the line is near an edge.
        anchor = "end" if x > scale.end - 120 else "start" if x < scale.start + 120 else "middle"
        nudge = {"end": 4.0, "start": -4.0, "middle": 0.0}[anchor]
        parts.append(
            svg.text(
                x + nudge,
                top - 6 - 14 * index,
                threshold.label,
                anchor=anchor,
                size=12,
                weight="bold",
                fill=threshold.colour,
            )
        )
    return parts


def _forest_row(row: ForestRow, y: float, scale: svg.Scale) -> list[str]:
    weight = "bold" if row.pooled else "normal"
    label = f"{row.variant} · {row.budget}"
    parts = [svg.text(LABEL_MARGIN - 10, y + 4, label, anchor="end", size=12, weight=weight)]
    if row.interval is not None:
        low, high = scale(row.interval.low), scale(row.interval.high)
        width = 3.0 if row.pooled else 2.0
        parts.append(svg.line(low, y, high, y, stroke=row.colour, width=width))
        for x in (low, high):
            parts.append(svg.line(x, y - 5, x, y + 5, stroke=row.colour, width=width))
    if row.relative_change is not None:
        x = scale(row.relative_change)
        marker = (
            svg.diamond(x, y, 7, fill=row.colour)
            if row.pooled
            else svg.circle(x, y, 4.5, fill=row.colour)
        )
        parts.append(marker)
    if row.interval is None:
        parts.append(_no_interval_label(row, y, scale))
    return parts


def _no_interval_label(row: ForestRow, y: float, scale: svg.Scale) -> str:
    """Beside the point estimate, on whichever side has room (the point itself can sit at
    the right edge of the axis, where a label at the margin would cover it)."""
    if row.relative_change is None:
        return svg.text(WIDTH - RIGHT_MARGIN, y + 4, "no interval", anchor="end", size=11)
    x = scale(row.relative_change)
    if x > scale.end - 90:
        return svg.text(x - 10, y + 4, "no interval", anchor="end", size=11)
    return svg.text(x + 10, y + 4, "no interval", anchor="start", size=11)


def _forest_legend(y: float) -> list[str]:
    x = LABEL_MARGIN
    return [
        svg.circle(x + 5, y - 4, 4.5, fill=svg.AXIS),
        svg.text(x + 16, y, "per budget", size=12),
        svg.diamond(x + 120, y - 4, 7, fill=svg.AXIS),
        svg.text(x + 132, y, "pooled over budgets (gates decide on this)", size=12),
        svg.line(x + 420, y - 4, x + 460, y - 4, stroke=svg.AXIS, width=3),
        svg.text(x + 468, y, "BCa interval at the adjusted level", size=12),
    ]


# --- QA/100k against budget -----------------------------------------------------------


def budget_plot(title: str, budgets: Sequence[str], series: Sequence[Series]) -> str:
    """QA/100k at each token budget: the baseline and each variant."""
    height, top, bottom, left, legend_width = 380.0, 24.0, 64.0, 80.0, 250.0
    values = [v for s in series for v in s.values if v is not None]
    low, high = svg.padded(min(values, default=0.0), max(values, default=1.0))
    y_scale = svg.Scale(low, high, height - bottom, top)
    right = WIDTH - legend_width
    step = (right - left) / max(len(budgets), 1)
    xs = [left + step * (index + 0.5) for index in range(len(budgets))]
    ticks = [(tick, f"{tick:g}") for tick in svg.nice_ticks(low, high)]
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
        body += _series(one, xs, y_scale)
    for index, one in enumerate(series):
        body += _legend_entry(right + 20, top + 12 + 22 * index, one)
    return svg.document(WIDTH, height, title, body)


def _series(series: Series, xs: list[float], y_scale: svg.Scale) -> list[str]:
    points = [(x, y_scale(v)) for x, v in zip(xs, series.values, strict=True) if v is not None]
    if series.baseline:
        line = svg.polyline(points, stroke=series.colour, width=2.5, dash="7 5")
        markers = [svg.rect(x - 4, y - 4, 8, 8, fill=series.colour) for x, y in points]
    else:
        line = svg.polyline(points, stroke=series.colour, width=2.5)
        markers = [svg.circle(x, y, 4.5, fill=series.colour) for x, y in points]
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
    low, high = svg.padded(min(values, default=0.0), max(values, default=1.0))
    low = max(low, 0.0)
    scale = svg.Scale(low, high, LABEL_MARGIN, WIDTH - RIGHT_MARGIN)
    axis_y = height - bottom + 6
    ticks = [(tick, f"{tick:g}") for tick in svg.nice_ticks(low, high, 8)]
    body = svg.x_axis(scale, axis_y, top, ticks)
    for box, y in zip(boxes, positions, strict=True):
        body += _box(box, y, scale)
    body.append(
        svg.text(
            scale.start,
            axis_y + 38,
            "latency per run, ms (whiskers p5 to p95, box p25 to p75, bar at the median)",
            size=12,
        )
    )
    return svg.document(WIDTH, height, title, body)


def _box(box: Box, y: float, scale: svg.Scale) -> list[str]:
    q = box.quantiles
    weight = "bold" if box.name == "baseline" else "normal"
    return [
        svg.text(
            LABEL_MARGIN - 10,
            y + 4,
            f"{box.group} · {box.name}",
            anchor="end",
            size=12,
            weight=weight,
        ),
        svg.line(scale(q.p5), y, scale(q.p95), y, stroke=box.colour, width=1.5),
        svg.line(scale(q.p5), y - 5, scale(q.p5), y + 5, stroke=box.colour, width=1.5),
        svg.line(scale(q.p95), y - 5, scale(q.p95), y + 5, stroke=box.colour, width=1.5),
        svg.rect(
            scale(q.p25),
            y - 7,
            scale(q.p75) - scale(q.p25),
            14,
            fill=box.colour,
            stroke=box.colour,
            opacity=0.35,
        ),
        svg.line(scale(q.p50), y - 8, scale(q.p50), y + 8, stroke=svg.BASELINE_INK, width=2.5),
    ]


# --- power -------------------------------------------------------------------------------


def power_plot(title: str, bars: Sequence[PowerBar], threshold: float) -> str:
    """Achieved power on each variant's primary metric, with the required power drawn."""
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
            "achieved power on the variant's primary metric (pooled)",
            size=12,
        )
    )
    return svg.document(WIDTH, height, title, body)


def _power_bar(bar: PowerBar, y: float, scale: svg.Scale, threshold: float) -> list[str]:
    parts = [svg.text(LABEL_MARGIN - 10, y + 4, bar.variant, anchor="end", size=12, weight="bold")]
    if bar.achieved is None:
        parts.append(svg.text(scale.start + 6, y + 4, f"no power analysis ({bar.metric})", size=12))
        return parts
    colour = svg.GREEN if bar.achieved >= threshold else svg.RED
    parts.append(
        svg.rect(
            scale.start, y - 9, scale(bar.achieved) - scale.start, 18, fill=colour, opacity=0.8
        )
    )
    label = f"{fmt.share(bar.achieved)} on {bar.metric}" + (f" — {bar.note}" if bar.note else "")
    parts.append(svg.text(scale(1.0) + 8, y + 4, label, size=12))
    return parts
