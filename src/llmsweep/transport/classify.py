"""What went wrong with an attempt, whether to retry it, and the server's hints and limits.

Pure functions: no I/O, no clock, no HTTP library. Each transport maps its library's exceptions
to the few library-neutral ``Failure``s here, and ``failure_verdict`` alone turns those into an
attempt's error kind, retryability, status and message, so the transports cannot disagree.
"""

from __future__ import annotations

import email.utils
import enum
import json
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


class Failure(enum.Enum):
    """What went wrong, in no HTTP library's terms, when no error status came back."""

    TIMEOUT = "no complete answer within the attempt's timeout"
    CONNECTION = "the connection failed, or closed before the answer was complete"
    MALFORMED = "a 200 answer that is not a whole chat completion"


# A transport's table from its library's exception classes to failures. The first class that
# matches wins, so a class that is two things at once goes first as the one it means (aiohttp's
# timeout errors are ClientErrors too; the SDK's APITimeoutError is an APIConnectionError).
ExceptionMap = Mapping[type[Exception], Failure]

INCOMPLETE = "answer ended before completion"


class IncompleteAnswer(ValueError):
    """A 200 answer that is no whole chat completion: the wrong shape, an error event mid-stream,
    or an end before the finish. A ValueError, as the JSON errors it is classified with."""


# What the server's bytes can raise while an answer is read: they are no JSON, no UTF-8, or not
# the shape the protocol says (checked, never assumed). Only these make an answer "malformed";
# any other exception raised while reading one is a bug of ours, and is raised, not recorded.
UNDECODABLE: tuple[type[ValueError], ...] = (
    json.JSONDecodeError,
    UnicodeDecodeError,
    IncompleteAnswer,
)


def token_count(value: object) -> int | None:
    """A token count from an answer's ``usage``; None unless it is a whole number."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def content_text(content: object) -> str:
    """A message's or delta's ``content``: text, or nothing (``null``)."""
    if content is None:
        return ""
    if not isinstance(content, str):
        raise IncompleteAnswer("message content is not a string")
    return content


def failure_verdict(
    error: Exception, exceptions: ExceptionMap, *, stream: bool, answered: bool, timeout_s: float
) -> tuple[Classified, int | None, str]:
    """Kind and retryability, HTTP status and message of an attempt that raised ``error``.

    ``error`` is an instance of one of the table's classes; ``answered``: part of the answer's
    text had arrived. Each of these is worth another try: nothing, or a broken answer, came back.
    """
    failure = next(failure for kind, failure in exceptions.items() if isinstance(error, kind))
    if failure is Failure.TIMEOUT:
        return Classified(TIMEOUT, True), None, f"no complete answer within {timeout_s:g} s"
    if failure is Failure.CONNECTION:
        cause = error.__cause__ or error  # what a library wrapped ("Connection error." says little)
        kind = STREAM_CUT if answered else CONNECTION
        return Classified(kind, True), None, f"{type(cause).__name__}: {cause}"
    kind = STREAM_CUT if stream else MALFORMED
    if isinstance(error, IncompleteAnswer):
        return Classified(kind, True), 200, str(error)
    return Classified(kind, True), 200, f"{type(error).__name__}: {error}"


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


def retry_hint_s(
    headers: Mapping[str, str], http_status: int, *, now_epoch_s: float | None = None
) -> float | None:
    """How long the server asks us to wait before retrying an answer of ``http_status``, from
    its headers; None when it gives no hint.

    ``retry-after-ms`` is the most precise, then ``retry-after`` (seconds or an HTTP date): hints
    on any status. An ``x-ratelimit-reset-*`` is one only for a budget whose ``remaining`` is 0,
    or on a 429 (where none says 0 left, every reset): OpenAI sends them on every answer, and on
    a 500 with budget left they say when the window is full again, not when to retry.
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
    exhausted: list[float] = []
    for budget in ("requests", "tokens"):
        reset = lower.get(f"x-ratelimit-reset-{budget}")
        seconds = parse_go_duration(reset) if reset else None
        if seconds is None:
            continue
        resets.append(seconds)
        if lower.get(f"x-ratelimit-remaining-{budget}", "").strip() == "0":
            exhausted.append(seconds)  # every exhausted budget must refill before one more fits
    if exhausted:
        return max(exhausted)
    return max(resets) if resets and http_status == 429 else None


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
