"""The simulator's HTTP API against the OpenAI SDK and raw HTTP: shapes, usage, errors, stats."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import openai
import pytest

from llmsweep.inputs.tokens import tokenizer_for
from llmsweep.simulator import BUILTIN_PROFILES, Simulator

StartSimulator = Callable[..., Awaitable[Simulator]]
MakeClient = Callable[..., openai.AsyncOpenAI]

FIXED = BUILTIN_PROFILES["fixed"]
MESSAGES: list[Any] = [
    {"role": "system", "content": "You are terse."},
    {"role": "user", "content": "Name three colours, please."},
]


async def post_json(
    simulator: Simulator, body: object, headers: dict[str, str] | None = None
) -> tuple[int, Any, dict[str, str]]:
    """POST to chat completions; (status, parsed JSON body, headers)."""
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"{simulator.base_url}/chat/completions",
            data=raw,
            headers={"Content-Type": "application/json", **(headers or {})},
        ) as response,
    ):
        return response.status, json.loads(await response.read()), dict(response.headers)


@pytest.mark.parametrize("model", ["gpt-4o", "gpt-4"])  # o200k_base and cl100k_base
async def test_sdk_non_streaming_usage_is_exact(
    start_simulator: StartSimulator, make_client: MakeClient, model: str
) -> None:
    simulator = await start_simulator(profile=FIXED, latency_scale=0)
    client = make_client(simulator)
    completion = await client.chat.completions.create(model=model, messages=MESSAGES)
    tokenizer = tokenizer_for(model)
    assert completion.object == "chat.completion"
    assert completion.model == model
    assert completion.id.startswith("chatcmpl-")
    choice = completion.choices[0]
    assert choice.index == 0
    assert choice.message.role == "assistant"
    assert choice.finish_reason == "stop"
    content = choice.message.content
    assert content
    assert completion.usage is not None
    assert completion.usage.prompt_tokens == tokenizer.count_chat(MESSAGES)
    assert completion.usage.completion_tokens == tokenizer.count_text(content) == 20
    assert completion.usage.total_tokens == completion.usage.prompt_tokens + 20


@pytest.mark.parametrize("model", ["gpt-4o", "gpt-4"])
async def test_sdk_streaming_with_usage(
    start_simulator: StartSimulator, make_client: MakeClient, model: str
) -> None:
    simulator = await start_simulator(profile=FIXED, latency_scale=0.01)
    client = make_client(simulator)
    stream = await client.chat.completions.create(
        model=model, messages=MESSAGES, stream=True, stream_options={"include_usage": True}
    )
    chunks = [chunk async for chunk in stream]
    assert all(chunk.object == "chat.completion.chunk" for chunk in chunks)
    assert chunks[0].choices[0].delta.role == "assistant"
    *content_chunks, finish_chunk, usage_chunk = chunks
    assert len(content_chunks) >= 2  # the first token alone, then groups
    assert finish_chunk.choices[0].finish_reason == "stop"
    assert all(chunk.usage is None for chunk in chunks[:-1])
    assert usage_chunk.choices == []
    content = "".join(chunk.choices[0].delta.content or "" for chunk in content_chunks)
    tokenizer = tokenizer_for(model)
    usage = usage_chunk.usage
    assert usage is not None
    assert usage.prompt_tokens == tokenizer.count_chat(MESSAGES)
    assert usage.completion_tokens == tokenizer.count_text(content) == 20


async def test_stream_without_include_usage_has_no_usage_field(
    start_simulator: StartSimulator,
) -> None:
    simulator = await start_simulator(profile=FIXED, latency_scale=0)
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"{simulator.base_url}/chat/completions",
            json={"model": "gpt-4o", "messages": MESSAGES, "stream": True},
        ) as response,
    ):
        assert response.headers["Content-Type"].startswith("text/event-stream")
        text = (await response.read()).decode()
    events = [block.removeprefix("data: ") for block in text.split("\n\n") if block]
    assert events[-1] == "[DONE]"
    chunks = [json.loads(event) for event in events[:-1]]
    assert all("usage" not in chunk for chunk in chunks)
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"


@pytest.mark.parametrize("param", ["max_tokens", "max_completion_tokens"])
@pytest.mark.parametrize("stream", [False, True])
async def test_max_tokens_caps_the_answer(
    start_simulator: StartSimulator, make_client: MakeClient, param: str, stream: bool
) -> None:
    simulator = await start_simulator(profile=FIXED, latency_scale=0)
    client = make_client(simulator)
    cap = {param: 5}
    if not stream:
        completion = await client.chat.completions.create(
            model="gpt-4o", messages=MESSAGES, extra_body=cap
        )
        assert completion.choices[0].finish_reason == "length"
        assert completion.usage is not None
        assert completion.usage.completion_tokens == 5
        assert tokenizer_for("gpt-4o").count_text(completion.choices[0].message.content or "") == 5
        return
    chunks = [
        chunk
        async for chunk in await client.chat.completions.create(
            model="gpt-4o",
            messages=MESSAGES,
            stream=True,
            stream_options={"include_usage": True},
            extra_body=cap,
        )
    ]
    assert chunks[-2].choices[0].finish_reason == "length"
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens == 5


GOOD: dict[str, Any] = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}


@pytest.mark.parametrize(
    ("body", "param"),
    [
        (b"{not json", None),
        (b"\xff\xfe", None),
        ([1, 2], None),
        ({"messages": GOOD["messages"]}, "model"),
        ({**GOOD, "model": 4}, "model"),
        ({"model": "gpt-4o"}, "messages"),
        ({**GOOD, "messages": []}, "messages"),
        ({**GOOD, "messages": "hi"}, "messages"),
        ({**GOOD, "messages": ["hi"]}, "messages[0]"),
        ({**GOOD, "messages": [{"content": "hi"}]}, "messages[0].role"),
        ({**GOOD, "messages": [{"role": "robot", "content": "hi"}]}, "messages[0].role"),
        ({**GOOD, "messages": [{"role": "user", "content": 3}]}, "messages[0].content"),
        ({**GOOD, "messages": [{"role": "user"}]}, "messages[0].content"),
        (
            {**GOOD, "messages": [{"role": "user", "content": [{"type": "image_url"}]}]},
            "messages[0].content[0].type",
        ),
        ({**GOOD, "messages": [{"role": "tool", "content": "42"}]}, "messages[0].tool_call_id"),
        ({**GOOD, "max_tokens": 0}, "max_tokens"),
        ({**GOOD, "max_tokens": "5"}, "max_tokens"),
        ({**GOOD, "max_completion_tokens": True}, "max_completion_tokens"),
        ({**GOOD, "max_tokens": 5000}, "max_tokens"),  # above the fixed profile's 4096
        ({**GOOD, "stream": "yes"}, "stream"),
        ({**GOOD, "n": 2}, "n"),
        ({**GOOD, "stream_options": {"include_usage": True}}, "stream_options"),
        ({**GOOD, "stream": True, "stream_options": []}, "stream_options"),
    ],
)
async def test_invalid_requests_get_openai_shaped_400(
    start_simulator: StartSimulator, body: object, param: str | None
) -> None:
    simulator = await start_simulator(profile=FIXED, latency_scale=0)
    status, answer, _ = await post_json(simulator, body)
    assert status == 400
    error = answer["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["type"] == "invalid_request_error"
    assert error["param"] == param
    assert error["code"] is None
    assert error["message"]
    assert simulator.stats()["bad_requests"] == 1


async def test_valid_variants_are_accepted(start_simulator: StartSimulator) -> None:
    simulator = await start_simulator(profile=FIXED, latency_scale=0)
    messages: list[dict[str, Any]] = [
        {"role": "developer", "content": [{"type": "text", "text": "Be brief."}]},
        {"role": "user", "content": "hi", "name": "ann"},
        {"role": "assistant", "content": None, "tool_calls": [{"id": "c1", "type": "function"}]},
        {"role": "tool", "content": "42", "tool_call_id": "c1"},
    ]
    body = {"model": "gpt-4o", "messages": messages, "n": 1, "max_tokens": None, "stream": False}
    status, answer, _ = await post_json(simulator, body)
    assert status == 200, answer
    assert answer["usage"]["prompt_tokens"] == tokenizer_for("gpt-4o").count_chat(messages)


async def test_sdk_raises_bad_request(
    start_simulator: StartSimulator, make_client: MakeClient
) -> None:
    simulator = await start_simulator(profile=FIXED, latency_scale=0)
    client = make_client(simulator)
    with pytest.raises(openai.BadRequestError) as caught:
        await client.chat.completions.create(model="gpt-4o", messages=[], max_tokens=5)
    assert caught.value.status_code == 400
    assert caught.value.param == "messages"


async def test_body_over_the_limit_gets_413(start_simulator: StartSimulator) -> None:
    simulator = await start_simulator(profile=FIXED, latency_scale=0, max_body_bytes=1000)
    body = {"model": "gpt-4o", "messages": [{"role": "user", "content": "x" * 2000}]}
    status, answer, _ = await post_json(simulator, body)
    assert status == 413
    assert answer["error"]["type"] == "invalid_request_error"
    assert "1000 bytes" in answer["error"]["message"]


async def test_prompt_over_the_context_window(
    start_simulator: StartSimulator, make_client: MakeClient
) -> None:
    small = dataclasses.replace(FIXED, context_window=50)
    simulator = await start_simulator(profile=small, latency_scale=0)
    client = make_client(simulator)
    long_prompt: list[Any] = [{"role": "user", "content": " word" * 60}]
    with pytest.raises(openai.BadRequestError) as caught:
        await client.chat.completions.create(model="gpt-4o", messages=long_prompt)
    assert caught.value.code == "context_length_exceeded"
    # Prompt plus the completion asked for must fit too; what fits is answered.
    short: list[Any] = [{"role": "user", "content": "hi"}]
    with pytest.raises(openai.BadRequestError) as caught:
        await client.chat.completions.create(model="gpt-4o", messages=short, max_tokens=45)
    assert "maximum context length is 50 tokens" in caught.value.message
    completion = await client.chat.completions.create(model="gpt-4o", messages=short)
    assert completion.usage is not None
    assert completion.usage.prompt_tokens + completion.usage.completion_tokens <= 50


async def test_models_lists_builtin_profiles(
    start_simulator: StartSimulator, make_client: MakeClient
) -> None:
    simulator = await start_simulator()
    client = make_client(simulator)
    ids = [model.id async for model in client.models.list()]
    assert set(BUILTIN_PROFILES) <= set(ids)


async def test_stats_count_what_the_client_saw(
    start_simulator: StartSimulator, make_client: MakeClient
) -> None:
    simulator = await start_simulator(profile=FIXED, latency_scale=0)
    client = make_client(simulator)
    prompt_tokens = completion_tokens = 0
    for _ in range(3):
        completion = await client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
        assert completion.usage is not None
        prompt_tokens += completion.usage.prompt_tokens
        completion_tokens += completion.usage.completion_tokens
    for _ in range(2):
        with pytest.raises(openai.BadRequestError):
            await client.chat.completions.create(model="gpt-4o", messages=[])
    async with aiohttp.ClientSession() as session:
        root = simulator.base_url.removesuffix("/v1")
        async with session.get(f"{root}/stats") as response:
            over_http = await response.json()
        assert over_http == simulator.stats()
        assert over_http["requests"] == 5
        assert over_http["completed_ok"] == 3
        assert over_http["by_status"] == {"200": 3, "400": 2}
        assert over_http["bad_requests"] == 2
        assert over_http["prompt_tokens_total"] == prompt_tokens
        assert over_http["completion_tokens_total"] == completion_tokens
        assert over_http["peak_in_flight"] == 1
        assert over_http["in_flight"] == 0
        async with session.post(f"{root}/stats/reset") as response:
            assert response.status == 200
    after = simulator.stats()
    assert after["requests"] == after["completed_ok"] == after["peak_in_flight"] == 0
    assert after["by_status"] == {}
    simulator.reset_stats()
