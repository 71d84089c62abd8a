"""An open-loop sweep's (--rate) report: said first, one row per rate, a chart, summaries."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import replace
from pathlib import Path

from factories import RATE_META, rate_sweep, result_of
from llmsweep.report.summary import RATE_CSV_COLUMNS, SUMMARY_SCHEMA_VERSION
from llmsweep.report.writer import write_report


def test_a_rate_sweeps_report_says_it_is_open_loop_and_shows_each_rate(tmp_path: Path) -> None:
    paths = write_report(tmp_path, result_of(rate_sweep(), RATE_META))
    names = {path.relative_to(tmp_path).as_posix() for path in paths}
    assert {"report.md", "report.html", "summary.json", "summary.csv"} <= names
    assert {"charts/rate.png", "charts/rate.svg"} <= names
    markdown = (tmp_path / "report.md").read_text()
    head = markdown.split("## Verdict")[0]
    assert markdown.startswith("# llmsweep open-loop rate report: gpt-4o")
    assert "This is an open-loop rate sweep" in head and "No speedup" in head
    assert "- gpt-4o: sustains 1 req/s offered" in markdown
    table = markdown.split("## Per-rate table")[1]
    assert "| Offered req/s | Achieved req/s |" in table
    # Offered 4, achieved 0.50, short of 2.59; 2 s from the send; queued 2.625 and 4.99 s.
    assert "| 4 | 0.50 | no (2.6) | 2.00 | 2.00 | 2.00 | 6.99 | 2.62 | 4.99 | 0% | 0 |" in table
    assert "**1**" in table  # the rate recommended, marked
    html = (tmp_path / "report.html").read_text()
    assert "open-loop rate report" in html and "Per-rate table" in html
    assert "This is an open-loop rate sweep" in html


def test_a_rate_sweeps_summaries_carry_its_mode_and_rates(tmp_path: Path) -> None:
    write_report(tmp_path, result_of(rate_sweep(), RATE_META))
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["schema_version"] == SUMMARY_SCHEMA_VERSION == 4
    assert summary["mode"] == "rate" and summary["recommended_rate"] == {"gpt-4o": 1.0}
    assert summary["levels"] == [] and summary["recommended_concurrency"] == {}
    slow, fast = summary["rates"]
    assert (slow["offered_rps"], slow["keeps_up"], fast["keeps_up"]) == (1.0, True, False)
    assert fast["client_queue_p95_s"] == 4.9875
    rows = list(csv.DictReader(io.StringIO((tmp_path / "summary.csv").read_text())))
    assert tuple(rows[0]) == RATE_CSV_COLUMNS
    assert [row["offered_rps"] for row in rows] == ["1.0", "4.0"]


def test_a_rate_sweeps_report_is_the_same_bytes_every_time(tmp_path: Path) -> None:
    result = result_of(rate_sweep(), RATE_META)
    first = {p: p.read_bytes() for p in write_report(tmp_path, result)}
    again = {p: p.read_bytes() for p in write_report(tmp_path, result)}
    assert first == again


def test_a_rate_sweeps_warnings_say_what_to_do(tmp_path: Path) -> None:
    stopped = RATE_META.with_stop("budget")
    write_report(tmp_path, result_of(rate_sweep(), stopped))
    markdown = (tmp_path / "report.md").read_text()
    warnings = markdown.split("## Warnings")[1].split("## Charts")[0]
    assert "This is a simulated target" in warnings
    assert "The sweep stopped early (budget)" in warnings and "run it again with" in warnings
    assert "Only 4 prompts per rate" in warnings
    # Its cells are rates: the concurrency sweep's unfinished-level warning has no level to name.
    assert "did not finish" not in warnings
    assert "<h2>Warnings</h2>" in (tmp_path / "report.html").read_text()


def test_a_rate_sweeps_cells_are_named_by_their_rate(tmp_path: Path) -> None:
    failing = [
        replace(r, status="server_error", error="boom") if r.prompt_id == "p1" else r
        for r in rate_sweep()
    ]
    write_report(tmp_path, result_of(failing, RATE_META))
    examples = (tmp_path / "report.md").read_text().split("## Failure examples")[1]
    assert "| model | offered req/s | at most in flight | prompt id |" in examples
    assert "| gpt-4o | 1 | 4 | p1 | server\\_error | boom |" in examples
    assert "| gpt-4o | 4 | 4 | p1 |" in examples
