"""Error classification and server hints: pure functions on hand-made answers and errors."""

from __future__ import annotations

import pytest

from llmsweep.transport import classify as retry


@pytest.mark.parametrize(
    ("status", "body", "kind", "retryable"),
    [
        (
            429,
            {"error": {"code": "rate_limit_exceeded", "message": "Rate limit reached"}},
            retry.RATE_LIMITED,
            True,
        ),
        (429, {"error": {"code": "insufficient_quota", "message": "quota"}}, retry.QUOTA, False),
        (429, {"error": {"type": "credit_balance_exhausted"}}, retry.QUOTA, False),
        (
            429,
            {
                "error": {
                    "code": "rate_limit_exceeded",
                    "message": "Request too large for gpt-4o on tokens per min",
                }
            },
            retry.TOO_LARGE,
            False,
        ),
        (
            429,
            [
                {
                    "error": {
                        "code": 429,
                        "message": "Resource exhausted",
                        "status": "RESOURCE_EXHAUSTED",
                    }
                }
            ],
            retry.RATE_LIMITED,
            True,
        ),
        (429, "plain text", retry.RATE_LIMITED, True),
        (429, None, retry.RATE_LIMITED, True),
        (429, [], retry.RATE_LIMITED, True),
        (500, None, retry.SERVER_ERROR, True),
        (503, {"error": "overloaded"}, retry.SERVER_ERROR, True),
        (408, None, retry.TIMEOUT, True),
        (409, None, retry.CONFLICT, True),
        (400, {"error": {"message": "bad"}}, retry.BAD_REQUEST, False),
        (422, None, retry.BAD_REQUEST, False),
        (401, None, retry.AUTH, False),
        (403, None, retry.AUTH, False),
        (404, None, retry.NOT_FOUND, False),
        (418, None, retry.HTTP_ERROR, False),
    ],
)
def test_classify(status: int, body: object, kind: str, retryable: bool) -> None:
    verdict = retry.classify_status(status, body)
    assert (verdict.kind, verdict.retryable) == (kind, retryable)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("1s", 1.0),
        ("6m0s", 360.0),
        ("12ms", 0.012),
        ("1m30.5s", 90.5),
        ("2h", 7200.0),
        ("0.5", 0.5),
        ("soon", None),
        ("1x", None),
        ("", None),
    ],
)
def test_go_durations(text: str, seconds: float | None) -> None:
    parsed = retry.parse_go_duration(text)
    if seconds is None:
        assert parsed is None
    else:
        assert parsed == pytest.approx(seconds)


def test_hint_prefers_retry_after_ms_then_retry_after_then_exhausted_reset() -> None:
    assert retry.retry_hint_s({"retry-after-ms": "250", "retry-after": "3"}) == 0.25
    assert retry.retry_hint_s({"Retry-After": "3"}) == 3.0
    date_hint = retry.retry_hint_s(
        {"retry-after": "Wed, 21 Oct 2015 07:28:05 GMT"}, now_epoch_s=1445412480.0
    )
    assert date_hint == pytest.approx(5.0)
    headers = {
        "x-ratelimit-remaining-requests": "5",
        "x-ratelimit-reset-requests": "2s",
        "x-ratelimit-remaining-tokens": "0",
        "x-ratelimit-reset-tokens": "350ms",
    }
    assert retry.retry_hint_s(headers) == pytest.approx(0.35)
    assert (
        retry.retry_hint_s({"x-ratelimit-reset-requests": "1s", "x-ratelimit-reset-tokens": "6m0s"})
        == 360.0
    )
    assert retry.retry_hint_s({}) is None
    assert retry.retry_hint_s({"retry-after": "garbage"}) is None


def test_advertised_limits() -> None:
    headers = {"X-RateLimit-Limit-Requests": "500", "x-ratelimit-limit-tokens": "30000"}
    assert retry.advertised_limits(headers) == retry.Limits(500, 30000)
    assert retry.advertised_limits({"x-ratelimit-limit-requests": "60"}) == retry.Limits(60, None)
    assert retry.advertised_limits({"x-ratelimit-limit-tokens": "soon"}) is None
    assert retry.advertised_limits({}) is None


class _Wrapper(Exception):
    """A library error that wraps its cause, as the SDK's APIConnectionError does."""


class _Timeout(TimeoutError, _Wrapper):
    """A class that is two things at once, as aiohttp's timeout errors are."""


EXCEPTIONS: retry.ExceptionMap = {
    TimeoutError: retry.Failure.TIMEOUT,
    _Wrapper: retry.Failure.CONNECTION,
    ValueError: retry.Failure.MALFORMED,
}


def _wrapped(cause: Exception) -> _Wrapper:
    try:
        raise _Wrapper("Connection error.") from cause
    except _Wrapper as error:
        return error


@pytest.mark.parametrize(
    ("error", "stream", "answered", "expected"),
    [
        (TimeoutError(), False, False, ("timeout", None, "no complete answer within 2.5 s")),
        (_Timeout(), True, True, ("timeout", None, "no complete answer within 2.5 s")),
        (_Wrapper("reset"), False, False, ("connection", None, "_Wrapper: reset")),
        (_Wrapper("reset"), True, False, ("connection", None, "_Wrapper: reset")),
        (_Wrapper("reset"), True, True, ("stream_cut", None, "_Wrapper: reset")),
        (_wrapped(OSError("refused")), False, False, ("connection", None, "OSError: refused")),
        (ValueError("bad"), False, False, ("malformed", 200, "ValueError: bad")),
        (ValueError("bad"), True, True, ("stream_cut", 200, "ValueError: bad")),
        (
            retry.IncompleteAnswer(retry.INCOMPLETE),
            False,
            False,
            ("malformed", 200, retry.INCOMPLETE),
        ),
        (retry.IncompleteAnswer("overloaded"), True, False, ("stream_cut", 200, "overloaded")),
    ],
)
def test_one_verdict_for_every_failure(
    error: Exception, stream: bool, answered: bool, expected: tuple[str, int | None, str]
) -> None:
    verdict, status, message = retry.failure_verdict(
        error, EXCEPTIONS, stream=stream, answered=answered, timeout_s=2.5
    )
    assert verdict.retryable
    assert (verdict.kind, status, message) == expected
