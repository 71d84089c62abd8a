"""Backoff waits: capped exponential full jitter, with a server hint as a floor."""

from __future__ import annotations

import random

from hypothesis import given
from hypothesis import strategies as st

from llmsweep.engine.retry import BackoffPolicy


@given(st.integers(min_value=1, max_value=40), st.integers(min_value=0, max_value=2**32))
def test_full_jitter_stays_within_the_capped_exponential(retry_number: int, seed: int) -> None:
    policy = BackoffPolicy(base_s=0.5, cap_s=8.0)
    delay = policy.delay_s(retry_number, random.Random(seed), None)
    assert 0 <= delay <= min(8.0, 0.5 * 2 ** (retry_number - 1))


@given(st.floats(min_value=0, max_value=600), st.integers(min_value=0, max_value=2**32))
def test_a_server_hint_is_a_floor(hint_s: float, seed: int) -> None:
    delay = BackoffPolicy().delay_s(1, random.Random(seed), hint_s)
    assert hint_s <= delay <= hint_s + 1.0
