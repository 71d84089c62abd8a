"""Rate-limit arithmetic on a fake clock: token buckets, debt, headers, Go-style durations."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from llmsweep.simulator import TIER_PRESETS
from llmsweep.simulator.ratelimit import RateLimiter, go_duration


def test_tier_presets_are_positive_pairs() -> None:
    assert "openai-tier1-gpt-4o" in TIER_PRESETS
    for rpm, tpm in TIER_PRESETS.values():
        assert rpm >= 1
        assert tpm >= 1


_DURATION = re.compile(r"(?:(\d+)h)?(?:(\d+)m(?!s))?(?:([\d.]+)s)?(?:(\d+)ms)?")


def parse_duration_s(text: str) -> float:
    match = _DURATION.fullmatch(text)
    assert match is not None, text
    hours, minutes, seconds, millis = (float(g) if g else 0.0 for g in match.groups())
    return hours * 3600 + minutes * 60 + seconds + millis / 1000


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0.0, "0s"),
        (0.012, "12ms"),
        (0.0001, "1ms"),
        (1.0, "1s"),
        (8.64, "8.64s"),
        (90.5, "1m30.5s"),
        (360.0, "6m0s"),
        (3600.0, "1h0m0s"),
        (3725.25, "1h2m5.25s"),
        (0.1, "100ms"),
    ],
)
def test_go_duration_examples(seconds: float, text: str) -> None:
    assert go_duration(seconds) == text


@given(st.floats(min_value=0, max_value=200_000, allow_nan=False))
def test_go_duration_rounds_up_to_milliseconds(seconds: float) -> None:
    parsed = parse_duration_s(go_duration(seconds))
    assert seconds - 1e-6 <= parsed <= seconds + 0.001 + 1e-6


class FakeClock:
    def __init__(self) -> None:
        self.now_s = 100.0

    def __call__(self) -> float:
        return self.now_s


def test_limiter_refuses_then_refills() -> None:
    clock = FakeClock()
    limiter = RateLimiter(rpm=120, tpm=None, clock=clock)  # 2 per second, bucket of 2
    assert limiter.check("k", 10, "m").limited_by is None
    admitted = limiter.check("k", 10, "m")
    assert admitted.limited_by is None
    assert admitted.headers["x-ratelimit-remaining-requests"] == "0"
    assert admitted.headers["x-ratelimit-reset-requests"] == "1s"
    refused = limiter.check("k", 10, "m")
    assert refused.limited_by == "requests"
    assert refused.headers["retry-after-ms"] == "500"
    assert refused.headers["retry-after"] == "1"
    assert "Please try again in 500ms." in refused.message
    assert limiter.check("other key", 10, "m").limited_by is None
    clock.now_s += 0.5
    assert limiter.check("k", 10, "m").limited_by is None


def test_token_debt_admits_a_big_request_once_the_bucket_is_full() -> None:
    clock = FakeClock()
    limiter = RateLimiter(rpm=None, tpm=6000, clock=clock)  # 100 tokens/s, bucket of 100
    assert not limiter.too_large(6000)
    assert limiter.too_large(6001)
    assert limiter.check("k", 500, "m").limited_by is None  # full bucket: served, 400 in debt
    refused = limiter.check("k", 10, "m")
    assert refused.limited_by == "tokens"
    assert refused.headers["retry-after-ms"] == "4100"  # back to +10 tokens: 410 tokens away
    clock.now_s += 4.1
    assert limiter.check("k", 10, "m").limited_by is None


@settings(max_examples=60, deadline=None)
@given(
    rpm=st.integers(1, 10_000),
    tpm=st.integers(100, 1_000_000),
    steps=st.lists(st.tuples(st.floats(0, 0.5), st.integers(1, 5000)), min_size=1, max_size=300),
)
def test_limiter_never_exceeds_the_long_run_rate(
    rpm: int, tpm: int, steps: list[tuple[float, int]]
) -> None:
    clock = FakeClock()
    start_s = clock.now_s
    limiter = RateLimiter(rpm=rpm, tpm=tpm, clock=clock)
    requests = tokens = 0
    biggest = 0
    for gap_s, charge in steps:
        clock.now_s += gap_s
        if limiter.too_large(charge):
            continue
        if limiter.check("k", charge, "m").limited_by is None:
            requests += 1
            tokens += charge
            biggest = max(biggest, charge)
    elapsed_s = clock.now_s - start_s
    assert requests <= max(1.0, rpm / 60) + rpm / 60 * elapsed_s + 1e-6
    # One bucket, plus the refill, plus the debt the last big request may have left.
    assert tokens <= max(1.0, tpm / 60) + tpm / 60 * elapsed_s + biggest + 1e-6
