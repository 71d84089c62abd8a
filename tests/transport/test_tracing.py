"""When a request went out and what its connection cost, from each HTTP library's tracing."""

from __future__ import annotations

import asyncio
import time

import aiohttp
import pytest

from conftest import StartSimulator
from engine_helpers import fixed_profile
from llmsweep.transport.tracing import (
    WireTimes,
    aiohttp_tracing,
    open_connections,
    sdk_tracing,
)


def test_a_reused_connection_costs_no_connect_time() -> None:
    wire = WireTimes(lambda: 3.0)
    wire.connected()  # a stage ending without a connect having started: nothing to measure
    wire.sent()
    assert (wire.connect_s, wire.sent_at_s) == (0.0, 3.0)


async def test_aiohttp_tracing_times_a_new_connection_then_a_reused_one(
    start_simulator: StartSimulator,
) -> None:
    sim = await start_simulator(profile=fixed_profile(ttft_s=0.001, tokens=2))
    body = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 2}
    wires = [WireTimes(time.monotonic), WireTimes(time.monotonic)]
    async with aiohttp.ClientSession(trace_configs=[aiohttp_tracing()]) as session:
        for wire in wires:
            started = time.monotonic()
            url = f"{sim.base_url}/chat/completions"
            async with session.post(url, json=body, trace_request_ctx=wire) as response:
                assert response.status == 200
                await response.read()
            assert wire.sent_at_s is not None and started + wire.connect_s <= wire.sent_at_s
        async with session.get(f"{sim.base_url}/models") as response:  # no wire: no error
            assert response.status == 200
    assert wires[0].connect_s > 0 and wires[1].connect_s == 0.0


async def test_a_request_without_its_own_wire_reports_to_the_one_of_sdk_tracing(
    start_simulator: StartSimulator,
) -> None:
    """The SDK's requests carry no ``trace_request_ctx``: those sent inside ``sdk_tracing``
    report to its wire, those outside to none."""
    sim = await start_simulator(profile=fixed_profile(ttft_s=0.001, tokens=2))
    body = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 2}
    wire = WireTimes(time.monotonic)
    async with aiohttp.ClientSession(trace_configs=[aiohttp_tracing()]) as session:

        async def post() -> None:
            async with session.post(f"{sim.base_url}/chat/completions", json=body) as response:
                await response.read()

        await post()
        assert (wire.sent_at_s, wire.answered) == (None, False)
        with sdk_tracing(wire):
            await post()
        assert wire.sent_at_s is not None and wire.answered and wire.reused
        sent_at_s = wire.sent_at_s
        await post()
    assert wire.sent_at_s == sent_at_s


async def test_open_connections_ignores_failed_requests_but_not_a_cancellation_or_a_bug() -> None:
    calls = 0

    async def failing() -> None:
        nonlocal calls
        calls += 1
        raise ConnectionError("refused")

    await open_connections(3, failing, (ConnectionError,))
    assert calls == 3

    async def cancelled() -> None:
        raise asyncio.CancelledError

    with pytest.raises(asyncio.CancelledError):
        await open_connections(2, cancelled, (ConnectionError,))

    async def buggy() -> None:
        raise TypeError("a bug of ours")

    with pytest.raises(TypeError, match="a bug of ours"):
        await open_connections(2, buggy, (ConnectionError,))
