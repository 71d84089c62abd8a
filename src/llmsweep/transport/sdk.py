"""The transport: one chat request attempt through the official ``openai`` SDK.

The SDK's own retries are off (``max_retries=0``) so that every attempt is seen, timed and counted
by the runner; its connection pool is sized to the concurrency so it never silently caps it.
Every failure comes back as an ``Attempt`` value, never as an exception. Only the transport
factory imports this module, so openai and httpx load only for ``--client openai``.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace
from typing import Any, cast

import httpx2
import openai
from openai.types.chat import ChatCompletionChunk, ChatCompletionMessage, ChatCompletionMessageParam
from openai.types.chat.chat_completion_chunk import Choice as ChunkChoice

from llmsweep.errors import TargetError
from llmsweep.transport import classify as retry
from llmsweep.transport.base import Attempt, failed_attempt, redact
from llmsweep.transport.classify import content_text, token_count
from llmsweep.transport.tracing import (
    Clock,
    WireTimes,
    open_connections,
    sdk_tracing,
    trace_httpx_request,
    trace_httpx_response,
)

# The SDK's exceptions as library-neutral failures (an HTTP error status is classified apart).
# Errors while a stream is read come unwrapped from httpx. The SDK builds its answer objects
# without checking their shape, so every field is checked here before use; any other
# exception is a bug of ours, and is raised.
FAILURES: retry.ExceptionMap = {
    TimeoutError: retry.Failure.TIMEOUT,  # asyncio.timeout's, around each send
    openai.APITimeoutError: retry.Failure.TIMEOUT,  # before APIConnectionError, its base
    openai.APIConnectionError: retry.Failure.CONNECTION,
    httpx2.HTTPError: retry.Failure.MALFORMED,
    openai.APIError: retry.Failure.MALFORMED,
    **dict.fromkeys(retry.UNDECODABLE, retry.Failure.MALFORMED),
}
# What a stream has brought so far: each content chunk's arrival and its text, kept apart
# from the answer so that a stream that breaks still shows what it delivered.
_Received = tuple[list[float], list[str]]


@dataclass(frozen=True)
class _Usage:
    input_tokens: int | None = None
    output_tokens: int | None = None
    cached_input_tokens: int = 0
    model: str | None = None  # the answer's ``model`` field, read with its usage


def _usage_of(usage: object, model: object) -> _Usage:
    """An answer's ``usage`` (None: none) and ``model``, read as the lean client reads them."""
    details = getattr(usage, "prompt_tokens_details", None)
    return _Usage(
        token_count(getattr(usage, "prompt_tokens", None)),
        token_count(getattr(usage, "completion_tokens", None)),
        token_count(getattr(details, "cached_tokens", None)) or 0,
        model if isinstance(model, str) and model else None,
    )


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
        self._concurrency = concurrency
        limits = httpx2.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        self._client = openai.AsyncOpenAI(
            base_url=base_url,
            api_key=api_key,
            max_retries=0,
            timeout=httpx2.Timeout(timeout_s, connect=min(10.0, timeout_s)),
            http_client=_http_client(limits),
        )
        self._fresh: openai.AsyncOpenAI | None = None  # resends only: keeps no connection

    async def aclose(self) -> None:
        await self._client.close()
        if self._fresh is not None:
            await self._fresh.close()

    async def warm_up(self, connections: int) -> None:
        """Open the pool's connections before timing starts (``GET /models``, no tokens)."""
        await open_connections(connections, self._client.models.list, tuple(FAILURES))

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
        arrivals: list[float] = []  # each content chunk's, the first token's first
        parts: list[str] = []  # each content chunk's text, kept should the stream break
        try:
            text, usage = await self._answer(
                model, messages, max_tokens, stream, (arrivals, parts), started, wire
            )
        except openai.APIStatusError as error:
            return self._status_error(error, started, wire)
        except tuple(FAILURES) as error:
            return self._failed(error, stream, started, (arrivals, parts), wire)
        return Attempt(
            kind="ok",
            retryable=False,
            http_status=200,
            error=None,
            hint_s=None,
            text=text,
            input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens,
            cached_input_tokens=usage.cached_input_tokens,
            started_at_s=started,
            first_token_at_s=arrivals[0] if arrivals else None,
            ended_at_s=self._clock(),
            limits=retry.advertised_limits(wire.response_headers),
            sent_at_s=wire.sent_at_s,
            connect_s=wire.connect_s,
            chunk_at_s=tuple(arrivals),
            answered_model=usage.model,
            stale_connection_resends=wire.stale_connection_resends,
        )

    def _fresh_client(self) -> openai.AsyncOpenAI:
        if self._fresh is None:
            # No connection kept, so a resend always goes out on a new one.
            limits = httpx2.Limits(max_connections=self._concurrency, max_keepalive_connections=0)
            self._fresh = self._client.with_options(http_client=_http_client(limits))
        return self._fresh

    async def _answer(
        self,
        model: str,
        messages: list[dict[str, Any]],
        max_tokens: int | None,
        stream: bool,
        received: _Received,
        started: float,
        wire: WireTimes,
    ) -> tuple[str, _Usage]:
        """Text and usage. A request that took a pooled connection the server had closed goes
        out again at once, as the lean client's does (``http.HttpTransport._post`` says when and
        why): on another pooled connection, then if need be on a new one."""
        client = self._client
        while True:
            try:
                async with asyncio.timeout(self._timeout_s):  # each send: see http.py's _post
                    return await self._ask(client, model, messages, max_tokens, stream, received)
            except openai.APIConnectionError as error:
                if not _stale(error, wire):  # never so on the fresh client: it keeps none
                    raise
            wire.resending(started)
            if wire.stale_connection_resends > 1:
                client = self._fresh_client()

    async def _ask(
        self,
        client: openai.AsyncOpenAI,
        model: str,
        messages: list[dict[str, Any]],
        max_tokens: int | None,
        stream: bool,
        received: _Received,
    ) -> tuple[str, _Usage]:
        if stream:
            return await self._stream(client, model, messages, max_tokens, received)
        return await self._once(client, model, messages, max_tokens)

    def _status_error(
        self, error: openai.APIStatusError, started: float, wire: WireTimes
    ) -> Attempt:
        headers = dict(error.response.headers)
        message = retry.error_message(error.body, f"HTTP {error.status_code}")
        return failed_attempt(
            retry.classify_status(error.status_code, error.body),
            error.status_code,
            redact(message, self._api_key),
            hint_s=retry.retry_hint_s(headers),
            started_at_s=started,
            first_token_at_s=None,  # the SDK raises it before reading any of the body
            ended_at_s=self._clock(),
            limits=retry.advertised_limits(headers),
            wire=wire,
        )

    def _failed(
        self,
        error: Exception,
        stream: bool,
        started: float,
        received: _Received,
        wire: WireTimes,
    ) -> Attempt:
        arrivals, parts = received
        verdict, status, message = retry.failure_verdict(
            error, FAILURES, stream=stream, answered=bool(arrivals), timeout_s=self._timeout_s
        )
        return failed_attempt(
            verdict,
            status,
            redact(message, self._api_key),
            hint_s=None,
            started_at_s=started,
            first_token_at_s=arrivals[0] if arrivals else None,
            ended_at_s=self._clock(),
            wire=wire,
            received_text="".join(parts),
        )

    async def _once(
        self,
        client: openai.AsyncOpenAI,
        model: str,
        messages: list[dict[str, Any]],
        max_tokens: int | None,
    ) -> tuple[str, _Usage]:
        completion = await client.chat.completions.create(
            model=model,
            messages=_sdk_messages(messages),
            max_tokens=max_tokens,
        )
        choices = getattr(completion, "choices", None)
        first = choices[0] if isinstance(choices, list) and choices else None
        message = getattr(first, "message", None)
        if not isinstance(message, ChatCompletionMessage):
            raise retry.IncompleteAnswer(retry.INCOMPLETE)
        text = content_text(getattr(message, "content", None))
        usage = _usage_of(getattr(completion, "usage", None), getattr(completion, "model", None))
        return text, usage

    async def _stream(
        self,
        client: openai.AsyncOpenAI,
        model: str,
        messages: list[dict[str, Any]],
        max_tokens: int | None,
        received: _Received,
    ) -> tuple[str, _Usage]:
        arrivals, parts = received
        usage = _Usage()
        answered: str | None = None
        finished = False
        stream = await client.chat.completions.create(
            model=model,
            messages=_sdk_messages(messages),
            max_tokens=max_tokens,
            stream=True,
            stream_options={"include_usage": True},
        )
        async with stream:
            async for chunk in stream:
                if not isinstance(chunk, ChatCompletionChunk):
                    raise retry.IncompleteAnswer("stream event is not a JSON object")
                answered = answered or _usage_of(None, getattr(chunk, "model", None)).model
                if getattr(chunk, "usage", None) is not None:
                    usage = _usage_of(chunk.usage, answered)
                choices = getattr(chunk, "choices", None) or []
                if not isinstance(choices, list):
                    raise retry.IncompleteAnswer("stream event has no list of choices")
                for choice in choices:
                    if not isinstance(choice, ChunkChoice):
                        raise retry.IncompleteAnswer("stream event choice is not a JSON object")
                    content = content_text(getattr(getattr(choice, "delta", None), "content", None))
                    if content:
                        arrivals.append(self._clock())
                        parts.append(content)
                    if getattr(choice, "finish_reason", None) is not None:
                        finished = True
        if not finished:
            raise retry.IncompleteAnswer(retry.INCOMPLETE)
        return "".join(parts), replace(usage, model=usage.model or answered)


