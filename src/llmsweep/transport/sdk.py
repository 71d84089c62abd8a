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
from openai.types.chat import ChatCompletionMessageParam

from llmsweep.errors import TargetError
from llmsweep.transport import classify as retry
from llmsweep.transport.base import Attempt, failed_attempt, redact
from llmsweep.transport.tracing import (
    Clock,
    WireTimes,
    open_connections,
    sdk_tracing,
    trace_httpx_request,
)

# The SDK's exceptions as library-neutral failures (an HTTP error status is classified apart).
# Errors while a stream is read come unwrapped from httpx; a ValueError is bad JSON or an
# ``IncompleteAnswer``.
FAILURES: retry.ExceptionMap = {
    TimeoutError: retry.Failure.TIMEOUT,  # asyncio.timeout's, around the whole attempt
    openai.APITimeoutError: retry.Failure.TIMEOUT,  # before APIConnectionError, its base
    openai.APIConnectionError: retry.Failure.CONNECTION,
    httpx2.HTTPError: retry.Failure.MALFORMED,
    openai.APIError: retry.Failure.MALFORMED,
    ValueError: retry.Failure.MALFORMED,
}


@dataclass(frozen=True)
class _Usage:
    input_tokens: int | None = None
    output_tokens: int | None = None
    cached_input_tokens: int = 0
    model: str | None = None  # the answer's ``model`` field, read with its usage


def _usage_of(usage: Any, model: object) -> _Usage:
    answered = model if isinstance(model, str) and model else None
    if usage is None:
        return _Usage(model=answered)
    details = getattr(usage, "prompt_tokens_details", None)
    cached = getattr(details, "cached_tokens", None) or 0
    return _Usage(usage.prompt_tokens, usage.completion_tokens, int(cached), answered)


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
        limits = httpx2.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        self._client = openai.AsyncOpenAI(
            base_url=base_url,
            api_key=api_key,
            max_retries=0,
            timeout=httpx2.Timeout(timeout_s, connect=min(10.0, timeout_s)),
            http_client=openai.DefaultAsyncHttpxClient(
                limits=limits, event_hooks={"request": [trace_httpx_request]}
            ),
        )

    async def aclose(self) -> None:
        await self._client.close()

    async def warm_up(self, connections: int) -> None:
        """Open the pool's connections before timing starts (``GET /models``, no tokens)."""
        await open_connections(connections, self._client.models.list)

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
        try:
            async with asyncio.timeout(self._timeout_s):
                if stream:
                    text, usage = await self._stream(model, messages, max_tokens, arrivals)
                else:
                    text, usage = await self._once(model, messages, max_tokens)
        except openai.APIStatusError as error:
            return self._status_error(error, started, wire)
        except tuple(FAILURES) as error:
            return self._failed(error, stream, started, arrivals, wire)
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
            sent_at_s=wire.sent_at_s,
            connect_s=wire.connect_s,
            chunk_at_s=tuple(arrivals),
            answered_model=usage.model,
        )

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
        first_token: list[float],
        wire: WireTimes,
    ) -> Attempt:
        verdict, status, message = retry.failure_verdict(
            error, FAILURES, stream=stream, answered=bool(first_token), timeout_s=self._timeout_s
        )
        return failed_attempt(
            verdict,
            status,
            redact(message, self._api_key),
            hint_s=None,
            started_at_s=started,
            first_token_at_s=first_token[0] if first_token else None,
            ended_at_s=self._clock(),
            wire=wire,
        )

    async def _once(
        self, model: str, messages: list[dict[str, Any]], max_tokens: int | None
    ) -> tuple[str, _Usage]:
        completion = await self._client.chat.completions.create(
            model=model,
            messages=_sdk_messages(messages),
            max_tokens=max_tokens,
        )
        choices = getattr(completion, "choices", None)
        if not choices or getattr(choices[0], "message", None) is None:
            raise retry.IncompleteAnswer(retry.INCOMPLETE)
        return choices[0].message.content or "", _usage_of(completion.usage, completion.model)

    async def _stream(
        self,
        model: str,
        messages: list[dict[str, Any]],
        max_tokens: int | None,
        arrivals: list[float],
    ) -> tuple[str, _Usage]:
        parts: list[str] = []
        usage = _Usage()
        answered: str | None = None
        finished = False
        stream = await self._client.chat.completions.create(
            model=model,
            messages=_sdk_messages(messages),
            max_tokens=max_tokens,
            stream=True,
            stream_options={"include_usage": True},
        )
        async with stream:
            async for chunk in stream:
                answered = answered or chunk.model
                if chunk.usage is not None:
                    usage = _usage_of(chunk.usage, answered)
                for choice in chunk.choices:
                    content = choice.delta.content if choice.delta else None
                    if content:
                        arrivals.append(self._clock())
                        parts.append(content)
                    if choice.finish_reason is not None:
                        finished = True
        if not finished:
            raise retry.IncompleteAnswer(retry.INCOMPLETE)
        return "".join(parts), replace(usage, model=usage.model or answered)


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
