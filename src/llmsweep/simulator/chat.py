"""``POST /v1/chat/completions``: validation, injected faults, rate limits, queueing, generation.

Per attempt, in arrival order, the endpoint draws exactly five uniforms from the server's one
``random.Random``: fault, time to first token, answer length, text offset, cut point. A
sequential client therefore sees the same answers, delays and faults for the same seed.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import math
import random
import time
from dataclasses import dataclass

from aiohttp import web

from llmsweep.simulator.config import PromptCounter, SimulatorConfig
from llmsweep.simulator.faults import EARLY_FAULTS, FaultKind
from llmsweep.simulator.gate import FifoGate
from llmsweep.simulator.profiles import Profile, builtin_profile_for
from llmsweep.simulator.protocol import Answer, ApiError, ChunkEncoder, quota_error
from llmsweep.simulator.ratelimit import ORGANIZATION, RateLimiter, go_duration
from llmsweep.simulator.stats import ServerStats
from llmsweep.simulator.validation import ChatRequest, parse_chat_request
from llmsweep.simulator.vocab import TextSource

# Stream content in groups of tokens, one event per ~15 ms of generation: token-by-token
# events would cost the server more CPU than the client it is measuring.
CHUNK_INTERVAL_S = 0.015
MAX_CHUNK_TOKENS = 32
PROMPT_CACHE_ENTRIES = 4096


def _drop(request: web.BaseRequest) -> None:
    """Close the connection at once: the client gets no (more) bytes."""
    if request.transport is not None:
        request.transport.abort()


async def _sleep_until(loop: asyncio.AbstractEventLoop, deadline_s: float) -> None:
    # Absolute deadlines, so a late wake-up is caught up by the next event instead of drifting.
    delay_s = deadline_s - loop.time()
    if delay_s > 0:
        await asyncio.sleep(delay_s)


@dataclass(frozen=True, slots=True)
class _Plan:
    """How one admitted request is answered."""

    answer: Answer
    fault: FaultKind | None  # only faults that happen while answering (not EARLY_FAULTS)
    cut_q: float  # where stream_cut or malformed_json strikes, as a fraction of the answer
    ttft_s: float
    token_s: float  # seconds per output token after the first
    gate: FifoGate
    headers: dict[str, str]


class ChatEndpoint:
    """The chat completions handler of one simulator instance, with all its mutable state."""

    def __init__(
        self,
        config: SimulatorConfig,
        count_prompt_tokens: PromptCounter,
        stats: ServerStats,
        closing: asyncio.Event,
    ) -> None:
        self._config = config
        self._count_prompt_tokens = count_prompt_tokens
        self._stats = stats
        self._closing = closing  # set on shutdown, so hanging requests end at once
        self._rng = random.Random(config.seed)
        self._text = TextSource(self._rng)
        self._limiter = RateLimiter(config.rpm, config.tpm)
        self._gates: dict[str, FifoGate] = {}
        self._serial = 0
        self._prompt_token_cache: dict[bytes, int] = {}

    async def handle(self, request: web.Request) -> web.StreamResponse:
        stats = self._stats
        stats.requests += 1
        stats.enter()
        try:
            return await self._handle(request)
        except ApiError as err:
            stats.by_status[err.status] += 1
            if err.status in (400, 413):
                stats.bad_requests += 1
            return web.Response(
                status=err.status,
                body=err.body(),
                content_type="application/json",
                headers=err.headers,
            )
        except asyncio.CancelledError:
            # aiohttp cancels the handler when the client goes away, or at shutdown.
            if not self._closing.is_set():
                stats.client_disconnects += 1
            raise
        finally:
            stats.in_flight -= 1

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        try:
            raw = await request.read()
        except web.HTTPRequestEntityTooLarge:
            limit = self._config.max_body_bytes
            raise ApiError(413, f"Request body too large: the limit is {limit} bytes.") from None
        chat = parse_chat_request(raw)
        profile = self._config.profile or builtin_profile_for(chat.model)
        if chat.max_tokens is not None and chat.max_tokens > profile.max_output_tokens:
            raise ApiError(
                400,
                f"max_tokens is too large: {chat.max_tokens}. This model supports at most "
                f"{profile.max_output_tokens} completion tokens, "
                f"whereas you provided {chat.max_tokens}.",
                param="max_tokens",
            )
        if self._config.quota_exhausted:
            self._stats.rate_limited["quota"] += 1
            raise quota_error()
        prompt_tokens = self._prompt_tokens(raw, chat)
        _check_context(profile, prompt_tokens, chat.max_tokens)

        rng = self._rng
        fault = self._config.faults.pick(rng.random())
        ttft_q, length_q, offset_q, cut_q = rng.random(), rng.random(), rng.random(), rng.random()
        if fault in EARLY_FAULTS:
            self._stats.faults[fault] += 1
            return await self._early_fault(request, fault, chat.model)

        max_tokens = chat.max_tokens or profile.max_output_tokens
        headers = self._admit(request, chat.model, prompt_tokens + max_tokens)
        cap = min(max_tokens, profile.context_window - prompt_tokens)
        natural = profile.output_tokens_at(length_q)
        self._serial += 1
        answer = Answer(
            completion_id=f"chatcmpl-sim{self._serial:010d}",
            created=int(time.time()),
            model=chat.model,
            words=self._text.words(int(offset_q * self._text.period), min(natural, cap)),
            finish_reason="length" if natural > cap else "stop",
            prompt_tokens=prompt_tokens,
            with_usage=fault != "missing_usage",
        )
        self._stats.prompt_tokens_total += prompt_tokens
        if fault is not None:
            self._stats.faults[fault] += 1
        scale = self._config.latency_scale
        plan = _Plan(
            answer=answer,
            fault=fault,
            cut_q=cut_q,
            ttft_s=profile.ttft_s_at(ttft_q) * scale,
            token_s=scale / profile.output_tokens_per_s,
            gate=self._gate_for(profile),
            headers=headers,
        )
        if chat.stream:
            return await self._stream(request, plan, chat.include_usage)
        return await self._respond(request, plan)

    def _prompt_tokens(self, raw: bytes, chat: ChatRequest) -> int:
        """The injected counter's answer, remembered per request body: a sweep sends the same
        prompts over and over, and tokenizing is by far the largest cost of a request."""
        key = hashlib.blake2b(raw, digest_size=16).digest()  # the body holds model and messages
        counts = self._prompt_token_cache
        prompt_tokens = counts.get(key)
        if prompt_tokens is None:
            prompt_tokens = self._count_prompt_tokens(chat.messages, chat.model)
            if len(counts) >= PROMPT_CACHE_ENTRIES:
                del counts[next(iter(counts))]  # the oldest entry
            counts[key] = prompt_tokens
        return prompt_tokens

    def _admit(self, request: web.Request, model: str, charge_tokens: int) -> dict[str, str]:
        """Charge the rate limits, or raise their 429; returns the x-ratelimit headers."""
        limiter = self._limiter
        if not limiter.enabled:
            return {}
        if limiter.too_large(charge_tokens):
            self._stats.rate_limited["too_large"] += 1
            raise ApiError(
                429,
                limiter.too_large_message(model, charge_tokens),
                type="tokens",
                code="rate_limit_exceeded",
            )
        verdict = limiter.check(request.headers.get("Authorization", ""), charge_tokens, model)
        if verdict.limited_by is not None:
            self._stats.rate_limited[verdict.limited_by] += 1
            raise ApiError(
                429,
                verdict.message,
                type=verdict.limited_by,
                code="rate_limit_exceeded",
                headers=verdict.headers,
            )
        return verdict.headers

    def _gate_for(self, profile: Profile) -> FifoGate:
        gate = self._gates.get(profile.name)
        if gate is None:
            gate = self._gates[profile.name] = FifoGate(profile.capacity)
        return gate

    async def _early_fault(
        self, request: web.Request, fault: FaultKind, model: str
    ) -> web.StreamResponse:
        if fault == "error_500":
            raise ApiError(
                500,
                "The server had an error while processing your request. Sorry about that!",
                type="server_error",
            )
        if fault == "error_503":
            raise ApiError(503, "The server is overloaded, please try again.", type="server_error")
        if fault in ("rate_limit_429", "rate_limit_429_nohint"):
            hinted = fault == "rate_limit_429"
            self._stats.rate_limited["injected" if hinted else "injected_nohint"] += 1
            wait_s = self._config.faults.retry_after_s
            headers = {}
            if hinted:
                headers = {
                    "retry-after": str(max(1, math.ceil(wait_s))),
                    "retry-after-ms": str(max(1, math.ceil(wait_s * 1000))),
                    "x-ratelimit-reset-requests": go_duration(wait_s),
                    "x-ratelimit-reset-tokens": go_duration(wait_s),
                }
            message = (
                f"Rate limit reached for {model} in organization {ORGANIZATION} on requests per "
                "min (RPM): injected by the simulator."
            )
            if hinted:
                message += f" Please try again in {go_duration(wait_s)}."
            raise ApiError(
                429,
                message,
                type="requests",
                code="rate_limit_exceeded",
                headers=headers,
            )
        if fault == "hang":
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._config.faults.hang_s):
                    await self._closing.wait()
        _drop(request)  # disconnect, or the end of a hang
        return web.Response()  # never sent: the connection is gone

    async def _respond(self, request: web.Request, plan: _Plan) -> web.StreamResponse:
        stats = self._stats
        answer, fault, headers = plan.answer, plan.fault, plan.headers
        async with plan.gate:
            stats.start_serving()
            try:
                delay_s = plan.ttft_s + len(answer.words) * plan.token_s
                if delay_s > 0:
                    await asyncio.sleep(delay_s)
            finally:
                stats.serving -= 1
        body = answer.completion_body()
        stats.completion_tokens_total += len(answer.words)
        stats.by_status[200] += 1
        # A strict prefix of a JSON object is never valid JSON.
        cut_bytes = max(1, int(plan.cut_q * len(body)))
        if fault == "stream_cut":
            response = web.StreamResponse(headers=headers)
            response.content_type = "application/json"
            response.content_length = len(body)
            await response.prepare(request)
            await response.write(body[:cut_bytes])
            _drop(request)
            return response
        if fault == "malformed_json":
            body = body[:cut_bytes]
        else:
            stats.completed_ok += 1
        return web.Response(body=body, content_type="application/json", headers=headers)

    async def _stream(
        self, request: web.Request, plan: _Plan, include_usage: bool
    ) -> web.StreamResponse:
        stats = self._stats
        response = web.StreamResponse(headers=plan.headers)
        response.content_type = "text/event-stream"
        response.headers["Cache-Control"] = "no-cache"
        encoder = ChunkEncoder(plan.answer, include_usage)
        words = plan.answer.words
        token_s = plan.token_s
        # Event i carries tokens [ends[i-1], ends[i]): the first token alone, at exactly the
        # time to first token, then groups of about CHUNK_INTERVAL_S of generation each.
        per_event = MAX_CHUNK_TOKENS
        if token_s > 0:
            per_event = min(MAX_CHUNK_TOKENS, max(1, round(CHUNK_INTERVAL_S / token_s)))
        ends = [*range(1, len(words), per_event), len(words)]
        cut_after = 1 + int(plan.cut_q * len(ends)) if plan.fault == "stream_cut" else -1
        bad_event = int(plan.cut_q * len(ends)) if plan.fault == "malformed_json" else -1
        loop = asyncio.get_running_loop()
        try:
            await response.prepare(request)
            stats.by_status[200] += 1
            async with plan.gate:
                stats.start_serving()
                try:
                    start_s = loop.time() + plan.ttft_s
                    sent = 0
                    for index, end in enumerate(ends):
                        await _sleep_until(loop, start_s + (end - 1) * token_s)
                        event = encoder.content("".join(words[sent:end]))
                        if index == 0:
                            event = encoder.role() + event
                        if index == bad_event:
                            event = event[: len(event) // 2] + b"\n\n"
                        await response.write(event)
                        stats.completion_tokens_total += end - sent
                        sent = end
                        if index + 1 == cut_after:
                            _drop(request)
                            return response
                    await _sleep_until(loop, start_s + len(words) * token_s)
                    await response.write(encoder.finish())
                finally:
                    stats.serving -= 1
            await response.write_eof()
        except ConnectionError:
            stats.client_disconnects += 1
            return response
        if plan.fault != "malformed_json":
            stats.completed_ok += 1
        return response


def _check_context(profile: Profile, prompt_tokens: int, max_tokens: int | None) -> None:
    window = profile.context_window
    if max_tokens is None and prompt_tokens >= window:
        message = f"However, your messages resulted in {prompt_tokens} tokens."
    elif max_tokens is not None and prompt_tokens + max_tokens > window:
        message = (
            f"However, you requested {prompt_tokens + max_tokens} tokens ({prompt_tokens} in "
            f"the messages, {max_tokens} in the completion)."
        )
    else:
        return
    raise ApiError(
        400,
        f"This model's maximum context length is {window} tokens. {message} "
        "Please reduce the length of the messages or completion.",
        param="messages",
        code="context_length_exceeded",
    )
