"""Cells on hand-worked records: every expected number is worked out here."""

from __future__ import annotations

from decimal import Decimal

import pytest

from factories import BUSY, make_cell, make_record
from llmsweep.analysis.ceiling import NO_LIMITS
from llmsweep.analysis.levels import summarize_levels
from llmsweep.analysis.stats import busy_s, summarize_cells
from llmsweep.store.records import Record


def test_cell_counts_failures_retries_and_exact_costs() -> None:
    records = [
        make_record(prompt_id="a", ended_at_s=1.0, cost_usd="0.1", attempts=3, rate_limited=2),
        make_record(prompt_id="b", ended_at_s=2.0, cost_usd="0.2", usage_reported=False),
        make_record(
            prompt_id="c", ended_at_s=3.0, status="timeout", cost_usd="0.05", output_tokens=0
        ),
        make_record(
            prompt_id="d",
            ended_at_s=4.0,
            status="rate_limited",
            cost_usd=None,
            attempts=4,
            rate_limited=4,
        ),
    ]
    (summary,) = summarize_cells(records)
    assert (summary.requests, summary.succeeded, summary.failed) == (4, 2, 2)
    assert summary.failure_rate == 0.5
    assert (summary.attempts, summary.retries, summary.rate_limited) == (9, 5, 6)
    assert summary.cost_usd == Decimal("0.35")  # exact: 0.1 + 0.2 is not 0.30000000000000004
    assert summary.failed_cost_usd == Decimal("0.05")
    assert summary.cost_per_1k_prompts_usd == Decimal("87.5")
    assert summary.usage_estimated == 1
    assert summary.failures == {"rate_limited": 1, "timeout": 1}
    assert summary.latency_p50_s == pytest.approx(1.5)  # ok records only: 1 s and 2 s
    assert summary.ttft_p50_s is None
    assert summary.failure_examples[0][:2] == ("c", "timeout")


def test_stale_connection_resends_are_summed_per_cell_apart_from_retries() -> None:
    records = [
        make_record(prompt_id="a", stale_connection_resends=2),
        make_record(prompt_id="b", attempts=2, stale_connection_resends=1),
        make_record(prompt_id="c"),
    ]
    (summary,) = summarize_cells(records)
    assert (summary.stale_connection_resends, summary.retries) == (3, 1)


def test_rerun_prompt_keeps_the_latest_record() -> None:
    records = [
        make_record(prompt_id="a", status="timeout"),
        make_record(prompt_id="a", ended_at_s=2.0),
        make_record(prompt_id="b", ended_at_s=1.0),
    ]
    (summary,) = summarize_cells(records)
    assert (summary.requests, summary.failed) == (2, 0)


def test_dispatch_lag_p95_per_cell_and_median_per_level() -> None:
    def lagged(prompt_id: str, repeat: int, lag_s: float | None) -> Record:
        return make_record(prompt_id=prompt_id, repeat=repeat, dispatch_lag_s=lag_s)

    # Type 7 p95 of 0, 10, 20, 30, 40 ms: rank 0.95 * 4 = 3.8, so 30 + 0.8 * 10 = 38 ms. A
    # record that never went out (None) is left out, not counted as 0.
    first = [lagged(f"p{i}", 0, i / 100) for i in range(5)] + [lagged("x", 0, None)]
    second = [lagged(f"p{i}", 1, 0.002) for i in range(5)]
    cells = summarize_cells(first + second)
    assert [cell.dispatch_lag_p95_s for cell in cells] == [pytest.approx(0.038), 0.002]
    (level,) = summarize_levels(cells)
    assert level.dispatch_lag_p95_s == pytest.approx(0.020)  # median of 38 and 2 ms
    old = make_record(prompt_id="old")
    assert summarize_cells([old])[0].dispatch_lag_p95_s is None  # an older record


def test_client_bound_is_judged_once_per_cell_and_carried_to_its_level() -> None:
    records = make_cell("m", 1, prompts=2, wall_s=1.0) + make_cell("m", 8, prompts=2, wall_s=1)
    cells = summarize_cells(records, NO_LIMITS, {("m", 8, 0): BUSY})
    assert [cell.client_bound.bound for cell in cells] == [False, True]
    assert cells[0].client_bound.text() == "no: no harness measurement"
    assert cells[1].client_bound.text() == "yes: the client process used 50% of a CPU core"
    levels = summarize_levels(cells)
    assert [level.client_bound for level in levels] == [False, True]


def test_busy_time_leaves_out_the_gap_of_a_resumed_cell() -> None:
    records = [
        make_record(prompt_id="a", queued_at_s=0.0, ended_at_s=1.0),
        make_record(prompt_id="b", queued_at_s=0.5, ended_at_s=2.0),
        # resumed an hour later in another process
        make_record(prompt_id="c", queued_at_s=3600.0, ended_at_s=3601.5),
    ]
    assert busy_s(records) == 2.0 + 1.5
    assert busy_s(records[:2]) == 2.0
    assert summarize_cells(records)[0].wall_s == 3.5
