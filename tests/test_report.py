"""report.md and report.html: decision first, self-contained, robust to missing parts, rendered."""

from __future__ import annotations

import copy
import re
import struct
import zlib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contracts.names import ANALYSIS_FILE
from contracts.thresholds import thresholds_from_registry
from gates import fixtures, svg
from gates.custody import Trust
from gates.evidence import Evidence, Interval
from gates.html import render_html
from gates.load import evidence_from_files
from gates.markdown import MARK_BLOCKED, MARK_OK, render_markdown
from gates.plots import ForestRow, forest_plot
from gates.rules import evaluate
from gates.screenshot import CHROMIUM, ScreenshotError, chromium_command, screenshot
from gates.verdict import Verdict
from packrepo.registry import load_registry

REGISTRY = load_registry(Path(__file__).resolve().parents[1] / "pyproject.toml")
THRESHOLDS = thresholds_from_registry(REGISTRY)
PASSING = fixtures.passing_documents(REGISTRY)
QUALITY = next(v.name for v in REGISTRY.candidates if v.intent == "quality")


def judged(documents: dict[str, Any]) -> tuple[Verdict, Evidence]:
    evidence = evidence_from_files(
        fixtures.encode(documents, REGISTRY.config_sha256), None, trust=Trust(accept_fixtures=True)
    )
    return evaluate(REGISTRY, evidence), evidence


def html_for(documents: dict[str, Any]) -> str:
    verdict, evidence = judged(documents)
    return render_html(verdict, REGISTRY, evidence, THRESHOLDS)


def rejecting() -> dict[str, Any]:
    documents = copy.deepcopy(PASSING)
    for variant in REGISTRY.candidates:
        for budget in (*REGISTRY.budgets, "pooled"):
            row = fixtures.find_row(documents[ANALYSIS_FILE], variant.name, "latency_mean", budget)
            row["ci_high"] = 0.15
    return documents


# --- markdown -------------------------------------------------------------------------


def test_markdown_puts_the_decision_first_then_the_gate_table() -> None:
    verdict, _ = judged(PASSING)
    text = render_markdown(verdict, fixtures.GIT_SHA)
    lines = text.splitlines()
    assert lines[0] == f"## FastPath gates: {MARK_OK} PROMOTE {QUALITY}"
    header = next(line for line in lines if line.startswith("| Gate |"))
    assert header.split("|")[4:-1] == [f" {v.name} " for v in REGISTRY.candidates]
    for name in verdict.gate_names:
        assert any(line.startswith(f"| `{name}` |") for line in lines), name
    assert lines.index(header) > 0
    assert "Blocking gates" not in text


def test_markdown_of_a_rejection_lists_every_blocking_reason() -> None:
    verdict, _ = judged(rejecting())
    text = render_markdown(verdict, fixtures.GIT_SHA)
    assert text.startswith(f"## FastPath gates: {MARK_BLOCKED} REJECT")
    assert "### Blocking gates" in text
    for variant in REGISTRY.candidates:
        assert re.search(rf"^- \*\*{variant.name}\*\* .*latency_non_inferiority", text, re.M)
    assert "upper bounds 50k +15.0%, 120k +15.0%, 200k +15.0%: worst 50k beyond +10.0%" in text


def test_markdown_keeps_hostile_reasons_inside_their_cell() -> None:
    documents = copy.deepcopy(PASSING)
    documents[ANALYSIS_FILE]["variants"][QUALITY]["error"] = "boom | pipe\nnew line"
    verdict, _ = judged(documents)
    text = render_markdown(verdict, fixtures.GIT_SHA)
    assert "boom \\| pipe new line" in text


# --- html ----------------------------------------------------------------------------------


def test_html_is_self_contained() -> None:
    for documents in (PASSING, rejecting()):
        page = html_for(documents)
        lowered = page.lower()
        for forbidden in ("http://", "https://", "<script", "<link", " src=", "url(", "@import"):
            assert forbidden not in lowered, forbidden
        assert page.startswith("<!DOCTYPE html>")
        assert lowered.count("<svg") >= 4


def test_html_shows_decision_table_thresholds_and_every_plot() -> None:
    page = html_for(PASSING)
    banner = page.index('class="banner promote"')
    assert banner < page.index("<table")
    assert f"PROMOTE {QUALITY}" in page[banner : banner + 200]
    assert f"quality gate {THRESHOLDS.qa_improvement * 100:+.1f}%" in page
    margin = f"non-inferiority margin {THRESHOLDS.performance_regression * 100:+.1f}%"
    assert margin in page
    assert f"required {THRESHOLDS.power * 100:.1f}%" in page
    for title in ("Intervals per budget", "QA/100k against budget", "Latency distributions"):
        assert f"<h2>{title}</h2>" in page
    assert "<h2>Statistical power</h2>" in page
    for budget in REGISTRY.budgets:
        assert f"{QUALITY} · {budget}" in page


