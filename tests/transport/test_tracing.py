"""When a request went out and what its connection cost, from each HTTP library's tracing."""

from __future__ import annotations

import asyncio
import time

import aiohttp
import httpx2
import pytest

from conftest import StartSimulator
from engine_helpers import fixed_profile
from llmsweep.transport.tracing import (
    WireTimes,
    aiohttp_tracing,
    open_connections,
    sdk_tracing,
    trace_httpx_request,
)


async def test_httpcore_events_give_the_connect_time_once_and_the_send_time() -> None:
    # Connect starts at 1.0, TCP is up at 1.2, TLS at 1.5: 0.5 s of connecting, not 0.2 + 0.5.
    now = [0.0]
    wire = WireTimes(lambda: now[0])
    for at, event in (
        (1.0, "connection.connect_tcp.started"),
        (1.2, "connection.connect_tcp.complete"),
        (1.5, "connection.start_tls.complete"),
        (2.0, "http11.send_request_body.complete"),
        (2.7, "http11.receive_response_headers.started"),  # the answer: not a send
    ):
        now[0] = at
        await wire.httpcore_trace(event, {})
    assert (wire.connect_s, wire.sent_at_s) == (0.5, 2.0)


def test_a_reused_connection_costs_no_connect_time() -> None:
    wire = WireTimes(lambda: 3.0)
    wire.connected()  # a stage ending without a connect having started: nothing to measure
    wire.sent()
    assert (wire.connect_s, wire.sent_at_s) == (0.0, 3.0)


async def test_only_requests_inside_sdk_tracing_report_to_its_wire() -> None:
    wire = WireTimes(time.monotonic)
    outside = httpx2.Request("POST", "http://127.0.0.1/v1/chat/completions")
    await trace_httpx_request(outside)
    with sdk_tracing(wire):
        inside = httpx2.Request("POST", "http://127.0.0.1/v1/chat/completions")
        await trace_httpx_request(inside)
    after = httpx2.Request("POST", "http://127.0.0.1/v1/chat/completions")
    await trace_httpx_request(after)
    assert inside.extensions["trace"] == wire.httpcore_trace
    assert "trace" not in outside.extensions and "trace" not in after.extensions


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
