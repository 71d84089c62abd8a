"""Levels on hand-worked records: speedup against concurrency 1, medians over repeats."""

from __future__ import annotations

from decimal import Decimal

import pytest

from factories import levels_of, make_cell, tiny_sweep


def test_speedup_efficiency_and_throughput_on_a_tiny_sweep() -> None:
    by_level = {level.concurrency: level for level in levels_of(tiny_sweep())}
    assert [by_level[c].wall_s for c in (1, 2, 4)] == [4.0, 2.5, 1.0]
    assert by_level[1].speedup == 1.0
    assert by_level[2].speedup == pytest.approx(1.6)
    assert by_level[2].efficiency == pytest.approx(0.8)
    assert by_level[4].speedup == pytest.approx(4.0)
    assert by_level[4].efficiency == pytest.approx(1.0)
    assert by_level[1].throughput_rps == pytest.approx(1.0)
    assert by_level[4].throughput_rps == pytest.approx(4.0)
    assert by_level[4].output_tokens_per_s == pytest.approx(200.0)  # 4 x 50 tokens in 1 s


def test_level_takes_medians_and_spread_over_repeats() -> None:
    records = [
        *make_cell("m", 1, prompts=4, wall_s=8.0),
        *make_cell("m", 1, prompts=4, wall_s=10.0, repeat=1),
        *make_cell("m", 1, prompts=4, wall_s=12.0, repeat=2),
    ]
    (level,) = levels_of(records)
    assert (level.wall_s, level.wall_s_min, level.wall_s_max) == (10.0, 8.0, 12.0)
    assert level.wall_s_spread == pytest.approx(0.4)
    assert level.repeats == 3 and level.requests == 12
    assert level.cost_usd == Decimal("0.012")
