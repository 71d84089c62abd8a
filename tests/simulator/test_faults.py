"""Injected faults as the SDK and a raw client see them, their rates, and seed reproducibility."""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import openai
import pytest

from llmsweep.simulator import BUILTIN_PROFILES, FAULT_KINDS, FaultKind, FaultRates, Simulator

StartSimulator = Callable[..., Awaitable[Simulator]]
MakeClient = Callable[..., openai.AsyncOpenAI]

FIXED = BUILTIN_PROFILES["fixed"]
MESSAGES: list[Any] = [{"role": "user", "content": "Tell me a story."}]
# What a client can tell apart: a hang (once hang_s is over) and a disconnect both drop the line.
SEEN_AS: dict[str, str] = {**{kind: kind for kind in FAULT_KINDS}, "hang": "disconnect"}


async def sdk_attempt(
    client: openai.AsyncOpenAI, stream: bool
) -> openai.types.CompletionUsage | None:
    """One chat completion through the SDK; returns its usage (which may be None)."""
    if not stream:
        completion = await client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
        return completion.usage
    usage = None
    async for chunk in await client.chat.completions.create(
        model="gpt-4o", messages=MESSAGES, stream=True, stream_options={"include_usage": True}
    ):
        usage = chunk.usage or usage
    return usage


EXPECTED_SDK_ERROR: dict[FaultKind, type[Exception]] = {
    "error_500": openai.InternalServerError,
    "error_503": openai.InternalServerError,
    "disconnect": openai.APIConnectionError,
    "hang": openai.APITimeoutError,
    "stream_cut": openai.APIConnectionError,
    "malformed_json": ValueError,  # the SDK lets json.JSONDecodeError through
    "rate_limit_429": openai.RateLimitError,
    "rate_limit_429_nohint": openai.RateLimitError,
}


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("kind", FAULT_KINDS)
async def test_sdk_sees_each_fault(
    start_simulator: StartSimulator, make_client: MakeClient, kind: FaultKind, stream: bool
) -> None:
    simulator = await start_simulator(
        profile=FIXED, latency_scale=0.01, faults=FaultRates(**{kind: 1.0})
    )
    # A short timeout for the hang alone: on a busy machine the SDK's first request (its
    # connection and set-up) can take longer than 0.3 s, which is no fault of the server's.
    client = make_client(simulator, timeout=0.3 if kind == "hang" else 30.0)
    if kind == "missing_usage":
        assert await sdk_attempt(client, stream) is None
        return
    with pytest.raises(EXPECTED_SDK_ERROR[kind]) as caught:
        await sdk_attempt(client, stream)
    error = caught.value
    if kind == "disconnect" or kind == "stream_cut":
        assert not isinstance(error, openai.APITimeoutError)
    if isinstance(error, openai.APIStatusError):
        headers = error.response.headers
        assert error.status_code == {"error_500": 500, "error_503": 503}.get(kind, 429)
        hints = [name for name in headers if name.startswith(("retry-after", "x-ratelimit-reset"))]
        if kind == "rate_limit_429":
            assert headers["retry-after"] == "1"
            assert headers["retry-after-ms"] == "1000"
            assert headers["x-ratelimit-reset-requests"] == "1s"
            assert error.code == "rate_limit_exceeded"
        else:
            assert hints == []
    assert simulator.stats()["faults"] == {k: int(k == kind) for k in FAULT_KINDS}


async def raw_attempt(session: aiohttp.ClientSession, url: str, body: bytes) -> str:
    """One non-streaming attempt, classified by what the client can observe."""
    try:
        async with session.post(url, data=body) as response:
            status = response.status
            hinted = "retry-after" in response.headers
            raw = await response.read()
    except aiohttp.ClientPayloadError:
        return "stream_cut"
    except (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError):
        return "disconnect"
    if status != 200:
        return {500: "error_500", 503: "error_503"}.get(
            status, "rate_limit_429" if hinted else "rate_limit_429_nohint"
        )
    try:
        answer = json.loads(raw)
    except ValueError:
        return "malformed_json"
    return "ok" if "usage" in answer else "missing_usage"


