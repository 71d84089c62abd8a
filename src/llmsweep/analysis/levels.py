"""Per level: one (model, concurrency) over its repeats, from its cells (pure).

Counts and costs of a level are totals over its repeats; its timings are medians over repeats;
speedup and efficiency are medians of its cells' like-for-like speedups (analysis.speedup). A
level that did not finish, or whose speedup is a measurement error, is excluded: no speedup,
no place on the charts' curves, never recommended.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal

from llmsweep.analysis.interval import Interval, mean_interval
from llmsweep.analysis.speedup import MAX_SPEEDUP_PER_LEVEL, is_implausible, is_unfinished
from llmsweep.analysis.stats import CellSummary
from llmsweep.cost.money import per_1k_prompts_usd, sum_usd
from llmsweep.percentile import percentile


def _median_or_none(values: Sequence[float | None]) -> float | None:
    present = [value for value in values if value is not None]
    return percentile(present, 50) if present else None


@dataclass(frozen=True)
class LevelSummary:
    """One (model, concurrency) level over its repeats: medians of timings, totals of counts."""

    model: str
    concurrency: int
    repeats: int
    prompts_per_cell: int  # the smallest cell, for "too few prompts" warnings
    wall_s: float
    wall_s_min: float
    wall_s_max: float
    wall_s_spread: float  # (max - min) / median over repeats
    speedup: float | None  # median of its cells' speedups (analysis.speedup); None: excluded
    speedup_min: float | None
    speedup_max: float | None
    efficiency: float | None  # speedup / concurrency
    throughput_rps: float
    throughput_rps_min: float
    throughput_rps_max: float
    output_tokens_per_s: float
    latency_p50_s: float | None
    latency_p95_s: float | None
    latency_p99_s: float | None
    ttft_p50_s: float | None
    ttft_p95_s: float | None
    requests: int
    succeeded: int
    failed: int
    failure_rate: float
    rate_limited: int
    rate_limited_rate: float  # 429 answers / attempts
    retries: int
    attempts: int
    cost_usd: Decimal
    failed_cost_usd: Decimal
    cost_per_1k_prompts_usd: Decimal
    input_tokens: int
    output_tokens: int
    usage_estimated: int
    unpriced: int
    failures: dict[str, int]
    queue_wait_mean_s: float
    dispatch_lag_p95_s: float | None  # median over repeats
    ceiling_rps: float | None  # rate-limit ceiling on throughput, from the configured limits
    speedup_ceiling: float | None  # ceiling_rps / sequential throughput
    client_bound: bool  # any of its cells' verdicts (analysis.client_bound)
    itl_p50_s: float | None = None  # streams: medians over repeats of CellSummary's
    itl_p95_s: float | None = None
    tpot_p50_s: float | None = None
    # With two repeats or more: 95% intervals on the mean over repeats (analysis.interval). A
    # repeat's speedup is its cell's like-for-like speedup, as speedup_min/max are.
    throughput_rps_ci: Interval | None = None
    speedup_ci: Interval | None = None
    latency_p50_s_ci: Interval | None = None
    latency_p95_s_ci: Interval | None = None
    unfinished: bool = False  # a cell has fewer records than planned, or a repeat is missing
    speedup_error: float | None = None  # a speedup above the level: measured, not a result
    excluded: str | None = None  # why the level is not compared (charts, recommendation)
    cost_per_1k_succeeded_usd: Decimal | None = None  # all cost / succeeded prompts
    retried: int = 0  # prompts that needed more than one attempt
    retry_rate: float = 0.0  # retried / requests
    retry_causes: dict[str, int] = field(default_factory=dict)  # earlier attempts by kind
    cached_input_share: float | None = None  # median over repeats (CellSummary)
    other_models: tuple[str, ...] = ()  # models that answered instead of this one
    wall_s_ci: Interval | None = None  # 95% interval over repeats (analysis.pareto reads it)
    # Under latency targets (--slo, analysis.slo): whether it met them all, and how it missed
    # those it missed; None and () without targets.
    slo_met: bool | None = None
    slo_misses: tuple[str, ...] = ()
    possibly_billed_attempts: int = 0  # totals of CellSummary's
    possibly_billed_usd: Decimal = Decimal(0)
    reported_prompts: int = 0
    reported_input_tokens: int = 0


def summarize_levels(
    cells: Sequence[CellSummary], repeats: int | None = None
) -> list[LevelSummary]:
    """One summary per (model, concurrency), sorted; a level with fewer cells than
    ``repeats`` is unfinished."""
    by_level: dict[tuple[str, int], list[CellSummary]] = {}
    for cell in cells:
        by_level.setdefault((cell.model, cell.concurrency), []).append(cell)
    levels: list[LevelSummary] = []
    for model in sorted({model for model, _ in by_level}):
        sequential = by_level.get((model, 1))
        seq_rps = percentile([c.throughput_rps for c in sequential], 50) if sequential else None
        for key in sorted(k for k in by_level if k[0] == model):
            levels.append(
                _compared(_summarize_level(by_level[key], seq_rps), by_level[key], repeats)
            )
    return levels


def _compared(level: LevelSummary, cells: list[CellSummary], repeats: int | None) -> LevelSummary:
    """The level's like-for-like speedup, or why it has none and is not compared."""
    unfinished = any(cell.unfinished for cell in cells) or is_unfinished(len(cells), repeats)
    speedups = [cell.speedup for cell in cells if cell.speedup is not None]
    if unfinished or not speedups:
        return replace(level, unfinished=unfinished, excluded=_UNFINISHED if unfinished else None)
    speedup = percentile(speedups, 50)
    # The median over repeats: one repeat whose sequential cell ran slow must not condemn it.
    if is_implausible(speedup, level.concurrency):
        excluded = (
            f"measurement error: speedup {speedup:.2f}\N{MULTIPLICATION SIGN} above "
            f"{MAX_SPEEDUP_PER_LEVEL:g} \N{MULTIPLICATION SIGN} concurrency {level.concurrency}"
        )
        return replace(level, speedup_error=speedup, excluded=excluded)
    return replace(
        level,
        speedup=speedup,
        speedup_min=min(speedups),
        speedup_max=max(speedups),
        efficiency=speedup / level.concurrency,
        # The sequential level's speedup is 1 by definition, not a measurement with a spread.
        speedup_ci=mean_interval(speedups) if level.concurrency > 1 else None,
    )


