"""The time-vs-cost Pareto front, blind to wall-time differences within the measured noise (pure).

A level is on the front when no other level dominates it. One level dominates another when it is
no slower, no dearer, and better on at least one of the two. "Slower" reads the wall times' 95%
intervals over repeats (analysis.interval): while two intervals overlap, neither level is faster,
so a 0.06 s lead that repeats cannot tell from noise puts no level on the front. A level that ran
once has no interval: its wall time is compared as measured (noise unknown). Cost is compared
exactly, as billed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from llmsweep.analysis.interval import Interval
from llmsweep.analysis.levels import LevelSummary

FRONT_RULE = (
    "a level is on the front when no other level is both no slower and no dearer and better on "
    "one of the two; a wall time is faster only when its 95% interval over repeats lies wholly "
    "below the other's"
)


@dataclass(frozen=True)
class TradeoffPoint:
    """One level on the trade-off: its wall time (with its interval, from two repeats) and cost
    per 1k succeeded prompts."""

    wall_s: float
    cost_per_1k_usd: Decimal
    wall_s_ci: Interval | None = None

    @property
    def wall_span_s(self) -> tuple[float, float]:
        """The wall times it may have had: its 95% interval, or the one value measured."""
        if self.wall_s_ci is None:
            return (self.wall_s, self.wall_s)
        return (self.wall_s_ci.low, self.wall_s_ci.high)


def tradeoff_point(level: LevelSummary) -> TradeoffPoint | None:
    """A level's place on the trade-off; None when no prompt of it succeeded (no cost per 1k)."""
    if level.cost_per_1k_succeeded_usd is None:
        return None
    return TradeoffPoint(level.wall_s, level.cost_per_1k_succeeded_usd, level.wall_s_ci)


def faster(a: TradeoffPoint, b: TradeoffPoint) -> bool:
    """Whether ``a``'s wall time is below ``b``'s beyond the noise: no overlap of intervals."""
    return a.wall_span_s[1] < b.wall_span_s[0]


def dominates(a: TradeoffPoint, b: TradeoffPoint) -> bool:
    """Whether ``a`` is no slower and no dearer than ``b`` and better on one of the two."""
    if faster(b, a) or a.cost_per_1k_usd > b.cost_per_1k_usd:
        return False
    return faster(a, b) or a.cost_per_1k_usd < b.cost_per_1k_usd


def pareto_front(points: Sequence[TradeoffPoint]) -> list[int]:
    """Indices of the points no other point dominates, fastest first (then cheapest)."""
    front = [
        index
        for index, point in enumerate(points)
        if not any(dominates(other, point) for j, other in enumerate(points) if j != index)
    ]
    return sorted(front, key=lambda index: (points[index].wall_s, points[index].cost_per_1k_usd))
