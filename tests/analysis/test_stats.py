"""Cells on hand-worked records: every expected number is worked out here."""

from __future__ import annotations

import json
from dataclasses import replace
from decimal import Decimal

import pytest

from factories import BUSY, make_cell, make_meta, make_record
from llmsweep.analysis.ceiling import NO_LIMITS, limits_of
from llmsweep.analysis.levels import summarize_levels
from llmsweep.analysis.stats import busy_s, summarize_cells
from llmsweep.store.meta import SIMULATOR, SimulatedLimit, TargetInfo
from llmsweep.store.records import Record, chunk_gaps_ms, record_from_dict


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


def test_a_level_whose_server_queued_the_extra_requests_is_not_client_bound() -> None:
    # Level 2: four 1 s requests in two waves (2 req/s). Level 4: all four at once, each taking
    # 2 s (still 2 req/s): the server queued them. The client used half a core at both.
    waves = [
        make_record(prompt_id=f"p{i}", concurrency=2, started_at_s=i // 2, ended_at_s=i // 2 + 1)
        for i in range(4)
    ]
    at_once = [make_record(prompt_id=f"p{i}", concurrency=4, ended_at_s=2.0) for i in range(4)]
    busy = {("gpt-4o", 2, 0): BUSY, ("gpt-4o", 4, 0): BUSY}
    two, four = summarize_cells(waves + at_once, NO_LIMITS, busy)
    assert two.client_bound.bound  # nothing below it to compare with
    assert not four.client_bound.bound
    assert four.client_bound.reasons[0].startswith("server-bound: throughput stayed flat")
    assert "the client process used 50% of a CPU core" in four.client_bound.reasons


def test_itl_pools_every_gap_of_the_cell_and_tpot_is_per_request() -> None:
    # Two streamed answers: "a" has gaps 10, 10, 10 ms (4 chunks), "b" one gap of 40 ms.
    # Pooled, the gaps are 10, 10, 10, 40: p50 at rank 1.5 is 10 ms, p95 at rank 2.85 is
    # 10 + 0.85 * 30 = 35.5 ms. A median of the two requests' medians would say 25 ms.
    # TPOT: "a" (1.0 - 0.2) / (5 - 1) = 0.2 s, "b" (2.0 - 0.5) / (4 - 1) = 0.5 s; p50 0.35 s.
    # The failed "c" (gaps of 1 ms, TTFT set) counts in neither.
    records = [
        make_record(prompt_id="a", ttft_s=0.2, output_tokens=5, chunk_gaps_ms=(10.0,) * 3),
        make_record(
            prompt_id="b", ttft_s=0.5, ended_at_s=2.0, output_tokens=4, chunk_gaps_ms=(40.0,)
        ),
        make_record(prompt_id="c", status="stream_cut", ttft_s=0.1, chunk_gaps_ms=(1.0, 1.0)),
    ]
    (cell,) = summarize_cells(records)
    assert cell.itl_p50_s == pytest.approx(0.010)
    assert cell.itl_p95_s == pytest.approx(0.0355)
    assert cell.tpot_p50_s == pytest.approx(0.35)
    (level,) = summarize_levels([cell])
    assert (level.itl_p50_s, level.tpot_p50_s) == (cell.itl_p50_s, cell.tpot_p50_s)


def test_tpot_needs_a_stream_and_two_tokens() -> None:
    assert make_record(ttft_s=0.2, output_tokens=1).tpot_s is None
    assert make_record(output_tokens=5).tpot_s is None  # not streamed: no TTFT
    (cell,) = summarize_cells([make_record(output_tokens=5)])
    assert (cell.itl_p50_s, cell.itl_p95_s, cell.tpot_p50_s) == (None, None, None)


def test_chunk_gaps_are_kept_in_tenths_of_a_millisecond() -> None:
    assert chunk_gaps_ms([10.0, 10.01234, 10.05, 10.05]) == (12.3, 37.7, 0.0)
    assert chunk_gaps_ms([1.0]) == chunk_gaps_ms([]) == ()
    record = make_record(ttft_s=0.1, chunk_gaps_ms=(12.3, 0.5))
    assert record_from_dict(json.loads(record.to_json())) == record


def test_retry_rate_and_causes_per_cell_and_level() -> None:
    # 10 prompts: p0 retried twice (connection, then timeout), p1 once (connection) and then
    # failed anyway, p2 once (rate_limited); the other 7 went through at once.
    causes: dict[int, tuple[str, ...]] = {
        0: ("connection", "timeout"),
        1: ("connection",),
        2: ("rate_limited",),
    }
    records = [
        make_record(
            prompt_id=f"p{i}",
            ended_at_s=1.0,
            attempts=1 + len(causes.get(i, ())),
            retry_causes=causes.get(i, ()),
            status="server_error" if i == 1 else "ok",
        )
        for i in range(10)
    ]
    (cell,) = summarize_cells(records)
    assert (cell.retried, cell.retry_rate, cell.retries) == (3, 0.3, 4)
    assert cell.retry_causes == {"connection": 2, "rate_limited": 1, "timeout": 1}
    again = [make_record(prompt_id="q", repeat=1, attempts=2, retry_causes=("timeout",))]
    (level,) = summarize_levels(summarize_cells(records + again))
    assert (level.retried, level.retry_rate) == (4, 4 / 11)
    assert level.retry_causes == {"connection": 2, "rate_limited": 1, "timeout": 2}


def test_cached_input_share_counts_succeeded_prompts_only() -> None:
    # Ok prompts: 100 + 300 input tokens, 50 + 150 of them cached; the failure's 1000 (all
    # cached) do not count. 200 / 400 = 50%.
    records = [
        make_record(prompt_id="a", input_tokens=100, cached_input_tokens=50),
        make_record(prompt_id="b", input_tokens=300, cached_input_tokens=150),
        make_record(prompt_id="c", status="timeout", input_tokens=1000, cached_input_tokens=1000),
    ]
    (cell,) = summarize_cells(records)
    assert (cell.cached_input_tokens, cell.cached_input_share) == (200, 0.5)
    (nothing,) = summarize_cells([make_record(input_tokens=0)])
    assert nothing.cached_input_share is None


def test_each_model_gets_its_own_ceiling_from_its_own_limits() -> None:
    # The simulator's default limits each model apart (gpt-4o 500 RPM, 30,000 TPM; mini 500 RPM,
    # 200,000 TPM): each request charged 100 input + 400 max_tokens = 500 tokens.
    records = make_cell("a", 1, prompts=2, wall_s=1.0) + make_cell("b", 1, prompts=2, wall_s=1.0)
    records = [replace(r, max_tokens=400) for r in records]
    meta = make_meta(
        models=("a", "b"),
        target=TargetInfo(
            SIMULATOR,
            "",
            model_limits={
                "a": SimulatedLimit(500, 30_000, "tier a"),
                "b": SimulatedLimit(500, 200_000, "tier b"),
            },
        ),
    )
    ceilings = {c.model: c.ceiling_rps for c in summarize_cells(records, limits_of(meta))}
    # The tighter of RPM / 60 and TPM / 60 / 500: a 1 req/s, b 6.7 req/s (8.3 by its RPM).
    assert ceilings == {
        "a": pytest.approx(30_000 / 60 / 500),
        "b": pytest.approx(200_000 / 60 / 500),
    }
    # A client-side --rpm tighter than both holds both.
    tight = limits_of(replace(meta, config=replace(meta.config, rpm=60.0)))
    assert [c.ceiling_rps for c in summarize_cells(records, tight)] == pytest.approx([1.0, 1.0])
