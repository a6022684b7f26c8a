"""The forest plot: each variant's relative change with its interval, per budget and pooled,
against no change and the gate thresholds (inline SVG, pure).

The axis is fitted to what the gates judge, within :data:`gates.axis.RELATIVE_CHANGE_WINDOW`;
an estimate or bound beyond it is drawn at the frame's edge with an arrowhead, and its
true value is written above the row.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from gates import axis, fmt, svg
from gates.evidence import Interval
from gates.svg import LABEL_MARGIN, RIGHT_MARGIN, WIDTH


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


def forest_plot(
    title: str, rows: Sequence[ForestRow], thresholds: Sequence[ThresholdLine], better: str
) -> str:
    """Each variant's relative change with its interval, per budget and pooled."""
    fitted = axis.fit(_forest_values(rows, thresholds), axis.RELATIVE_CHANGE_WINDOW)
    clipping = any(_clipped(row, fitted) for row in rows)
    row_height, group_gap, top = 20.0, 10.0, 24.0 + 14.0 * len(thresholds)
    bottom = 88.0 if clipping else 70.0  # room for the legend's line about clipped values
    positions = _row_positions(rows, top, row_height, group_gap)
    height = (positions[-1] if positions else top) + row_height / 2 + bottom
    scale = svg.Scale(fitted.low, fitted.high, LABEL_MARGIN, WIDTH - RIGHT_MARGIN)
    axis_y = height - bottom + 6
    ticks = svg.percent_labels(svg.nice_ticks(fitted.low, fitted.high, 8))
    body = [*_group_bands(rows, positions, row_height), *svg.x_axis(scale, axis_y, top - 8, ticks)]
    body += _threshold_lines(thresholds, scale, fitted, top - 8, axis_y)
    for row, y in zip(rows, positions, strict=True):
        body += _forest_row(row, y, scale, fitted)
    body.append(
        svg.text(
            scale.start,
            axis_y + 38,
            f"relative change against the measured baseline ({better})",
            size=12,
        )
    )
    body += _forest_legend(axis_y + 56)
    if clipping:
        body += [
            svg.arrowhead(LABEL_MARGIN + 10, axis_y + 70, "right", fill=svg.AXIS),
            svg.text(
                LABEL_MARGIN + 16,
                axis_y + 74,
                "beyond the axis: drawn at its edge, the true value written above the row",
                size=12,
            ),
        ]
    return svg.document(WIDTH, height, title, body)


def _clipped(row: ForestRow, fitted: axis.Axis) -> bool:
    values = [row.interval.low, row.interval.high] if row.interval else []
    values += [row.relative_change] if row.relative_change is not None else []
    return any(fitted.clamp(value).side for value in values)


def _forest_values(rows: Sequence[ForestRow], thresholds: Sequence[ThresholdLine]) -> list[float]:
    """What the axis is fitted to: no change, the thresholds and the intervals the gates
    judge. A point without an interval joins only when no row has one, so a lone
    estimate cannot stretch the axis away from the intervals."""
    values = [0.0, *(t.value for t in thresholds)]
    with_interval = [row for row in rows if row.interval is not None]
    for row in with_interval or rows:
        values += [row.interval.low, row.interval.high] if row.interval else []
        values += [row.relative_change] if row.relative_change is not None else []
    return values


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
    thresholds: Sequence[ThresholdLine],
    scale: svg.Scale,
    fitted: axis.Axis,
    top: float,
    bottom: float,
) -> list[str]:
    parts = [svg.line(scale(0.0), top, scale(0.0), bottom, stroke=svg.AXIS, width=1.5)]
    for index, threshold in enumerate(thresholds):
        # A threshold beyond the window sits at the edge; its label still gives its value.
        x = scale(fitted.clamp(threshold.value).value)
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


def _forest_row(row: ForestRow, y: float, scale: svg.Scale, fitted: axis.Axis) -> list[str]:
    weight = "bold" if row.pooled else "normal"
    label = f"{row.variant} · {row.budget}"
    parts = [svg.text(LABEL_MARGIN - 10, y + 4, label, anchor="end", size=12, weight=weight)]
    clipped: dict[int, list[str]] = {-1: [], 1: []}
    if row.interval is not None:
        low, high = fitted.clamp(row.interval.low), fitted.clamp(row.interval.high)
        width = 3.0 if row.pooled else 2.0
        parts.append(
            svg.line(scale(low.value), y, scale(high.value), y, stroke=row.colour, width=width)
        )
        for end, bound, name in (
            (low, row.interval.low, "lower bound"),
            (high, row.interval.high, "upper bound"),
        ):
            if end.side:
                clipped[end.side].append(f"{name} {fmt.change(bound)}")
            else:
                x = scale(end.value)
                parts.append(svg.line(x, y - 5, x, y + 5, stroke=row.colour, width=width))
    if row.relative_change is not None:
        point = fitted.clamp(row.relative_change)
        x = scale(point.value)
        marker = (
            svg.diamond(x, y, 7, fill=row.colour)
            if row.pooled
            else svg.circle(x, y, 4.5, fill=row.colour)
        )
        parts.append(marker)
        if point.side:
            clipped[point.side].insert(0, f"estimate {fmt.change(row.relative_change)}")
    parts += svg.clip_marks(clipped, y, scale, row.colour)
    if row.interval is None:
        parts.append(_no_interval_label(row, y, scale, fitted))
    return parts


def _no_interval_label(row: ForestRow, y: float, scale: svg.Scale, fitted: axis.Axis) -> str:
    """Beside the point estimate, on whichever side has room (the point itself can sit at
    the right edge of the axis, where a label at the margin would cover it)."""
    if row.relative_change is None:
        return svg.text(WIDTH - RIGHT_MARGIN, y + 4, "no interval", anchor="end", size=11)
    x = scale(fitted.clamp(row.relative_change).value)
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
