"""Pure summaries of a sweep: per-cell and per-level numbers and rate-limit ceilings.

Everything here is a function of records (and the run's metadata), so a report re-renders from
``records.jsonl`` alone. Percentiles use one method everywhere (:mod:`llmsweep.percentile`).
Counts and costs of a level are totals over its repeats; its timings are medians over repeats.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal

from llmsweep.analysis.ceiling import NO_LIMITS, RateLimits, rate_limit_ceiling_rps, tighter
from llmsweep.analysis.client_bound import NOT_MEASURED, ClientBound, LevelBelow, judge_cell
from llmsweep.analysis.speedup import is_unfinished, same_prompt_speedup
from llmsweep.cost.money import per_1k_prompts_usd, sum_usd
from llmsweep.percentile import percentile
from llmsweep.settings import charged_tokens
from llmsweep.store.harness import HarnessMeasurement
from llmsweep.store.records import CellKey, Record, iter_latest

_FAILURE_EXAMPLES_PER_CELL = 3


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
    stale_connection_resends: int  # sends repeated at once, not retries (Record)
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
    # Streams, succeeded prompts: inter-token latency percentiles over every chunk gap of the
    # cell pooled (not a median of per-request medians), and time per output token
    # (Record.tpot_s) over its requests.
    itl_p50_s: float | None = None
    itl_p95_s: float | None = None
    tpot_p50_s: float | None = None
    # Fewer records than the prompts planned for each cell: stopped early, so not compared.
    unfinished: bool = False
    # Against the same repeat's concurrency-1 cell over the prompts that succeeded in both
    # (analysis.speedup); None when either cell is unfinished or there is no such cell.
    speedup: float | None = None
    cost_per_1k_succeeded_usd: Decimal | None = None  # all cost / succeeded prompts
    retried: int = 0  # prompts that needed more than one attempt
    retry_rate: float = 0.0  # retried / prompts
    retry_causes: dict[str, int] = field(default_factory=dict)  # earlier attempts by kind
    cached_input_tokens: int = 0  # ok prompts: input tokens the server served from its cache
    cached_input_share: float | None = None  # of ok prompts' input tokens
    other_models: tuple[str, ...] = ()  # models that answered instead (Record.other_model)
    # Attempts that may have been billed, apart from cost_usd (Record.possibly_billed_usd).
    possibly_billed_attempts: int = 0
    possibly_billed_usd: Decimal = Decimal(0)
    # Succeeded prompts whose usage the API reported, and their input tokens as it counted
    # them: the measured side of the input-token ratio (analysis.costs).
    reported_prompts: int = 0
    reported_input_tokens: int = 0


def busy_s(records: Iterable[Record]) -> float:
    """Seconds during which at least one prompt was under way (queued to ended).

    For an uninterrupted cell this is last end minus first queue time, up to the microseconds
    between one prompt ending and the next being taken up. A cell finished by ``--resume``
    spans two processes; the union leaves out the time between them, which the plain
    difference would count as if requests had been running.
    """
    records = list(records)
    # An open loop (--rate) offers its load from its first due time on: a quiet gap between
    # arrivals is part of the load offered, not time the client left out.
    due = [r.scheduled_at_s for r in records if r.scheduled_at_s is not None]
    start = min(due, default=None)
    intervals = sorted((r.queued_at_s if start is None else start, r.ended_at_s) for r in records)
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
    limits: RateLimits | Mapping[str, RateLimits] = NO_LIMITS,
    harness: Mapping[CellKey, HarnessMeasurement] | None = None,
    planned_prompts: int | Mapping[tuple[str, int], int] | None = None,
    stated: Mapping[str, RateLimits] | None = None,
) -> list[CellSummary]:
    """One summary per cell, sorted by (model, concurrency, repeat); re-runs keep the latest.

    Each cell carries its model's rate-limit ceiling under the tighter of ``limits`` (the same
    for every model, or each model's own; a model left out has none) and the model's limits the
    API ``stated`` (``ceiling.stated_limits``), where ``harness`` measured it the client-bound
    verdict, whether it has fewer records than ``planned_prompts`` (unfinished; per (model,
    level) for a search, whose levels send different numbers) and its speedup
    (analysis.speedup)."""
    groups: dict[CellKey, list[Record]] = {}
    for record in iter_latest(list(records)):
        groups.setdefault((record.model, record.concurrency, record.repeat), []).append(record)
    # Records sorted by prompt id: float sums then do not depend on the order of the file.
    cells = [
        _summarize_cell(key, sorted(groups[key], key=lambda record: record.prompt_id))
        for key in sorted(groups)
    ]
    by_api = stated or {}
    ceilings = {
        model: model_ceiling_rps(
            cells,
            model,
            tighter(
                limits if isinstance(limits, RateLimits) else limits.get(model, NO_LIMITS),
                by_api.get(model, NO_LIMITS),
            ),
        )
        for model in {cell.model for cell in cells}
    }
    measured = harness or {}
    # Speedup first: a level that scaled near ideal was not held back (client_bound.judge_cell).
    compared = _compared(cells, groups, planned_prompts)
    return [
        _judged(cell, ceilings[cell.model], measured.get(_key(cell)), _below(cell, compared))
        for cell in compared
    ]


def _compared(
    cells: list[CellSummary],
    groups: Mapping[CellKey, list[Record]],
    planned: int | Mapping[tuple[str, int], int] | None,
) -> list[CellSummary]:
    """Each cell marked unfinished or not, with its speedup against its concurrency-1 cell."""

    def wanted(cell: CellSummary) -> int | None:
        if isinstance(planned, Mapping):
            return planned.get((cell.model, cell.concurrency))
        return planned

    finished = {
        _key(cell): cell for cell in cells if not is_unfinished(cell.requests, wanted(cell))
    }
    compared = []
    for cell in cells:
        sequential = finished.get((cell.model, 1, cell.repeat))
        speedup = None
        if _key(cell) in finished and sequential is not None:
            speedup = same_prompt_speedup(
                groups[_key(sequential)], sequential.wall_s, groups[_key(cell)], cell.wall_s
            )
        unfinished = _key(cell) not in finished
        compared.append(replace(cell, unfinished=unfinished, speedup=speedup))
    return compared


def _key(cell: CellSummary) -> CellKey:
    return (cell.model, cell.concurrency, cell.repeat)


def _below(cell: CellSummary, cells: list[CellSummary]) -> LevelBelow | None:
    """The next lower level of the same model and repeat that had a latency to compare."""
    lower = [
        c
        for c in cells
        if (c.model, c.repeat) == (cell.model, cell.repeat)
        and c.concurrency < cell.concurrency
        and c.latency_p50_s is not None
    ]
    if not lower:
        return None
    below = max(lower, key=lambda c: c.concurrency)
    assert below.latency_p50_s is not None
    return LevelBelow(below.concurrency, below.throughput_rps, below.latency_p50_s)


def _judged(
    cell: CellSummary,
    ceiling_rps: float | None,
    measurement: HarnessMeasurement | None,
    below: LevelBelow | None,
) -> CellSummary:
    verdict = judge_cell(
        measurement,
        cell.latency_p50_s,
        cell.dispatch_lag_p95_s,
        cell.throughput_rps,
        ceiling_rps,
        below,
        concurrency=cell.concurrency,
        speedup=cell.speedup,
    )
    return replace(cell, ceiling_rps=ceiling_rps, harness=measurement, client_bound=verdict)


def _summarize_cell(key: tuple[str, int, int], records: list[Record]) -> CellSummary:
    ok = [record for record in records if record.ok]
    failed = [record for record in records if not record.ok]
    wall_s = busy_s(records)
    attempts = sum(record.attempts for record in records)
    latencies = [record.latency_s for record in ok]
    ttfts = [record.ttft_s for record in ok if record.ttft_s is not None]
    gaps_s = [gap_ms / 1000 for record in ok for gap_ms in record.chunk_gaps_ms]
    tpots = [tpot for record in ok if (tpot := record.tpot_s) is not None]
    cost_usd = sum_usd(record.cost for record in records)
    lags = [r.dispatch_lag_s for r in records if r.dispatch_lag_s is not None]
    examples = sorted((r.prompt_id, r.status, r.error or "") for r in failed)
    retried = sum(1 for record in records if record.retried)
    causes = Counter(cause for record in records for cause in record.retry_causes)
    ok_input_tokens = sum(record.input_tokens for record in ok)
    cached_tokens = sum(record.cached_input_tokens for record in ok)
    reported = [record for record in ok if record.usage_reported]
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
        stale_connection_resends=sum(r.stale_connection_resends for r in records),
        throughput_rps=len(ok) / wall_s if wall_s > 0 else 0.0,
        output_tokens_per_s=sum(r.output_tokens for r in ok) / wall_s if wall_s > 0 else 0.0,
        latency_p50_s=percentile(latencies, 50) if latencies else None,
        latency_p95_s=percentile(latencies, 95) if latencies else None,
        latency_p99_s=percentile(latencies, 99) if latencies else None,
        ttft_p50_s=percentile(ttfts, 50) if ttfts else None,
        ttft_p95_s=percentile(ttfts, 95) if ttfts else None,
        cost_usd=cost_usd,
        failed_cost_usd=sum_usd(record.cost for record in failed),
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
        itl_p50_s=percentile(gaps_s, 50) if gaps_s else None,
        itl_p95_s=percentile(gaps_s, 95) if gaps_s else None,
        tpot_p50_s=percentile(tpots, 50) if tpots else None,
        cost_per_1k_succeeded_usd=per_1k_prompts_usd(cost_usd, len(ok)) if ok else None,
        retried=retried,
        retry_rate=retried / len(records),
        retry_causes=dict(sorted(causes.items())),
        cached_input_tokens=cached_tokens,
        cached_input_share=cached_tokens / ok_input_tokens if ok_input_tokens else None,
        other_models=tuple(sorted({r.other_model for r in records if r.other_model})),
        possibly_billed_attempts=sum(r.possibly_billed_attempts for r in records),
        possibly_billed_usd=sum_usd(r.possibly_billed for r in records),
        reported_prompts=len(reported),
        reported_input_tokens=sum(record.input_tokens for record in reported),
    )


def model_ceiling_rps(cells: Sequence[CellSummary], model: str, limits: RateLimits) -> float | None:
    """``model``'s rate-limit ceiling under ``limits``, with what the limiter charged each
    succeeded request averaged over the model's cells."""
    charged = [c.charged_tokens_per_request for c in cells if c.model == model and c.succeeded]
    return rate_limit_ceiling_rps(limits, sum(charged) / len(charged) if charged else 0.0)


@dataclass(frozen=True)
class StatedLimits:
    """A model's rate limits as the API's headers stated them, and the ceiling they imply."""

    model: str
    rpm: float | None
    tpm: float | None
    ceiling_rps: float | None  # under these limits alone (analysis.ceiling)


def stated_ceilings(
    cells: Sequence[CellSummary], stated: Mapping[str, RateLimits]
) -> list[StatedLimits]:
    """Each model's stated limits (``ceiling.stated_limits``) with their ceiling."""
    return [
        StatedLimits(model, limits.rpm, limits.tpm, model_ceiling_rps(cells, model, limits))
        for model, limits in sorted(stated.items())
    ]
