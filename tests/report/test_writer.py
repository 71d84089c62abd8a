"""Charts and the report: self-contained, escaped, ordered, and byte-for-byte reproducible."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from factories import make_estimate, make_meta, result_of, with_config
from llmsweep.analysis.recommend import recommend
from llmsweep.report.charts.cost import label_groups
from llmsweep.report.charts.performance import (
    CHART_TITLES,
    build_charts,
    figure_bytes,
    model_colors,
    pareto_front,
    wall_time_chart,
)
from llmsweep.report.writer import render_html, render_markdown, write_report
from llmsweep.store.harness import HarnessMeasurement, LoopLag
from llmsweep.store.records import Record

EVIL_MODEL = "<script>alert('model')</script>"
EVIL_PROMPT = "<script>alert('prompt')</script>"


def record(model: str, level: int, repeat: int, index: int, *, failed: bool = False) -> Record:
    """Prompt ``index`` of 20 in a cell whose wall time shrinks with the level (ceiling at 4)."""
    wall_s = 20.0 / min(level, 4) * (1 + 0.05 * repeat)
    end = wall_s * (index + 1) / 20
    price = "0.002" if model == "gpt-4o" else "0.0002"
    return Record(
        prompt_id=EVIL_PROMPT if failed else f"p{index}",
        model=model,
        concurrency=level,
        repeat=repeat,
        status="server_error" if failed else "ok",
        http_status=500 if failed else 200,
        attempts=2 if failed else 1,
        rate_limited=0,
        error="see https://example.invalid/x.js",
        queued_at_s=0.0,
        started_at_s=end - 0.8,
        first_token_at_s=None,
        ended_at_s=end,
        latency_s=0.8,
        ttft_s=None,
        retry_wait_s=0.0,
        queue_wait_s=0.0,
        timed_attempt=1,
        input_tokens=100,
        output_tokens=50,
        cached_input_tokens=0,
        usage_reported=True,
        cost_usd=price,
    )


def sweep() -> list[Record]:
    return [
        record(model, level, repeat, index, failed=(level == 8 and index == 0))
        for model in ("gpt-4o", EVIL_MODEL)
        for level in (1, 2, 4, 8)
        for repeat in range(2)
        for index in range(20)
    ]


META = make_meta(
    models=("gpt-4o", EVIL_MODEL),
    repeats=2,
    rpm=240,
    max_tokens=64,
    seed=7,
    estimates={"gpt-4o": make_estimate("gpt-4o", "0.04", "0.02", 20)},
)


@pytest.fixture(scope="module")
def report_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("report")
    write_report(out, result_of(sweep(), META))
    return out


def test_write_report_writes_every_output(report_dir: Path) -> None:
    names = {path.relative_to(report_dir).as_posix() for path in report_dir.rglob("*")}
    for expected in ("summary.json", "summary.csv", "report.md", "report.html"):
        assert expected in names
    for chart in CHART_TITLES:
        assert f"charts/{chart}.png" in names and f"charts/{chart}.svg" in names
    assert not [name for name in names if name.endswith(".tmp")]


def test_rerendering_gives_identical_bytes(report_dir: Path, tmp_path: Path) -> None:
    paths = write_report(tmp_path, result_of(list(reversed(sweep())), META))
    assert paths
    for path in paths:
        relative = path.relative_to(tmp_path)
        assert path.read_bytes() == (report_dir / relative).read_bytes(), relative


def test_html_is_self_contained(report_dir: Path) -> None:
    html = (report_dir / "report.html").read_text(encoding="utf-8")
    lowered = html.lower()
    for forbidden in ('src="http', "src='http", 'href="http', "href='http", "url(http", "@import"):
        assert forbidden not in lowered
    assert "<script" not in lowered  # none of ours, and user text is escaped
    assert "<link" not in lowered
    assert html.count('src="data:image/png;base64,') == len(CHART_TITLES)
    assert "127.0.0.1:8123" in html and "http://127.0.0.1" not in html


def test_user_text_is_escaped(report_dir: Path) -> None:
    html = (report_dir / "report.html").read_text(encoding="utf-8")
    assert "&lt;script&gt;alert(&#x27;model&#x27;)&lt;/script&gt;" in html
    assert "&lt;script&gt;alert(&#x27;prompt&#x27;)&lt;/script&gt;" in html
    markdown = (report_dir / "report.md").read_text(encoding="utf-8")
    assert "<script>" not in markdown
    assert "&lt;script&gt;alert('prompt')&lt;/script&gt;" in markdown


def test_report_sections_come_in_order(report_dir: Path) -> None:
    html = (report_dir / "report.html").read_text(encoding="utf-8")
    anchors = ["<h1>", "Verdict", "Warnings", "Charts", "Summary table", "About this report"]
    positions = [html.index(anchor) for anchor in anchors]
    assert positions == sorted(positions)
    assert "gpt-4o: use concurrency 4" in html
    for fact in (
        "Hyndman-Fan type 7",
        "built-in table",
        "2025-01-01",
        "llmsweep 0.1.0",
        "simulated target (profile gpt-4o, latency scale 0.05)",
        "2025-01-02T03:04:05Z",
    ):
        assert fact in html


def test_summary_json_carries_the_recommendation(report_dir: Path) -> None:
    data = json.loads((report_dir / "summary.json").read_text(encoding="utf-8"))
    assert data["recommended_concurrency"]["gpt-4o"] == 4
    assert data["meta"]["config"]["seed"] == 7


def test_renderers_are_pure() -> None:
    result = result_of(sweep(), META)
    cells, levels, recommendations = result.cells, result.levels, result.recommendations
    charts = {"speedup": b"\x89PNG fake"}
    first = render_html(levels, cells, recommendations, META, charts)
    assert first == render_html(levels, cells, recommendations, META, charts)
    markdown = render_markdown(levels, cells, recommendations, META, {"speedup": "charts/s.png"})
    assert "![Speedup vs concurrency](charts/s.png)" in markdown


def test_harness_section_gives_each_cells_measures_and_verdict(tmp_path: Path) -> None:
    # Level 1 is quiet; level 2 waited 60 ms to send against a 0.8 s median: over 5%.
    records = [
        replace(record("gpt-4o", level, 0, index), dispatch_lag_s=0.06 if level == 2 else 0.001)
        for level in (1, 2)
        for index in range(20)
    ]
    lag = LoopLag(samples=50, p50_s=0.0005, p95_s=0.001, max_s=0.002, mean_s=0.0006)
    harness = {
        ("gpt-4o", level, 0): HarnessMeasurement(20, 0.4, 0.02, 20.0 / level, lag)
        for level in (1, 2)
    }
    write_report(tmp_path, result_of(records, with_config(META, client="http"), harness))
    markdown = (tmp_path / "report.md").read_text(encoding="utf-8")
    section = markdown[markdown.index("## Measurement harness") :]
    assert "--client http, 1 process; measured" in section
    rows = [line for line in section.splitlines() if line.startswith("| gpt-4o |")]
    assert rows[0] == "| gpt-4o | 1 | 1 | 20.00 | 2.0% | 1.0 | 1.0 | 0.80 | no |"
    assert rows[1].startswith("| gpt-4o | 2 | 1 | 20.00 | 4.0% | 1.0 | 60.0 | 0.80 | yes: dispatch")
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert '<section id="harness">' in html and "dispatch lag p95 60.0 ms" in html


def test_report_survives_few_records_and_none(tmp_path: Path) -> None:
    write_report(tmp_path / "sparse", result_of(sweep()[:40]))
    assert "About this report" in (tmp_path / "sparse" / "report.html").read_text("utf-8")
    write_report(tmp_path / "empty", result_of([]))
    assert "No charts" in (tmp_path / "empty" / "report.md").read_text("utf-8")


def test_charts_name_the_simulated_target_and_keep_model_colours() -> None:
    levels = result_of(sweep(), META).levels
    charts = build_charts(levels, recommend(levels), META)
    assert list(charts) == list(CHART_TITLES)
    for figure in charts.values():
        assert "simulated target (profile gpt-4o, latency scale 0.05)" in figure.get_suptitle()
    colors = model_colors(["gpt-4o", EVIL_MODEL])
    lines = wall_time_chart(levels, META).axes[0].get_lines()
    assert {line.get_color() for line in lines} == set(colors.values())


def test_svg_and_png_bytes_are_reproducible() -> None:
    levels = result_of(sweep(), META).levels
    svg = figure_bytes(wall_time_chart(levels, META), "svg")
    assert svg == figure_bytes(wall_time_chart(levels, META), "svg")
    assert b"<dc:date>" not in svg
    png = figure_bytes(wall_time_chart(levels, META), "png")
    assert png.startswith(b"\x89PNG") and png == figure_bytes(wall_time_chart(levels, META), "png")
    with pytest.raises(ValueError):
        figure_bytes(wall_time_chart(levels, META), "pdf")


def test_labels_of_nearly_coincident_points_are_merged() -> None:
    # The example sweep's gpt-4o levels 4-32: 2.13-2.14 s, $2.22-2.26 (a rounding key split
    # them into two overprinted labels); level 2 and the other model stay apart.
    points = [(2.13, 2.22), (2.14, 2.26), (2.12, 2.25), (2.54, 2.24), (2.13, 0.134)]
    groups = label_groups(points, ["4", "8", "16", "2", "mini-4"])
    assert [names for _, names in groups] == [["4", "8", "16"], ["2"], ["mini-4"]]
    assert groups[0][0] == (2.13, 2.22)  # labelled at the group's first point


def test_pareto_front_keeps_points_nothing_beats_on_both_axes() -> None:
    points = [(10.0, 1.0), (5.0, 2.0), (6.0, 3.0), (20.0, 0.5), (21.0, 0.5)]
    assert pareto_front(points) == [1, 0, 3]
