"""Open-loop arrivals (``--rate``): the schedule (pure) and the open loop against the simulator."""

from __future__ import annotations

import random
import statistics
from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import StartSimulator
from engine_helpers import fixed_profile, flat_price, prompts
from llmsweep.engine.arrivals import OpenLoopRunner, arrival_offsets_s, arrival_seed
from llmsweep.engine.runner import RunSettings
from llmsweep.inputs.tokens import tokenizer_for
from llmsweep.store.records import Record
from llmsweep.transport import make_transport


class _EvenGaps(random.Random):
    """Every exponential draw at its mean, 1 / rate: a schedule worked out by hand."""

    def expovariate(self, lambd: float = 1.0) -> float:
        return 1 / lambd


def test_the_schedule_starts_at_zero_then_adds_each_gap() -> None:
    assert arrival_offsets_s(4, 2.0, _EvenGaps()) == (0.0, 0.5, 1.0, 1.5)
    assert arrival_offsets_s(0, 2.0, _EvenGaps()) == ()
    draws = random.Random(7)
    first, second = draws.expovariate(3.0), draws.expovariate(3.0)
    assert arrival_offsets_s(3, 3.0, random.Random(7)) == (0.0, first, first + second)


@pytest.mark.parametrize("rate", [0.0, -1.0, float("nan")])
def test_a_rate_that_is_not_positive_is_refused(rate: float) -> None:
    with pytest.raises(ValueError, match="positive"):
        arrival_offsets_s(3, rate, random.Random(0))


@given(
    count=st.integers(0, 200),
    rate=st.floats(0.01, 1000.0),
    seed=st.integers(0, 2**32),
)
def test_the_schedule_is_sorted_from_zero_and_seeded(count: int, rate: float, seed: int) -> None:
    schedule = arrival_offsets_s(count, rate, random.Random(seed))
    assert len(schedule) == count
    assert list(schedule) == sorted(schedule)
    assert not schedule or schedule[0] == 0.0
    assert schedule == arrival_offsets_s(count, rate, random.Random(seed))


@settings(max_examples=25)
@given(rate=st.floats(0.1, 100.0), seed=st.integers(0, 2**32))
def test_the_mean_gap_converges_to_one_over_the_rate(rate: float, seed: int) -> None:
    # 4,000 gaps: the mean's standard error is 1.6 % of 1 / rate; 10 % is six of them.
    schedule = arrival_offsets_s(4001, rate, random.Random(seed))
    gaps = [later - earlier for earlier, later in pairwise(schedule)]
    assert statistics.fmean(gaps) == pytest.approx(1 / rate, rel=0.10)


def test_the_arrivals_seed_differs_from_the_backoffs() -> None:
    assert arrival_seed("0:gpt-4o:8:1") == "0:gpt-4o:8:1:arrivals"


async def _open_loop(
    start_simulator: StartSimulator, cap: int, rate_rps: float, count: int, seed: str
) -> tuple[list[Record], dict[str, object]]:
    sim = await start_simulator(profile=fixed_profile(ttft_s=0.05), seed=1)
    settings_ = RunSettings("gpt-4o", cap, offered_rps=rate_rps)
    transport = make_transport(
        "http", base_url=sim.base_url, api_key="sk-test", concurrency=cap, timeout_s=30.0
    )
    runner = OpenLoopRunner(
        settings_,
        transport,
        tokenizer_for("gpt-4o"),
        cost_fn=flat_price,
        rng=random.Random(1),
        arrivals=random.Random(arrival_seed(seed)),
    )
    try:
        records = [record async for record in runner.run(prompts(count))]
    finally:
        await transport.aclose()
    return records, sim.stats()


async def test_each_prompt_is_recorded_with_its_due_time(
    start_simulator: StartSimulator,
) -> None:
    records, stats = await _open_loop(start_simulator, cap=4, rate_rps=50.0, count=6, seed="s")
    assert len(records) == 6 and all(r.ok for r in records)
    assert stats["requests"] == 6
    due = sorted(r.scheduled_at_s for r in records if r.scheduled_at_s is not None)
    assert len(due) == 6
    offsets = arrival_offsets_s(6, 50.0, random.Random(arrival_seed("s")))
    # The records' due times are the seeded schedule, from the cell's start.
    assert [at - due[0] for at in due] == pytest.approx(offsets, abs=1e-9)
    for r in records:
        assert r.offered_rps == 50.0
        assert r.scheduled_at_s is not None and r.client_queue_s is not None
        assert r.queued_at_s >= r.scheduled_at_s and r.started_at_s >= r.scheduled_at_s
        assert r.since_due_s == pytest.approx(r.client_queue_s + (r.ended_at_s - r.queued_at_s))


async def test_a_rate_beyond_the_cap_queues_at_the_client_and_is_recorded(
    start_simulator: StartSimulator,
) -> None:
    # 8 prompts all due within a few ms (1,000 req/s), at most 2 in flight, each answered in
    # no less than 50 ms: six of them must wait for a request to end, past their due time.
    offsets = arrival_offsets_s(8, 1000.0, random.Random(arrival_seed("q")))
    assert offsets[-1] < 0.05  # this seed's schedule: all due before any answer can come
    records, stats = await _open_loop(start_simulator, cap=2, rate_rps=1000.0, count=8, seed="q")
    assert len(records) == 8 and all(r.ok for r in records)
    assert stats["requests"] == 8
    assert isinstance(peak := stats["peak_in_flight"], int) and peak <= 2  # the cap held
    by_take_up = sorted(records, key=lambda r: r.queued_at_s)
    for index, record in enumerate(by_take_up[2:], start=2):
        # Taken up only once an earlier request had ended: after its due time, so queued.
        assert any(other.ended_at_s <= record.queued_at_s for other in by_take_up[:index])
        assert record.client_queue_s is not None and record.client_queue_s > 0
        assert record.since_due_s is not None and record.since_due_s > record.latency_s
