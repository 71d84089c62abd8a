"""Pure summaries of a sweep: per-cell and per-level numbers and rate-limit ceilings.

Everything here is a function of records (and the run's metadata), so a report re-renders from
``records.jsonl`` alone. Percentiles use one method everywhere (:mod:`llmsweep.percentile`).
Counts and costs of a level are totals over its repeats; its timings are medians over repeats.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import ROUND_HALF_EVEN, Decimal, localcontext

from llmsweep.analysis.ceiling import NO_LIMITS, RateLimits, rate_limit_ceiling_rps
from llmsweep.analysis.client_bound import NOT_MEASURED, ClientBound, judge_cell
from llmsweep.percentile import percentile
from llmsweep.settings import charged_tokens
from llmsweep.store.harness import HarnessMeasurement
from llmsweep.store.records import Record, iter_latest

_MICRO_USD = Decimal("0.000001")
_FAILURE_EXAMPLES_PER_CELL = 3
CellKey = tuple[str, int, int]  # (model, concurrency, repeat)


def _median_or_none(values: Sequence[float | None]) -> float | None:
    present = [value for value in values if value is not None]
    return percentile(present, 50) if present else None


def _sum_usd(values: Iterable[Decimal]) -> Decimal:
    # A fixed, generous precision keeps sums exact whatever the caller's decimal context says.
    with localcontext(prec=60):
        return sum(values, Decimal(0))


def per_1k_prompts_usd(cost_usd: Decimal, requests: int) -> Decimal:
    """Cost per 1000 prompts, to the micro-dollar (exact input, one explicit rounding)."""
    if requests == 0:
        return Decimal(0)
    with localcontext(prec=60):
        return (cost_usd * 1000 / requests).quantize(_MICRO_USD, rounding=ROUND_HALF_EVEN)


@dataclass(frozen=True)
class CellSummary:
    """One (model, concurrency, repeat) cell. Latency and TTFT cover succeeded prompts only."""

    model: str
    concurrency: int
    repeat: int
    wall_s: float  # time with at least one prompt under way (see busy_s)
    requests: int  # prompts
    succeeded: int
    failed: int
    failure_rate: float
    rate_limited: int  # 429 answers over all attempts
    retries: int  # attempts - prompts
    attempts: int
    throughput_rps: float  # succeeded / wall_s
    output_tokens_per_s: float  # output tokens of succeeded prompts / wall_s
    latency_p50_s: float | None
    latency_p95_s: float | None
    latency_p99_s: float | None
    ttft_p50_s: float | None
    ttft_p95_s: float | None
    cost_usd: Decimal
    failed_cost_usd: Decimal  # spent on prompts that failed but were billed
    cost_per_1k_prompts_usd: Decimal
    input_tokens: int
    output_tokens: int
    usage_estimated: int  # prompts whose token counts are our estimate, not the API's
    unpriced: int  # succeeded prompts with no known price (counted as $0)
    failures: dict[str, int]  # failed prompts by status kind
    queue_wait_mean_s: float
    dispatch_lag_p95_s: float | None  # the client's own delay before sending (records.Record)
    charged_tokens_per_request: float  # ok prompts: settings.charged_tokens
    failure_examples: tuple[tuple[str, str, str], ...]  # (prompt id, status, error), a few
    ceiling_rps: float | None = None  # the model's rate-limit ceiling (analysis.ceiling)
    harness: HarnessMeasurement | None = None  # what the client cost in this cell
    client_bound: ClientBound = NOT_MEASURED  # the one verdict (analysis.client_bound)


def busy_s(records: Iterable[Record]) -> float:
    """Seconds during which at least one prompt was under way (queued to ended).

    For an uninterrupted cell this is last end minus first queue time, up to the microseconds
    between one prompt ending and the next being taken up. A cell finished by ``--resume``
    spans two processes; the union leaves out the time between them, which the plain
    difference would count as if requests had been running.
    """
    intervals = sorted((r.queued_at_s, r.ended_at_s) for r in records)
    if not intervals:
        return 0.0
    total_s = 0.0
    open_s, close_s = intervals[0]
    for start_s, end_s in intervals[1:]:
        if start_s > close_s:  # an idle gap: close the busy period before it
            total_s += close_s - open_s
            open_s, close_s = start_s, end_s
        else:
            close_s = max(close_s, end_s)
    return total_s + close_s - open_s


def summarize_cells(
    records: Iterable[Record],
    limits: RateLimits = NO_LIMITS,
    harness: Mapping[CellKey, HarnessMeasurement] | None = None,
) -> list[CellSummary]:
    """One summary per cell, sorted by (model, concurrency, repeat); re-runs keep the latest.

    Each cell carries its model's rate-limit ceiling under ``limits`` and, where ``harness``
    measured it, the client-bound verdict."""
    groups: dict[CellKey, list[Record]] = {}
    for record in iter_latest(list(records)):
        groups.setdefault((record.model, record.concurrency, record.repeat), []).append(record)
    # Records sorted by prompt id: float sums then do not depend on the order of the file.
    cells = [
        _summarize_cell(key, sorted(groups[key], key=lambda record: record.prompt_id))
        for key in sorted(groups)
    ]
    ceilings = {
        model: _model_ceiling_rps([c for c in cells if c.model == model], limits)
        for model in {cell.model for cell in cells}
    }
    measured = harness or {}
    return [_judged(cell, ceilings[cell.model], measured.get(_key(cell))) for cell in cells]


def _key(cell: CellSummary) -> CellKey:
    return (cell.model, cell.concurrency, cell.repeat)


def _judged(
    cell: CellSummary, ceiling_rps: float | None, measurement: HarnessMeasurement | None
) -> CellSummary:
    verdict = judge_cell(
        measurement,
        cell.latency_p50_s,
        cell.dispatch_lag_p95_s,
        cell.throughput_rps,
        ceiling_rps,
    )
    return replace(cell, ceiling_rps=ceiling_rps, harness=measurement, client_bound=verdict)


def _summarize_cell(key: tuple[str, int, int], records: list[Record]) -> CellSummary:
    ok = [record for record in records if record.ok]
    failed = [record for record in records if not record.ok]
    wall_s = busy_s(records)
    attempts = sum(record.attempts for record in records)
    latencies = [record.latency_s for record in ok]
    ttfts = [record.ttft_s for record in ok if record.ttft_s is not None]
    cost_usd = _sum_usd(record.cost for record in records)
    lags = [r.dispatch_lag_s for r in records if r.dispatch_lag_s is not None]
    examples = sorted((r.prompt_id, r.status, r.error or "") for r in failed)
    return CellSummary(
        model=key[0],
        concurrency=key[1],
        repeat=key[2],
        wall_s=wall_s,
        requests=len(records),
        succeeded=len(ok),
        failed=len(failed),
        failure_rate=len(failed) / len(records),
        rate_limited=sum(record.rate_limited for record in records),
        retries=attempts - len(records),
        attempts=attempts,
        throughput_rps=len(ok) / wall_s if wall_s > 0 else 0.0,
        output_tokens_per_s=sum(r.output_tokens for r in ok) / wall_s if wall_s > 0 else 0.0,
        latency_p50_s=percentile(latencies, 50) if latencies else None,
        latency_p95_s=percentile(latencies, 95) if latencies else None,
        latency_p99_s=percentile(latencies, 99) if latencies else None,
        ttft_p50_s=percentile(ttfts, 50) if ttfts else None,
        ttft_p95_s=percentile(ttfts, 95) if ttfts else None,
        cost_usd=cost_usd,
        failed_cost_usd=_sum_usd(record.cost for record in failed),
        cost_per_1k_prompts_usd=per_1k_prompts_usd(cost_usd, len(records)),
        input_tokens=sum(record.input_tokens for record in records),
        output_tokens=sum(record.output_tokens for record in records),
        usage_estimated=sum(1 for record in records if not record.usage_reported),
        unpriced=sum(1 for record in ok if record.cost_usd is None),
        failures=dict(sorted(Counter(record.status for record in failed).items())),
        queue_wait_mean_s=sum(r.queue_wait_s for r in records) / len(records),
        dispatch_lag_p95_s=percentile(lags, 95) if lags else None,
        charged_tokens_per_request=(
            sum(charged_tokens(r.input_tokens, r.max_tokens) for r in ok) / len(ok) if ok else 0.0
        ),
        failure_examples=tuple(examples[:_FAILURE_EXAMPLES_PER_CELL]),
    )


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


def _model_ceiling_rps(cells: list[CellSummary], limits: RateLimits) -> float | None:
    # What the limiter charged each succeeded request, averaged over the model's cells.
    charged = [c.charged_tokens_per_request for c in cells if c.succeeded]
    return rate_limit_ceiling_rps(limits, sum(charged) / len(charged) if charged else 0.0)


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
    cost_usd = _sum_usd(cell.cost_usd for cell in cells)
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
        failed_cost_usd=_sum_usd(cell.failed_cost_usd for cell in cells),
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
    )
