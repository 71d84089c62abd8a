"""An open-loop sweep (--rate) on hand-worked records: per-rate numbers and the rate sustained."""

from __future__ import annotations

import math
import random
from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from factories import RATE_META, make_record, open_loop_cell, rate_sweep, result_of, with_config
from llmsweep.analysis.rate import keep_up_floor_rps
from llmsweep.analysis.stats import busy_s
from llmsweep.engine.arrivals import arrival_offsets_s
from llmsweep.settings import parse_slo


def test_an_open_loops_wall_time_runs_from_its_first_due_time() -> None:
    # The 1 req/s cell is busy 2 s of its 3.5 s: the quiet gaps between arrivals are part of
    # the load offered, so they count (else 4 / 2 s would claim twice the rate it offered).
    slow = [r for r in rate_sweep() if r.repeat == 0]
    assert busy_s(slow) == pytest.approx(3.5)
    closed = [replace(r, scheduled_at_s=None) for r in slow]
    assert busy_s(closed) == pytest.approx(2.0)


def test_the_keep_up_floor_allows_two_standard_deviations_of_a_poisson_count() -> None:
    assert keep_up_floor_rps(4.0, 8.0) == pytest.approx(4 - 2 * math.sqrt(0.5))
    assert keep_up_floor_rps(1.0, 3.5) == 0.0  # fewer than 4 arrivals: anything keeps up
    assert keep_up_floor_rps(100.0, 100.0) == pytest.approx(98.0)
    assert keep_up_floor_rps(4.0, None) == 4.0  # no span: no noise to allow


def test_each_rate_says_what_it_offered_achieved_and_queued() -> None:
    result = result_of(rate_sweep(), RATE_META)
    assert result.levels == [] and result.recommendations == []
    slow, fast = result.rates
    assert (slow.offered_rps, fast.offered_rps) == (1.0, 4.0)
    assert (slow.cap, slow.requests, slow.succeeded) == (4, 4, 4)
    assert slow.wall_s == pytest.approx(3.5) and slow.achieved_rps == pytest.approx(4 / 3.5)
    assert slow.latency_p95_s == pytest.approx(0.5) and slow.since_due_p95_s == pytest.approx(0.5)
    assert slow.client_queue_p95_s == pytest.approx(0.0) and slow.keeps_up
    # Halves end at 0.5, 1.5 and 2.5, 3.5: medians 1 and 3, 2 requests over 2 s.
    assert slow.departure_span_s == pytest.approx(2.0) and slow.departure_rps == pytest.approx(1.0)
    assert fast.wall_s == pytest.approx(8.0) and fast.achieved_rps == pytest.approx(0.5)
    assert fast.latency_p50_s == pytest.approx(2.0)  # from the send: the server's share
    # Past due 0, 1.75, 3.5, 5.25 s; type-7 percentiles: p50 between 1.75 and 3.5, p95 at
    # 3.5 + 0.85 x 1.75.
    assert fast.client_queue_p50_s == pytest.approx(2.625)
    assert fast.client_queue_p95_s == pytest.approx(4.9875)
    assert fast.since_due_p50_s == pytest.approx(4.625)  # 2, 3.75, 5.5, 7.25
    # Halves end at 12, 14 and 16, 18: 2 requests over the 4 s between their medians.
    assert fast.departure_span_s == pytest.approx(4.0) and fast.departure_rps == pytest.approx(0.5)
    assert fast.keep_up_floor_rps == pytest.approx(4 - 2 * math.sqrt(4 / 4))
    assert not fast.keeps_up


# 20 prompts due 0.25 s apart (4 req/s): 4.75 s of arrivals.
DUE_S = [0.25 * i for i in range(20)]


def test_a_rate_kept_up_with_is_judged_so_however_long_the_latency() -> None:
    # Each answered 5 s after it fell due: no queue anywhere. The wall time, 9.75 s, counts the
    # last request's latency, so 20 / 9.75 = 2.05 req/s falls short of 4 less the noise over it
    # (2.72); the halves' median ends, 5 + 1.125 and 5 + 3.625 s, lie 10 arrivals apart.
    meta = with_config(RATE_META, rates=(4.0,))
    (row,) = result_of(open_loop_cell(4.0, DUE_S, [due + 5.0 for due in DUE_S]), meta).rates
    assert row.achieved_rps == pytest.approx(20 / 9.75)
    assert row.departure_span_s == pytest.approx(2.5) and row.departure_rps == pytest.approx(4.0)
    assert row.keep_up_floor_rps == pytest.approx(4 - 2 * math.sqrt(4 / 2.5))
    assert row.keeps_up and not row.shortfalls()


