"""Pick a concurrency per model; analysis.explain says, with numbers, why and how far to trust it.

The pick is the knee: the smallest level whose throughput is within ``fraction`` of the best
measured throughput while failures and 429s stay under their thresholds. Going further buys at
most the remaining ``1 - fraction`` of throughput and usually costs more retries and 429s.
Under latency targets (``--slo``, analysis.slo) the pick is instead the highest-throughput level
that met every target with failures and 429s under their thresholds (goodput).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Protocol, TypeVar

from llmsweep.analysis.client_bound import how_to_measure
from llmsweep.analysis.explain import (
    Thresholds,
    explain_pick,
    fallback_explanation,
    gain,
    join_levels,
    model_warnings,
    no_level_warning,
    not_compared,
    overlap,
    reliable,
    trusted,
    unmeasured,
    within,
)
from llmsweep.analysis.formatting import format_pct as format_pct
from llmsweep.analysis.formatting import format_rps as format_rps
from llmsweep.analysis.levels import LevelSummary
from llmsweep.analysis.slo import describe, no_target_warning, why_missed
from llmsweep.cost.money import format_usd, per_1k_prompts_usd
from llmsweep.settings import LatencyTarget

# The knee: a level within this share of the best throughput is as good as the best.
KNEE_FRACTION = 0.9
MAX_FAILURE_RATE, MAX_429_RATE = 0.01, 0.05  # failed / prompts; 429 answers / attempts


@dataclass(frozen=True)
class Recommendation:
    model: str
    level: int | None  # None when no level met the thresholds
    explanation: str
    warnings: tuple[str, ...]  # about this model; run-wide: report_warnings.sweep_warnings
    target: str | None = None  # the latency targets it was held to (analysis.slo.describe)


class Spend(Protocol):
    """What cost is summed over: a level, or an open loop's cell, one rate (CellSummary)."""

    @property
    def model(self) -> str: ...
    @property
    def concurrency(self) -> int: ...
    @property
    def requests(self) -> int: ...
    @property
    def succeeded(self) -> int: ...
    @property
    def cost_usd(self) -> Decimal: ...
    @property
    def unpriced(self) -> int: ...
    @property
    def output_tokens(self) -> int: ...
    @property
    def possibly_billed_usd(self) -> Decimal: ...
    @property
    def possibly_billed_attempts(self) -> int: ...
    @property
    def reported_prompts(self) -> int: ...
    @property
    def reported_input_tokens(self) -> int: ...


SpendT = TypeVar("SpendT", bound=Spend)


def levels_by_model(levels: Sequence[SpendT]) -> dict[str, list[SpendT]]:
    """Levels (or a rate sweep's cells) grouped per model, models sorted, levels in ascending
    concurrency."""
    grouped: dict[str, list[SpendT]] = {}
    for level in sorted(levels, key=lambda item: (item.model, item.concurrency)):
        grouped.setdefault(level.model, []).append(level)
    return grouped


def is_priced(level: Spend) -> bool:
    """Whether any price applied at this level (a level of only unpriced prompts shows $0)."""
    return level.cost_usd > 0 or level.unpriced < level.succeeded


def model_cost_per_1k_usd(levels: Sequence[Spend]) -> Decimal | None:
    """Cost per 1k succeeded prompts over all of one model's levels (or a rate sweep's cells;
    failed prompts' cost included); None when none of them was priced or none succeeded."""
    succeeded = sum(level.succeeded for level in levels)
    if succeeded == 0 or not any(is_priced(level) for level in levels):
        return None
    return per_1k_prompts_usd(sum((level.cost_usd for level in levels), Decimal(0)), succeeded)


def recommend(
    levels: Sequence[LevelSummary],
    *,
    fraction: float = KNEE_FRACTION,
    max_failure_rate: float = MAX_FAILURE_RATE,
    max_429_rate: float = MAX_429_RATE,
    client: str = "openai",
    slo: Sequence[LatencyTarget] = (),
) -> list[Recommendation]:
    """One recommendation per model, sorted by model name; ``client`` (the sweep's --client)
    tailors the remedy for client-bound levels. Excluded levels (unfinished, or a speedup that
    is a measurement error) are never picked nor the best. With latency targets ``slo`` the
    levels must have been judged against them (``analysis.slo.judge_levels``)."""
    limits = Thresholds(fraction, max_failure_rate, max_429_rate)
    target = describe(slo) or None
    return [
        replace(_recommend_model(model, rows, limits, client, tuple(slo)), target=target)
        for model, rows in levels_by_model(levels).items()
    ]