async def run_attempts(simulator: Simulator, attempts: int) -> Counter[str]:
    url = f"{simulator.base_url}/chat/completions"
    body = json.dumps({"model": "gpt-4o", "messages": MESSAGES}).encode()
    async with aiohttp.ClientSession() as session:
        return Counter([await raw_attempt(session, url, body) for _ in range(attempts)])


def within_binomial(count: int, attempts: int, rate: float) -> bool:
    mean = attempts * rate
    return abs(count - mean) <= 4 * math.sqrt(attempts * rate * (1 - rate))


@pytest.mark.parametrize("kind", FAULT_KINDS)
async def test_each_fault_happens_at_its_rate(start_simulator: StartSimulator, kind: str) -> None:
    rates = FaultRates(**{kind: 0.2}, hang_s=0.005)
    simulator = await start_simulator(profile=FIXED, latency_scale=0, faults=rates, seed=11)
    seen = await run_attempts(simulator, 500)
    injected = simulator.stats()["faults"]
    assert isinstance(injected, dict)
    assert seen == {SEEN_AS[kind]: injected[kind], "ok": 500 - injected[kind]}
    assert within_binomial(injected[kind], 500, 0.2), injected[kind]


async def test_all_faults_at_once_match_server_counts(start_simulator: StartSimulator) -> None:
    rates = FaultRates(**{kind: 0.1 for kind in FAULT_KINDS}, hang_s=0.005)
    simulator = await start_simulator(profile=FIXED, latency_scale=0, faults=rates, seed=5)
    seen = await run_attempts(simulator, 600)
    stats = simulator.stats()
    injected = stats["faults"]
    assert isinstance(injected, dict)
    expected: Counter[str] = Counter()
    for kind, count in injected.items():
        expected[SEEN_AS[kind]] += count
        assert within_binomial(count, 600, 0.1), (kind, count)
    expected["ok"] = 600 - sum(injected.values())
    assert seen == expected
    assert stats["requests"] == 600
    assert stats["completed_ok"] == expected["ok"] + expected["missing_usage"]
    assert stats["rate_limited"] == {
        "requests": 0,
        "tokens": 0,
        "injected": injected["rate_limit_429"],
        "injected_nohint": injected["rate_limit_429_nohint"],
        "too_large": 0,
        "quota": 0,
    }


_CREATED = re.compile(rb'"created":\d+')


async def transcript(start_simulator: StartSimulator, seed: int) -> list[bytes | str]:
    """What a sequential client gets from a fresh server: answers, lengths, faults, in order."""
    rates = FaultRates(error_500=0.1, malformed_json=0.1, missing_usage=0.1, stream_cut=0.1)
    simulator = await start_simulator(latency_scale=0, faults=rates, seed=seed)
    url = f"{simulator.base_url}/chat/completions"
    seen: list[bytes | str] = []
    async with aiohttp.ClientSession() as session:
        for i in range(40):
            model = ("gpt-4o", "claude-sonnet-4", "llama-3")[i % 3]  # spread-out profiles
            body = {"model": model, "messages": MESSAGES, "stream": i % 2 == 1}
            try:
                async with session.post(url, json=body) as response:
                    seen.append(_CREATED.sub(b"", await response.read()))
            except aiohttp.ClientPayloadError:
                seen.append("cut")
    return seen


async def test_same_seed_same_answers_other_seed_others(start_simulator: StartSimulator) -> None:
    first = await transcript(start_simulator, seed=42)
    assert len(set(first)) > 20  # lengths and texts really vary
    assert "cut" in first
    assert await transcript(start_simulator, seed=42) == first
    assert await transcript(start_simulator, seed=43) != first
