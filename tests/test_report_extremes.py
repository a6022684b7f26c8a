"""report.md and report.html over absurd but finite evidence: +-1e308, 5e-324, lone points.

The readers accept any finite number, so the report must draw and write every one of
them: no exception, no ``inf``/``nan`` in the text, no coordinate outside its plot, and
an axis that clips (and labels) an absurd value instead of stretching to it.
"""

from __future__ import annotations

import copy
import math
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contracts.names import ANALYSIS_FILE
from contracts.thresholds import thresholds_from_registry
from gates import fixtures, fmt, svg
from gates.custody import Trust
from gates.evidence import Evidence, Interval
from gates.html import render_html
from gates.load import evidence_from_files
from gates.markdown import render_markdown
from gates.plots import ForestRow, forest_plot
from gates.rules import evaluate
from gates.verdict import Verdict
from packrepo.registry import load_registry

REGISTRY = load_registry(Path(__file__).resolve().parents[1] / "pyproject.toml")
THRESHOLDS = thresholds_from_registry(REGISTRY)
PASSING = fixtures.passing_documents(REGISTRY)
QUALITY = next(v.name for v in REGISTRY.candidates if v.intent == "quality")
PERFORMANCE = next(v.name for v in REGISTRY.candidates if v.intent != "quality")
LARGEST = 1.7976931348623157e308
NOT_A_NUMBER = re.compile(r"\b(?:nan|inf|infinity)\b", re.IGNORECASE)
ARROWHEAD = re.compile(r'<polygon points="[^"]*" fill="[^"]*"/>')  # diamonds have a stroke
COORDINATE = re.compile(r'\b(?:x|y|x1|y1|x2|y2|cx|cy|width|height)="([^"]*)"')


def judged(documents: dict[str, Any]) -> tuple[Verdict, Evidence]:
    files = fixtures.encode(documents, REGISTRY.config_sha256)
    evidence = evidence_from_files(files, None, trust=Trust(accept_fixtures=True))
    return evaluate(REGISTRY, evidence), evidence


