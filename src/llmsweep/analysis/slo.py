"""Latency targets (``--slo``): which levels meet them (pure).

A level meets its targets when each one's measured value (the level's percentile, a median
over repeats as every timing of a level is) is at most the target; a value that was never
measured (no request succeeded) misses it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Protocol

from llmsweep.analysis.formatting import format_pct
from llmsweep.analysis.levels import LevelSummary
from llmsweep.settings import LatencyTarget

# Each target's metric (settings.SLO_METRICS) as the level summary names it.
_MEASURED = {
    "p50": "latency_p50_s",
    "p95": "latency_p95_s",
    "p99": "latency_p99_s",
    "ttft_p95": "ttft_p95_s",
}


class Measured(Protocol):
    """What a target judges: a level, or an open loop's rate (analysis.rate.RateSummary)."""

    @property
    def latency_p50_s(self) -> float | None: ...
    @property
    def latency_p95_s(self) -> float | None: ...
    @property
    def latency_p99_s(self) -> float | None: ...
    @property
    def ttft_p95_s(self) -> float | None: ...


def measured_s(level: Measured, target: LatencyTarget) -> float | None:
    value: float | None = getattr(level, _MEASURED[target.metric])
    return value


def misses(level: Measured, targets: Sequence[LatencyTarget]) -> tuple[str, ...]:
    """How ``level`` misses each target it misses, e.g. ``"p95 3.10 s > 2 s"``."""
    missed = []
    for target in targets:
        value = measured_s(level, target)
        if value is None:
            missed.append(f"{target.metric} not measured")
        elif value > target.max_s:
            missed.append(f"{target.metric} {value:.2f} s > {target.max_s:g} s")
    return tuple(missed)


def judge_levels(
    levels: Sequence[LevelSummary], targets: Sequence[LatencyTarget]
) -> list[LevelSummary]:
    """Each level with whether it met every target (``slo_met``) and how it missed them;
    unchanged when there is no target."""
    if not targets:
        return list(levels)
    judged = []
    for level in levels:
        missed = misses(level, targets)
        judged.append(replace(level, slo_met=not missed, slo_misses=missed))
    return judged


def describe(targets: Sequence[LatencyTarget]) -> str:
    """``"p95 ≤ 2 s and ttft_p95 ≤ 0.5 s"``."""
    return " and ".join(str(target) for target in targets)


def why_missed(level: LevelSummary, max_failure_rate: float, max_429_rate: float) -> str:
    """How a level missed the targets or the failure and 429 thresholds."""
    reasons = list(level.slo_misses)
    if level.failure_rate > max_failure_rate:
        reasons.append(f"failures {format_pct(level.failure_rate)}")
    if level.rate_limited_rate > max_429_rate:
        reasons.append(f"429s {format_pct(level.rate_limited_rate)}")
    return "; ".join(reasons)


def no_target_warning(
    model: str, levels: Sequence[LevelSummary], targets: Sequence[LatencyTarget], within: str
) -> str:
    """No level met ``targets`` ``within`` the thresholds: what each target's best level
    measured, so the user knows how far to loosen it."""
    lowest = []
    for target in targets:
        measured = [
            (value, row) for row in levels if (value := measured_s(row, target)) is not None
        ]
        if measured:
            value, row = min(measured, key=lambda item: (item[0], item[1].concurrency))
            lowest.append(f"{target.metric} {value:.2f} s at concurrency {row.concurrency}")
    found = f" (lowest measured: {', '.join(lowest)})" if lowest else ""
    return (
        f"{model}: no level met the latency target {describe(targets)} with {within}{found}. "
        "Loosen the target (--slo; `llmsweep report DIR --slo ...` re-judges without sending "
        "anything), or measure a faster model or deployment."
    )
