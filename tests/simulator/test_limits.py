"""Rate limits and quota over real HTTP: throughput held at the limit, OpenAI's 429s."""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import openai
import pytest

from llmsweep.inputs.tokens import tokenizer_for
from llmsweep.simulator import BUILTIN_PROFILES, FaultRates, RateLimit, Simulator

StartSimulator = Callable[..., Awaitable[Simulator]]
MakeClient = Callable[..., openai.AsyncOpenAI]

FIXED = BUILTIN_PROFILES["fixed"]
MESSAGES: list[Any] = [{"role": "user", "content": "Count to three."}]
GO_DURATION = re.compile(r"(\d+h)?(\d+m(?!s))?(\d+(\.\d+)?s)?(\d+ms)?")


async def flood(
    simulator: Simulator, window_s: float, max_tokens: int, workers: int = 8
) -> tuple[int, int, float]:
    """Send requests as fast as ``workers`` connections allow for ``window_s``.

    Returns (accepted, refused with 429, seconds from the first send to the last).
    """
    url = f"{simulator.base_url}/chat/completions"
    body = json.dumps({"model": "gpt-4o", "messages": MESSAGES, "max_tokens": max_tokens})
    accepted = refused = 0
    start_s = time.monotonic()
    last_send_s = start_s

    async def worker(session: aiohttp.ClientSession) -> None:
        nonlocal accepted, refused, last_send_s
        while time.monotonic() - start_s < window_s:
            last_send_s = max(last_send_s, time.monotonic())
            async with session.post(url, data=body) as response:
                await response.read()
                if response.status == 200:
                    accepted += 1
                else:
                    assert response.status == 429
                    refused += 1

    headers = {"Authorization": "Bearer sk-flood", "Content-Type": "application/json"}
    async with aiohttp.ClientSession(headers=headers) as session:
        await asyncio.gather(*(worker(session) for _ in range(workers)))
    return accepted, refused, last_send_s - start_s


async def test_rpm_holds_over_a_measured_window(start_simulator: StartSimulator) -> None:
    simulator = await start_simulator(profile=FIXED, latency_scale=0, rpm=1200)
    accepted, refused, elapsed_s = await flood(simulator, window_s=2.0, max_tokens=5)
    allowed = 20 + 20 * elapsed_s  # one second's bucket, then 20 per second
    assert refused > accepted  # the client really did push past the limit
    assert allowed - 2 <= accepted <= allowed + 1
    stats = simulator.stats()
    assert stats["completed_ok"] == accepted
    assert stats["rate_limited"] == {
        "requests": refused,
        "tokens": 0,
        "injected": 0,
        "injected_nohint": 0,
        "too_large": 0,
        "quota": 0,
    }


async def test_tpm_holds_over_a_measured_window(start_simulator: StartSimulator) -> None:
    simulator = await start_simulator(profile=FIXED, latency_scale=0, tpm=60_000)
    charge = tokenizer_for("gpt-4o").count_chat(MESSAGES) + 20  # prompt + max_tokens, up front
    accepted, refused, elapsed_s = await flood(simulator, window_s=2.0, max_tokens=20)
    allowed_tokens = 1000 + 1000 * elapsed_s  # one second's bucket, then 1000 per second
    assert refused > accepted
    assert allowed_tokens - 2 * charge <= accepted * charge <= allowed_tokens + charge
    limited = simulator.stats()["rate_limited"]
    assert isinstance(limited, dict)
    assert limited["tokens"] == refused


def error_message(error: openai.APIStatusError) -> str:
    """The body's message (the SDK's ``message`` prefixes the status code)."""
    assert isinstance(error.body, dict)
    message = error.body["message"]
    assert isinstance(message, str)
    return message


def duration_s(text: str) -> float:
    match = GO_DURATION.fullmatch(text)
    assert match is not None and text, text
    hours, minutes, seconds, _, millis = match.groups()
    return (
        float((hours or "0h")[:-1]) * 3600
        + float((minutes or "0m")[:-1]) * 60
        + float((seconds or "0s")[:-1])
        + float((millis or "0ms")[:-2]) / 1000
    )


