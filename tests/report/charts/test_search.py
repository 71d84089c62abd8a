"""The search-trace chart: each probe where it measured, in probe order, the pick starred."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
from matplotlib.axes import Axes
from matplotlib.collections import LineCollection
from matplotlib.text import Annotation

from factories import REPORT_META, make_meta, report_sweep, result_of
from llmsweep.analysis.recommend import Recommendation
from llmsweep.report.charts.performance import CHART_TITLES
from llmsweep.report.charts.search import search_chart
from llmsweep.report.writer import write_report
from llmsweep.store.search import SearchStep


def _step(model: str, level: int, rps: float, low: float | None, high: float | None) -> SearchStep:
    return SearchStep(model, level, 2 if low is not None else 1, 8, rps, low, high, None, "")


# Doubling 1 -> 2 -> 4 -> 8 (no rise beyond the noise at 8), then bisecting 4-8 at 6, which ran
# one round only (no interval).
TRACE = [
    _step("m", 1, 1.0, 0.9, 1.1),
    _step("m", 2, 1.9, 1.8, 2.0),
    _step("m", 4, 3.6, 3.4, 3.8),
    _step("m", 8, 3.7, 3.0, 4.4),
    _step("m", 6, 3.8, None, None),
    _step("n", 1, 0.5, 0.4, 0.6),
    _step("n", 2, 0.6, 0.5, 0.7),
]
META = make_meta(models=("m", "n"), levels=(1, 2, 4, 6, 8), search=True)


def _numbers(axes: Axes) -> list[tuple[str, tuple[float, float], str]]:
    """Each probe's number label: its text, the point it labels, its colour."""
    return [
        (text.get_text(), text.xy, str(text.get_color()))
        for text in axes.texts
        if isinstance(text, Annotation) and text.get_text()
    ]


def _arrows(axes: Axes) -> list[tuple[tuple[float, float], tuple[float, float]]]:
    """Each arrow's (from, to) in data coordinates."""
    return [
        (text.xyann, text.xy)
        for text in axes.texts
        if isinstance(text, Annotation) and not text.get_text() and text.arrow_patch is not None
    ]


def test_each_probe_is_numbered_and_arrowed_in_the_order_it_ran() -> None:
    axes = search_chart(TRACE, [Recommendation("m", 4, "", ())], META).axes[0]
    numbers = _numbers(axes)
    assert [(text, xy) for text, xy, _ in numbers] == [
        ("1", (1, 1.0)),
        ("2", (2, 1.9)),
        ("3", (4, 3.6)),
        ("4", (8, 3.7)),
        ("5", (6, 3.8)),
        ("1", (1, 0.5)),  # each model numbered from its own first probe
        ("2", (2, 0.6)),
    ]
    assert {color for _, _, color in numbers[:5]} == {"C0"}
    assert {color for _, _, color in numbers[5:]} == {"C1"}
    assert _arrows(axes) == [
        ((1, 1.0), (2, 1.9)),
        ((2, 1.9), (4, 3.6)),
        ((4, 3.6), (8, 3.7)),
        ((8, 3.7), (6, 3.8)),
        ((1, 0.5), (2, 0.6)),
    ]
    assert list(axes.get_xticks()) == [1, 2, 4, 6, 8]
    assert axes.get_xscale() == "log"
    assert "Search trace" in axes.figure.get_suptitle()


def test_error_bars_are_each_probes_95_percent_interval() -> None:
    axes = search_chart(TRACE[:5], [], META).axes[0]
    (bars,) = [c for c in axes.collections if isinstance(c, LineCollection)]
    segments = [[tuple(point) for point in segment] for segment in bars.get_segments()]
    assert segments == [
        [(1, 0.9), (1, 1.1)],
        [(2, 1.8), (2, 2.0)],
        [(4, 3.4), (4, 3.8)],
        [(8, 3.0), (8, 4.4)],
        [(6, 3.8), (6, 3.8)],  # one round: no interval
    ]
    assert not [line for line in axes.get_lines() if line.get_marker() == "*"]  # none picked


def test_the_recommended_level_is_starred_where_its_probe_measured() -> None:
    recs = [Recommendation("m", 4, "", ()), Recommendation("n", None, "", ())]
    axes = search_chart(TRACE, recs, META).axes[0]
    (star,) = [line for line in axes.get_lines() if line.get_marker() == "*"]
    assert np.asarray(star.get_xydata()).tolist() == [[4, 3.6]]
    assert star.get_color() == "C0"
    legend = axes.get_legend()
    assert legend is not None
    assert [t.get_text() for t in legend.get_texts()] == [
        "m",
        "n",
        "95% interval over the probe's rounds",
        "recommended level",
    ]


def test_a_search_report_has_the_trace_chart_and_a_grid_report_does_not(tmp_path: Path) -> None:
    grid = result_of(report_sweep(), REPORT_META)
    trace = tuple(
        _step("gpt-4o", level, rps, rps * 0.9, rps * 1.1)
        for level, rps in ((1, 1.0), (2, 2.0), (4, 3.9), (8, 4.0))
    )
    write_report(tmp_path / "search", replace(grid, search=trace))
    write_report(tmp_path / "grid", grid)
    for fmt in ("png", "svg"):
        assert (tmp_path / "search" / "charts" / f"search.{fmt}").stat().st_size > 0
        assert not (tmp_path / "grid" / "charts" / f"search.{fmt}").exists()
    markdown = (tmp_path / "search" / "report.md").read_text("utf-8")
    title = CHART_TITLES["search"]
    assert f"![{title}](charts/search.png)" in markdown
    assert "arrows from each to the next" in markdown.split(f"### {title}")[1].split("##")[0]
    html = (tmp_path / "search" / "report.html").read_text("utf-8")
    assert '<figure id="chart-search"><a href="charts/search.svg">' in html
    assert "charts/search.png" not in (tmp_path / "grid" / "report.md").read_text("utf-8")
