"""Per-key RPM and TPM limits as continuously refilled token buckets, with OpenAI's headers.

Each bucket holds ONE SECOND's worth of its rate (``rpm / 60`` requests, at least 1;
``tpm / 60`` tokens). OpenAI does not publish how much burst its limiter allows; a small
bucket makes the simulator smooth, so a client-side limiter that paces requests evenly is what
it takes to avoid 429s, and a test of such a limiter is meaningful rather than absorbed by a
minute-sized burst allowance.

A request is admitted when each bucket holds ``min(charge, bucket size)``; the whole charge is
then taken, which can leave the token bucket negative (in debt). So a request charging more than
one second's worth of tokens is still served once the bucket is full, and the debt delays later
requests: over any window the admitted total stays within one bucket plus rate times time, i.e.
long-run throughput is exactly the limit. A charge above the whole minute's TPM can never be
served and is refused as "Request too large".

TPM charges prompt tokens plus the max tokens asked for, up front, with no refund, as OpenAI does.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

ORGANIZATION = "org-llmsweep-simulator"

# Published OpenAI usage-tier limits (platform.openai.com/docs/guides/rate-limits, as listed in
# 2024-2025); OpenAI changes them over time, so treat these as approximate: (rpm, tpm).
TIER_PRESETS: dict[str, tuple[int, int]] = {
    "openai-free-gpt-4o-mini": (3, 40_000),
    "openai-tier1-gpt-4o": (500, 30_000),
    "openai-tier1-gpt-4o-mini": (500, 200_000),
    "openai-tier2-gpt-4o": (5_000, 450_000),
    "openai-tier2-gpt-4o-mini": (5_000, 2_000_000),
    "openai-tier5-gpt-4o": (10_000, 30_000_000),
}


def go_duration(seconds: float) -> str:
    """``seconds`` as Go's ``time.Duration`` prints it (OpenAI's reset headers), rounded up to
    whole milliseconds: ``0s``, ``12ms``, ``1s``, ``1m30.5s``, ``6m0s``, ``1h0m0s``."""
    total_ms = max(0, math.ceil(seconds * 1000 - 1e-6))  # the epsilon absorbs float noise
    if total_ms == 0:
        return "0s"
    if total_ms < 1000:
        return f"{total_ms}ms"
    hours, rest_ms = divmod(total_ms, 3_600_000)
    minutes, rest_ms = divmod(rest_ms, 60_000)
    whole_s, ms = divmod(rest_ms, 1000)
    text = f"{whole_s}.{ms:03d}".rstrip("0") if ms else str(whole_s)
    if hours:
        return f"{hours}h{minutes}m{text}s"
    if minutes:
        return f"{minutes}m{text}s"
    return f"{text}s"


class TokenBucket:
    """A bucket refilled at ``rate_per_s`` up to ``size``; its level may go negative (debt)."""

    __slots__ = ("level", "rate_per_s", "size", "updated_s")

    def __init__(self, rate_per_s: float, size: float, now_s: float) -> None:
        self.rate_per_s = rate_per_s
        self.size = size
        self.level = size
        self.updated_s = now_s

    def refill(self, now_s: float) -> None:
        elapsed_s = now_s - self.updated_s
        if elapsed_s > 0:
            self.level = min(self.size, self.level + elapsed_s * self.rate_per_s)
            self.updated_s = now_s

    def wait_s(self, charge: float) -> float:
        """How long until ``charge`` would be admitted (0 when it is admitted now)."""
        missing = min(charge, self.size) - self.level
        # A millionth of a request or token short is float noise from the refill arithmetic.
        return missing / self.rate_per_s if missing > 1e-6 else 0.0

    def reset_s(self) -> float:
        """How long until the bucket is full again (OpenAI's ``x-ratelimit-reset-*``)."""
        return max(0.0, (self.size - self.level) / self.rate_per_s)

    def remaining(self) -> int:
        return max(0, math.floor(self.level))


@dataclass(frozen=True, slots=True)
class Verdict:
    """The limiter's answer. ``limited_by`` is None when admitted."""

    limited_by: str | None  # "requests" or "tokens"
    headers: dict[str, str]
    message: str = ""


class _KeyBuckets:
    __slots__ = ("requests", "tokens")

    def __init__(self, requests: TokenBucket | None, tokens: TokenBucket | None) -> None:
        self.requests = requests
        self.tokens = tokens


class RateLimiter:
    """RPM and TPM limits per API key (the Authorization header; no header is its own key)."""

    def __init__(
        self, rpm: int | None, tpm: int | None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rpm = rpm
        self.tpm = tpm
        self._clock = clock
        self._keys: dict[str, _KeyBuckets] = {}

    @property
    def enabled(self) -> bool:
        return self.rpm is not None or self.tpm is not None

    def too_large(self, charge_tokens: int) -> bool:
        return self.tpm is not None and charge_tokens > self.tpm

    def too_large_message(self, model: str, charge_tokens: int) -> str:
        return (
            f"Request too large for {model} in organization {ORGANIZATION} on tokens per min "
            f"(TPM): Limit {self.tpm}, Requested {charge_tokens}. The input or output tokens "
            "must be reduced in order to run successfully."
        )

    def check(self, key: str, charge_tokens: int, model: str) -> Verdict:
        """Admit (and charge) one request of ``charge_tokens`` tokens, or say why not."""
        now_s = self._clock()
        buckets = self._keys.get(key)
        if buckets is None:
            buckets = self._keys[key] = self._new_buckets(now_s)
        requests, tokens = buckets.requests, buckets.tokens
        requests_wait_s = tokens_wait_s = 0.0
        if requests is not None:
            requests.refill(now_s)
            requests_wait_s = requests.wait_s(1)
        if tokens is not None:
            tokens.refill(now_s)
            tokens_wait_s = tokens.wait_s(charge_tokens)
        if requests_wait_s > 0 or tokens_wait_s > 0:
            wait_s = max(requests_wait_s, tokens_wait_s)
            headers = self._headers(buckets)
            headers["retry-after"] = str(max(1, math.ceil(wait_s)))
            headers["retry-after-ms"] = str(max(1, math.ceil(wait_s * 1000)))
            if requests_wait_s > 0:
                limited_by = "requests"
                what = f"requests per min (RPM): Limit {self.rpm}, Requested 1"
            else:
                limited_by = "tokens"
                what = f"tokens per min (TPM): Limit {self.tpm}, Requested {charge_tokens}"
            message = (
                f"Rate limit reached for {model} in organization {ORGANIZATION} on {what}. "
                f"Please try again in {go_duration(max(wait_s, 0.001))}."
            )
            return Verdict(limited_by, headers, message)
        if requests is not None:
            requests.level -= 1
        if tokens is not None:
            tokens.level -= charge_tokens
        return Verdict(None, self._headers(buckets))

    def state_headers(self, key: str) -> dict[str, str]:
        """The x-ratelimit headers as they stand for ``key``, charging nothing: what an answer
        the limiter did not judge (an injected fault) still carries, as a real API's does."""
        now_s = self._clock()
        buckets = self._keys.get(key)
        if buckets is None:
            buckets = self._keys[key] = self._new_buckets(now_s)
        for bucket in (buckets.requests, buckets.tokens):
            if bucket is not None:
                bucket.refill(now_s)
        return self._headers(buckets)

    def _new_buckets(self, now_s: float) -> _KeyBuckets:
        requests = tokens = None
        if self.rpm is not None:
            requests = TokenBucket(self.rpm / 60, max(1.0, self.rpm / 60), now_s)
        if self.tpm is not None:
            tokens = TokenBucket(self.tpm / 60, max(1.0, self.tpm / 60), now_s)
        return _KeyBuckets(requests, tokens)

    def _headers(self, buckets: _KeyBuckets) -> dict[str, str]:
        headers: dict[str, str] = {}
        for name, limit, bucket in (
            ("requests", self.rpm, buckets.requests),
            ("tokens", self.tpm, buckets.tokens),
        ):
            if bucket is not None:
                headers[f"x-ratelimit-limit-{name}"] = str(limit)
                headers[f"x-ratelimit-remaining-{name}"] = str(bucket.remaining())
                headers[f"x-ratelimit-reset-{name}"] = go_duration(bucket.reset_s())
        return headers
