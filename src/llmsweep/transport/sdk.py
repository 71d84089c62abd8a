"""The transport: one chat request attempt through the official ``openai`` SDK.

The SDK sends over its aiohttp backend (``openai.DefaultAioHttpClient``, the ``openai[aiohttp]``
extra) on an aiohttp session of ours, so that its pool is sized to the concurrency (never a
hidden cap) and our tracing sees each request go out; its default httpx backend scans its whole
pool on every request, which at a few hundred connections cost more CPU than everything else
(reports/benchmarks.md, issue 14). Each request goes out through the SDK client (``_Request``
says how; the client builds its chat request once, ``sdk_client``) and its answer comes back
raw, read by the same parser as the lean client's (``answer.Answer``) instead of as a pydantic
model per answer or chunk. The SDK's own retries are off (``max_retries=0``) so that every
attempt is seen, timed and counted by the runner. Every failure comes back as an ``Attempt``
value, never as an exception. Only the transport factory imports this module, so openai loads
only for ``--client openai``.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import httpx2
import openai
from openai._vendor.httpx_aiohttp import AiohttpTransport

from llmsweep.transport import classify as retry
from llmsweep.transport.answer import DRAIN_S, Answer, read_events
from llmsweep.transport.base import Attempt, failed_attempt, redact
from llmsweep.transport.classify import INCOMPLETE, IncompleteAnswer
from llmsweep.transport.sdk_client import ChatClient, chat_options
from llmsweep.transport.tracing import (
    Clock,
    WireTimes,
    aiohttp_tracing,
    list_models,
    open_connections,
    sdk_tracing,
)

# The SDK's exceptions as library-neutral failures (an HTTP error status is classified apart).
# The SDK's aiohttp backend re-labels aiohttp's exceptions as httpx ones by a guess (a server
# that closed the connection becomes a ConnectTimeout, so an APITimeoutError), so what aiohttp
# raised, when it is under the SDK's exception, is classified instead (``_what_failed``), as
# the lean client classifies it. Any other exception is a bug of ours, and is raised.
FAILURES: retry.ExceptionMap = {
    TimeoutError: retry.Failure.TIMEOUT,  # asyncio.timeout's around each send, and aiohttp's
    aiohttp.ClientError: retry.Failure.CONNECTION,
    openai.APITimeoutError: retry.Failure.TIMEOUT,  # before APIConnectionError, its base
    openai.APIConnectionError: retry.Failure.CONNECTION,
    httpx2.HTTPError: retry.Failure.MALFORMED,
    openai.APIError: retry.Failure.MALFORMED,
    **dict.fromkeys(retry.UNDECODABLE, retry.Failure.MALFORMED),
}


class OpenAITransport:
    """Sends attempts with ``openai.AsyncOpenAI``; the API key stays inside the SDK client."""

    def __init__(
        self,
        *,
        base_url: str,
        api_key: str,
        concurrency: int,
        timeout_s: float,
        clock: Clock,
    ) -> None:
        self._api_key = api_key
        self._timeout_s = timeout_s
        self._clock = clock
        self._concurrency = max(1, concurrency)  # aiohttp reads a limit of 0 as "no limit"
        self._client = ChatClient(
            base_url=base_url,
            api_key=api_key,
            max_retries=0,
            timeout=httpx2.Timeout(timeout_s, connect=min(10.0, timeout_s)),
            http_client=self._http_client(pooled=True),
        )
        self._fresh: openai.AsyncOpenAI | None = None  # resends only: keeps no connection
        self._models_url = base_url.rstrip("/") + "/models"
        self._pooled: aiohttp.ClientSession | None = None  # the SDK pool's, made on first use

    def _http_client(self, *, pooled: bool) -> httpx2.AsyncClient:
        def session() -> aiohttp.ClientSession:
            # Called on first use, because aiohttp binds a session to the running event loop.
            return self._pooled_session() if pooled else self._session(pooled=False)

        return openai.DefaultAioHttpClient(transport=AiohttpTransport(client=session))

    def _session(self, *, pooled: bool) -> aiohttp.ClientSession:
        return aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=self._concurrency, force_close=not pooled),
            cookie_jar=aiohttp.DummyCookieJar(),  # an API sets no cookies worth the CPU
            trace_configs=[aiohttp_tracing()],
        )

    def _pooled_session(self) -> aiohttp.ClientSession:
        if self._pooled is None:
            self._pooled = self._session(pooled=True)
        return self._pooled

    async def aclose(self) -> None:
        await self._client.close()
        if self._pooled is not None:  # the SDK closes it only if it sent anything over it
            await self._pooled.close()
        if self._fresh is not None:
            await self._fresh.close()

    async def warm_up(self, connections: int) -> None:
        """Open the pool's connections before timing starts (``GET /models``, no tokens), on
        the aiohttp session the SDK sends over. Not through the SDK: its first requests each
        look the platform up in a worker thread, and in a burst those threads return at
        different times, so an early request could finish and hand its connection to a late
        one, and fewer connections would open."""
        headers = {"Authorization": f"Bearer {self._api_key}"}
        request = functools.partial(list_models, self._pooled_session(), self._models_url, headers)
        await open_connections(connections, request, tuple(FAILURES))

    async def send(
        self, model: str, messages: list[dict[str, Any]], max_tokens: int | None, stream: bool
    ) -> Attempt:
        wire = WireTimes(self._clock)
        with sdk_tracing(wire):
            return await self._send(model, messages, max_tokens, stream, wire)

    async def _send(
        self,
        model: str,
        messages: list[dict[str, Any]],
        max_tokens: int | None,
        stream: bool,
        wire: WireTimes,
    ) -> Attempt:
        started = self._clock()
        answer = Answer(self._clock)
        request = _Request(model, messages, max_tokens, stream)
        try:
            await self._answer(request, answer, started, wire)
            if not answer.complete:
                raise IncompleteAnswer(INCOMPLETE)
        except openai.APIStatusError as error:
            return self._status_error(error, started, wire)
        except tuple(FAILURES) as error:
            return self._failed(error, stream, started, answer, wire)
        return Attempt(
            kind="ok",
            retryable=False,
            http_status=200,
            error=None,
            hint_s=None,
            text="".join(answer.parts),
            input_tokens=answer.input_tokens,
            output_tokens=answer.output_tokens,
            cached_input_tokens=answer.cached_input_tokens,
            started_at_s=started,
            first_token_at_s=answer.first_token_at,
            ended_at_s=self._clock(),
            limits=wire.limits,
            sent_at_s=wire.sent_at_s,
            connect_s=wire.connect_s,
            chunk_at_s=tuple(answer.chunk_at),
            answered_model=answer.model,
            stale_connection_resends=wire.stale_connection_resends,
        )

    def _fresh_client(self) -> openai.AsyncOpenAI:
        if self._fresh is None:
            # No connection kept, so a resend always goes out on a new one.
            self._fresh = self._client.with_options(http_client=self._http_client(pooled=False))
        return self._fresh

    async def _answer(
        self, request: _Request, answer: Answer, started: float, wire: WireTimes
    ) -> None:
        """Read the answer into ``answer``. A request that took a pooled connection the server
        had closed goes out again at once, as the lean client's does (``http.HttpTransport._post``
        says when and why): on another pooled connection, then if need be on a new one."""
        client: openai.AsyncOpenAI = self._client
        while True:
            try:
                async with asyncio.timeout(self._timeout_s):  # each send: see http.py's _post
                    await request.send(client, answer)
                    return
            except openai.APIConnectionError as error:
                if not _stale(error, wire):  # never so on the fresh client: it keeps none
                    raise
            wire.resending(started)
            if wire.stale_connection_resends > 1:
                client = self._fresh_client()

    def _status_error(
        self, error: openai.APIStatusError, started: float, wire: WireTimes
    ) -> Attempt:
        message = retry.error_message(error.body, f"HTTP {error.status_code}")
        return failed_attempt(
            retry.classify_status(error.status_code, error.body),
            error.status_code,
            redact(message, self._api_key),
            hint_s=retry.retry_hint_s(error.response.headers, error.status_code),
            started_at_s=started,
            first_token_at_s=None,  # the SDK raises it before reading any of the body
            ended_at_s=self._clock(),
            wire=wire,
        )

    def _failed(
        self, error: Exception, stream: bool, started: float, answer: Answer, wire: WireTimes
    ) -> Attempt:
        verdict, status, message = retry.failure_verdict(
            _what_failed(error),
            FAILURES,
            stream=stream,
            answered=answer.first_token_at is not None,
            timeout_s=self._timeout_s,
        )
        return failed_attempt(
            verdict,
            status,
            redact(message, self._api_key),
            hint_s=None,
            started_at_s=started,
            first_token_at_s=answer.first_token_at,
            ended_at_s=self._clock(),
            wire=wire,
            received_text="".join(answer.parts),
        )


class _Request:
    """One chat request, sent by the SDK client's own ``request`` (its request building, auth,
    headers, timeouts and error statuses), its answer read raw.

    ``chat.completions.create`` is that ``request`` after a walk of the arguments against the
    SDK's TypedDicts, which for a prompt's plain messages changes nothing (a test holds the
    requests alike, byte for byte) and cost about 1 ms of CPU a request, and after ``post``,
    which only makes the options, deep-copying their defaults each time (``chat_options``
    copies one set made once) (reports/benchmarks.md, issue 14).
    """

    def __init__(
        self, model: str, messages: list[dict[str, Any]], max_tokens: int | None, stream: bool
    ) -> None:
        # Keys in create's order, so that the bytes are create's too.
        self.body: dict[str, Any] = {"model": model, "stream": True} if stream else {"model": model}
        self.body["messages"] = messages
        if max_tokens is not None:
            self.body["max_tokens"] = max_tokens
        if stream:
            self.body["stream_options"] = {"include_usage": True}
        self.stream = stream

    async def send(self, client: openai.AsyncOpenAI, answer: Answer) -> None:
        options = chat_options(self.body)
        response = await client.request(httpx2.Response, options, stream=self.stream)
        if not self.stream:
            answer.completion(json.loads(response.content))
            return
        try:
            chunks = response.aiter_bytes()
            if await read_events(chunks, answer):
                await _drain(chunks)
        finally:
            await response.aclose()


async def _drain(chunks: AsyncIterator[bytes]) -> None:
    """Read what follows ``[DONE]`` briefly, so the connection can be reused; never fail."""
    with contextlib.suppress(TimeoutError, httpx2.HTTPError):
        async with asyncio.timeout(DRAIN_S):
            async for _ in chunks:
                pass


def _what_failed(error: Exception) -> Exception:
    """What aiohttp raised under the SDK's exception, if anything did; else the SDK's."""
    cause = error.__cause__
    while cause is not None:
        if isinstance(cause, aiohttp.ClientError):
            return cause
        cause = cause.__cause__
    return error


def _stale(error: openai.APIConnectionError, wire: WireTimes) -> bool:
    """The pooled connection the request took had been closed by the server: a connection
    error, not a timeout, on a reused connection before the answer's head came."""
    timed_out = isinstance(_what_failed(error), TimeoutError | openai.APITimeoutError)
    return not timed_out and wire.reused and not wire.answered
