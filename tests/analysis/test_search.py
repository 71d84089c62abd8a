"""The adaptive search's decisions on hand-worked measurements (analysis.search)."""

from __future__ import annotations

import pytest

from factories import levels_of, make_cell
from llmsweep.analysis.ceiling import RateLimits
from llmsweep.analysis.interval import Interval
from llmsweep.analysis.search import (
    MAX_ROUNDS,
    Probe,
    more_rounds,
    most_probes,
    next_move,
    probe_of,
    probe_prompts,
    top_level,
)


def probe(level: int, rps: float, half_width: float = 1.0, *, ceiling: bool = False) -> Probe:
    """A probe whose throughput is ``rps`` ± ``half_width`` req/s."""
    return Probe(level, Interval(rps, half_width, 3), ceiling)


def test_starts_at_1_and_doubles_while_throughput_rises_beyond_the_noise() -> None:
    assert next_move([], 256).level == 1
    assert next_move([probe(1, 10)], 256).level == 2
    # 19 ± 1 is wholly above 10 ± 1: rising; 37 ± 2 wholly above 19 ± 1: still rising.
    move = next_move([probe(1, 10), probe(2, 19), probe(4, 37, 2)], 256)
    assert move.level == 8
    assert "rose beyond the noise" in move.reason and "doubling to 8" in move.reason


def test_a_level_within_the_noise_of_the_last_stops_doubling_and_bisects() -> None:
    # 8: 75 ± 3; 16: 79 ± 5 -> 74..84 overlaps 72..78: no real rise. The knee is in 8..16.
    probes = [probe(1, 10), probe(2, 20), probe(4, 39), probe(8, 75, 3), probe(16, 79, 5)]
    move = next_move(probes, 256)
    assert move.level == 12
    assert "no rise beyond the noise" in move.reason and "bisecting 8" in move.reason
    # 12 rose over 8 (110 ± 4 vs 75 ± 3): the knee is in 12..16, within 1.5x: done.
    done = next_move([*probes, probe(12, 110, 4)], 256)
    assert done.level is None and "between 12 and 16" in done.reason
    # 12 did not rise over 8: the knee is in 8..12, within 1.5x: done.
    flat = next_move([*probes, probe(12, 76, 4)], 256)
    assert flat.level is None and "between 8 and 12" in flat.reason


def test_overlap_is_judged_on_the_intervals_not_the_means() -> None:
    # The mean rose by 40%, but 28 ± 7 reaches down into 20 ± 3: within the noise.
    move = next_move([probe(1, 10), probe(2, 20, 3), probe(4, 28, 7)], 256)
    assert move.level == 3


def test_a_rise_smaller_than_the_knees_margin_stops_doubling() -> None:
    # 16: 44 ± 0.5 is beyond the noise of 8's 41 ± 0.5, but 41 is within 10% of 44: the
    # recommendation would pick 8 over 16 anyway.
    move = next_move(
        [probe(1, 6), probe(2, 12), probe(4, 23), probe(8, 41, 0.5), probe(16, 44, 0.5)], 256
    )
    assert move.level == 12 and "past the knee" in move.reason


def test_the_rate_limit_ceiling_stops_doubling_at_once() -> None:
    # 8 rose (70 vs 38) but reached the ceiling: nothing above it can be faster. Bisect 4..8.
    move = next_move([probe(1, 10), probe(2, 20), probe(4, 38), probe(8, 70, ceiling=True)], 256)
    assert move.level == 6 and "reached the rate-limit ceiling" in move.reason
    assert next_move([probe(1, 10, ceiling=True)], 256).level is None


def test_the_search_stays_under_its_top_level() -> None:
    assert next_move([probe(1, 10), probe(2, 20), probe(4, 40)], 6).level == 6
    done = next_move([probe(1, 10), probe(2, 20), probe(4, 40), probe(6, 60)], 6)
    assert done.level is None and "6 is the highest level allowed" in done.reason
    assert top_level(256, 100) == 100 and top_level(16, 100) == 16


def test_a_level_without_a_throughput_to_compare_is_an_upper_bound() -> None:
    broken = Probe(8, None, False)
    move = next_move([probe(1, 10), probe(2, 20), probe(4, 40), broken], 256)
    assert move.level == 6 and "no throughput to compare" in move.reason


def test_probes_send_a_few_times_their_level_and_never_more_than_the_set() -> None:
    assert [probe_prompts(level, 100) for level in (1, 4, 8, 32, 64)] == [8, 12, 24, 96, 100]
    assert probe_prompts(1, 5) == 5


def test_rounds_continue_while_the_throughput_interval_is_wide() -> None:
    assert more_rounds(0, None) and more_rounds(1, None)  # an interval needs two rounds
    assert not more_rounds(2, Interval(10.0, 1.0, 2))  # ± 10%: settled
    assert more_rounds(2, Interval(10.0, 2.0, 2))  # ± 20%: one more round
    assert not more_rounds(MAX_ROUNDS, Interval(10.0, 5.0, MAX_ROUNDS))  # enough rounds


def test_the_costliest_search_is_every_doubling_and_one_bisection() -> None:
    # Up to 8 over 100 prompts: levels 1, 2, 4, 8 (8, 8, 12, 24 prompts) and a bisection below 8.
    sizes = most_probes(8, 100)
    assert sorted(set(sizes)) == [8, 12, 24]
    assert len(sizes) == 5 * MAX_ROUNDS and sum(sizes) == (8 + 8 + 12 + 24 * 2) * MAX_ROUNDS


def test_a_measured_level_becomes_a_probe_with_its_interval_and_the_ceiling() -> None:
    # Two rounds a level, 8 prompts each. Level 1: 1.0 s and 1.0 s (8 req/s, no spread);
    # level 2: 0.5 s and 0.64 s: 16 and 12.5 req/s, mean 14.25, s = 3.5 / sqrt 2, so the
    # half-width is t(0.975, 1) x s / sqrt 2 = 12.706 x 1.75.
    records = [
        *make_cell("m", 1, prompts=8, wall_s=1.0),
        *make_cell("m", 1, prompts=8, wall_s=1.0, repeat=1),
        *make_cell("m", 2, prompts=8, wall_s=0.5),
        *make_cell("m", 2, prompts=8, wall_s=0.64, repeat=1),
    ]
    one, two = (probe_of(level) for level in levels_of(records))
    assert one.throughput_rps == Interval(8.0, 0.0, 2) and not one.at_ceiling
    assert two.throughput_rps is not None and two.throughput_rps.mean == pytest.approx(14.25)
    assert two.throughput_rps.half_width == pytest.approx(12.706 * 1.75)
    # 600 RPM = 10 req/s: level 2's 14 req/s is past it (a burst the limiter let through).
    capped = levels_of(records, RateLimits(rpm=600))
    assert [probe_of(level).at_ceiling for level in capped] == [False, True]
    # A level the report does not compare (here: fewer records than planned) has no throughput.
    unfinished = levels_of(records[:-1], planned_prompts=8)
    assert probe_of(unfinished[1]).throughput_rps is None