def edited(edit: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    documents = copy.deepcopy(PASSING)
    edit(documents[ANALYSIS_FILE])
    return documents


def _row(analysis: dict[str, Any], variant: str = QUALITY, metric: str = "latency_mean") -> Any:
    return fixtures.find_row(analysis, variant, metric)


def _interval(low: float, high: float, metric: str = "latency_mean") -> Callable[..., None]:
    """The pooled row and every budget's (the gates judge the budgets, the plot the pool)."""

    def edit(analysis: dict[str, Any]) -> None:
        for budget in (*REGISTRY.budgets, "pooled"):
            fixtures.find_row(analysis, QUALITY, metric, budget).update(ci_low=low, ci_high=high)

    return edit


def _point(value: float, metric: str = "qa_per_100k") -> Callable[..., None]:
    def edit(analysis: dict[str, Any]) -> None:
        _row(analysis, metric=metric).update(relative_change=value, ci_low=None, ci_high=None)

    return edit


def _everything(value: float) -> Callable[..., None]:
    """Every number the plots draw: changes, bounds, baseline values, QA and quantiles."""

    def edit(analysis: dict[str, Any]) -> None:
        for row in analysis["comparisons"]:
            row.update(ci_low=-value, ci_high=value, relative_change=value / 2)
            row.update(baseline_value=value, variant_value=value)
        for cells in analysis["distributions"].values():
            for cell in cells.values():
                cell["qa_per_100k"] = value
                cell["latency_ms_quantiles"] = dict.fromkeys(cell["latency_ms_quantiles"], value)

    return edit


def _one_absurd_cell(analysis: dict[str, Any]) -> None:
    cell = analysis["distributions"][QUALITY][REGISTRY.budgets[0]]
    cell["qa_per_100k"] = 1e308
    cell["latency_ms_quantiles"]["p95"] = 1e308
    analysis["distributions"][PERFORMANCE][REGISTRY.budgets[0]]["qa_per_100k"] = -1e308


EXTREMES = {
    "upper-bound-1e308": _interval(0.01, 1e308),
    "lower-bound-minus-1e308": _interval(-1e308, 0.05),
    "both-bounds-largest": _interval(-LARGEST, LARGEST),
    "tiny-interval": _interval(5e-324, 1e-323),
    "qa-bounds": _interval(-1e308, 1e308, metric="qa_per_100k"),
    "lone-point-1e308": _point(1e308),
    "lone-point-minus-1e308": _point(-1e308),
    "lone-point-tiny": _point(5e-324),
    "everything-1e308": _everything(1e308),
    "everything-largest": _everything(LARGEST),
    "everything-tiny": _everything(5e-324),
    "one-absurd-cell": _one_absurd_cell,
}


def assert_well_formed(page: str) -> None:
    assert not NOT_A_NUMBER.search(page), NOT_A_NUMBER.search(page)
    for match in re.finditer(r'<svg viewBox="0 0 ([\d.]+) ([\d.]+)".*?</svg>', page, re.S):
        width, height = float(match.group(1)), float(match.group(2))
        for value in COORDINATE.findall(match.group(0)):
            assert -1.0 <= float(value) <= max(width, height) + 1.0, value
        for points in re.findall(r'points="([^"]*)"', match.group(0)):
            for pair in points.split():
                x, y = map(float, pair.split(","))
                assert 0.0 <= x <= width
                assert 0.0 <= y <= height


@pytest.mark.parametrize("edit", EXTREMES.values(), ids=EXTREMES.keys())
def test_the_report_renders_absurd_finite_evidence(edit: Callable[..., None]) -> None:
    verdict, evidence = judged(edited(edit))
    markdown = render_markdown(verdict, fixtures.GIT_SHA)
    page = render_html(verdict, REGISTRY, evidence, THRESHOLDS)
    assert not NOT_A_NUMBER.search(markdown)
    assert page.count("<svg") >= 4
    assert_well_formed(page)


def test_a_huge_upper_bound_is_written_in_powers_of_ten_and_blocks() -> None:
    verdict, evidence = judged(edited(_interval(0.01, 1e308)))
    text = render_markdown(verdict, fixtures.GIT_SHA)
    assert f"- **{QUALITY}** (quality): `latency_non_inferiority`" in text
    assert "50k +1.0e+310%" in text
    assert "beyond +10.0%" in text
    page = render_html(verdict, REGISTRY, evidence, THRESHOLDS)
    assert "upper bound +1.0e+310%" in page  # the clipped bound's label in the forest plot
    assert "beyond the axis" in page


def tick_labels(page: str) -> list[float]:
    """The x-axis tick labels of a forest plot, as fractions."""
    labels = re.findall(r'font-size="11"[^>]*fill="#555555">([-+]?[\d.]+)%<', page)
    return [float(label) / 100 for label in labels]


def test_a_clipped_bound_leaves_the_axis_on_the_other_intervals() -> None:
    rows = [
        ForestRow("V1", "pooled", "#0072B2", 0.1, Interval(0.05, 1e308, 0.99), pooled=True),
        ForestRow("V2", "pooled", "#E69F00", -0.1, Interval(-0.2, 0.0, 0.99), pooled=True),
    ]
    page = forest_plot("latency", rows, [], "lower is better")
    assert max(tick_labels(page)) <= 0.2
    assert "upper bound +1.0e+310%" in page
    assert len(ARROWHEAD.findall(page)) == 2  # at the right edge, and in the legend


def test_a_lone_point_does_not_stretch_the_axis_and_says_where_it_is() -> None:
    rows = [
        ForestRow("V4", "50k", "#CC79A7", 13.5, None, pooled=False),
        ForestRow("V4", "120k", "#CC79A7", 0.6, Interval(0.2, 0.9, 0.99), pooled=False),
    ]
    page = forest_plot("QA", rows, [], "higher is better")
    assert max(tick_labels(page)) <= 1.0
    assert "estimate +1350.0%" in page
    assert ">no interval<" in page
    # Without any interval the points are all there is: they set the axis (within +500%).
    alone = [ForestRow("V4", "50k", "#CC79A7", 3.0, None, pooled=False)]
    page = forest_plot("QA", alone, [], "higher is better")
    assert max(tick_labels(page)) >= 3.0
    assert "beyond the axis" not in page


def test_an_ordinary_report_clips_nothing() -> None:
    verdict, evidence = judged(PASSING)
    page = render_html(verdict, REGISTRY, evidence, THRESHOLDS)
    assert "beyond the axis" not in page
    assert ARROWHEAD.search(page) is None


FINITE = st.floats(allow_nan=False, allow_infinity=False)


@settings(max_examples=200, deadline=None, derandomize=True)
@given(FINITE, FINITE, st.integers(2, 10))
def test_nice_ticks_never_fail_on_any_finite_range(a: float, b: float, count: int) -> None:
    low, high = svg.padded(min(a, b), max(a, b))
    assert math.isfinite(low)
    assert math.isfinite(high)
    ticks = svg.nice_ticks(low, high, count)
    assert ticks == sorted(set(ticks))
    assert all(math.isfinite(tick) for tick in ticks)
    assert len(ticks) <= 4 * count + 1
    scale = svg.Scale(low, high, 0.0, 100.0)
    for value in (low, high, *ticks):
        assert -1e-6 <= scale(value) <= 100.0 + 1e-6


@settings(max_examples=200, deadline=None, derandomize=True)
@given(FINITE)
def test_formatting_is_total_over_finite_floats(value: float) -> None:
    for text in (fmt.change(value), fmt.share(value), fmt.level(value), fmt.count(value)):
        assert not NOT_A_NUMBER.search(text)
        assert len(text) < 32


def test_a_nan_coordinate_is_a_defect_not_a_silent_mark() -> None:
    assert svg.num(1e308) == f"{svg.COORDINATE_LIMIT:.1f}"
    with pytest.raises(ValueError, match="NaN"):
        svg.num(math.nan)
