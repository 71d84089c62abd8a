"""An open-loop sweep's (--rate) report: said first, one row per rate, a chart, summaries."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest

from factories import RATE_META, make_estimate, rate_sweep, result_of
from llmsweep.cost.money import sum_usd
from llmsweep.report.summary import RATE_CSV_COLUMNS, SUMMARY_SCHEMA_VERSION
from llmsweep.report.writer import write_report
from llmsweep.store.meta import REAL, TargetInfo
from llmsweep.store.records import Record


@pytest.fixture(scope="module")
def rate_report(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Path]]:
    """The report of ``rate_sweep()`` written once, for the tests that only read it: its folder
    and the paths ``write_report`` returned."""
    out = tmp_path_factory.mktemp("rate")
    return out, write_report(out, result_of(rate_sweep(), RATE_META))


def test_a_rate_sweeps_report_says_it_is_open_loop_and_shows_each_rate(
    rate_report: tuple[Path, list[Path]],
) -> None:
    tmp_path, paths = rate_report
    names = {path.relative_to(tmp_path).as_posix() for path in paths}
    assert {"report.md", "report.html", "summary.json", "summary.csv"} <= names
    assert {"charts/rate.png", "charts/rate.svg"} <= names
    markdown = (tmp_path / "report.md").read_text()
    head = markdown.split("## Verdict")[0]
    assert markdown.startswith("# llmsweep open-loop rate report: gpt-4o")
    assert "This is an open-loop rate sweep" in head and "No speedup" in head
    assert "Keeping up is judged on departures" in head
    assert "- gpt-4o: sustains 1 req/s offered" in markdown
    table = markdown.split("## Per-rate table")[1]
    assert "| Offered req/s | Achieved req/s | Departures req/s | Keeps up (needs ≥ req/s) |" in (
        table
    )
    # Offered 4, achieved 0.50, departures 0.50 short of 2.0; 2 s from the send; queued 2.625
    # and 4.99 s.
    assert "| 4 | 0.50 | 0.50 | no (2.0) | 2.00 | 2.00 | 2.00 | 6.99 | 2.62 | 4.99 | 0% | 0 |" in (
        table
    )
    assert "**1**" in table  # the rate recommended, marked
    html = (tmp_path / "report.html").read_text()
    assert "open-loop rate report" in html and "Per-rate table" in html
    assert "This is an open-loop rate sweep" in html


def test_a_rate_sweeps_summaries_carry_its_mode_and_rates(
    rate_report: tuple[Path, list[Path]],
) -> None:
    tmp_path = rate_report[0]
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["schema_version"] == SUMMARY_SCHEMA_VERSION == 5
    assert summary["mode"] == "rate" and summary["recommended_rate"] == {"gpt-4o": 1.0}
    assert summary["levels"] == [] and summary["recommended_concurrency"] == {}
    slow, fast = summary["rates"]
    assert (slow["offered_rps"], slow["keeps_up"], fast["keeps_up"]) == (1.0, True, False)
    assert fast["client_queue_p95_s"] == 4.9875
    assert (fast["departure_rps"], fast["departure_span_s"], fast["keep_up_floor_rps"]) == (
        0.5,
        4.0,
        2.0,
    )
    rows = list(csv.DictReader(io.StringIO((tmp_path / "summary.csv").read_text())))
    assert tuple(rows[0]) == RATE_CSV_COLUMNS
    assert [row["offered_rps"] for row in rows] == ["1.0", "4.0"]
    assert [row["departure_rps"] for row in rows] == ["1.0", "0.5"]


def test_a_rate_sweeps_report_is_the_same_bytes_every_time(
    rate_report: tuple[Path, list[Path]], tmp_path: Path
) -> None:
    folder, paths = rate_report
    first = {p.relative_to(folder): p.read_bytes() for p in paths}
    written = write_report(tmp_path, result_of(rate_sweep(), RATE_META))
    assert {p.relative_to(tmp_path): p.read_bytes() for p in written} == first


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


def _priced_rate_sweep() -> list[Record]:
    """``rate_sweep`` with $0.001 a prompt at 1 req/s and $0.003 at 4 req/s (p3 of which also
    had an attempt cut after it went out, possibly billed $0.0005): $0.016 over 8 succeeded
    prompts, $2.00 per 1k; $1.00 at 1 req/s and $3.00 at 4 req/s, each 50% off the model's."""
    fast = [replace(r, cost_usd="0.003") for r in rate_sweep() if r.offered_rps == 4.0]
    cut = replace(fast[3], possibly_billed_attempts=1, possibly_billed_usd="0.0005")
    return [r for r in rate_sweep() if r.offered_rps == 1.0] + fast[:3] + [cut]


