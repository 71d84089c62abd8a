"""A lean transport: one chat request attempt over plain aiohttp, no SDK.

Why it exists: the official SDK spends over a millisecond of CPU per request (request building,
httpx layers, pydantic models; reports/benchmarks.md), so at a few hundred requests per second
the event loop saturates and a benchmark measures its own client instead of the API. This
transport sends the body the SDK sends, parses each answer with one ``json.loads`` into plain
dicts, and classifies every outcome into exactly the ``Attempt`` that ``OpenAITransport`` gives
for it (both turn their library's exceptions into an attempt through ``classify``'s one
``failure_verdict``; tests hold the two side by side), for a fraction of the CPU. Like
``OpenAITransport`` it never raises for a failed attempt. The transport factory and the target
probe import this module, so ``--help`` loads no HTTP library.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
from typing import Any

import aiohttp

from llmsweep.errors import TargetError
from llmsweep.transport import classify as retry
from llmsweep.transport.answer import DRAIN_S, Answer, read_events
from llmsweep.transport.base import Attempt, failed_attempt, redact
from llmsweep.transport.classify import INCOMPLETE, IncompleteAnswer
from llmsweep.transport.tracing import (
    Clock,
    WireTimes,
    aiohttp_tracing,
    list_models,
    open_connections,
)

# aiohttp's exceptions as library-neutral failures (an HTTP error status is classified apart).
# A ClientError is the SDK's APIConnectionError: nothing, or only part of the body, came back.
# Any other exception is a bug of ours, and is raised.
FAILURES: retry.ExceptionMap = {
    TimeoutError: retry.Failure.TIMEOUT,  # first: aiohttp's timeout errors are ClientErrors too
    aiohttp.ClientError: retry.Failure.CONNECTION,
    **dict.fromkeys(retry.UNDECODABLE, retry.Failure.MALFORMED),
}


class HttpTransport:
    """Sends attempts with one ``aiohttp.ClientSession``; the key stays in its default headers."""

    def __init__(
        self,
        *,
        base_url: str,
        api_key: str,
        concurrency: int,
        timeout_s: float,
        clock: Clock,
    ) -> None:
        self._url = base_url.rstrip("/") + "/chat/completions"
        self._models_url = base_url.rstrip("/") + "/models"
        self._api_key = api_key
        self._concurrency = max(1, concurrency)  # aiohttp reads a limit of 0 as "no limit"
        self._timeout_s = timeout_s
        self._clock = clock
        self._session: aiohttp.ClientSession | None = None
        self._fresh: aiohttp.ClientSession | None = None  # resends only: never a pooled one

    def _open(self, *, pooled: bool = True) -> aiohttp.ClientSession:
        # Built on first use, because aiohttp binds a session to the running event loop.
        session = aiohttp.ClientSession(
            # A pool as large as the concurrency, so the pool never becomes a hidden cap.
            connector=aiohttp.TCPConnector(limit=self._concurrency, force_close=not pooled),
            # The same limits as OpenAITransport: the whole send, and at most 10 s to connect.
            timeout=aiohttp.ClientTimeout(
                total=self._timeout_s, sock_connect=min(10.0, self._timeout_s)
            ),
            headers={
                "Authorization": f"Bearer {self._api_key}",
                "Content-Type": "application/json",
                "Accept": "application/json",
            },
            cookie_jar=aiohttp.DummyCookieJar(),  # an API sets no cookies worth the CPU
            trace_configs=[aiohttp_tracing()],
        )
        if pooled:
            self._session = session
        else:
            self._fresh = session
        return session

    async def aclose(self) -> None:
        for session in (self._session, self._fresh):
            if session is not None:
                await session.close()

    async def warm_up(self, connections: int) -> None:
        """Open the pool's connections before timing starts (``GET /models``, no tokens)."""
        session = self._session or self._open()
        request = functools.partial(list_models, session, self._models_url)
        await open_connections(connections, request, tuple(FAILURES))

    async def send(
        self, model: str, messages: list[dict[str, Any]], max_tokens: int | None, stream: bool
    ) -> Attempt:
        started = self._clock()
        wire = WireTimes(self._clock)
        request: dict[str, Any] = {"model": model, "messages": messages}
        if max_tokens is not None:
            request["max_tokens"] = max_tokens
        if stream:
            request["stream"] = True
            request["stream_options"] = {"include_usage": True}
        answer = Answer(self._clock)
        try:
            async with await self._post(json.dumps(request).encode(), started, wire) as response:
                if response.status >= 400:
                    return await self._status_error(response, started, wire)
                if stream:
                    if await read_events(response.content.iter_any(), answer):
                        await _drain(response)
                else:
                    answer.completion(json.loads(await response.read()))
            if not answer.complete:
                raise IncompleteAnswer(INCOMPLETE)
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

    async def _post(self, body: bytes, started: float, wire: WireTimes) -> aiohttp.ClientResponse:
        """The answer's head. A request that took a pooled connection the server had closed
        goes out again at once: on another pooled connection (most are fine), and if that one
        was closed too, on a new one, so it is sent at most three times.

        A server may close a kept-alive connection after an answer (llama.cpp's llama-server
        does after each one) while our next request is already going out on it. A chat
        completion changes nothing on the server, so it may be repeated (RFC 9112, 9.3.1), but
        only where the server cannot have started on it: as aiohttp does for idempotent
        requests, and as httpcore and urllib3 treat a pooled connection, a connection error on
        a *reused* connection before any of the answer came. A new connection's failures,
        timeouts and anything after the answer began stay failed attempts. Each resend is
        counted (``WireTimes.stale_connection_resends``), none is a retry: no backoff. Each
        send has the whole timeout: a closed connection fails at once, and a resend that had
        only what was left would, on a busy client, time out before the server even read it.
        """
        session = self._session or self._open()
        while True:
            try:
                return await session.post(self._url, data=body, trace_request_ctx=wire)
            except (aiohttp.ClientOSError, aiohttp.ServerDisconnectedError):
                if not wire.reused:  # never so on the fresh session: it keeps no connection
                    raise
            wire.resending(started)
            if wire.stale_connection_resends > 1:
                session = self._fresh or self._open(pooled=False)

    async def _status_error(
        self, response: aiohttp.ClientResponse, started: float, wire: WireTimes
    ) -> Attempt:
        text = (await response.read()).decode("utf-8", "replace").strip()
        body: object = text
        with contextlib.suppress(json.JSONDecodeError):  # an error page, say: kept as text
            body = json.loads(text)
        if isinstance(body, dict):
            body = body.get("error", body)  # what the SDK hands on as ``APIStatusError.body``
        status = response.status
        verdict = retry.classify_status(status, body)
        message = retry.error_message(body, f"HTTP {status}")
        hint = retry.retry_hint_s(response.headers, status)
        return failed_attempt(
            verdict,
            status,
            redact(message, self._api_key),
            hint_s=hint,
            started_at_s=started,
            first_token_at_s=None,
            ended_at_s=self._clock(),
            wire=wire,
        )

    def _failed(
        self, error: Exception, stream: bool, started: float, answer: Answer, wire: WireTimes
    ) -> Attempt:
        answered = answer.first_token_at is not None
        verdict, status, message = retry.failure_verdict(
            error, FAILURES, stream=stream, answered=answered, timeout_s=self._timeout_s
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


async def _drain(response: aiohttp.ClientResponse) -> None:
    """Read what follows ``[DONE]`` briefly, so the connection can be reused; never fail."""
    if response.content.at_eof():
        return
    with contextlib.suppress(TimeoutError, aiohttp.ClientError):
        async with asyncio.timeout(DRAIN_S):
            await response.content.read()


async def probe(base_url: str, api_key: str, *, timeout_s: float = 5.0) -> None:
    """Fail fast, before any prompt is sent, on a target that cannot be used at all: one
    ``GET /models`` over aiohttp, which either client loads anyway (the SDK sends over it)."""
    headers = {"Authorization": f"Bearer {api_key}"}
    timeout = aiohttp.ClientTimeout(total=timeout_s)
    try:
        async with (
            aiohttp.ClientSession(timeout=timeout, headers=headers) as session,
            session.get(base_url.rstrip("/") + "/models") as response,
        ):
            status = response.status
    except (aiohttp.ClientError, TimeoutError) as error:
        detail = redact(f"{type(error).__name__}: {error}", api_key)
        raise TargetError(f"cannot reach {base_url} ({detail})") from None
    if status == 401:
        raise TargetError(f"{base_url} rejected the API key (HTTP 401)")
    if status == 403:
        raise TargetError(f"{base_url} refused access (HTTP 403)")
    # Any other answer: reachable; some OpenAI-compatible servers have no /models.
