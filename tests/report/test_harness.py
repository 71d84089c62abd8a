"""The report's "Measurement harness" section: each cell's client cost and verdict."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from factories import REPORT_META, make_cell, make_meta, report_record, result_of, with_config
from llmsweep.analysis.ceiling import NO_LIMITS
from llmsweep.analysis.stats import summarize_cells
from llmsweep.report.harness import harness_intro, harness_table
from llmsweep.report.writer import write_report
from llmsweep.store.harness import HarnessMeasurement, LoopLag

QUIET_LAG = LoopLag(samples=50, p50_s=0.0005, p95_s=0.001, max_s=0.002, mean_s=0.0006)


def measured(*, cpu_s: float, wall_s: float, requests: int) -> HarnessMeasurement:
    return HarnessMeasurement(requests, cpu_s, cpu_s / requests, wall_s, QUIET_LAG)


def test_harness_section_gives_each_cells_measures_and_verdict(tmp_path: Path) -> None:
    # Level 1 is quiet; level 2 waited 60 ms to send against a 0.8 s median: over 5%.
    records = [
        replace(
            report_record("gpt-4o", level, 0, index),
            dispatch_lag_s=0.06 if level == 2 else 0.001,
        )
        for level in (1, 2)
        for index in range(20)
    ]
    harness = {
        ("gpt-4o", level, 0): HarnessMeasurement(20, 0.4, 0.02, 20.0 / level, QUIET_LAG)
        for level in (1, 2)
    }
    write_report(tmp_path, result_of(records, with_config(REPORT_META, client="http"), harness))
    markdown = (tmp_path / "report.md").read_text(encoding="utf-8")
    section = markdown[markdown.index("## Measurement harness") :]
    assert "--client http, 1 process; measured" in section
    rows = [line for line in section.splitlines() if line.startswith("| gpt-4o |")]
    assert rows[0] == "| gpt-4o | 1 | 1 | 20.00 | 2.0% | 1.0 | 1.0 | 0.80 | no |"
    # It scaled to ideal all the same, so the lag did not hold it back (analysis.client_bound).
    assert rows[1].startswith(
        "| gpt-4o | 2 | 1 | 20.00 | 4.0% | 1.0 | 60.0 | 0.80 | no: scaled to 100% of ideal, so "
        "not held back; dispatch lag p95 60.0 ms"
    )
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert '<section id="harness">' in html and "dispatch lag p95 60.0 ms" in html


def test_a_busy_cpu_makes_a_cell_client_bound_and_cells_without_a_line_are_left_out() -> None:
    # 10 prompts end at 0.2, 0.4 .. 2 s (latency p50 1.1 s). Level 4 burned 0.3 s of CPU in 2 s of
    # wall: 15% of a core, over the 10% rule; level 1 used 2%. Level 8 has no harness line.
    records = (
        make_cell("m", 1, prompts=10, wall_s=2.0)
        + make_cell("m", 4, prompts=10, wall_s=2.0)
        + make_cell("m", 8, prompts=10, wall_s=2.0)
    )
    harness = {
        ("m", 1, 0): measured(cpu_s=0.04, wall_s=2.0, requests=10),
        ("m", 4, 0): measured(cpu_s=0.3, wall_s=2.0, requests=10),
    }
    table = harness_table(summarize_cells(records, NO_LIMITS, harness))
    assert table is not None
    busy = "yes: the client process used 15% of a CPU core"
    assert table.rows == (
        ("m", "1", "1", "4.00", "2.0%", "1.0", "\N{EN DASH}", "1.10", "no"),
        ("m", "4", "1", "30.00", "15%", "1.0", "\N{EN DASH}", "1.10", busy),
    )
    # A sweep from before the harness was measured.
    assert harness_table(summarize_cells(records)) is None


def test_intro_names_the_client_and_how_processes_are_read() -> None:
    one = harness_intro(make_meta())
    assert "(--client http, 1 process; measured)" in one and "worst worker" not in one
    split = harness_intro(make_meta(client="openai", processes=4))
    assert "(--client openai, 4 processes; measured)" in split
    assert "With --processes 4, a row gives its worst worker's figures" in split