def test_a_rate_sweeps_report_has_the_cost_section_summed_from_its_records(
    tmp_path: Path,
) -> None:
    records = _priced_rate_sweep()
    assert sum_usd(r.cost for r in records) == Decimal("0.016")
    assert sum_usd(r.possibly_billed for r in records) == Decimal("0.0005")
    # An estimate of $0.004 for the 4 prompts: $1.00 per 1k, 100% under the actual $2.00.
    meta = replace(RATE_META, estimates={"gpt-4o": make_estimate("gpt-4o", "0.004", None, 4)})
    write_report(tmp_path, result_of(records, meta))
    markdown = (tmp_path / "report.md").read_text()
    cost = markdown.split("## Cost")[1].split("## ")[0]
    assert "Cost per prompt does not depend on the offered rate" in cost
    assert "every rate of a model costs the same per prompt" in cost
    assert "Actual spend (from the usage the API reported): $0.0160." in cost
    assert "Possibly billed, apart from it: $0.000500 for 1 attempt(s)" in cost
    assert "| gpt-4o | 8 | $0.0160 | $0.000500 (1) | $2.00 | $1.00 | +100% |" in cost
    warnings = markdown.split("## Warnings")[1].split("## Charts")[0]
    assert "gpt-4o: the actual cost, $2.00 per 1k succeeded prompts, is +100% off" in warnings
    assert "may have been billed ($0.000500, apart from the actual spend)" in warnings
    assert "lower the rate" in warnings
    html = (tmp_path / "report.html").read_text()
    assert '<section id="cost">' in html and "Actual spend" in html
    spent = json.loads((tmp_path / "summary.json").read_text())["spent"]
    assert spent == {
        "cost_usd": "0.016",
        "possibly_billed_usd": "0.0005",
        "possibly_billed_attempts": 1,
    }


def test_a_rate_sweep_on_a_real_target_names_a_rate_that_cost_differently(
    tmp_path: Path,
) -> None:
    meta = replace(RATE_META, target=TargetInfo(REAL, "https://api.example.invalid/v1"))
    write_report(tmp_path, result_of(_priced_rate_sweep(), meta))
    markdown = (tmp_path / "report.md").read_text()
    assert "Rates of one model differ only as answers vary" in markdown
    warnings = markdown.split("## Warnings")[1].split("## Charts")[0]
    assert "from the model's at gpt-4o @ 1 req/s $1.00 against $2.00 (-50% off)" in warnings
    assert "gpt-4o @ 4 req/s $3.00 against $2.00 (50% off)" in warnings
    assert "The offered rate does not change what a request costs" in warnings


def test_a_rate_sweeps_about_says_what_applies_to_an_open_loop(
    rate_report: tuple[Path, list[Path]],
) -> None:
    about = (rate_report[0] / "report.md").read_text().split("## About this report")[1]
    assert "No speedup in an open-loop sweep" in about and "client queueing" in about
    assert "Keeping up is judged on the departure rate" in about
    assert "(Cost section)" in about
    for concurrency_only in ("efficiency", "concurrency-1", "cost chart", "Whole-job projection"):
        assert concurrency_only not in about
    assert "Confidence intervals" not in about


def test_a_rate_sweep_warns_of_unpriced_prompts_and_estimated_usage(tmp_path: Path) -> None:
    # p0 at both rates got no usage from the API; nothing at 4 req/s had a price.
    records = [
        replace(
            r, usage_reported=r.prompt_id != "p0", cost_usd=r.cost_usd if r.repeat == 0 else None
        )
        for r in rate_sweep()
    ]
    write_report(tmp_path, result_of(records, RATE_META))
    warnings = (tmp_path / "report.md").read_text().split("## Warnings")[1].split("## Charts")[0]
    assert "2 prompts got no token usage from the API" in warnings
    assert "No price was known for gpt-4o" in warnings
