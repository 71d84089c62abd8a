"""The engine against the real simulator over loopback: cap, limits, retries, records."""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal
from typing import NoReturn

import pytest

from conftest import StartSimulator
from engine_helpers import fixed_profile, make_runner, prompts, run_all
from llmsweep.engine.retry import BackoffPolicy
from llmsweep.engine.runner import RunSettings
from llmsweep.inputs.tokens import tokenizer_for
from llmsweep.simulator import FaultRates
from llmsweep.transport import answer

# Both transports, SDK and lean aiohttp, must pass every engine test.
pytestmark = pytest.mark.parametrize("client", ["openai", "http"])


@pytest.mark.parametrize("concurrency", [1, 4, 16])
async def test_in_flight_never_exceeds_the_cap(
    start_simulator: StartSimulator, client: str, concurrency: int
) -> None:
    sim = await start_simulator(profile=fixed_profile(ttft_s=0.02), seed=1)
    records, _ = await run_all(
        sim, RunSettings("gpt-4o", concurrency), prompts(48), transport_kind=client
    )
    assert len(records) == 48 and all(r.ok for r in records)
    assert sim.stats()["peak_in_flight"] == concurrency


async def test_records_say_when_each_request_went_out(
    start_simulator: StartSimulator, client: str
) -> None:
    # 4 workers, 16 prompts, an empty pool: the first 4 requests open the 4 connections the
    # rest reuse. Dispatch lag is what is left of started -> sent once the connect is taken out.
    sim = await start_simulator(profile=fixed_profile(ttft_s=0.05), seed=1)
    records, _ = await run_all(sim, RunSettings("gpt-4o", 4), prompts(16), transport_kind=client)
    assert len(records) == 16 and all(r.ok for r in records)
    for r in records:
        assert r.sent_at_s is not None and r.dispatch_lag_s is not None
        assert r.started_at_s + r.connect_s <= r.sent_at_s < r.ended_at_s
        assert r.dispatch_lag_s == pytest.approx(r.sent_at_s - r.started_at_s - r.connect_s)
        assert r.latency_s >= 0.05
    assert sum(r.connect_s > 0 for r in records) == 4


async def test_warm_up_opens_every_connection_before_the_first_prompt(
    start_simulator: StartSimulator, client: str
) -> None:
    sim = await start_simulator(profile=fixed_profile(ttft_s=0.02), seed=1)
    runner, transport = make_runner(sim, RunSettings("gpt-4o", 4), transport_kind=client)
    try:
        await runner.warm_up()
        assert sim.stats()["requests"] == 0  # model listings only: no chat request, no tokens
        records = [record async for record in runner.run(prompts(12))]
    finally:
        await transport.aclose()
    assert len(records) == 12 and all(r.ok for r in records)
    assert [r.connect_s for r in records] == [0.0] * 12  # every request found an open one


async def test_usage_tokens_and_cost_come_from_the_api(
    start_simulator: StartSimulator, client: str
) -> None:
    sim = await start_simulator(profile=fixed_profile(tokens=7), seed=1)
    items = prompts(10, max_tokens=20)
    records, runner = await run_all(sim, RunSettings("gpt-4o", 3), items, transport_kind=client)
    tokenizer = tokenizer_for("gpt-4o")
    by_id = {r.prompt_id: r for r in records}
    for prompt in items:
        record = by_id[prompt.id]
        assert record.usage_reported
        assert record.input_tokens == tokenizer.count_chat(prompt.messages)
        assert record.output_tokens == 7
        expected = (Decimal(record.input_tokens) + 2 * Decimal(7)) / Decimal(1_000_000)
        assert Decimal(record.cost_usd or "x") == expected
        assert record.response_text and record.latency_s > 0
    assert runner.progress.cost_usd == sum(r.cost for r in records)


