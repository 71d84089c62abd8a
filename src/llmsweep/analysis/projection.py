"""The whole job projected: N prompts at each model's recommended level (pure).

A projection, not a measurement: it assumes the whole job behaves as the sweep's sample did at
that level. Time = N / the level's measured throughput (succeeded prompts per second), never
faster than the rate-limit ceiling (analysis.ceiling: a sample short enough to finish inside a
minute's window can outrun a per-minute limit the whole job cannot). Cost = N x the level's cost
per 1k succeeded prompts (analysis.levels: failed prompts' cost included) / 1000.

The Batch API alternative prices the same work at genai-prices' batch price, with results
within 24 hours instead of the projected time. Its share of the standard price comes from the
pre-run estimate of the same prompts (batch total / standard total): every batch price in
genai-prices is one discount on input and output alike, so the share does not depend on how
the tokens split between them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from llmsweep.analysis.formatting import format_duration
from llmsweep.analysis.levels import LevelSummary
from llmsweep.analysis.recommend import Recommendation, model_cost_per_1k_usd
from llmsweep.cost.money import format_usd, usd_for_prompts
from llmsweep.store.meta import ModelEstimate, SweepMeta

BATCH_WITHIN_H = 24  # what the Batch APIs promise: results within a day, at a discount
PROJECTION_BASIS = (
    "projection, not a measurement: the recommended level's measured throughput (capped at "
    "the rate-limit ceiling) and cost per 1k succeeded prompts, scaled to the job's prompts"
)


@dataclass(frozen=True)
class Projection:
    """One model's whole job at its recommended level (a projection, not a measurement)."""

    model: str
    concurrency: int
    prompts: int
    wall_s: float | None  # None: nothing succeeded, so no throughput to project from
    cost_usd: Decimal | None  # None: the level was not priced
    batch_cost_usd: Decimal | None  # None: no batch price (or no cost) for the model


def project(
    levels: Sequence[LevelSummary], recommendations: Sequence[Recommendation], meta: SweepMeta
) -> list[Projection]:
    """One projection per model that has a recommended level; none without a job size."""
    if meta.job_size is None:
        return []
    by_level = {(level.model, level.concurrency): level for level in levels}
    return [
        project_level(by_level[rec.model, rec.level], meta.job_size, meta.estimates.get(rec.model))
        for rec in recommendations
        if rec.level is not None and (rec.model, rec.level) in by_level
    ]


def project_level(level: LevelSummary, prompts: int, estimate: ModelEstimate | None) -> Projection:
    """``prompts`` at ``level``, and at the batch price its model's ``estimate`` gives."""
    rate_rps = level.throughput_rps
    if level.ceiling_rps is not None:
        rate_rps = min(rate_rps, level.ceiling_rps)
    per_1k = model_cost_per_1k_usd([level])
    share = batch_share(estimate)
    return Projection(
        model=level.model,
        concurrency=level.concurrency,
        prompts=prompts,
        wall_s=prompts / rate_rps if rate_rps > 0 else None,
        cost_usd=None if per_1k is None else usd_for_prompts(per_1k, prompts),
        batch_cost_usd=(
            None if per_1k is None or share is None else usd_for_prompts(per_1k, prompts, share)
        ),
    )


def batch_share(estimate: ModelEstimate | None) -> Decimal | None:
    """The batch price as a share of the standard one, for the same prompts; None without a
    batch price or a standard cost to compare it with."""
    if estimate is None or estimate.batch_total_cost_usd is None:
        return None
    if estimate.total_cost_usd <= 0:
        return None
    return estimate.batch_total_cost_usd / estimate.total_cost_usd


def projection_phrase(projection: Projection, *, simulated: bool = False) -> str:
    """What the verdict says of the whole job, labelled as a projection (from the simulator's
    timings when ``simulated``)."""
    time = (
        f"about {format_duration(projection.wall_s)}"
        if projection.wall_s is not None
        else "time unknown (nothing succeeded)"
    )
    cost = format_usd(projection.cost_usd) if projection.cost_usd is not None else "cost unknown"
    source = " from the simulated target" if simulated else ""
    text = (
        f"projected{source} for {projection.prompts:,} prompts at concurrency "
        f"{projection.concurrency}: {time} and {cost}"
    )
    if projection.batch_cost_usd is not None:
        text += (
            f"; via the Batch API {format_usd(projection.batch_cost_usd)} "
            f"(results within {BATCH_WITHIN_H} h)"
        )
    elif projection.cost_usd is not None:
        text += "; no Batch API price known for it"
    return text
