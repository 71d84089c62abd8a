"""Attempts that may have been billed (issue 13, items 1 and 2), against the real simulator:
what the client priced as possibly billed is checked against the faults the server injected,
and a ``--max-cost`` budget holds with them counted."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest

from conftest import StartSimulator
from engine_helpers import fixed_profile, flat_price, make_runner, prompts, run_all
from llmsweep.engine.retry import BackoffPolicy
from llmsweep.engine.runner import RunSettings
from llmsweep.inputs.tokens import tokenizer_for
from llmsweep.simulator import FaultRates

pytestmark = pytest.mark.parametrize("client", ["openai", "http"])
FAST_BACKOFF = BackoffPolicy(base_s=0.005, cap_s=0.02)
# A hang never answers within the timeout, however busy the machine: each is a timeout.
HANGS = FaultRates(hang=1.0, hang_s=60.0)


def faults(stats: dict[str, object], kind: str) -> int:
    counts = stats["faults"]
    assert isinstance(counts, dict)
    return int(counts[kind])


async def test_timed_out_attempts_are_priced_as_possibly_billed(
    start_simulator: StartSimulator, client: str
) -> None:
    sim = await start_simulator(profile=fixed_profile(ttft_s=0.005), faults=HANGS)
    settings = RunSettings("gpt-4o", 4, timeout_s=0.5, max_retries=1, backoff=FAST_BACKOFF)
    items = prompts(4, max_tokens=10)
    records, runner = await run_all(sim, settings, items, transport_kind=client)
    counted = {p.id: tokenizer_for("gpt-4o").count_chat(p.messages) for p in items}
    assert len(records) == 4 and all(r.status == "timeout" for r in records)
    # Every attempt timed out, so each is priced: the pre-run input count, no output. Each
    # server hang is one of them (on a busy machine an attempt may time out before the server
    # has read it: the client cannot tell, so it counts it too).
    assert faults(sim.stats(), "hang") <= sum(r.possibly_billed_attempts for r in records) == 8
    for record in records:
        assert record.cost == 0  # no usage came: nothing actual
        assert record.possibly_billed_input_tokens == 2 * counted[record.prompt_id]
        assert record.possibly_billed_output_tokens == 0
        assert record.possibly_billed == 2 * flat_price(counted[record.prompt_id], 0, 0)
    assert runner.progress.possibly_billed_usd == sum(r.possibly_billed for r in records)


async def test_a_cut_stream_is_priced_up_to_what_arrived(
    start_simulator: StartSimulator, client: str
) -> None:
    sim = await start_simulator(
        profile=fixed_profile(ttft_s=0.005, tokens=40), faults=FaultRates(stream_cut=0.5), seed=3
    )
    settings = RunSettings("gpt-4o", 4, stream=True, max_retries=5, backoff=FAST_BACKOFF)
    records, _ = await run_all(sim, settings, prompts(20, max_tokens=40), transport_kind=client)
    cut = faults(sim.stats(), "stream_cut")
    billed = [r for r in records if r.possibly_billed_attempts]
    assert cut > 0 and sum(r.possibly_billed_attempts for r in records) == cut
    for record in billed:
        # Some of the answer had arrived before each cut, never more than the cap.
        assert 0 < record.possibly_billed_output_tokens <= 40 * record.possibly_billed_attempts
        assert record.possibly_billed == flat_price(
            record.possibly_billed_input_tokens, record.possibly_billed_output_tokens, 0
        )
    # An answer that did come is actual spend, priced from its usage as before.
    assert all(r.cost == flat_price(r.input_tokens, r.output_tokens, 0) for r in records)


async def test_a_stop_keeps_the_prompts_that_may_have_cost(
    start_simulator: StartSimulator, client: str
) -> None:
    # Every attempt hangs and would be retried; stopped mid-run, a prompt cut short is still
    # recorded ("stopped", not a failure of the API) because its timed-out attempts may be
    # billed: the spend is never lost.
    sim = await start_simulator(profile=fixed_profile(ttft_s=0.005), faults=HANGS)
    settings = RunSettings("gpt-4o", 2, timeout_s=0.2, max_retries=1000, backoff=FAST_BACKOFF)
    runner, transport = make_runner(sim, settings, transport_kind=client)

    async def stop_after_some_attempts() -> None:
        while faults(sim.stats(), "hang") < 5:
            await asyncio.sleep(0.01)
        runner.stop()

    stopper = asyncio.create_task(stop_after_some_attempts())
    try:
        records = [record async for record in runner.run(prompts(6))]
    finally:
        await transport.aclose()
        await stopper
    assert records and all(r.status == "stopped" for r in records)
    assert all(
        r.error and r.error.startswith("stopped before a retry; last attempt: timeout")
        for r in records
    )
    # Every hang the server saw is in the records (and any attempt timed out before it read it).
    assert sum(r.possibly_billed_attempts for r in records) >= faults(sim.stats(), "hang")


async def test_budget_holds_with_retries_and_possibly_billed_attempts(
    start_simulator: StartSimulator, client: str
) -> None:
    # A third of attempts hang (a timeout), a third of streams are cut: retried, and each may be
    # billed. Actual plus possibly billed spend stays within --max-cost.
    sim = await start_simulator(
        profile=fixed_profile(ttft_s=0.005, tokens=20),
        faults=FaultRates(hang=0.3, stream_cut=0.3, hang_s=60.0),
        seed=7,
    )
    items = prompts(40, max_tokens=20)
    worst = flat_price(max(tokenizer_for("gpt-4o").count_chat(p.messages) for p in items), 20, 0)
    cap = worst * 30  # room for about 10 prompts of 3 attempts each, in the worst case
    settings = RunSettings(
        "gpt-4o",
        4,
        stream=True,
        timeout_s=0.3,
        max_tokens=20,
        max_retries=2,
        backoff=FAST_BACKOFF,
        max_cost_usd=cap,
    )
    records, runner = await run_all(sim, settings, items, transport_kind=client)
    spent = sum((r.cost + r.possibly_billed for r in records), Decimal(0))
    assert runner.progress.stopped == "budget"
    assert 0 < len(records) < len(items)
    assert spent <= cap
    assert runner.progress.spent_usd == spent
    # The faults happened, and the client priced every one of them (and any answer that timed
    # out on a busy machine too).
    stats = sim.stats()
    assert sum(r.possibly_billed_attempts for r in records) >= (
        faults(stats, "hang") + faults(stats, "stream_cut")
    )