async def test_streaming_measures_time_to_first_token(
    start_simulator: StartSimulator, client: str
) -> None:
    sim = await start_simulator(
        profile=fixed_profile(ttft_s=0.1, tokens=50, tokens_per_s=250), seed=1
    )
    records, _ = await run_all(
        sim, RunSettings("gpt-4o", 2, stream=True), prompts(4, max_tokens=50), transport_kind=client
    )
    for record in records:
        assert record.ok and record.usage_reported and record.output_tokens == 50
        assert record.ttft_s is not None
        assert 0.09 <= record.ttft_s < record.latency_s
        assert record.latency_s >= 0.1 + 50 / 250 - 0.02
        # 4 ms a token: the simulator sends the first token alone, then 4 tokens an event
        # (its 15 ms chunk interval), so tokens end at 1, 5, ..., 49 and 50: 14 content
        # events, 13 gaps between them.
        assert len(record.chunk_gaps_ms) == 13


async def test_rpm_limit_gives_the_rate_without_429s(
    start_simulator: StartSimulator, client: str
) -> None:
    rpm = 1200  # 20 requests/s, on both sides
    sim = await start_simulator(profile=fixed_profile(ttft_s=0.01), rpm=rpm, seed=1)
    began = time.monotonic()
    records, _ = await run_all(
        sim, RunSettings("gpt-4o", 16, rpm=rpm), prompts(100), transport_kind=client
    )
    wall_s = time.monotonic() - began
    assert all(r.ok for r in records) and len(records) == 100
    attempts = sum(r.attempts for r in records)
    assert sim.stats()["rate_limited"]["requests"] < 0.02 * attempts  # type: ignore[index]
    # Never faster than the limit; how much slower depends on how busy this machine is.
    assert len(records) / wall_s <= rpm / 60 * 1.1


async def test_without_client_limits_it_paces_to_the_limits_a_429_advertises(
    start_simulator: StartSimulator, client: str
) -> None:
    # 32 workers against 1,200 RPM: hints alone would let them all collide again each time
    # the bucket refills; pacing to the advertised limit keeps 429s few and loses nothing.
    rpm = 1200
    sim = await start_simulator(profile=fixed_profile(ttft_s=0.01), rpm=rpm, seed=1)
    records, runner = await run_all(
        sim, RunSettings("gpt-4o", 32, max_retries=3), prompts(100), transport_kind=client
    )
    assert all(r.ok for r in records) and len(records) == 100
    assert runner.progress.paced_rpm == rpm
    rate_limited = sim.stats()["rate_limited"]["requests"]  # type: ignore[index]
    assert 0 < rate_limited <= 40


async def test_429_pauses_every_worker_until_the_hinted_time(
    start_simulator: StartSimulator,
    client: str,
) -> None:
    faults = FaultRates(rate_limit_429=0.1, retry_after_s=0.3)
    sim = await start_simulator(profile=fixed_profile(ttft_s=0.01), faults=faults, seed=3)
    records, _ = await run_all(sim, RunSettings("gpt-4o", 8), prompts(60), transport_kind=client)
    assert all(r.ok for r in records)
    injected = sim.stats()["rate_limited"]["injected"]  # type: ignore[index]
    assert injected > 0 and sum(r.rate_limited for r in records) == injected
    # After a 429 nobody may start for the hinted 0.3 s: every retried record waited for it.
    for record in records:
        if record.rate_limited:
            assert record.retry_wait_s >= 0.3 * record.rate_limited


