"""The lean aiohttp transport, held side by side with the SDK transport on scripted answers.

A small aiohttp server plays one scripted answer per URL prefix (``/<scenario>/v1``), including
the odd ones a real API or proxy sends: error bodies that are lists or plain text, cut streams,
error events mid-stream. For every scenario both transports must produce the same ``Attempt``
(kind, retryability, status, hint, text, usage, whether a first token came); only the wording
of error messages may differ.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, cast

import openai
import pytest
from aiohttp import web
from openai.types.chat import ChatCompletionMessageParam

from llmsweep.transport.base import Attempt, Transport
from llmsweep.transport.classify import Limits
from llmsweep.transport.http import HttpTransport
from llmsweep.transport.sdk import OpenAITransport

KEY = "sk-secret-key-1234"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
MESSAGES: list[dict[str, Any]] = [{"role": "user", "content": "Hello"}]


def _completion(*, usage: bool = True) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 0,
        "model": "m",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "Hi there"},
                "finish_reason": "stop",
            }
        ],
    }
    if usage:
        body["usage"] = {
            "prompt_tokens": 11,
            "completion_tokens": 3,
            "total_tokens": 14,
            "prompt_tokens_details": {"cached_tokens": 4},
        }
    return body


def _chunk(content: str | None = None, finish: str | None = None) -> bytes:
    delta = {} if content is None else {"content": content}
    choice = {"index": 0, "delta": delta, "finish_reason": finish}
    body = {"id": "c", "object": "chat.completion.chunk", "created": 0, "model": "m"}
    body |= {"choices": [choice]}
    return b"data: " + json.dumps(body).encode() + b"\n\n"


USAGE_CHUNK = b"data: " + json.dumps({"choices": [], "usage": _completion()["usage"]}).encode()
DONE = b"data: [DONE]\n\n"


def _pieces(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


STREAM_OK = [
    _chunk(""),
    _chunk("Hi"),
    _chunk(" there"),
    _chunk(finish="stop"),
    USAGE_CHUNK + b"\n\n",
]


def _json(body: object, status: int = 200, **headers: str) -> Handler:
    async def handle(_: web.Request) -> web.StreamResponse:
        return web.Response(
            status=status,
            body=json.dumps(body).encode(),
            content_type="application/json",
            headers=headers,
        )

    return handle


def _raw(body: bytes, status: int = 200, content_type: str = "application/json") -> Handler:
    async def handle(_: web.Request) -> web.StreamResponse:
        return web.Response(status=status, body=body, content_type=content_type)

    return handle


def _sse(
    events: list[bytes], *, cut: bool = False, headers: dict[str, str] | None = None
) -> Handler:
    """Send ``events`` one write at a time; ``cut`` aborts the connection after the last."""

    async def handle(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers=headers)
        response.content_type = "text/event-stream"
        await response.prepare(request)
        for event in events:
            await response.write(event)
            await asyncio.sleep(0.001)
        if cut:
            assert request.transport is not None
            request.transport.abort()
            return response
        await response.write_eof()
        return response

    return handle


async def _disconnect(request: web.Request) -> web.StreamResponse:
    assert request.transport is not None
    request.transport.abort()
    return web.Response()


async def _body_cut(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse()
    response.content_type = "application/json"
    response.content_length = 1000
    await response.prepare(request)
    await response.write(b'{"choices": [')
    assert request.transport is not None
    request.transport.abort()
    return response


_HANG_S = 30.0


async def _hang(_: web.Request) -> web.StreamResponse:
    await asyncio.sleep(_HANG_S)
    return web.Response()


# What OpenAI sends on every answer, a 200 too: the account's limits and what is left of them.
LIMITS = {
    "x-ratelimit-limit-requests": "500",
    "x-ratelimit-limit-tokens": "30000",
    "x-ratelimit-remaining-requests": "499",
    "x-ratelimit-remaining-tokens": "29000",
}
SCENARIOS: dict[str, Handler] = {
    "ok": _json(_completion()),
    "ok_limits": _json(_completion(), 200, **LIMITS),
    "ok_no_usage": _json(_completion(usage=False)),
    "ok_null_content": _json(_completion() | {"choices": [{"message": {"content": None}}]}),
    "plain_text_200": _raw(b"hello", content_type="text/plain"),
    "bad_json_200": _raw(b'{"choi'),
    "json_list_200": _raw(b"[1, 2]"),
    "no_choices": _json({"id": "x"}),
    "choices_not_a_list": _json({"choices": "x"}),
    "empty_choices": _json({"choices": []}),
    "gemini_list_429": _json(
        [{"error": {"code": 429, "message": "Resource exhausted", "status": "RESOURCE_EXHAUSTED"}}],
        429,
    ),
    "text_503": _raw(b"upstream connect error", 503, "text/plain"),
    "json_string_500": _raw(b'"oops"', 500),
    "quota": _json(
        {"error": {"message": "You exceeded your quota", "code": "insufficient_quota"}}, 429
    ),
    "too_large": _json({"error": {"message": "Request too large for gpt-4o"}}, 429),
    "hinted_429": _json({"error": {"message": "slow down"}}, 429, **{"retry-after-ms": "1500"}),
    "reset_429": _json(
        {"error": {"message": "slow down"}},
        429,
        **{"x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "1m30s"},
    ),
    "auth_echo": _json({"error": {"message": f"Incorrect API key provided: {KEY}."}}, 401),
    "not_found": _json({"error": {"message": "no such model"}}, 404),
    "conflict": _json({"error": {"message": "busy"}}, 409),
    "teapot": _raw(b"", 418),
    "disconnect": _disconnect,
    "body_cut": _body_cut,
    "hang": _hang,
}
STREAM_SCENARIOS: dict[str, Handler] = {
    "stream_ok": _sse([*STREAM_OK, DONE]),
    "stream_ok_limits": _sse([*STREAM_OK, DONE], headers=LIMITS),
    "stream_crlf_comments_multiline": _sse(
        [
            b": keep-alive\r\n\r\n",
            b'data: {"choices": [{"delta": {"content": "Hi"},\r\n'
            b'data: "finish_reason": null}]}\r\n\r\n',
            b"event: message\r\n" + _chunk(" there", "stop").replace(b"\n", b"\r\n"),
            USAGE_CHUNK + b"\r\n\r\n",
            DONE.replace(b"\n", b"\r\n"),
        ]
    ),
    "stream_split_across_writes": _sse(_pieces(b"".join([*STREAM_OK, DONE]), 7)),
    "stream_no_done": _sse(STREAM_OK),
    "stream_no_finish": _sse([_chunk("Hi"), _chunk(" there"), DONE]),
    "stream_no_usage": _sse([_chunk("Hi"), _chunk(finish="stop"), DONE]),
    "stream_error_event": _sse([_chunk("Hi"), b'data: {"error": {"message": "overloaded"}}\n\n']),
    "stream_bad_event": _sse([_chunk("Hi"), b'data: {"choices": [\n\n', DONE]),
    "stream_json_body": _json(_completion()),
    "stream_cut": _sse([_chunk("Hi")], cut=True),
    "stream_cut_before_content": _sse([_chunk("")], cut=True),
    "stream_429": _json({"error": {"message": "slow down"}}, 429, **{"retry-after": "2"}),
}


@dataclass
class Scripted:
    base: str
    seen: dict[str, tuple[dict[str, Any], dict[str, str]]]  # scenario -> (body, headers)
    extra: dict[str, Handler]  # scenarios a single test adds

    def url(self, scenario: str) -> str:
        return f"{self.base}/{scenario}/v1"


@pytest.fixture
async def scripted() -> AsyncIterator[Scripted]:
    seen: dict[str, tuple[dict[str, Any], dict[str, str]]] = {}
    extra: dict[str, Handler] = {}
    handlers = SCENARIOS | STREAM_SCENARIOS

    async def route(request: web.Request) -> web.StreamResponse:
        name = request.match_info["scenario"]
        seen[name] = (json.loads(await request.read()), dict(request.headers))
        return await (handlers.get(name) or extra[name])(request)

    app = web.Application()
    app.router.add_post("/{scenario}/v1/chat/completions", route)
    runner = web.AppRunner(app, handler_cancellation=True, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    yield Scripted(f"http://127.0.0.1:{port}", seen, extra)
    await runner.cleanup()


def _transport(kind: str, base_url: str, timeout_s: float = 5.0) -> Transport:
    cls = HttpTransport if kind == "http" else OpenAITransport
    return cls(
        base_url=base_url, api_key=KEY, concurrency=2, timeout_s=timeout_s, clock=time.monotonic
    )


async def _send(kind: str, base_url: str, stream: bool, timeout_s: float = 5.0) -> Attempt:
    transport = _transport(kind, base_url, timeout_s)
    try:
        return await transport.send("m", MESSAGES, 10, stream)
    finally:
        await transport.aclose()


def _outcome(attempt: Attempt) -> tuple[object, ...]:
    """Everything the engine acts on, but the wording of the error message."""
    return (
        attempt.kind,
        attempt.retryable,
        attempt.http_status,
        attempt.hint_s,
        attempt.text,
        attempt.input_tokens,
        attempt.output_tokens,
        attempt.cached_input_tokens,
        attempt.first_token_at_s is None,
        attempt.sent_at_s is None,  # every scenario's request reaches the server
        attempt.connect_s > 0,  # each transport here is new, so it opens its connection
        len(attempt.chunk_at_s),
        attempt.limits,
    )


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
async def test_same_attempt_as_the_sdk(scripted: Scripted, scenario: str) -> None:
    timeout_s = 0.3 if scenario == "hang" else 5.0
    sdk = await _send("openai", scripted.url(scenario), False, timeout_s)
    lean = await _send("http", scripted.url(scenario), False, timeout_s)
    assert _outcome(lean) == _outcome(sdk)
    assert (lean.error is None) == (sdk.error is None)
    assert lean.started_at_s <= lean.ended_at_s
    for attempt in (sdk, lean):
        assert attempt.sent_at_s is not None
        assert attempt.started_at_s + attempt.connect_s <= attempt.sent_at_s <= attempt.ended_at_s


@pytest.mark.parametrize("scenario", sorted(STREAM_SCENARIOS))
async def test_same_streamed_attempt_as_the_sdk(scripted: Scripted, scenario: str) -> None:
    sdk = await _send("openai", scripted.url(scenario), True)
    lean = await _send("http", scripted.url(scenario), True)
    assert _outcome(lean) == _outcome(sdk)
    if lean.first_token_at_s is not None:
        assert lean.started_at_s < lean.first_token_at_s <= lean.ended_at_s


@pytest.mark.parametrize("kind", ["openai", "http"])
async def test_a_stream_keeps_each_content_chunks_arrival(scripted: Scripted, kind: str) -> None:
    # "stream_split_across_writes" sends "Hi" and " there" as two events (and an empty role
    # chunk before them, which is no token): two arrivals, the first the first token's.
    attempt = await _send(kind, scripted.url("stream_split_across_writes"), True)
    first, second = attempt.chunk_at_s
    assert attempt.first_token_at_s == first <= second <= attempt.ended_at_s
    assert (await _send(kind, scripted.url("ok"), False)).chunk_at_s == ()


async def test_expected_kinds(scripted: Scripted) -> None:
    """The parity above, pinned to what each scenario must be."""
    expected = {
        ("ok", False): ("ok", 200, "Hi there", (11, 3, 4)),
        ("ok_no_usage", False): ("ok", 200, "Hi there", (None, None, 0)),
        ("plain_text_200", False): ("malformed", 200, None, (None, None, 0)),
        ("gemini_list_429", False): ("rate_limited", 429, None, (None, None, 0)),
        ("text_503", False): ("server_error", 503, None, (None, None, 0)),
        ("json_string_500", False): ("server_error", 500, None, (None, None, 0)),
        ("quota", False): ("quota", 429, None, (None, None, 0)),
        ("too_large", False): ("too_large", 429, None, (None, None, 0)),
        ("disconnect", False): ("connection", None, None, (None, None, 0)),
        ("stream_ok", True): ("ok", 200, "Hi there", (11, 3, 4)),
        ("stream_crlf_comments_multiline", True): ("ok", 200, "Hi there", (11, 3, 4)),
        ("stream_split_across_writes", True): ("ok", 200, "Hi there", (11, 3, 4)),
        ("stream_no_finish", True): ("stream_cut", 200, None, (None, None, 0)),
        ("stream_error_event", True): ("stream_cut", 200, None, (None, None, 0)),
        ("stream_cut", True): ("stream_cut", None, None, (None, None, 0)),
    }
    for (scenario, stream), (kind, status, text, usage) in expected.items():
        got = await _send("http", scripted.url(scenario), stream)
        assert (got.kind, got.http_status, got.text) == (kind, status, text), scenario
        assert (got.input_tokens, got.output_tokens, got.cached_input_tokens) == usage, scenario


@pytest.mark.parametrize("kind", ["openai", "http"])
async def test_the_limits_an_answer_states_are_read_from_every_answer(
    scripted: Scripted, kind: str
) -> None:
    stated = Limits(requests_per_minute=500, tokens_per_minute=30_000)
    assert (await _send(kind, scripted.url("ok_limits"), False)).limits == stated
    assert (await _send(kind, scripted.url("stream_ok_limits"), True)).limits == stated
    assert (await _send(kind, scripted.url("ok"), False)).limits is None


async def test_hints_and_timeouts(scripted: Scripted) -> None:
    assert (await _send("http", scripted.url("hinted_429"), False)).hint_s == 1.5
    assert (await _send("http", scripted.url("reset_429"), False)).hint_s == 90.0
    began = time.monotonic()
    hung = await _send("http", scripted.url("hang"), False, timeout_s=0.3)
    assert (hung.kind, hung.retryable, hung.http_status) == ("timeout", True, None)
    assert 0.3 <= time.monotonic() - began < _HANG_S / 2  # the client's timeout ended it
    assert hung.error == "no complete answer within 0.3 s"


async def test_the_key_never_appears_in_an_error(scripted: Scripted) -> None:
    attempt = await _send("http", scripted.url("auth_echo"), False)
    assert attempt.kind == "auth" and not attempt.retryable
    assert attempt.error is not None and KEY not in attempt.error and "***" in attempt.error


@pytest.mark.parametrize("stream", [False, True])
async def test_request_is_what_the_sdk_sends(scripted: Scripted, stream: bool) -> None:
    await _send("openai", scripted.url("ok"), stream)
    sdk_body, sdk_headers = scripted.seen["ok"]
    await _send("http", scripted.url("ok"), stream)
    body, headers = scripted.seen["ok"]
    assert body == sdk_body
    assert headers["Authorization"] == sdk_headers["Authorization"] == f"Bearer {KEY}"
    assert headers["Content-Type"] == "application/json"


async def test_max_tokens_none_is_left_out(scripted: Scripted) -> None:
    transport = HttpTransport(
        base_url=scripted.url("ok"), api_key=KEY, concurrency=1, timeout_s=5, clock=time.monotonic
    )
    try:
        await transport.send("m", MESSAGES, None, False)
    finally:
        await transport.aclose()
    assert "max_tokens" not in scripted.seen["ok"][0]


async def test_refused_connection_is_a_connection_error() -> None:
    server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()  # the port is now (almost certainly) closed
    for kind in ("http", "openai"):
        attempt = await _send(kind, f"http://127.0.0.1:{port}/v1", False)
        assert (attempt.kind, attempt.retryable, attempt.http_status) == ("connection", True, None)
        assert attempt.sent_at_s is None, kind  # nothing went out
        transport = _transport(kind, f"http://127.0.0.1:{port}/v1", 5.0)
        try:
            await transport.warm_up(3)  # a warm-up that cannot connect leaves it to the run
        finally:
            await transport.aclose()


@pytest.mark.parametrize("kind", ["http", "openai"])
async def test_answers_of_the_wrong_shape_are_malformed(scripted: Scripted, kind: str) -> None:
    """The SDK builds its objects from whatever JSON came, unchecked: both clients check each
    field, so a wrong shape is a malformed answer, never an exception of ours."""
    scripted.extra |= {
        "content_list": _json({"choices": [{"message": {"content": [1]}}]}),
        "message_text": _json({"choices": [{"message": "Hi"}]}),
        "usage_text": _json(
            _completion() | {"usage": {"prompt_tokens": "11", "completion_tokens": 3}}
        ),
        "stream_event_list": _sse([b"data: [1, 2]\n\n", DONE]),
        "stream_choices_text": _sse([b'data: {"choices": "x"}\n\n', DONE]),
        "stream_choice_number": _sse([b'data: {"choices": [1]}\n\n', DONE]),
        "stream_content_list": _sse([b'data: {"choices": [{"delta": {"content": [1]}}]}\n\n']),
    }
    for scenario in ("content_list", "message_text"):
        attempt = await _send(kind, scripted.url(scenario), False)
        assert (attempt.kind, attempt.http_status) == ("malformed", 200), scenario
    for scenario in ("stream_event_list", "stream_choices_text", "stream_choice_number"):
        attempt = await _send(kind, scripted.url(scenario), True)
        assert (attempt.kind, attempt.http_status) == ("stream_cut", 200), scenario
    attempt = await _send(kind, scripted.url("stream_content_list"), True)
    assert (attempt.kind, attempt.http_status) == ("stream_cut", 200)
    attempt = await _send(kind, scripted.url("usage_text"), False)  # a count that is no number
    assert (attempt.kind, attempt.input_tokens, attempt.output_tokens) == ("ok", None, 3)


async def test_pool_is_never_below_the_concurrency(scripted: Scripted) -> None:
    """64 requests at concurrency 64 are all at the server at once: the pool does not cap them."""
    everyone_arrived = asyncio.Event()
    arrived = 0

    async def gather_all(request: web.Request) -> web.StreamResponse:
        nonlocal arrived
        arrived += 1
        if arrived == 64:
            everyone_arrived.set()
        await asyncio.wait_for(everyone_arrived.wait(), 5)
        return await _json(_completion())(request)

    scripted.extra["gather"] = gather_all
    transport = HttpTransport(
        base_url=scripted.url("gather"),
        api_key=KEY,
        concurrency=64,
        timeout_s=10,
        clock=time.monotonic,
    )
    try:
        sends = (transport.send("m", MESSAGES, 5, False) for _ in range(64))
        attempts = await asyncio.gather(*sends)
    finally:
        await transport.aclose()
    assert all(a.ok for a in attempts), {a.kind for a in attempts}


PROMPTS: list[list[dict[str, Any]]] = [
    MESSAGES,
    [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Héllo \u2603"}],
    [{"role": "user", "content": "Hello again, " * 40}],
]


@pytest.mark.parametrize("stream", [False, True])
async def test_the_sdk_transport_sends_what_the_sdks_typed_method_sends(
    scripted: Scripted, stream: bool
) -> None:
    """OpenAITransport sends through the SDK client's ``request``, not ``chat.completions.create``
    (which walks the arguments against its TypedDicts first), and its client builds a request
    once, then the later ones from it (``sdk_client.ChatClient``): every request must be the
    same as create's, headers, body and the cookie the server set after the first included."""
    seen: list[tuple[bytes, dict[str, str]]] = []

    async def record(request: web.Request) -> web.StreamResponse:
        seen.append((await request.read(), dict(request.headers)))
        cookie = {"Set-Cookie": "session=abc; Path=/"}
        handler = (
            _sse([*STREAM_OK, DONE], headers=cookie)
            if stream
            else _json(_completion(), 200, **cookie)
        )
        return await handler(request)

    scripted.extra["record"] = record
    client = openai.AsyncOpenAI(
        base_url=scripted.url("record"), api_key=KEY, max_retries=0, timeout=5.0
    )
    try:
        for messages in PROMPTS:
            params = cast("list[ChatCompletionMessageParam]", messages)  # plain dicts of it
            if stream:
                chunks = await client.chat.completions.create(
                    model="m",
                    messages=params,
                    max_tokens=10,
                    stream=True,
                    stream_options={"include_usage": True},
                )
                async for _ in chunks:
                    pass
            else:
                await client.chat.completions.create(
                    model="m",
                    messages=params,
                    max_tokens=10,
                )
    finally:
        await client.close()
    transport = _transport("openai", scripted.url("record"))
    try:
        for messages in PROMPTS:
            assert (await transport.send("m", messages, 10, stream)).ok
    finally:
        await transport.aclose()
    typed, ours = seen[: len(PROMPTS)], seen[len(PROMPTS) :]
    assert [body for body, _ in ours] == [body for body, _ in typed]  # the very bytes
    assert "cookie" not in {k.lower() for k in typed[0][1]}
    assert {k.lower(): v for k, v in typed[1][1].items()}["cookie"] == "session=abc"
    for (_, typed_headers), (_, headers) in zip(typed, ours, strict=True):
        assert _lower(headers) == _lower(typed_headers)


def _lower(headers: dict[str, str]) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items() if k.lower() != "idempotency-key"}
