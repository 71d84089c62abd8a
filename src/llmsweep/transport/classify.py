"""Which failures to retry, and how long to wait: server hints first, else capped full jitter.

Pure functions: no I/O, no clock, randomness only through the ``random.Random`` passed in.
"""

from __future__ import annotations

import email.utils
import random
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass

# Error kinds (a record's ``status`` when the prompt finally failed).
RATE_LIMITED = "rate_limited"
QUOTA = "quota"
TOO_LARGE = "too_large"
SERVER_ERROR = "server_error"
TIMEOUT = "timeout"
CONNECTION = "connection"
MALFORMED = "malformed"
STREAM_CUT = "stream_cut"
BAD_REQUEST = "bad_request"
AUTH = "auth"
NOT_FOUND = "not_found"
CONFLICT = "conflict"
HTTP_ERROR = "http_error"

_QUOTA_CODES = frozenset({"insufficient_quota", "credit_balance_exhausted"})
_GO_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")
_UNIT_S = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}


@dataclass(frozen=True)
class Classified:
    kind: str
    retryable: bool


def classify_status(http_status: int, body: object) -> Classified:
    """Error kind of an HTTP error answer. ``body`` may be anything a server sends back."""
    if http_status == 429:
        code, message = _error_fields(body)
        if code in _QUOTA_CODES:
            return Classified(QUOTA, False)
        if message.lower().startswith("request too large"):
            return Classified(TOO_LARGE, False)
        return Classified(RATE_LIMITED, True)
    if http_status == 408:
        return Classified(TIMEOUT, True)
    if http_status == 409:
        return Classified(CONFLICT, True)
    if http_status >= 500:
        return Classified(SERVER_ERROR, True)
    if http_status in (401, 403):
        return Classified(AUTH, False)
    if http_status == 404:
        return Classified(NOT_FOUND, False)
    if http_status in (400, 413, 422):
        return Classified(BAD_REQUEST, False)
    return Classified(HTTP_ERROR, False)


def _error_fields(body: object) -> tuple[str, str]:
    """(code or type, message) from OpenAI-, Anthropic- or Gemini-shaped error bodies."""
    if isinstance(body, list) and body:
        body = body[0]  # Gemini answers 429 with a JSON list of error objects
    if not isinstance(body, dict):
        return "", ""
    error = body.get("error", body)
    if not isinstance(error, dict):
        return "", str(error)
    code = error.get("code") or error.get("type") or error.get("status") or ""
    message = error.get("message") or ""
    return str(code), str(message)


def error_message(body: object, fallback: str) -> str:
    """A short, single-line description of an error body."""
    _, message = _error_fields(body)
    text = message or fallback
    return " ".join(text.split())[:300]


def parse_go_duration(text: str) -> float | None:
    """Seconds in an OpenAI reset header: ``1s``, ``6m0s``, ``12ms``, ``1m30.5s`` or a number."""
    text = text.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    parts = _GO_DURATION.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        return None
    return sum(float(number) * _UNIT_S[unit] for number, unit in parts)


def retry_hint_s(headers: Mapping[str, str], *, now_epoch_s: float | None = None) -> float | None:
    """How long the server asks us to wait, from its headers; None when it gives no hint.

    ``retry-after-ms`` is the most precise, then ``retry-after`` (seconds or an HTTP date), then
    the ``x-ratelimit-reset-*`` of whichever budget is exhausted (both when neither says 0 left).
    """
    lower = {k.lower(): v for k, v in headers.items()}
    if "retry-after-ms" in lower:
        try:
            return max(0.0, float(lower["retry-after-ms"]) / 1000)
        except ValueError:
            pass
    if "retry-after" in lower:
        value = lower["retry-after"].strip()
        try:
            return max(0.0, float(value))
        except ValueError:
            when = email.utils.parsedate_tz(value)
            if when is not None:
                now = time.time() if now_epoch_s is None else now_epoch_s
                return max(0.0, email.utils.mktime_tz(when) - now)
    resets: list[float] = []
    for budget in ("requests", "tokens"):
        reset = lower.get(f"x-ratelimit-reset-{budget}")
        remaining = lower.get(f"x-ratelimit-remaining-{budget}")
        seconds = parse_go_duration(reset) if reset else None
        if seconds is None:
            continue
        if remaining is not None and remaining.strip() == "0":
            return seconds
        resets.append(seconds)
    return max(resets) if resets else None


@dataclass(frozen=True)
class Limits:
    """The rate limits a server advertises (``x-ratelimit-limit-requests/-tokens``)."""

    requests_per_minute: int | None
    tokens_per_minute: int | None


def advertised_limits(headers: Mapping[str, str]) -> Limits | None:
    """The limits in OpenAI-style headers, or None when the server states none."""
    lower = {k.lower(): v for k, v in headers.items()}

    def number(name: str) -> int | None:
        text = lower.get(f"x-ratelimit-limit-{name}", "").strip()
        return int(text) if text.isdigit() and int(text) > 0 else None

    limits = Limits(number("requests"), number("tokens"))
    return limits if limits.requests_per_minute or limits.tokens_per_minute else None


@dataclass(frozen=True)
class BackoffPolicy:
    """Exponential backoff with full jitter (AWS architecture blog's 'Full Jitter'), capped."""

    base_s: float = 0.5
    cap_s: float = 30.0

    def delay_s(self, retry_number: int, rng: random.Random, hint_s: float | None) -> float:
        """Wait before retry ``retry_number`` (1 = first retry). A server hint is a floor.

        The jitter still grows with each retry on top of a hint: a hint says when the budget
        refills, not that every waiting worker fits in it, so equal hints would make them all
        collide again at the same instant.
        """
        jitter = rng.uniform(0, min(self.cap_s, self.base_s * 2 ** (retry_number - 1)))
        return jitter if hint_s is None else hint_s + jitter
