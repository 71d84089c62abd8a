"""``POST /v1/chat/completions``: validation, injected faults, rate limits, queueing, generation.

Per attempt, in arrival order, the endpoint draws exactly three uniforms from the server's one
``random.Random``: fault, time to first token, cut point. A sequential client therefore sees the
same delays and faults for the same seed. The answer itself (its length and text) is a function
of (seed, model, messages) alone: the same prompt gets the same answer, and so costs the same, at
every concurrency level and in every repeat, whatever order the requests arrive in.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import math
import random
import time

from aiohttp import web

from llmsweep.simulator.config import PromptCounter, SimulatorConfig
from llmsweep.simulator.faults import EARLY_FAULTS, FaultKind
from llmsweep.simulator.gate import FifoGate
from llmsweep.simulator.generation import Plan, answer_stream, answer_whole, drop_connection
from llmsweep.simulator.profiles import Profile, builtin_profile_for
from llmsweep.simulator.protocol import Answer, ApiError, quota_error
from llmsweep.simulator.ratelimit import ORGANIZATION, RateLimiter, go_duration
from llmsweep.simulator.stats import ServerStats
from llmsweep.simulator.validation import (
    ChatRequest,
    check_context,
    check_max_tokens,
    parse_chat_request,
)
from llmsweep.simulator.vocab import TextSource

PROMPT_CACHE_ENTRIES = 4096


def authenticate(config: SimulatorConfig, request: web.Request) -> None:
    """401 unless the request carries the configured key (when one is configured)."""
    if config.api_key is None:
        return
    given = request.headers.get("Authorization", "").removeprefix("Bearer ")
    if given != config.api_key:
        # Echo the key in full, as a careless proxy might: the client must keep it out of
        # everything it writes, whatever the server sends back.
        raise ApiError(401, f"Incorrect API key provided: {given}.", code="invalid_api_key")


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
        self._model_limiters = {
            model: RateLimiter(limit.rpm, limit.tpm) for model, limit in config.model_limits.items()
        }
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
        authenticate(self._config, request)
        chat = parse_chat_request(raw)
        profile = self._config.profile or builtin_profile_for(chat.model)
        check_max_tokens(profile, chat.max_tokens)
        if self._config.quota_exhausted:
            self._stats.rate_limited["quota"] += 1
            raise quota_error()
        prompt_tokens = self._prompt_tokens(raw, chat)
        check_context(profile, prompt_tokens, chat.max_tokens)

        rng = self._rng
        fault = self._config.faults.pick(rng.random())
        ttft_q, cut_q = rng.random(), rng.random()
        length_q, offset_q = self._answer_quantiles(chat)
        if fault in EARLY_FAULTS:
            self._stats.faults[fault] += 1
            return await self._early_fault(
                request, fault, chat.model, self._limit_headers(request, chat.model)
            )

        max_tokens = chat.max_tokens or profile.max_output_tokens
        allowance = chat.max_tokens or self._config.unset_max_tokens_charge or max_tokens
        headers = self._admit(request, chat.model, prompt_tokens + allowance)
        cap = min(max_tokens, profile.context_window - prompt_tokens)
        natural = profile.output_tokens_at(length_q)
        self._serial += 1
        answer = Answer(
            completion_id=f"chatcmpl-sim{self._serial:010d}",
            created=int(time.time()),
            model=self._config.answer_model or chat.model,
            words=self._text.words(int(offset_q * self._text.period), min(natural, cap)),
            finish_reason="length" if natural > cap else "stop",
            prompt_tokens=prompt_tokens,
            with_usage=fault != "missing_usage",
        )
        self._stats.prompt_tokens_total += prompt_tokens
        if fault is not None:
            self._stats.faults[fault] += 1
        scale = self._config.latency_scale
        plan = Plan(
            answer=answer,
            fault=fault,
            cut_q=cut_q,
            ttft_s=profile.ttft_s_at(ttft_q) * scale,
            token_s=scale / profile.output_tokens_per_s,
            gate=self._gate_for(profile),
            headers=headers,
        )
        if chat.stream:
            return await answer_stream(request, plan, self._stats, chat.include_usage)
        return await answer_whole(request, plan, self._stats)

    def _answer_quantiles(self, chat: ChatRequest) -> tuple[float, float]:
        """Two uniforms in (0, 1) for the answer's length and text offset, from a hash of (seed,
        model, messages): the prompt, not the arrival order, decides the answer."""
        key = json.dumps(
            [self._config.seed, chat.model, chat.messages], sort_keys=True, separators=(",", ":")
        )
        digest = hashlib.blake2b(key.encode(), digest_size=16).digest()
        halves = int.from_bytes(digest[:8], "big"), int.from_bytes(digest[8:], "big")
        return (halves[0] + 0.5) / 2**64, (halves[1] + 0.5) / 2**64

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

    def _limit_headers(self, request: web.Request, model: str) -> dict[str, str]:
        """The x-ratelimit headers an answer the limiter did not judge carries (none without
        limits)."""
        limiter = self._model_limiters.get(model, self._limiter)
        if not limiter.enabled:
            return {}
        return limiter.state_headers(request.headers.get("Authorization", ""))

    def _admit(self, request: web.Request, model: str, charge_tokens: int) -> dict[str, str]:
        """Charge the rate limits, or raise their 429; returns the x-ratelimit headers."""
        limiter = self._model_limiters.get(model, self._limiter)
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
        self, request: web.Request, fault: FaultKind, model: str, limits: dict[str, str]
    ) -> web.StreamResponse:
        """Answer with ``fault``; an error answer carries the ``limits`` headers, as a real
        API's do (the account's limits are stated on every answer, not only on 200s)."""
        if fault == "error_500":
            raise ApiError(
                500,
                "The server had an error while processing your request. Sorry about that!",
                type="server_error",
                headers=limits,
            )
        if fault == "error_503":
            raise ApiError(
                503,
                "The server is overloaded, please try again.",
                type="server_error",
                headers=limits,
            )
        if fault in ("rate_limit_429", "rate_limit_429_nohint"):
            hinted = fault == "rate_limit_429"
            self._stats.rate_limited["injected" if hinted else "injected_nohint"] += 1
            wait_s = self._config.faults.retry_after_s
            # Without a hint: the limits, but nothing that says when to retry (no reset).
            headers = {k: v for k, v in limits.items() if k.startswith("x-ratelimit-limit-")}
            if hinted:
                headers = limits | {
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
        drop_connection(request)  # disconnect, or the end of a hang
        return web.Response()  # never sent: the connection is gone
