"""Latency, capacity queueing, client give-ups and shutdown, against the real clock."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import openai
import pytest

from llmsweep.simulator import BUILTIN_PROFILES, FaultRates, Simulator

StartSimulator = Callable[..., Awaitable[Simulator]]
MakeClient = Callable[..., openai.AsyncOpenAI]

MESSAGES: list[Any] = [{"role": "user", "content": "Describe the sea."}]
# 0.2 s to the first token, then 20 tokens at 100 per second: 0.4 s in all at latency scale 1.
STEADY = dataclasses.replace(
    BUILTIN_PROFILES["fixed"], ttft_median_s=0.2, ttft_p95_s=0.2, output_tokens_per_s=100.0
)
# Upper bounds leave out scheduling noise (unbounded on a busy machine) and catch what would
# be a bug: a delay slept twice, so under twice what the profile gives. Lower bounds are exact.
TWICE = 2.0


async def test_streaming_ttft_and_duration_follow_the_profile(
    start_simulator: StartSimulator, make_client: MakeClient
) -> None:
    simulator = await start_simulator(profile=STEADY, latency_scale=1.0)
    client = make_client(simulator)
    # Untimed: the client's first request also pays for its connection and its own set-up.
    await client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    started = time.monotonic()
    first_content_s = None
    stream = await client.chat.completions.create(model="gpt-4o", messages=MESSAGES, stream=True)
    async for chunk in stream:
        if first_content_s is None and chunk.choices and chunk.choices[0].delta.content:
            first_content_s = time.monotonic() - started
    total_s = time.monotonic() - started
    assert first_content_s is not None
    assert 0.2 <= first_content_s < 0.2 * TWICE
    assert 0.4 <= total_s < 0.4 * TWICE
    started = time.monotonic()
    await client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    assert 0.4 <= time.monotonic() - started < 0.4 * TWICE


async def test_capacity_queues_requests_first_come_first_served(
    start_simulator: StartSimulator,
) -> None:
    # Each request holds a slot for 0.1 s + 20 tokens / 1000 per s = 0.12 s.
    profile = dataclasses.replace(BUILTIN_PROFILES["fixed"], capacity=2)
    simulator = await start_simulator(profile=profile, latency_scale=1.0)
    url = f"{simulator.base_url}/chat/completions"
    body = json.dumps({"model": "gpt-4o", "messages": MESSAGES}).encode()
    finished: list[int] = []

    async def one(session: aiohttp.ClientSession, number: int) -> float:
        await asyncio.sleep(number * 0.01)  # a known arrival order
        started = time.monotonic()
        async with session.post(url, data=body) as response:
            assert response.status == 200
            await response.read()
        finished.append(number)
        return time.monotonic() - started

    async with aiohttp.ClientSession() as session:
        await asyncio.gather(*(one(session, n) for n in range(2)))
        # Within capacity nobody waited for a slot: the server's own count, not a duration.
        assert simulator.stats()["peak_serving"] == 2
        simulator.reset_stats()
        finished.clear()
        queued = await asyncio.gather(*(one(session, n) for n in range(6)))
    assert finished == list(range(6))
    assert max(queued) >= 0.3  # the last two waited for two earlier rounds
    stats = simulator.stats()
    assert stats["peak_in_flight"] == 6
    assert stats["peak_serving"] == 2
    assert stats["completed_ok"] == 6


async def test_a_client_that_gives_up_frees_its_slot(start_simulator: StartSimulator) -> None:
    slow = dataclasses.replace(STEADY, capacity=1, ttft_median_s=30.0, ttft_p95_s=30.0)
    simulator = await start_simulator(profile=slow)
    body = {"model": "gpt-4o", "messages": MESSAGES}
    timeout = aiohttp.ClientTimeout(total=0.2)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        with pytest.raises(TimeoutError):
            async with session.post(f"{simulator.base_url}/chat/completions", json=body):
                pass
    await asyncio.sleep(0.05)
    stats = simulator.stats()
    assert (stats["in_flight"], stats["serving"], stats["client_disconnects"]) == (0, 0, 1)


async def test_stop_ends_hanging_requests_at_once(start_simulator: StartSimulator) -> None:
    simulator = await start_simulator(faults=FaultRates(hang=1.0), latency_scale=0)
    body = {"model": "gpt-4o", "messages": MESSAGES}
    async with aiohttp.ClientSession() as session:
        pending = asyncio.create_task(
            session.post(f"{simulator.base_url}/chat/completions", json=body)
        )
        await asyncio.sleep(0.1)
        assert simulator.stats()["in_flight"] == 1
        started = time.monotonic()
        await simulator.stop()
        # Not aiohttp's default 60 s wait for the hanging handler: its own short grace.
        assert time.monotonic() - started < 60 / 2
        with pytest.raises(aiohttp.ClientConnectionError):
            await pending


SERVE_SCRIPT = """
from llmsweep.simulator import FaultRates, SimulatorConfig, serve_forever
config = SimulatorConfig(faults=FaultRates(hang=1.0))
serve_forever(config, lambda messages, model: 1, lambda url: print(url, flush=True))
"""


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM])
async def test_serve_forever_stops_cleanly_on_signal(stop_signal: signal.Signals) -> None:
    server = subprocess.Popen(
        [sys.executable, "-c", SERVE_SCRIPT],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        base_url = (await asyncio.to_thread(server.stdout.readline)).strip()
        assert base_url.startswith("http://127.0.0.1:")
        async with aiohttp.ClientSession() as session:
            async with session.get(f"{base_url}/models") as response:
                assert response.status == 200
            body = {"model": "gpt-4o", "messages": MESSAGES}
            hanging = asyncio.create_task(session.post(f"{base_url}/chat/completions", json=body))
            await asyncio.sleep(0.2)
            server.send_signal(stop_signal)
            with pytest.raises(aiohttp.ClientConnectionError):
                await hanging
        _, stderr = await asyncio.to_thread(server.communicate, timeout=5)
    finally:
        server.kill()
    assert server.returncode == 0
    assert "Traceback" not in stderr
