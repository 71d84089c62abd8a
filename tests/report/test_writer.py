"""The report folder: every output, self-contained, escaped, ordered, byte-for-byte reproducible."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from factories import REPORT_META, report_sweep, result_of
from llmsweep.report.charts.performance import CHART_TITLES
from llmsweep.report.writer import render_html, render_markdown, write_report

# Every chart but the search trace's: REPORT_META's sweep is a grid, not a --search.
GRID_CHARTS = [name for name in CHART_TITLES if name != "search"]


@pytest.fixture(scope="module")
def report_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("report")
    write_report(out, result_of(report_sweep(), REPORT_META))
    return out


def test_write_report_writes_every_output(report_dir: Path) -> None:
    names = {path.relative_to(report_dir).as_posix() for path in report_dir.rglob("*")}
    for expected in ("summary.json", "summary.csv", "report.md", "report.html"):
        assert expected in names
    for chart in GRID_CHARTS:
        assert f"charts/{chart}.png" in names and f"charts/{chart}.svg" in names
    assert not [name for name in names if name.endswith(".tmp")]


def test_rerendering_gives_identical_bytes(report_dir: Path, tmp_path: Path) -> None:
    paths = write_report(tmp_path, result_of(list(reversed(report_sweep())), REPORT_META))
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
    assert html.count('src="data:image/png;base64,') == len(GRID_CHARTS)
    links = re.findall(r'href="([^"]*)"', html)  # only to the full-size charts beside the file
    assert sorted(set(links)) == sorted(f"charts/{chart}.svg" for chart in GRID_CHARTS)
    assert all((report_dir / link).is_file() for link in links)
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
    result = result_of(report_sweep(), REPORT_META)
    cells, levels, recommendations = result.cells, result.levels, result.recommendations
    charts, links = {"speedup": b"\x89PNG fake"}, {"speedup": "charts/speedup.svg"}
    first = render_html(levels, cells, recommendations, REPORT_META, charts, links)
    assert first == render_html(levels, cells, recommendations, REPORT_META, charts, links)
    markdown = render_markdown(
        levels, cells, recommendations, REPORT_META, {"speedup": "charts/s.png"}
    )
    assert "![Speedup vs concurrency](charts/s.png)" in markdown


def test_report_survives_few_records_and_none(tmp_path: Path) -> None:
    write_report(tmp_path / "sparse", result_of(report_sweep()[:40]))
    assert "About this report" in (tmp_path / "sparse" / "report.html").read_text("utf-8")
    write_report(tmp_path / "empty", result_of([]))
    assert "No charts" in (tmp_path / "empty" / "report.md").read_text("utf-8")


def test_each_chart_is_followed_by_its_caption_in_both_reports(report_dir: Path) -> None:
    markdown = (report_dir / "report.md").read_text(encoding="utf-8")
    html = (report_dir / "report.html").read_text(encoding="utf-8")
    batch = "Batch estimate (dotted): the estimate at the provider&#x27;s Batch API price"
    assert batch in html.split('<figure id="chart-cost">')[1].split("</figure>")[0]
    cost_section = markdown.split("### Cost per 1k prompts")[1].split("###")[0]
    assert "Batch estimate (dotted): the estimate at the provider's Batch API price" in cost_section
    # REPORT_META's 240 rpm is 4 req/s; alone, 20 prompts took 20 and 21 s (1 and 0.952 req/s,
    # median 0.976), so the ceiling is 4 / 0.976 = 4.1x the sequential speed.
    speedup_section = markdown.split("### Speedup vs concurrency")[1].split("###")[0]
    assert "4.0 req/s is 4.1\N{MULTIPLICATION SIGN} for gpt-4o (0.98 req/s at concurrency 1)" in (
        speedup_section
    )