_UNFINISHED = "unfinished: fewer records than planned prompts"


def _ratio(numerator: float | None, denominator: float) -> float | None:
    return numerator / denominator if numerator is not None and denominator > 0 else None


def _summarize_level(cells: list[CellSummary], seq_rps: float | None) -> LevelSummary:
    """Everything but the speedup (``_compared``)."""
    first = cells[0]
    ceiling_rps = first.ceiling_rps
    walls = [cell.wall_s for cell in cells]
    rps = [cell.throughput_rps for cell in cells]
    wall_s = percentile(walls, 50)
    requests = sum(cell.requests for cell in cells)
    attempts = sum(cell.attempts for cell in cells)
    rate_limited = sum(cell.rate_limited for cell in cells)
    cost_usd = sum_usd(cell.cost_usd for cell in cells)
    failures: Counter[str] = Counter()
    for cell in cells:
        failures.update(cell.failures)
    return LevelSummary(
        model=first.model,
        concurrency=first.concurrency,
        repeats=len(cells),
        prompts_per_cell=min(cell.requests for cell in cells),
        wall_s=wall_s,
        wall_s_min=min(walls),
        wall_s_max=max(walls),
        wall_s_spread=(max(walls) - min(walls)) / wall_s if wall_s > 0 else 0.0,
        speedup=None,
        speedup_min=None,
        speedup_max=None,
        efficiency=None,
        throughput_rps=percentile(rps, 50),
        throughput_rps_min=min(rps),
        throughput_rps_max=max(rps),
        output_tokens_per_s=percentile([cell.output_tokens_per_s for cell in cells], 50),
        latency_p50_s=_median_or_none([cell.latency_p50_s for cell in cells]),
        latency_p95_s=_median_or_none([cell.latency_p95_s for cell in cells]),
        latency_p99_s=_median_or_none([cell.latency_p99_s for cell in cells]),
        ttft_p50_s=_median_or_none([cell.ttft_p50_s for cell in cells]),
        ttft_p95_s=_median_or_none([cell.ttft_p95_s for cell in cells]),
        requests=requests,
        succeeded=sum(cell.succeeded for cell in cells),
        failed=sum(cell.failed for cell in cells),
        failure_rate=sum(cell.failed for cell in cells) / requests,
        rate_limited=rate_limited,
        rate_limited_rate=rate_limited / attempts if attempts else 0.0,
        retries=sum(cell.retries for cell in cells),
        attempts=attempts,
        cost_usd=cost_usd,
        failed_cost_usd=sum_usd(cell.failed_cost_usd for cell in cells),
        cost_per_1k_prompts_usd=per_1k_prompts_usd(cost_usd, requests),
        input_tokens=sum(cell.input_tokens for cell in cells),
        output_tokens=sum(cell.output_tokens for cell in cells),
        usage_estimated=sum(cell.usage_estimated for cell in cells),
        unpriced=sum(cell.unpriced for cell in cells),
        failures=dict(sorted(failures.items())),
        queue_wait_mean_s=sum(c.queue_wait_mean_s * c.requests for c in cells) / requests,
        dispatch_lag_p95_s=_median_or_none([cell.dispatch_lag_p95_s for cell in cells]),
        ceiling_rps=ceiling_rps,
        speedup_ceiling=_ratio(ceiling_rps, seq_rps) if seq_rps is not None else None,
        client_bound=any(cell.client_bound.bound for cell in cells),
        itl_p50_s=_median_or_none([cell.itl_p50_s for cell in cells]),
        itl_p95_s=_median_or_none([cell.itl_p95_s for cell in cells]),
        tpot_p50_s=_median_or_none([cell.tpot_p50_s for cell in cells]),
        throughput_rps_ci=mean_interval(rps),
        wall_s_ci=mean_interval(walls),
        latency_p50_s_ci=_present_interval([cell.latency_p50_s for cell in cells]),
        latency_p95_s_ci=_present_interval([cell.latency_p95_s for cell in cells]),
        cost_per_1k_succeeded_usd=(
            per_1k_prompts_usd(cost_usd, succeeded) if (succeeded := _succeeded(cells)) else None
        ),
        retried=sum(cell.retried for cell in cells),
        retry_rate=sum(cell.retried for cell in cells) / requests,
        retry_causes=dict(sorted(_total(cell.retry_causes for cell in cells).items())),
        cached_input_share=_median_or_none([cell.cached_input_share for cell in cells]),
        other_models=tuple(sorted({name for cell in cells for name in cell.other_models})),
        possibly_billed_attempts=sum(cell.possibly_billed_attempts for cell in cells),
        possibly_billed_usd=sum_usd(cell.possibly_billed_usd for cell in cells),
        reported_prompts=sum(cell.reported_prompts for cell in cells),
        reported_input_tokens=sum(cell.reported_input_tokens for cell in cells),
    )


def _present_interval(values: Sequence[float | None]) -> Interval | None:
    return mean_interval([value for value in values if value is not None])


def _succeeded(cells: Sequence[CellSummary]) -> int:
    return sum(cell.succeeded for cell in cells)


def _total(counts: Iterable[Mapping[str, int]]) -> Counter[str]:
    total: Counter[str] = Counter()
    for count in counts:
        total.update(count)
    return total