@pytest.mark.parametrize(
    ("fault", "kind"),
    [
        ("error_500", "server_error"),
        ("error_503", "server_error"),
        ("disconnect", "connection"),
        ("malformed_json", "malformed"),
        ("rate_limit_429_nohint", "rate_limited"),
        ("hang", "timeout"),
    ],
)
async def test_retryable_faults_are_retried_to_success(
    start_simulator: StartSimulator, client: str, fault: str, kind: str
) -> None:
    faults = FaultRates(**{fault: 0.3, "hang_s": 30.0})
    sim = await start_simulator(profile=fixed_profile(ttft_s=0.005), faults=faults, seed=5)
    settings = RunSettings(
        "gpt-4o",
        8,
        # Short only where a hang must time out: elsewhere a busy machine must not add timeouts.
        timeout_s=0.5 if fault == "hang" else 10.0,
        max_retries=10,
        backoff=BackoffPolicy(0.01, 0.05),
    )
    items = prompts(40)
    records, _ = await run_all(sim, settings, items, transport_kind=client)
    assert sorted(r.prompt_id for r in records) == sorted(p.id for p in items)
    assert all(r.ok for r in records), {r.status for r in records}
    injected = sim.stats()["faults"][fault]  # type: ignore[index]
    assert injected > 0
    # A drop before any answer on a pooled connection looks like a stale connection: it is
    # sent again at once rather than retried; only a drop on a new connection is retried.
    resends = sum(r.stale_connection_resends for r in records)
    retried = sum(r.attempts - 1 for r in records) + resends
    if fault == "hang":  # a loaded machine can time out an answer that was on its way, too
        assert retried >= injected
    else:
        assert retried == injected
    assert resends == 0 or fault == "disconnect"
    for record in records:  # an ok record still says why its earlier attempts failed
        assert record.retry_causes == (kind,) * (record.attempts - 1)
        assert len(record.retry_errors) == record.attempts - 1
        assert all(record.retry_errors)


