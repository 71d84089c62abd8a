"""Error classification and server hints: pure functions on hand-made answers and errors, and
the hints each client reads from the simulator's answers."""

from __future__ import annotations

import pytest

from conftest import StartSimulator
from engine_helpers import fixed_profile
from llmsweep.simulator import FaultRates
from llmsweep.transport import classify as retry
from llmsweep.transport import make_transport


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
    assert retry.retry_hint_s({"retry-after-ms": "250", "retry-after": "3"}, 429) == 0.25
    assert retry.retry_hint_s({"Retry-After": "3"}, 429) == 3.0
    date_hint = retry.retry_hint_s(
        {"retry-after": "Wed, 21 Oct 2015 07:28:05 GMT"}, 503, now_epoch_s=1445412480.0
    )
    assert date_hint == pytest.approx(5.0)
    headers = {
        "x-ratelimit-remaining-requests": "5",
        "x-ratelimit-reset-requests": "2s",
        "x-ratelimit-remaining-tokens": "0",
        "x-ratelimit-reset-tokens": "350ms",
    }
    assert retry.retry_hint_s(headers, 429) == pytest.approx(0.35)
    assert (
        retry.retry_hint_s(
            {"x-ratelimit-reset-requests": "1s", "x-ratelimit-reset-tokens": "6m0s"}, 429
        )
        == 360.0
    )
    assert retry.retry_hint_s({}, 429) is None
    assert retry.retry_hint_s({"retry-after": "garbage"}, 429) is None


# What OpenAI sends on every answer: budget left, and when each window is full again.
BUDGET_LEFT = {
    "x-ratelimit-limit-requests": "500",
    "x-ratelimit-remaining-requests": "499",
    "x-ratelimit-reset-requests": "120ms",
    "x-ratelimit-limit-tokens": "30000",
    "x-ratelimit-remaining-tokens": "29000",
    "x-ratelimit-reset-tokens": "2s",
}


@pytest.mark.parametrize("status", [500, 503, 408, 409])
def test_a_reset_is_no_hint_on_another_error_while_budget_is_left(status: int) -> None:
    # On a 500 the resets say when the windows refill, not when to try again.
    assert retry.retry_hint_s(BUDGET_LEFT, status) is None
    # The hint headers proper are hints on any status that carries them.
    assert retry.retry_hint_s(BUDGET_LEFT | {"retry-after": "3"}, status) == 3.0
    assert retry.retry_hint_s(BUDGET_LEFT | {"retry-after-ms": "40"}, status) == 0.04
    # A budget that says 0 left is exhausted whatever the status: wait for its reset.
    spent = BUDGET_LEFT | {"x-ratelimit-remaining-tokens": "0"}
    assert retry.retry_hint_s(spent, status) == 2.0


def test_a_429_waits_for_its_exhausted_budgets_else_for_every_reset() -> None:
    assert retry.retry_hint_s(BUDGET_LEFT, 429) == 2.0  # none says 0 left: the later reset
    spent = BUDGET_LEFT | {"x-ratelimit-remaining-requests": "0"}
    assert retry.retry_hint_s(spent, 429) == 0.12  # the exhausted one, not the later reset
    both = spent | {"x-ratelimit-remaining-tokens": "0"}
    assert retry.retry_hint_s(both, 429) == 2.0  # both must refill before one more fits
    assert retry.retry_hint_s(both, 500) == 2.0


@pytest.mark.parametrize("client", ["openai", "http"])
async def test_a_500_from_a_rate_limited_server_with_budget_left_gives_no_hint(
    start_simulator: StartSimulator, client: str
) -> None:
    # Seed 2 draws no fault for the first request and a 500 for the second. The 200 spends one
    # of the two requests the bucket holds, so the 500 states one left and a reset of up to
    # 0.5 s: when the bucket is full again, no reason to wait before retrying the 500.
    sim = await start_simulator(
        profile=fixed_profile(ttft_s=0.001),
        rpm=120,
        tpm=100_000,
        faults=FaultRates(error_500=0.5),
        seed=2,
    )
    transport = make_transport(
        client, base_url=sim.base_url, api_key="sk-test", concurrency=1, timeout_s=5.0
    )
    messages = [{"role": "user", "content": "Hello"}]
    try:
        served = await transport.send("gpt-4o", messages, 5, False)
        failed = await transport.send("gpt-4o", messages, 5, False)
    finally:
        await transport.aclose()
    assert sim.stats()["by_status"] == {"200": 1, "500": 1}
    assert served.ok and (failed.http_status, failed.retryable) == (500, True)
    assert failed.limits == retry.Limits(120, 100_000)  # the 500 stated the limits...
    assert failed.hint_s is None  # ...and its resets are no hint


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