def _http_client(limits: httpx2.Limits) -> httpx2.AsyncClient:
    return openai.DefaultAsyncHttpxClient(
        limits=limits,
        event_hooks={"request": [trace_httpx_request], "response": [trace_httpx_response]},
    )


def _stale(error: openai.APIConnectionError, wire: WireTimes) -> bool:
    """The pooled connection the request took had been closed by the server: a connection
    error, not a timeout, on a reused connection before the answer's head came. httpcore
    checks a pooled connection before reuse, but cannot see a close still on its way."""
    return not isinstance(error, openai.APITimeoutError) and wire.reused and not wire.answered


def _sdk_messages(messages: list[dict[str, Any]]) -> list[ChatCompletionMessageParam]:
    # Prompts were validated when read (role and string content); the SDK's TypedDicts only
    # restate that shape.
    return cast("list[ChatCompletionMessageParam]", messages)


async def probe(base_url: str, api_key: str, *, timeout_s: float = 5.0) -> None:
    """Fail fast, before any prompt is sent, on a target that cannot be used at all."""
    client = openai.AsyncOpenAI(
        base_url=base_url, api_key=api_key, max_retries=0, timeout=timeout_s
    )
    try:
        await client.models.list()
    except openai.AuthenticationError:
        raise TargetError(f"{base_url} rejected the API key (HTTP 401)") from None
    except openai.PermissionDeniedError:
        raise TargetError(f"{base_url} refused access (HTTP 403)") from None
    except (openai.APIConnectionError, openai.APITimeoutError) as error:
        cause = error.__cause__ or error
        detail = redact(f"{type(cause).__name__}: {cause}", api_key)
        raise TargetError(f"cannot reach {base_url} ({detail})") from None
    except openai.APIStatusError:
        pass  # reachable; some OpenAI-compatible servers have no /models
    finally:
        await client.close()
