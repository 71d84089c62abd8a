"""The one percentile method: hand-worked values and its properties against an independent one."""

from __future__ import annotations

import math
import statistics

import pytest
from hypothesis import given
from hypothesis import strategies as st

from llmsweep.percentile import percentile


@pytest.mark.parametrize(
    ("values", "q", "expected"),
    [
        ([1.0, 2.0, 3.0, 4.0], 50, 2.5),  # h = 1.5: halfway between 2 and 3
        ([1.0, 2.0, 3.0, 4.0], 25, 1.75),  # h = 0.75
        ([4.0, 1.0, 3.0, 2.0], 75, 3.25),  # unsorted input, h = 2.25
        ([10.0, 20.0, 30.0, 40.0, 50.0], 90, 46.0),  # h = 3.6
        ([10.0, 20.0, 30.0, 40.0, 50.0], 0, 10.0),
        ([10.0, 20.0, 30.0, 40.0, 50.0], 100, 50.0),
        ([7.0], 99, 7.0),
    ],
)
def test_percentile_hand_worked(values: list[float], q: float, expected: float) -> None:
    assert percentile(values, q) == pytest.approx(expected)


def test_percentile_rejects_empty_and_bad_q() -> None:
    with pytest.raises(ValueError):
        percentile([], 50)
    with pytest.raises(ValueError):
        percentile([1.0], 101)
    with pytest.raises(ValueError):
        percentile([1.0], math.nan)


finite = st.floats(min_value=-1e9, max_value=1e9, allow_nan=False)
quantile = st.floats(min_value=0, max_value=100)


@given(st.lists(finite, min_size=1, max_size=40), quantile, quantile)
def test_percentile_is_monotone_in_q(values: list[float], q1: float, q2: float) -> None:
    low, high = sorted((q1, q2))
    assert percentile(values, low) <= percentile(values, high)


@given(st.lists(finite, min_size=1, max_size=40), quantile)
def test_percentile_stays_within_min_and_max(values: list[float], q: float) -> None:
    assert min(values) <= percentile(values, q) <= max(values)


@given(finite, quantile)
def test_percentile_of_one_sample_is_that_sample(value: float, q: float) -> None:
    assert percentile([value], q) == value


@given(
    st.lists(finite, min_size=2, max_size=40),
    st.integers(2, 100).flatmap(lambda parts: st.tuples(st.just(parts), st.integers(1, parts - 1))),
)
def test_percentile_matches_type_7(values: list[float], cut: tuple[int, int]) -> None:
    # statistics.quantiles(method="inclusive") is an independent type-7 implementation.
    parts, index = cut
    expected = statistics.quantiles(values, n=parts, method="inclusive")[index - 1]
    scale = 1 + max(abs(value) for value in values)
    assert math.isclose(percentile(values, 100 * index / parts), expected, abs_tol=1e-9 * scale)
