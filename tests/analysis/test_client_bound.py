"""The client-bound rule on hand-made measurements: lag, dispatch lag, CPU, and the remedy."""

from __future__ import annotations

import pytest

from factories import make_measurement
from llmsweep.analysis.client_bound import (
    LevelBelow,
    client_bound,
    client_bound_reasons,
    judge_cell,
    remedy,
)


@pytest.mark.parametrize(
    ("lag_p95_s", "cpu_s", "latency_p50_s", "bound"),
    [
        (0.001, 0.5, 0.2, False),  # 0.5% of the latency, 5% of a core
        (0.009, 0.5, 0.2, False),  # 4.5%: just under the 5% rule
        (0.011, 0.5, 0.2, True),  # 5.5%: just over it
        (0.001, 0.99, 0.2, False),  # 9.9% of a core
        (0.001, 1.0, 0.2, True),  # 10% of a core: requests queue behind the client
        (0.050, 9.5, 0.2, True),  # both
    ],
)
def test_client_bound_rule(
    lag_p95_s: float, cpu_s: float, latency_p50_s: float, bound: bool
) -> None:
    measurement = make_measurement(lag_p95_s=lag_p95_s, cpu_s=cpu_s)
    assert client_bound(measurement, latency_p50_s) is bound
    assert bool(client_bound_reasons(measurement, latency_p50_s)) is bound


@pytest.mark.parametrize(
    ("dispatch_lag_p95_s", "bound"),
    [(None, False), (0.009, False), (0.011, True)],  # 4.5% and 5.5% of a 0.2 s median
)
def test_dispatch_lag_rule(dispatch_lag_p95_s: float | None, bound: bool) -> None:
    quiet = make_measurement(lag_p95_s=0.001, cpu_s=0.5)  # neither other rule fires
    reasons = client_bound_reasons(quiet, 0.2, dispatch_lag_p95_s=dispatch_lag_p95_s)
    assert client_bound(quiet, 0.2, dispatch_lag_p95_s=dispatch_lag_p95_s) is bound
    assert [reason.startswith("dispatch lag p95 11.0 ms") for reason in reasons] == (
        [True] if bound else []
    )


def test_threshold_is_adjustable_and_reasons_say_why() -> None:
    measurement = make_measurement(lag_p95_s=0.011, cpu_s=9.5)
    assert not client_bound(make_measurement(lag_p95_s=0.011, cpu_s=0.5), 0.2, threshold=0.1)
    lag_reason, cpu_reason = client_bound_reasons(measurement, 0.2)
    assert "11.0 ms" in lag_reason and "5%" in lag_reason and "200.0 ms" in lag_reason
    assert "95%" in cpu_reason
    assert remedy("openai", 8) == (
        "use the lean client (--client http), lower the level or split it over processes "
        "(--processes N); otherwise read the numbers as lower bounds"
    )
    assert remedy("http", 8) == (
        "lower the level or split it over processes (--processes N); otherwise read the "
        "numbers as lower bounds"
    )
    assert remedy("openai", 1) == (
        "use the lean client (--client http); otherwise read the numbers as lower bounds"
    )
    assert remedy("http", 1) == "read the numbers as lower bounds"  # nothing lower or to split


BUSY_CPU = make_measurement(lag_p95_s=0.004, cpu_s=2.0)  # 20% of a core, loop lag 4 ms


@pytest.mark.parametrize(
    ("throughput_rps", "latency_p50_s", "lag_p95_s", "bound"),
    [
        (4.1, 2.0, 0.004, False),  # flat throughput, latency doubled, lag 4 ms of 1 s growth
        (4.5, 2.0, 0.004, True),  # throughput up 12.5%: not flat, the flag stands
        (4.0, 2.0, 0.300, True),  # the client's lag (300 ms) is over a quarter of the growth
        (8.0, 1.0, 0.004, True),  # throughput doubled: the rule's flag stands
        (4.0, 0.9, 0.004, True),  # latency did not grow: nothing queued at the server
    ],
)
def test_a_server_that_queues_explains_a_flagged_cell(
    throughput_rps: float, latency_p50_s: float, lag_p95_s: float, bound: bool
) -> None:
    below = LevelBelow(concurrency=4, throughput_rps=4.0, latency_p50_s=1.0)
    measurement = make_measurement(lag_p95_s=lag_p95_s, cpu_s=2.0)
    verdict = judge_cell(
        measurement, latency_p50_s, None, throughput_rps, None, below, concurrency=8
    )
    assert verdict.bound is bound
    assert verdict.reasons  # the CPU rule fired in every case: its reason is always kept
    assert verdict.reasons[0].startswith("server-bound") is (not bound)


def test_without_a_level_below_the_flag_stands() -> None:
    assert judge_cell(BUSY_CPU, 2.0, None, 4.0, None, None, concurrency=8).bound
    quiet = make_measurement(lag_p95_s=0.001, cpu_s=0.5)
    assert not judge_cell(quiet, 2.0, None, 4.0, None, None, concurrency=8).bound


def test_one_request_at_a_time_has_nothing_to_queue_behind_the_clients_cpu() -> None:
    # 20% of a core at concurrency 1: the CPU rule does not apply; the lag rules still do.
    assert not judge_cell(BUSY_CPU, 2.0, None, 4.0, None, concurrency=1).bound
    assert judge_cell(BUSY_CPU, 2.0, None, 4.0, None, concurrency=2).bound
    lagging = make_measurement(lag_p95_s=0.5, cpu_s=2.0)  # 25% of the 2 s median
    assert judge_cell(lagging, 2.0, None, 4.0, None, concurrency=1).bound


@pytest.mark.parametrize(("speedup", "bound"), [(7.2, False), (7.1, True), (None, True)])
def test_a_level_that_scaled_near_ideal_was_not_held_back(
    speedup: float | None, bound: bool
) -> None:
    # At concurrency 8, 90% of ideal is 7.2x: from there the client cost at most a tenth.
    verdict = judge_cell(BUSY_CPU, 2.0, None, 4.0, None, concurrency=8, speedup=speedup)
    assert verdict.bound is bound
    assert verdict.reasons[0].startswith("scaled to 90% of ideal") is (not bound)