def _recommend_model(
    model: str,
    all_rows: list[LevelSummary],
    limits: Thresholds,
    client: str,
    targets: tuple[LatencyTarget, ...],
) -> Recommendation:
    warnings = model_warnings(model, all_rows, client)
    compared = [row for row in all_rows if row.excluded is None]
    if not compared:
        text = f"No level of {model} can be compared (see the summary table's notes)."
        return Recommendation(model, None, text, tuple(warnings))
    rows = [row for row in compared if trusted(row)]
    if not rows:
        return Recommendation(
            model,
            None,
            f"No level of {model} measured the API: this machine was the bottleneck at every "
            f"level (see warnings); to measure them, {how_to_measure(client)}.",
            tuple(warnings),
        )
    if targets:
        return _recommend_for_targets(model, all_rows, rows, limits, client, targets, warnings)
    best = max(rows, key=lambda level: (level.throughput_rps, -level.concurrency))
    floor_rps = limits.fraction * best.throughput_rps
    chosen = next(
        (row for row in rows if row.throughput_rps >= floor_rps and reliable(row, limits)), None
    )
    if chosen is None:
        warnings.append(no_level_warning(model, rows, best, limits))
        return Recommendation(
            model, None, fallback_explanation(model, rows, best, limits), tuple(warnings)
        )
    explanation = (
        explain_pick(chosen, rows, best, limits)
        + overlap(chosen, rows)
        + unmeasured(chosen, all_rows, client)
        + not_compared(all_rows)
    )
    return Recommendation(model, chosen.concurrency, explanation, tuple(warnings))


def _recommend_for_targets(
    model: str,
    all_rows: list[LevelSummary],
    rows: list[LevelSummary],
    limits: Thresholds,
    client: str,
    targets: tuple[LatencyTarget, ...],
    warnings: list[str],
) -> Recommendation:
    """The highest-throughput level that met every latency target and the thresholds."""
    target = describe(targets)
    met = [row for row in rows if row.slo_met and reliable(row, limits)]
    if not met:
        warnings.append(no_target_warning(model, rows, targets, within(limits)))
        text = f"No level of {model} met the latency target {target} (see warnings)."
        return Recommendation(model, None, text, tuple(warnings))
    chosen = max(met, key=lambda row: (row.throughput_rps, -row.concurrency))
    missed = [
        f"{row.concurrency} ({why_missed(row, limits.max_failure_rate, limits.max_429_rate)})"
        for row in rows
        if row not in met
    ]
    explanation = (
        f"Use concurrency {chosen.concurrency} for {model}: {gain(chosen)}, the highest "
        f"throughput among the levels that met the latency target {target} with "
        f"{within(limits)} (concurrency {join_levels(met)})"
        + (f"; missed by {', '.join(missed)}." if missed else ".")
        + overlap(chosen, rows)
        + unmeasured(chosen, all_rows, client)
        + not_compared(all_rows)
    )
    return Recommendation(model, chosen.concurrency, explanation, tuple(warnings))


def cost_comparison(levels: Sequence[LevelSummary]) -> str | None:
    """Which model is cheapest per 1k succeeded prompts and by how much; None with fewer than
    two priced."""
    costs = {
        model: cost
        for model, rows in levels_by_model(levels).items()
        if (cost := model_cost_per_1k_usd(rows)) is not None
    }
    if len(costs) < 2:
        return None
    ranked = sorted(costs.items(), key=lambda item: (item[1], item[0]))
    cheapest_model, cheapest_usd = ranked[0]
    others = [
        f"{1 - cheapest_usd / cost:.0%} less than {model} ({format_usd(cost)})"
        if cost > 0
        else f"the same as {model} ({format_usd(cost)})"
        for model, cost in ranked[1:]
    ]
    return (
        f"{cheapest_model} is the cheapest at {format_usd(cheapest_usd)} per 1k succeeded prompts "
        "over all levels: "
        f"{', '.join(others)}."
    )
