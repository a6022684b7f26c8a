"""The report says what it judged: the run's facts, the power the gate judges, the effects.

Checked in the text of report.md and report.html, and in headless Chromium's
rendering of the power chart.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import pytest
from test_report import PASSING, REGISTRY, THRESHOLDS, judged, png_pixels

from contracts.names import ANALYSIS_FILE, TIMINGS_FILE
from gates import fixtures
from gates.evidence import Interval
from gates.html import render_html
from gates.markdown import render_markdown
from gates.plots import ForestRow, forest_plot
from gates.screenshot import CHROMIUM, screenshot

RUN = {
    "profile": "quick",
    "started_at": "2026-11-30T20:00:00+00:00",
    "wall_seconds": 214.5,
    "load_average": {"start": [0.52, 0.8, 1.1], "end": [2.1, 1.6, 1.3]},
    "cpu": {"model": "Test CPU 9000", "count": 4, "affinity": 2, "concurrency": 2},
}


def with_run(documents: dict[str, Any]) -> dict[str, Any]:
    documents = copy.deepcopy(documents)
    documents[TIMINGS_FILE]["run"] = copy.deepcopy(RUN)
    return documents


def underpowered_latency(documents: dict[str, Any], variant: str = "V3") -> dict[str, Any]:
    """``variant``'s mean latency at 200k with 14.8% power and a bound over the margin:
    inconclusive (its primary metric is another one)."""
    documents = copy.deepcopy(documents)
    row = fixtures.find_row(documents[ANALYSIS_FILE], variant, "latency_mean", "200k")
    row["power"].update(achieved=0.148, underpowered=True, units_for_80=410)
    row["ci_high"] = 0.12
    return documents


def reports(documents: dict[str, Any]) -> tuple[str, str]:
    verdict, evidence = judged(documents)
    return (
        render_markdown(verdict, "c0ffee", evidence),
        render_html(verdict, REGISTRY, evidence, THRESHOLDS),
    )


def test_the_header_gives_profile_commit_date_wall_time_load_and_cpus() -> None:
    markdown, html = reports(with_run(PASSING))
    expected = {
        "profile": "quick",
        "date": "2026-11-30 20:00:00 UTC",
        "wall time": "3 min 34 s from the start to the gates",
        "load average": "0.52 / 0.80 / 1.10 at start, 2.10 / 1.60 / 1.30 at the gates",
        "CPU": "Test CPU 9000: 4 CPU(s), 2 usable; at most 2 session(s) at once",
    }
    for label, value in expected.items():
        assert f"- **{label}**: {value}" in markdown
        assert f"<dt>{label}</dt><dd>{value}" in html
    assert "<dt>commit</dt><dd>c0ffee000000</dd>" in html
    assert html.index("What was judged") < html.index("<h2>Gates</h2>")


def test_a_resumed_run_is_named_in_the_header_and_only_then() -> None:
    documents = with_run(PASSING)
    note = "resumed after 84 of 160 trials, 1 measured again, at 2026-11-30T20:03:00+00:00"
    documents[ANALYSIS_FILE]["variants"]["V3"]["resumed"] = note
    markdown, html = reports(documents)
    assert f"- **resumed runs**:\n  - V3 {note}\n" in markdown
    assert f"<dt>resumed runs</dt><dd><ul><li>V3 {note}</li></ul></dd>" in html
    markdown, html = reports(with_run(PASSING))
    assert "resumed runs" not in markdown
    assert "resumed runs" not in html


def test_a_run_without_its_facts_says_they_were_not_recorded() -> None:
    markdown, html = reports(PASSING)
    assert "- **profile**: not recorded" in markdown
    assert "<dt>load average</dt><dd>not recorded</dd>" in html


def test_malformed_run_facts_are_refused_like_any_bad_evidence() -> None:
    documents = with_run(PASSING)
    documents[TIMINGS_FILE]["run"]["load_average"]["end"] = ["high"]
    with pytest.raises(Exception, match=r"run\.load_average.*`end` must be a list"):
        judged(documents)


def test_the_power_chart_plots_the_power_the_gate_judges() -> None:
    documents = underpowered_latency(with_run(PASSING))
    verdict, _ = judged(documents)
    power_gate = next(v for v in verdict.variants if v.variant == "V3").gate("power")
    assert power_gate is not None
    assert not power_gate.passed
    assert power_gate.observed == pytest.approx(0.148)
    _, html = reports(documents)
    chart = html[html.index("<h2>Statistical power</h2>") :]
    assert "14.8% — inconclusive: 410 units needed" in chart
    assert "as the power gate judges it" in chart
    assert "mean latency at every budget" in chart
    assert "required 80.0%" in chart
    # The bar is the gate's colour: red for V3, green for the others.
    bars = re.findall(r'<rect [^>]*fill="(#[0-9a-f]{6})"[^>]*opacity="0.8"', chart)
    assert bars.count("#cf222e") == 1
    assert bars.count("#1a7f37") == len(verdict.variants) - 1


def test_report_md_has_the_effects_table() -> None:
    markdown, _ = reports(PASSING)
    table = markdown[markdown.index("### Effects") :].splitlines()
    assert table[2].startswith(
        "| Variant | Intent | Verdict | QA/100k change | mean latency change"
    )
    rows = [line for line in table if line.startswith("| V") and not line.startswith("| Variant")]
    assert [row.split(" | ")[0] for row in rows] == [f"| {v.name}" for v in REGISTRY.candidates]
    v4 = next(row for row in rows if row.startswith("| V4 "))
    assert "+20.0% [+12.0%, +28.0%]" in v4


def test_points_without_an_interval_cannot_stretch_the_axis() -> None:
    interval = Interval(-0.05, 0.2, 0.99)
    rows = [
        ForestRow("V4", "50k", "#cc79a7", 13.5, None, pooled=False),
        ForestRow("V4", "120k", "#cc79a7", 13.5, None, pooled=False),
        ForestRow("V4", "200k", "#cc79a7", 0.1, interval, pooled=False),
    ]
    page = forest_plot("QA", rows, [], "higher is better")
    ticks = [int(t) for t in re.findall(r">([-+]?\d+)%<", page)]
    assert max(ticks) <= 30, ticks
    assert "estimate +1350.0%" in page


def _rgb_rows(data: bytes) -> list[bytes]:
    """The unfiltered RGB(A) rows of an 8-bit PNG (PNG filters 0-4)."""
    width, height, raw = png_pixels(data)
    colour_type = data[25]
    channels = {2: 3, 6: 4}[colour_type]
    stride, rows, previous = width * channels, [], bytearray(width * channels)
    for y in range(height):
        kind, line = (
            raw[y * (stride + 1)],
            bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)]),
        )
        for i in range(stride):
            left = line[i - channels] if i >= channels else 0
            up, corner = previous[i], previous[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                p = left + up - corner
                near = min((abs(p - left), left), (abs(p - up), up), (abs(p - corner), corner))
                line[i] = (line[i] + near[1]) & 0xFF
        rows.append(bytes(line))
        previous = line
    return [
        row if channels == 3 else bytes(b for i, b in enumerate(row) if i % 4 != 3) for row in rows
    ]


def _red_pixels(image: Path) -> int:
    count = 0
    for row in _rgb_rows(image.read_bytes()):
        for i in range(0, len(row), 3):
            r, g, b = row[i], row[i + 1], row[i + 2]
            count += r > 180 and g < 110 and b < 120
    return count


def _power_page(documents: dict[str, Any], path: Path) -> Path:
    _, html = reports(documents)
    head = html[: html.index("<main>") + len("<main>")]
    section = re.search(r"<section>\s*<h2>Statistical power</h2>.*?</section>", html, re.S)
    assert section is not None
    path.write_text(head + section.group(0) + "</main></body></html>", encoding="utf-8")
    return path


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} is not installed")
def test_chromium_draws_the_gated_power_failure_in_red(tmp_path: Path) -> None:
    window = (1000, 360)
    passing = screenshot(_power_page(with_run(PASSING), tmp_path / "pass.html"),
                         tmp_path / "pass.png", window=window)  # fmt: skip
    failing = screenshot(
        _power_page(underpowered_latency(with_run(PASSING)), tmp_path / "fail.html"),
        tmp_path / "fail.png",
        window=window,
    )
    # One bar of 14.8% of the axis, 18 px high, is some 1,000 red pixels more.
    assert _red_pixels(failing) - _red_pixels(passing) > 800


def test_sequential_runs_are_one_line_a_variant_in_the_header() -> None:
    documents = with_run(PASSING)
    variants = documents[ANALYSIS_FILE]["variants"]
    names = [name for name in ("V1", "V3") if name in variants]
    for name in names:
        variants[name]["design"] = {
            "kind": "sequential", "looks": 4, "stopped_at_look": 1, "fractions": [0.25],
            "measured_units": 48, "planned_units": 192, "futile_bounds": [],
            "reason": "look 1: every timed bound established (4)",
            "summary": f"{name} stopped early at look 1 of 4",
        }  # fmt: skip
    markdown, html = reports(documents)
    lines = [f"{name}: {name} stopped early at look 1 of 4" for name in names]
    assert len(lines) == 2
    assert "- **sequential runs**:\n" + "".join(f"  - {line}\n" for line in lines) in markdown
    items = "".join(f"<li>{line}</li>" for line in lines)
    assert f"<dt>sequential runs</dt><dd><ul>{items}</ul></dd>" in html
