"""The confidence interval over repeats: hand-worked values and properties of the method."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from factories import levels_of, make_cell
from llmsweep.analysis.interval import Interval, mean_interval, t_975


def test_student_t_interval_hand_worked() -> None:
    # 1, 2, 3: mean 2, sample sd 1, t(0.975, 2) = 4.303, so 2 ± 4.303 / √3 = 2 ± 2.484.
    interval = mean_interval([1.0, 2.0, 3.0])
    assert interval is not None
    assert (interval.mean, interval.n) == (2.0, 3)
    assert interval.half_width == pytest.approx(2.4843, abs=1e-4)
    assert mean_interval([5.0]) is None and mean_interval([]) is None


def test_t_quantile_table_and_expansion_meet() -> None:
    assert (t_975(1), t_975(2), t_975(30)) == (12.706, 4.303, 2.042)
    # Beyond the table: t(0.975, 40) = 2.0211, t(0.975, 120) = 1.9799 in published tables.
    assert t_975(40) == pytest.approx(2.0211, abs=1e-4)
    assert t_975(120) == pytest.approx(1.9799, abs=1e-4)
    assert abs(t_975(31) - 2.0395) < 1e-3
    with pytest.raises(ValueError):
        t_975(0)


@given(st.integers(min_value=1, max_value=500))
def test_t_quantile_falls_towards_the_normal_one(df: int) -> None:
    assert 1.959964 < t_975(df + 1) < t_975(df)


values = st.lists(st.floats(min_value=-1e6, max_value=1e6), min_size=2, max_size=40)


@given(values, st.floats(min_value=0.001, max_value=1000), st.floats(min_value=-1e3, max_value=1e3))
def test_interval_is_centred_on_the_mean_and_moves_with_the_values(
    data: list[float], scale: float, shift: float
) -> None:
    interval = mean_interval(data)
    moved = mean_interval([scale * value + shift for value in data])
    assert interval is not None and moved is not None
    assert interval.low <= interval.mean <= interval.high
    assert moved.mean == pytest.approx(scale * interval.mean + shift, rel=1e-6, abs=1e-3)
    assert moved.half_width == pytest.approx(scale * interval.half_width, rel=1e-6, abs=1e-3)


@given(st.floats(min_value=-1e6, max_value=1e6), st.integers(min_value=2, max_value=20))
def test_equal_repeats_have_no_width(value: float, n: int) -> None:
    interval = mean_interval([value] * n)
    assert interval is not None and interval.half_width == 0.0
    assert interval.mean == pytest.approx(value)


def test_overlap_is_symmetric_and_touching_counts() -> None:
    a, b, c = Interval(2.0, 1.0, 3), Interval(4.0, 1.0, 3), Interval(4.5, 0.4, 3)
    assert a.overlaps(b) and b.overlaps(a)  # they meet at 3
    assert not a.overlaps(c) and not c.overlaps(a)


def test_level_intervals_over_repeats_hand_worked() -> None:
    # 4 prompts a cell. Level 1 walls 2, 4, 4/3 s: 2, 1, 3 req/s -> 2 ± 2.484; median wall 2 s.
    # Level 2 walls 1, 4, 8/9 s: 4, 1, 4.5 req/s -> 3.167 ± 4.703 (sd 1.893, t(0.975, 2)
    # 4.303), and speedups against the same repeat's level 1, 2/1, 4/4, (4/3)/(8/9) = 2, 1,
    # 1.5 -> 1.5 ± 1.242 (sd 0.5). Latency p50 of a cell is 0.625 x its wall (ends at 1/4 ..
    # 4/4 of it): at level 1, 0.625 x (2.444 ± 3.448) = 1.528 ± 2.155 s.
    records = [
        record
        for level, walls in ((1, (2.0, 4.0, 4 / 3)), (2, (1.0, 4.0, 8 / 9)))
        for repeat, wall_s in enumerate(walls)
        for record in make_cell("m", level, prompts=4, wall_s=wall_s, repeat=repeat)
    ]
    first, second = levels_of(records)
    assert first.throughput_rps_ci == Interval(2.0, pytest.approx(2.4843, abs=1e-4), 3)  # type: ignore[arg-type]
    assert second.throughput_rps_ci is not None and second.speedup_ci is not None
    assert second.throughput_rps_ci.mean == pytest.approx(19 / 6)
    assert second.throughput_rps_ci.half_width == pytest.approx(4.7028, abs=1e-4)
    assert second.speedup_ci.mean == pytest.approx(1.5)
    assert second.speedup_ci.half_width == pytest.approx(1.2421, abs=1e-4)
    assert first.latency_p50_s_ci is not None
    assert first.latency_p50_s_ci.mean == pytest.approx(0.625 * 22 / 9)
    assert first.latency_p50_s_ci.half_width == pytest.approx(2.1548, abs=1e-4)
    assert math.isclose(first.throughput_rps, 2.0)  # the level's own value stays the median
    (once,) = levels_of(make_cell("m", 1, prompts=4, wall_s=2.0))
    assert (once.throughput_rps_ci, once.speedup_ci, once.latency_p50_s_ci) == (None,) * 3