async def test_rate_limited_429_is_openai_shaped(
    start_simulator: StartSimulator, make_client: MakeClient
) -> None:
    simulator = await start_simulator(profile=FIXED, latency_scale=0, rpm=120, tpm=100_000)
    client = make_client(simulator)
    ok = await client.chat.completions.with_raw_response.create(
        model="gpt-4o", messages=MESSAGES, max_tokens=10
    )
    assert ok.headers["x-ratelimit-limit-requests"] == "120"
    assert ok.headers["x-ratelimit-remaining-requests"] == "1"
    assert ok.headers["x-ratelimit-limit-tokens"] == "100000"
    assert int(ok.headers["x-ratelimit-remaining-tokens"]) < 100_000 // 60
    assert duration_s(ok.headers["x-ratelimit-reset-requests"]) <= 0.5
    await client.chat.completions.create(model="gpt-4o", messages=MESSAGES, max_tokens=10)
    with pytest.raises(openai.RateLimitError) as caught:
        await client.chat.completions.create(model="gpt-4o", messages=MESSAGES, max_tokens=10)
    error = caught.value
    assert error.code == "rate_limit_exceeded"
    assert error.type == "requests"
    assert error_message(error).startswith("Rate limit reached for gpt-4o")
    assert "requests per min (RPM)" in error_message(error)
    headers = error.response.headers
    wait_s = int(headers["retry-after-ms"]) / 1000
    assert 0 < wait_s <= 0.5
    assert int(headers["retry-after"]) == 1
    assert headers["x-ratelimit-remaining-requests"] == "0"
    assert 0 < duration_s(headers["x-ratelimit-reset-requests"]) <= 1.0
    duration_s(headers["x-ratelimit-reset-tokens"])
    await asyncio.sleep(wait_s)  # the hint is exact: waiting it is enough
    await client.chat.completions.create(model="gpt-4o", messages=MESSAGES, max_tokens=10)


async def test_each_key_has_its_own_buckets(
    start_simulator: StartSimulator, make_client: MakeClient
) -> None:
    simulator = await start_simulator(profile=FIXED, latency_scale=0, rpm=60)  # bucket of one
    first = make_client(simulator, api_key="sk-first")
    second = make_client(simulator, api_key="sk-second")
    await first.chat.completions.create(model="gpt-4o", messages=MESSAGES, max_tokens=5)
    with pytest.raises(openai.RateLimitError):
        await first.chat.completions.create(model="gpt-4o", messages=MESSAGES, max_tokens=5)
    await second.chat.completions.create(model="gpt-4o", messages=MESSAGES, max_tokens=5)
    body = json.dumps({"model": "gpt-4o", "messages": MESSAGES}).encode()
    async with aiohttp.ClientSession() as session:  # no Authorization header: a key of its own
        url = f"{simulator.base_url}/chat/completions"
        async with session.post(url, data=body) as response:
            assert response.status == 200
        async with session.post(url, data=body) as response:
            assert response.status == 429


async def test_request_above_the_whole_tpm_is_too_large(
    start_simulator: StartSimulator, make_client: MakeClient
) -> None:
    simulator = await start_simulator(profile=FIXED, latency_scale=0, tpm=1000)
    client = make_client(simulator)
    with pytest.raises(openai.RateLimitError) as caught:
        await client.chat.completions.create(model="gpt-4o", messages=MESSAGES, max_tokens=2000)
    error = caught.value
    assert error_message(error).startswith("Request too large for gpt-4o")
    assert error.code == "rate_limit_exceeded"
    assert error.type == "tokens"
    assert not any(
        name.startswith(("retry-after", "x-ratelimit")) for name in error.response.headers
    )
    # Over one second's worth but within the minute's: served once, then the debt is repaid.
    await client.chat.completions.create(model="gpt-4o", messages=MESSAGES, max_tokens=500)
    with pytest.raises(openai.RateLimitError) as caught:
        await client.chat.completions.create(model="gpt-4o", messages=MESSAGES, max_tokens=5)
    assert int(caught.value.response.headers["retry-after"]) >= 25  # ~500 tokens at 16.7/s
    limited = simulator.stats()["rate_limited"]
    assert isinstance(limited, dict)
    assert (limited["too_large"], limited["tokens"]) == (1, 1)


async def test_exhausted_quota_refuses_everything(
    start_simulator: StartSimulator, make_client: MakeClient
) -> None:
    simulator = await start_simulator(profile=FIXED, latency_scale=0, quota_exhausted=True)
    client = make_client(simulator)
    for stream in (False, True):
        with pytest.raises(openai.RateLimitError) as caught:
            await client.chat.completions.create(model="gpt-4o", messages=MESSAGES, stream=stream)
        assert caught.value.code == "insufficient_quota"
        assert caught.value.type == "insufficient_quota"
        assert error_message(caught.value).startswith("You exceeded your current quota")
        assert "retry-after" not in caught.value.response.headers
    stats = simulator.stats()
    assert stats["by_status"] == {"429": 2}
    assert isinstance(stats["rate_limited"], dict)
    assert stats["rate_limited"]["quota"] == 2


