"""Per level: one (model, concurrency) over its repeats, from its cells (pure).

Counts and costs of a level are totals over its repeats; its timings are medians over repeats;
speedup and efficiency are against the model's concurrency-1 level.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

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
    speedup: float | None  # sequential wall / wall_s; None without a concurrency-1 level
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
    other_models: tuple[str, ...] = ()  # models that answered instead of this one


def summarize_levels(cells: Sequence[CellSummary]) -> list[LevelSummary]:
    """One summary per (model, concurrency), sorted."""
    by_level: dict[tuple[str, int], list[CellSummary]] = {}
    for cell in cells:
        by_level.setdefault((cell.model, cell.concurrency), []).append(cell)
    levels: list[LevelSummary] = []
    for model in sorted({model for model, _ in by_level}):
        sequential = by_level.get((model, 1))
        seq_wall_s = percentile([c.wall_s for c in sequential], 50) if sequential else None
        seq_rps = percentile([c.throughput_rps for c in sequential], 50) if sequential else None
        for key in sorted(k for k in by_level if k[0] == model):
            levels.append(_summarize_level(by_level[key], seq_wall_s, seq_rps))
    return levels


def _ratio(numerator: float | None, denominator: float) -> float | None:
    return numerator / denominator if numerator is not None and denominator > 0 else None


def _summarize_level(
    cells: list[CellSummary],
    seq_wall_s: float | None,
    seq_rps: float | None,
) -> LevelSummary:
    first = cells[0]
    ceiling_rps = first.ceiling_rps
    walls = [cell.wall_s for cell in cells]
    rps = [cell.throughput_rps for cell in cells]
    wall_s = percentile(walls, 50)
    speedup = _ratio(seq_wall_s, wall_s)
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
        speedup=speedup,
        speedup_min=_ratio(seq_wall_s, max(walls)),
        speedup_max=_ratio(seq_wall_s, min(walls)),
        efficiency=speedup / first.concurrency if speedup is not None else None,
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
        other_models=tuple(sorted({name for cell in cells for name in cell.other_models})),
    )
