"""The time-vs-cost Pareto front: no level dominates by a wall time within the noise."""

from __future__ import annotations

from decimal import Decimal

import pytest

from factories import levels_of, make_cell
from llmsweep.analysis.interval import Interval
from llmsweep.analysis.levels import LevelSummary
from llmsweep.analysis.pareto import TradeoffPoint, dominates, pareto_front, tradeoff_point


def _point(wall_s: float, cost_usd: str, half_width_s: float | None = None) -> TradeoffPoint:
    ci = None if half_width_s is None else Interval(wall_s, half_width_s, 3)
    return TradeoffPoint(wall_s, Decimal(cost_usd), ci)


def test_without_intervals_the_front_keeps_what_nothing_beats_on_both() -> None:
    points = [_point(10, "1"), _point(5, "2"), _point(6, "3"), _point(20, "0.5"), _point(21, "0.5")]
    # (6, $3) loses to (5, $2); (21, $0.5) to (20, $0.5): as fast or faster, as cheap or cheaper.
    assert pareto_front(points) == [1, 0, 3]


def test_identical_points_are_both_on_the_front() -> None:
    assert pareto_front([_point(2, "1"), _point(2, "1")]) == [0, 1]


def test_a_wall_time_within_the_noise_is_not_faster() -> None:
    # 2.13 ± 0.075 s spans 2.055-2.205 s and 2.19 ± 0.075 s spans 2.115-2.265 s: they overlap,
    # so the 0.06 s lead is noise and the cheaper level dominates.
    dear, cheap = _point(2.13, "2.21", 0.075), _point(2.19, "0.135", 0.075)
    assert not dominates(dear, cheap) and dominates(cheap, dear)
    assert pareto_front([dear, cheap]) == [1]
    # Within 0.005 s the two spans are 2.125-2.135 s and 2.185-2.195 s: the lead is real.
    tight_dear, tight_cheap = _point(2.13, "2.21", 0.005), _point(2.19, "0.135", 0.005)
    assert pareto_front([tight_dear, tight_cheap]) == [0, 1]
    # Same cost, overlapping times: neither is better on anything, both stay.
    assert pareto_front([_point(2.13, "1", 0.075), _point(2.19, "1", 0.075)]) == [0, 1]


def _two_models(repeat_walls: dict[str, list[float]]) -> list[LevelSummary]:
    costs = {"gpt-4o": "0.00221", "gpt-4o-mini": "0.000135"}  # $2.21 and $0.135 per 1k
    records = [
        record
        for model, walls in repeat_walls.items()
        for repeat, wall_s in enumerate(walls)
        for record in make_cell(model, 8, prompts=10, wall_s=wall_s, repeat=repeat,
                                cost_usd=costs[model])
    ]  # fmt: skip
    return levels_of(records)


def test_a_006_s_lead_within_three_repeats_noise_puts_no_level_on_the_front() -> None:
    # gpt-4o 2.10, 2.13, 2.16 s: mean 2.13, sd 0.03, t(0.975, 2) = 4.303, so ± 4.303 x 0.03 / √3
    # = ± 0.0745 s; gpt-4o-mini 0.06 s slower on every repeat, the same spread: they overlap.
    levels = _two_models({"gpt-4o": [2.10, 2.13, 2.16], "gpt-4o-mini": [2.16, 2.19, 2.22]})
    dear, cheap = (tradeoff_point(level) for level in levels)
    assert dear is not None and cheap is not None
    assert dear.wall_s_ci is not None
    assert dear.wall_s_ci.mean == pytest.approx(2.13)
    assert dear.wall_s_ci.half_width == pytest.approx(0.0745, abs=1e-4)
    assert (dear.cost_per_1k_usd, cheap.cost_per_1k_usd) == (Decimal("2.21"), Decimal("0.135"))
    assert pareto_front([dear, cheap]) == [1]  # only gpt-4o-mini
    # Measured once, the noise is unknown: the 0.06 s lead counts as measured.
    once = [
        tradeoff_point(level) for level in _two_models({"gpt-4o": [2.13], "gpt-4o-mini": [2.19]})
    ]
    assert pareto_front([point for point in once if point is not None]) == [0, 1]


def test_a_level_with_no_success_has_no_place_on_the_trade_off() -> None:
    (level,) = levels_of(make_cell("m", 1, prompts=2, wall_s=1.0, failed=2))
    assert tradeoff_point(level) is None
