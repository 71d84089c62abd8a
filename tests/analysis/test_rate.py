"""An open-loop sweep (--rate) on hand-worked records: per-rate numbers and the rate sustained."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest

from factories import RATE_META, make_record, rate_sweep, result_of, with_config
from llmsweep.analysis.rate import keep_up_floor_rps
from llmsweep.analysis.stats import busy_s
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


def test_each_rate_says_what_it_offered_achieved_and_queued() -> None:
    result = result_of(rate_sweep(), RATE_META)
    assert result.levels == [] and result.recommendations == []
    slow, fast = result.rates
    assert (slow.offered_rps, fast.offered_rps) == (1.0, 4.0)
    assert (slow.cap, slow.requests, slow.succeeded) == (4, 4, 4)
    assert slow.wall_s == pytest.approx(3.5) and slow.achieved_rps == pytest.approx(4 / 3.5)
    assert slow.latency_p95_s == pytest.approx(0.5) and slow.since_due_p95_s == pytest.approx(0.5)
    assert slow.client_queue_p95_s == pytest.approx(0.0) and slow.keeps_up
    assert fast.wall_s == pytest.approx(8.0) and fast.achieved_rps == pytest.approx(0.5)
    assert fast.latency_p50_s == pytest.approx(2.0)  # from the send: the server's share
    # Past due 0, 1.75, 3.5, 5.25 s; type-7 percentiles: p50 between 1.75 and 3.5, p95 at
    # 3.5 + 0.85 x 1.75.
    assert fast.client_queue_p50_s == pytest.approx(2.625)
    assert fast.client_queue_p95_s == pytest.approx(4.9875)
    assert fast.since_due_p50_s == pytest.approx(4.625)  # 2, 3.75, 5.5, 7.25
    assert fast.keep_up_floor_rps == pytest.approx(4 - 2 * math.sqrt(0.5))
    assert not fast.keeps_up


def test_the_highest_rate_kept_up_with_is_recommended_and_why_not_the_next() -> None:
    (rec,) = result_of(rate_sweep(), RATE_META).rate_recommendations
    assert rec.rate_rps == 1.0
    assert "1 req/s is the highest offered rate sustained" in rec.explanation
    assert "not at 4 req/s offered: throughput 0.50 req/s < 2.6" in rec.explanation


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