@pytest.mark.parametrize("stream", [False, True])
async def test_a_bug_of_ours_while_reading_an_answer_is_raised_not_recorded(
    start_simulator: StartSimulator, client: str, stream: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only the server's bytes make an answer "malformed": a ValueError of our own (as any
    exception not about decoding them) stops the run instead of passing as a retried 200."""

    def bug(*_: object) -> NoReturn:
        raise ValueError("a bug of ours")

    monkeypatch.setattr(answer.Answer, "usage", bug)  # both clients read answers there
    sim = await start_simulator(profile=fixed_profile(ttft_s=0.001, tokens=3))
    settings = RunSettings("gpt-4o", 2, stream=stream, max_retries=3)
    with pytest.raises(ValueError, match="a bug of ours"):
        await run_all(sim, settings, prompts(4, max_tokens=3), transport_kind=client)
    requests = sim.stats()["requests"]
    assert isinstance(requests, int) and requests <= 2  # no retry: each worker sent once


async def test_stream_cut_is_retried(start_simulator: StartSimulator, client: str) -> None:
    sim = await start_simulator(
        profile=fixed_profile(ttft_s=0.005, tokens=40), faults=FaultRates(stream_cut=0.3), seed=2
    )
    settings = RunSettings("gpt-4o", 4, stream=True, max_retries=10)
    records, _ = await run_all(sim, settings, prompts(30, max_tokens=40), transport_kind=client)
    assert all(r.ok for r in records)
    assert sum(r.attempts - 1 for r in records) == sim.stats()["faults"]["stream_cut"]  # type: ignore[index]


async def test_missing_usage_is_counted_by_us_and_flagged(
    start_simulator: StartSimulator, client: str
) -> None:
    sim = await start_simulator(
        profile=fixed_profile(tokens=9), faults=FaultRates(missing_usage=1.0), seed=2
    )
    items = prompts(5)
    records, _ = await run_all(sim, RunSettings("gpt-4o", 2), items, transport_kind=client)
    tokenizer = tokenizer_for("gpt-4o")
    for record, prompt in zip(
        sorted(records, key=lambda r: r.prompt_id), sorted(items, key=lambda p: p.id), strict=True
    ):
        assert record.ok and record.attempts == 1 and not record.usage_reported
        assert record.input_tokens == tokenizer.count_chat(prompt.messages)
        assert record.output_tokens == 9


async def test_quota_is_never_retried(start_simulator: StartSimulator, client: str) -> None:
    sim = await start_simulator(profile=fixed_profile(), quota_exhausted=True)
    records, _ = await run_all(sim, RunSettings("gpt-4o", 4), prompts(12), transport_kind=client)
    assert [(r.status, r.attempts, r.http_status) for r in records] == [("quota", 1, 429)] * 12
    assert sim.stats()["requests"] == 12


async def test_request_too_large_is_never_retried(
    start_simulator: StartSimulator, client: str
) -> None:
    sim = await start_simulator(profile=fixed_profile(), tpm=1000)
    records, _ = await run_all(
        sim, RunSettings("gpt-4o", 2), prompts(3, max_tokens=2000), transport_kind=client
    )
    assert {(r.status, r.attempts) for r in records} == {("too_large", 1)}


async def test_bad_request_is_not_retried(start_simulator: StartSimulator, client: str) -> None:
    sim = await start_simulator(profile=fixed_profile())
    items = prompts(2)
    items[0].messages[0]["role"] = "robot"
    records, _ = await run_all(sim, RunSettings("gpt-4o", 2), items, transport_kind=client)
    statuses = {r.prompt_id: (r.status, r.attempts) for r in records}
    assert statuses[items[0].id] == ("bad_request", 1)
    assert statuses[items[1].id] == ("ok", 1)


async def test_max_retries_bounds_attempts(start_simulator: StartSimulator, client: str) -> None:
    sim = await start_simulator(profile=fixed_profile(), faults=FaultRates(error_500=1.0))
    settings = RunSettings(
        "gpt-4o",
        2,
        max_retries=2,
        backoff=BackoffPolicy(0.01, 0.02),
    )
    records, _ = await run_all(sim, settings, prompts(4), transport_kind=client)
    assert {(r.status, r.attempts, r.http_status) for r in records} == {("server_error", 3, 500)}
    assert sim.stats()["requests"] == 12


async def test_budget_cap_is_never_exceeded(start_simulator: StartSimulator, client: str) -> None:
    sim = await start_simulator(profile=fixed_profile(tokens=20), seed=1)
    items = prompts(40, max_tokens=20)
    full, _ = await run_all(sim, RunSettings("gpt-4o", 4), items, transport_kind=client)
    total = sum(r.cost for r in full)
    cap = Decimal(total) / 2
    capped, runner = await run_all(
        sim, RunSettings("gpt-4o", 4, max_cost_usd=cap), items, transport_kind=client
    )
    assert runner.progress.stopped == "budget"
    assert 0 < len(capped) < len(items)
    assert sum(r.cost for r in capped) <= cap


async def test_a_stop_records_no_failure_it_caused(
    start_simulator: StartSimulator, client: str
) -> None:
    # Every attempt fails with a 500, which a retry could mend: stopped mid-run, no prompt has
    # failed for good, so none may be recorded as failed (a resume sends them all).
    sim = await start_simulator(
        profile=fixed_profile(ttft_s=0.005), faults=FaultRates(error_500=1.0)
    )
    settings = RunSettings("gpt-4o", 4, max_retries=1000, backoff=BackoffPolicy(0.01, 0.05))
    runner, transport = make_runner(sim, settings, transport_kind=client)

    async def stop_after_some_attempts() -> None:
        while sim.stats()["requests"] < 20:  # type: ignore[operator]
            await asyncio.sleep(0.01)
        runner.stop()

    stopper = asyncio.create_task(stop_after_some_attempts())
    try:
        records = [record async for record in runner.run(prompts(12))]
    finally:
        await transport.aclose()
        await stopper
    assert records == [] and runner.progress.stopped == "interrupted"
    assert runner.progress.done == 0


async def test_prompts_waiting_for_their_turn_at_a_stop_are_not_recorded(
    start_simulator: StartSimulator, client: str
) -> None:
    # 6 RPM: one request each 10 s. The first answer stops the run while the other three
    # workers wait for their turn: they send nothing and record nothing.
    sim = await start_simulator(profile=fixed_profile(ttft_s=0.005))
    runner, transport = make_runner(sim, RunSettings("gpt-4o", 4, rpm=6), transport_kind=client)
    records = []
    try:
        async for record in runner.run(prompts(8)):
            records.append(record)
            runner.stop()
    finally:
        await transport.aclose()
    assert [r.status for r in records] == ["ok"]
    assert sim.stats()["requests"] == 1


@pytest.mark.parametrize("stream", [False, True])
async def test_records_keep_the_model_that_answered(
    start_simulator: StartSimulator, client: str, stream: bool
) -> None:
    # As llama-server does: whatever model is asked for, the answer names its own.
    sim = await start_simulator(profile=fixed_profile(ttft_s=0.005), answer_model="llama-3-8b")
    settings = RunSettings("gpt-4o-mini", 2, stream=stream)
    records, _ = await run_all(sim, settings, prompts(3), transport_kind=client)
    assert [(r.answered_model, r.other_model) for r in records] == [("llama-3-8b",) * 2] * 3
    honest = await start_simulator(profile=fixed_profile(ttft_s=0.005))
    records, _ = await run_all(honest, settings, prompts(3), transport_kind=client)
    assert [(r.answered_model, r.other_model) for r in records] == [("gpt-4o-mini", None)] * 3


@pytest.mark.parametrize("stream", [False, True])
async def test_records_keep_the_limits_every_answer_states(
    start_simulator: StartSimulator, client: str, stream: bool
) -> None:
    # OpenAI states the account's limits on each 200, not only on a 429; far below them here.
    sim = await start_simulator(profile=fixed_profile(ttft_s=0.01), rpm=1200, tpm=1_000_000)
    records, _ = await run_all(
        sim, RunSettings("gpt-4o", 2, stream=stream), prompts(6), transport_kind=client
    )
    assert [(r.status, r.limit_rpm, r.limit_tpm) for r in records] == [("ok", 1200, 1_000_000)] * 6
    stats = sim.stats()
    assert stats["by_status"] == {"200": 6}
    assert isinstance(stats["rate_limited"], dict) and not any(stats["rate_limited"].values())
    unlimited = await start_simulator(profile=fixed_profile(ttft_s=0.01))
    records, _ = await run_all(
        unlimited, RunSettings("gpt-4o", 2), prompts(2), transport_kind=client
    )
    assert [(r.limit_rpm, r.limit_tpm) for r in records] == [(None, None)] * 2


@pytest.mark.parametrize(
    ("kind", "stream"),
    [
        ("error_500", False),
        ("rate_limit_429_nohint", False),
        ("stream_cut", True),
        ("stream_cut", False),
        ("malformed_json", False),
    ],
)
async def test_records_keep_the_limits_a_failed_answer_stated(
    start_simulator: StartSimulator, client: str, kind: str, stream: bool
) -> None:
    # A real API states the account's limits on its error answers too, and a 200 whose body
    # then breaks had stated them in its head: a prompt that failed for good on either still
    # says what the limits were.
    sim = await start_simulator(
        profile=fixed_profile(ttft_s=0.01),
        rpm=1200,
        tpm=1_000_000,
        faults=FaultRates(**{kind: 1.0}),
    )
    settings = RunSettings("gpt-4o", 2, stream=stream, max_retries=0)
    records, _ = await run_all(sim, settings, prompts(3), transport_kind=client)
    assert [(r.ok, r.limit_rpm, r.limit_tpm) for r in records] == [(False, 1200, 1_000_000)] * 3
    faults = sim.stats()["faults"]
    assert isinstance(faults, dict) and faults[kind] == 3
    faults = sim.stats()["faults"]
    assert isinstance(faults, dict) and faults[kind] == 3


async def test_records_keep_the_limits_of_a_stream_that_timed_out_after_its_head(
    start_simulator: StartSimulator, client: str
) -> None:
    # The stream's head comes at once, its first token not before the attempt's timeout.
    sim = await start_simulator(profile=fixed_profile(ttft_s=60.0), rpm=1200, tpm=1_000_000)
    settings = RunSettings("gpt-4o", 2, stream=True, timeout_s=0.5, max_retries=0)
    records, _ = await run_all(sim, settings, prompts(2), transport_kind=client)
    assert [(r.status, r.limit_rpm, r.limit_tpm) for r in records] == [
        ("timeout", 1200, 1_000_000)
    ] * 2
    assert sim.stats()["by_status"] == {"200": 2}