def test_html_without_distributions_says_so_and_still_plots_qa_from_comparisons() -> None:
    documents = copy.deepcopy(PASSING)
    del documents[ANALYSIS_FILE]["distributions"]
    page = html_for(documents)
    assert "no latency quantiles" in page
    assert 'aria-label="QA/100k against token budget"' in page


def test_html_without_an_analysis_still_reports_the_rejection() -> None:
    documents = copy.deepcopy(PASSING)
    del documents[ANALYSIS_FILE]
    page = html_for(documents)
    assert 'class="banner reject"' in page
    assert "statistical_analysis.json is missing: nothing to plot" in page


def test_html_escapes_text_from_the_evidence() -> None:
    documents = copy.deepcopy(PASSING)
    documents[ANALYSIS_FILE]["variants"][QUALITY]["error"] = "<script>alert(1)</script>"
    page = html_for(documents)
    assert "<script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_html_is_deterministic() -> None:
    assert html_for(PASSING) == html_for(copy.deepcopy(PASSING))


# --- svg primitives ------------------------------------------------------------------------


@given(
    st.floats(-1e6, 1e6, allow_nan=False),
    st.floats(1e-6, 1e6, allow_nan=False),
    st.integers(2, 10),
)
def test_nice_ticks_are_round_increasing_and_inside_the_range(
    low: float, width: float, count: int
) -> None:
    high = low + width
    ticks = svg.nice_ticks(low, high, count)
    assert ticks == sorted(ticks)
    assert all(low - width * 1e-6 <= tick <= high + width * 1e-6 for tick in ticks)
    assert len(ticks) <= 2 * count + 1


@pytest.mark.parametrize(("change", "anchor"), [(13.5, "end"), (0.5, "start"), (None, "end")])
def test_no_interval_label_sits_beside_the_point_never_over_it(
    change: float | None, anchor: str
) -> None:
    row = ForestRow("V4", "50k", "#cc79a7", change, None, pooled=False)
    interval = Interval(0.2, 0.9, 0.99)
    other = ForestRow("V4", "120k", "#cc79a7", 0.6, interval, pooled=False)
    page = forest_plot("QA", [row, other], [], "higher is better")
    label = re.search(
        r'<text x="([-\d.]+)" y="[-\d.]+" text-anchor="(\w+)"[^>]*>no interval<', page
    )
    assert label is not None
    assert label.group(2) == anchor
    if change is not None:
        point = re.search(r'<circle cx="([-\d.]+)"', page)
        assert point is not None
        gap = float(label.group(1)) - float(point.group(1))
        assert gap <= -10 if anchor == "end" else gap >= 10


def test_coordinates_have_fixed_precision() -> None:
    assert svg.num(1 / 3) == "0.3"
    assert svg.num(-0.01) == "0.0"
    assert svg.percent_labels([-0.1, 0.0, 0.1]) == [(-0.1, "-10%"), (0.0, "0%"), (0.1, "+10%")]
    assert svg.percent_labels([0.0, 0.025])[1] == (0.025, "+2.5%")


# --- rendering in Chromium ---------------------------------------------------------------


def test_chromium_is_kept_off_the_network(tmp_path: Path) -> None:
    command = chromium_command(
        "chromium", tmp_path / "r.html", tmp_path / "r.png", tmp_path, (1, 2)
    )
    for flag in ("--headless", "--disable-background-networking", "--disable-quic"):
        assert flag in command
    assert command[-1].startswith("file://")


def test_screenshot_of_a_missing_page_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ScreenshotError):
        screenshot(tmp_path / "missing.html", tmp_path / "x.png", chromium="/nonexistent/chromium")


def png_pixels(data: bytes) -> tuple[int, int, bytes]:
    """Width, height and the decompressed scanlines of a PNG (filter bytes included)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    offset, idat, width, height = 8, b"", 0, 0
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        kind = data[offset + 4 : offset + 8]
        body = data[offset + 8 : offset + 8 + length]
        if kind == b"IHDR":
            width, height = struct.unpack(">II", body[:8])
        elif kind == b"IDAT":
            idat += body
        offset += 12 + length
    return width, height, zlib.decompress(idat)


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} is not installed")
def test_report_renders_in_headless_chromium(tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    page.write_text(html_for(rejecting()), encoding="utf-8")
    image = screenshot(page, tmp_path / "report.png", window=(1280, 1600))
    width, height, pixels = png_pixels(image.read_bytes())
    assert (width, height) == (1280, 1600)
    # A blank page decompresses to a handful of byte values; text, plots and colour to many.
    assert len(set(pixels)) > 64
    assert image.stat().st_size > 20_000