async def test_model_limits_hold_each_model_apart(
    start_simulator: StartSimulator, make_client: MakeClient
) -> None:
    # One request a second for gpt-4o (a bucket of one), none for gpt-4o-mini: as OpenAI limits
    # each model apart, a model left out of model_limits is not limited at all.
    limits = {"gpt-4o": RateLimit(60, None, "a test tier")}
    simulator = await start_simulator(profile=FIXED, latency_scale=0, model_limits=limits)
    client = make_client(simulator)
    await client.chat.completions.create(model="gpt-4o", messages=MESSAGES, max_tokens=5)
    with pytest.raises(openai.RateLimitError) as caught:
        await client.chat.completions.create(model="gpt-4o", messages=MESSAGES, max_tokens=5)
    assert caught.value.response.headers["x-ratelimit-limit-requests"] == "60"
    for _ in range(5):
        await client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, max_tokens=5)
    limited = simulator.stats()["rate_limited"]
    assert isinstance(limited, dict)
    assert limited["requests"] == 1 and simulator.stats()["requests"] == 7


async def test_a_request_without_max_tokens_is_charged_the_allowance_given(
    start_simulator: StartSimulator, make_client: MakeClient
) -> None:
    # 1,000 TPM: a bucket of 16.7 tokens. Charged the profile's whole max_output_tokens (4096),
    # the request is too large; charged the 20-token allowance run and sweep pass, it is served.
    simulator = await start_simulator(profile=FIXED, latency_scale=0, tpm=1000)
    with pytest.raises(openai.RateLimitError, match="Request too large"):
        await make_client(simulator).chat.completions.create(model="gpt-4o", messages=MESSAGES)
    allowing = await start_simulator(
        profile=FIXED, latency_scale=0, tpm=1000, unset_max_tokens_charge=20
    )
    answer = await make_client(allowing).chat.completions.create(model="gpt-4o", messages=MESSAGES)
    assert answer.usage is not None and answer.usage.completion_tokens == FIXED.output_tokens_median


@pytest.mark.parametrize(
    ("kind", "status"),
    [("error_500", 500), ("error_503", 503), ("rate_limit_429", 429)],
)
async def test_fault_answers_state_the_limits_as_a_real_apis_do(
    start_simulator: StartSimulator, kind: str, status: int
) -> None:
    # An error answer states the limits as a 200 does; a fault is not charged to them.
    faults = FaultRates(**{kind: 1.0}, retry_after_s=0.5)
    simulator = await start_simulator(
        profile=FIXED, latency_scale=0, rpm=120, tpm=100_000, faults=faults
    )
    body = json.dumps({"model": "gpt-4o", "messages": MESSAGES, "max_tokens": 5})
    async with aiohttp.ClientSession(headers={"Authorization": "Bearer sk-a"}) as session:
        for _ in range(3):  # more than the bucket of two holds: nothing was charged
            async with session.post(f"{simulator.base_url}/chat/completions", data=body) as r:
                assert r.status == status
                headers = r.headers
    assert headers["x-ratelimit-limit-requests"] == "120"
    assert headers["x-ratelimit-limit-tokens"] == "100000"
    assert headers["x-ratelimit-remaining-requests"] == "2"
    assert duration_s(headers["x-ratelimit-reset-requests"]) == (0.5 if status == 429 else 0)
    if status != 429:
        assert "retry-after" not in headers


async def test_a_429_without_a_hint_states_the_limits_but_not_when_to_retry(
    start_simulator: StartSimulator,
) -> None:
    faults = FaultRates(rate_limit_429_nohint=1.0)
    simulator = await start_simulator(
        profile=FIXED, latency_scale=0, rpm=120, tpm=100_000, faults=faults
    )
    body = json.dumps({"model": "gpt-4o", "messages": MESSAGES, "max_tokens": 5})
    url = f"{simulator.base_url}/chat/completions"
    async with aiohttp.ClientSession() as session, session.post(url, data=body) as r:
        assert r.status == 429
        headers = r.headers
    assert (headers["x-ratelimit-limit-requests"], headers["x-ratelimit-limit-tokens"]) == (
        "120",
        "100000",
    )
    assert not [name for name in headers if name.startswith(("retry-after", "x-ratelimit-re"))]