def test_departures_capped_below_the_offered_rate_do_not_keep_up() -> None:
    # The same arrivals served one at a time in 1 s each: they end at 1, 2, ..., 20 s, a
    # departure a second whatever was offered; the halves' medians, 5.5 and 15.5 s.
    meta = with_config(RATE_META, rates=(4.0,))
    records = open_loop_cell(4.0, DUE_S, [float(i + 1) for i in range(20)])
    (row,) = result_of(records, meta).rates
    assert row.departure_span_s == pytest.approx(10.0) and row.departure_rps == pytest.approx(1.0)
    assert row.keep_up_floor_rps == pytest.approx(4 - 2 * math.sqrt(0.4))
    assert not row.keeps_up
    (rec,) = result_of(records, meta).rate_recommendations
    assert rec.rate_rps is None and "departures 1.0 req/s < 2.7" in rec.explanation


def test_an_odd_count_keeps_the_middle_request_in_the_later_half() -> None:
    # 5 prompts due 1 s apart, each 3 s: halves end at 3, 4 and 5, 6, 7; medians 3.5 and 6,
    # 2.5 places apart, 2.5 s apart: 1 req/s, as offered.
    meta = with_config(RATE_META, rates=(1.0,))
    due = [float(i) for i in range(5)]
    (row,) = result_of(open_loop_cell(1.0, due, [d + 3 for d in due]), meta).rates
    assert row.departure_span_s == pytest.approx(2.5) and row.departure_rps == pytest.approx(1.0)


def test_a_rate_with_fewer_than_two_answers_has_no_departure_rate() -> None:
    meta = replace(with_config(RATE_META, rates=(1.0,)), prompt_count=2)
    records = open_loop_cell(1.0, [0.0, 1.0], [0.5, 1.5])
    failed = [records[0], replace(records[1], status="server_error")]
    (row,) = result_of(failed, meta).rates
    assert row.departure_rps is None and row.departure_span_s is None and not row.keeps_up
    assert row.shortfalls()[0].startswith("no departure rate (fewer than 2 succeeded")


@given(
    st.integers(min_value=2, max_value=60),
    st.floats(min_value=0.1, max_value=100),
    st.floats(min_value=0.0, max_value=30),
    st.integers(min_value=0, max_value=2**32),
)
def test_a_constant_latency_never_changes_the_departures_or_the_verdict(
    count: int, rate_rps: float, latency_s: float, seed: int
) -> None:
    # A server that keeps up, answering every request latency_s after it fell due: its
    # departures are its arrivals shifted, however long the shift.
    due = list(arrival_offsets_s(count, rate_rps, random.Random(seed)))
    meta = with_config(RATE_META, rates=(rate_rps,))
    (at_once,) = result_of(open_loop_cell(rate_rps, due, due), meta).rates
    (late,) = result_of(open_loop_cell(rate_rps, due, [d + latency_s for d in due]), meta).rates
    assert late.departure_span_s == pytest.approx(at_once.departure_span_s, rel=1e-6, abs=1e-9)
    assert late.keeps_up == at_once.keeps_up


def test_the_highest_rate_kept_up_with_is_recommended_and_why_not_the_next() -> None:
    (rec,) = result_of(rate_sweep(), RATE_META).rate_recommendations
    assert rec.rate_rps == 1.0
    assert "1 req/s is the highest offered rate sustained" in rec.explanation
    assert "not at 4 req/s offered: departures 0.50 req/s < 2.0" in rec.explanation


def test_a_rate_that_misses_the_latency_target_or_fails_is_not_sustained() -> None:
    strict = with_config(RATE_META, slo=parse_slo(["p95=0.4"]))
    (rec,) = result_of(rate_sweep(), strict).rate_recommendations
    assert rec.rate_rps is None and rec.target is not None
    assert "no offered rate was sustained (at 1 req/s offered: p95 0.50 s > 0.4 s" in (
        rec.explanation
    )
    failing = [
        replace(r, status="server_error") if r.prompt_id == "p0" and r.repeat == 0 else r
        for r in rate_sweep()
    ]
    (rec,) = result_of(failing, RATE_META).rate_recommendations
    assert rec.rate_rps is None and "failures 25%" in rec.explanation


def test_every_rate_sustained_says_the_limit_is_beyond_what_was_measured() -> None:
    slow = [r for r in rate_sweep() if r.repeat == 0]
    (rec,) = result_of(slow, with_config(RATE_META, rates=(1.0,))).rate_recommendations
    assert rec.rate_rps == 1.0 and "try higher rates" in rec.explanation


def test_a_record_past_due_knows_its_client_queueing() -> None:
    record = make_record(queued_at_s=2.0, ended_at_s=3.0, scheduled_at_s=1.5)
    assert record.client_queue_s == pytest.approx(0.5)
    assert record.since_due_s == pytest.approx(1.5)
    assert make_record().client_queue_s is None and make_record().since_due_s is None
