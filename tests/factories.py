"""Test data made in one place: records, cells of records, a sweep's typed metadata and its
analysed result, and a small sweep for the report.

Every test that needs a ``Record`` starts from ``make_record``: a plausible ok record whose
fields a test overrides by name. The durations a test does not give follow from the timestamps
it does, so a record is never inconsistent by accident. Every test that needs a ``SweepMeta``
starts from ``make_meta``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import fields, replace
from decimal import Decimal
from pathlib import Path
from typing import Any, TypedDict, Unpack

from llmsweep.analysis.ceiling import NO_LIMITS, RateLimits
from llmsweep.analysis.levels import LevelSummary, summarize_levels
from llmsweep.analysis.result import SweepResult, analyse
from llmsweep.analysis.stats import summarize_cells
from llmsweep.cost.estimate import estimate_basis
from llmsweep.settings import ASSUMED_OUTPUT_TOKENS, SweepConfig
from llmsweep.store.harness import HarnessMeasurement, LoopLag
from llmsweep.store.meta import SIMULATOR, ModelEstimate, SweepMeta, TargetInfo
from llmsweep.store.records import OK, CellKey, Record
from llmsweep.store.sweepdir import SweepData


class RecordFields(TypedDict, total=False):
    """Every field of ``Record``, so that mypy checks the name and type of each override."""

    prompt_id: str
    model: str
    concurrency: int
    repeat: int
    status: str
    http_status: int | None
    attempts: int
    rate_limited: int
    error: str | None
    queued_at_s: float
    started_at_s: float
    first_token_at_s: float | None
    ended_at_s: float
    latency_s: float
    ttft_s: float | None
    retry_wait_s: float
    queue_wait_s: float
    timed_attempt: int
    input_tokens: int
    output_tokens: int
    cached_input_tokens: int
    usage_reported: bool
    cost_usd: str | None
    sent_at_s: float | None
    connect_s: float
    dispatch_lag_s: float | None
    max_tokens: int | None
    response_text: str | None
    retry_causes: tuple[str, ...]
    retry_errors: tuple[str, ...]
    chunk_gaps_ms: tuple[float, ...]
    answered_model: str | None
    stale_connection_resends: int
    limit_rpm: int | None
    limit_tpm: int | None
    possibly_billed_attempts: int
    possibly_billed_input_tokens: int
    possibly_billed_output_tokens: int
    possibly_billed_usd: str | None
    prompt_text: str | None
    scheduled_at_s: float | None
    offered_rps: float | None


# A field added to Record must be added above too, or its overrides would go unchecked.
assert set(RecordFields.__annotations__) == {field.name for field in fields(Record)}

_DEFAULTS: dict[str, Any] = {
    "prompt_id": "p0",
    "model": "gpt-4o",
    "concurrency": 1,
    "repeat": 0,
    "rate_limited": 0,
    "retry_wait_s": 0.0,
    "input_tokens": 100,
    "output_tokens": 50,
    "cached_input_tokens": 0,
    "usage_reported": True,
    "cost_usd": "0.001",
}


def make_record(**overrides: Unpack[RecordFields]) -> Record:
    """Prompt "p0" sent to gpt-4o at concurrency 1 at once at 0 s and answered at 1 s, in one
    attempt, with 100 input and 50 output tokens (usage reported), costing $0.001.

    What is not overridden follows from what is: started = queued, ended = started + 1 s,
    latency = ended - started, queue wait = started - queued, TTFT = first token - started
    (or the first token = started + TTFT), the timed attempt is the last one, and a failure
    has no HTTP status and an error naming its status.
    """
    values: dict[str, Any] = {**_DEFAULTS, **overrides}
    status = values.setdefault("status", OK)
    queued = values.setdefault("queued_at_s", 0.0)
    started = values.setdefault("started_at_s", queued)
    ended = values.setdefault("ended_at_s", started + 1.0)
    if "first_token_at_s" not in values:
        ttft = values.get("ttft_s")
        values["first_token_at_s"] = None if ttft is None else started + ttft
    first_token = values["first_token_at_s"]
    values.setdefault("ttft_s", None if first_token is None else first_token - started)
    values.setdefault("latency_s", ended - started)
    values.setdefault("queue_wait_s", started - queued)
    values.setdefault("timed_attempt", values.setdefault("attempts", 1))
    values.setdefault("http_status", 200 if status == OK else None)
    values.setdefault("error", None if status == OK else f"{status} error")
    return Record(**values)


def write_records(path: Path, records: Iterable[Record]) -> None:
    """Write ``records`` as a records file holds them: one JSON line each."""
    path.write_text("".join(record.to_json() + "\n" for record in records))


def make_cell(
    model: str,
    level: int,
    *,
    prompts: int,
    wall_s: float,
    repeat: int = 0,
    rate_limited: int = 0,
    failed: int = 0,
    cost_usd: str | None = "0.001",
) -> list[Record]:
    """A cell whose prompts all queue at 0 and end evenly up to ``wall_s``; the first
    ``rate_limited`` prompts each met one 429 and a retry, the last ``failed`` prompts failed."""
    return [
        make_record(
            prompt_id=f"p{i}",
            model=model,
            concurrency=level,
            repeat=repeat,
            ended_at_s=wall_s * (i + 1) / prompts,
            status="server_error" if i >= prompts - failed else OK,
            attempts=2 if i < rate_limited else 1,
            rate_limited=1 if i < rate_limited else 0,
            cost_usd=cost_usd,
        )
        for i in range(prompts)
    ]


def tiny_sweep() -> list[Record]:
    """Model "m", 4 prompts of 1 s each: sequential takes 4 s, 2 at a time 2.5 s, 4 at a time
    1 s."""
    sequential = [
        make_record(prompt_id=f"p{i}", model="m", queued_at_s=i, ended_at_s=i + 1.0)
        for i in range(4)
    ]
    pairs = [
        make_record(
            prompt_id=f"p{i}",
            model="m",
            concurrency=2,
            queued_at_s=10 + i // 2,
            ended_at_s=11 + i // 2 + 0.5 * (i == 3),
        )
        for i in range(4)
    ]
    burst = [
        make_record(prompt_id=f"p{i}", model="m", concurrency=4, queued_at_s=20, ended_at_s=21)
        for i in range(4)
    ]
    return sequential + pairs + burst


QUIET_LOOP = LoopLag(samples=100, p50_s=0.0, p95_s=0.0, max_s=0.0, mean_s=0.0)
BUSY = HarnessMeasurement(requests=10, cpu_s=0.5, cpu_s_per_request=0.05, wall_s=1.0,
                          loop_lag=QUIET_LOOP)  # fmt: skip


def make_measurement(*, lag_p95_s: float, cpu_s: float, wall_s: float = 10.0) -> HarnessMeasurement:
    """What the client cost over 100 requests: loop-lag p95 ``lag_p95_s`` (p50 half of it),
    ``cpu_s`` of CPU in ``wall_s``."""
    lag = LoopLag(samples=100, p50_s=lag_p95_s / 2, p95_s=lag_p95_s, max_s=lag_p95_s, mean_s=0)
    return HarnessMeasurement(
        requests=100, cpu_s=cpu_s, cpu_s_per_request=cpu_s / 100, wall_s=wall_s, loop_lag=lag
    )


# A client whose event loop lagged 2 s (p95) behind: client-bound at any level, 1 included.
LAGGING = make_measurement(lag_p95_s=2.0, cpu_s=0.5)


def levels_of(
    records: list[Record],
    limits: RateLimits = NO_LIMITS,
    busy: tuple[CellKey, ...] = (),
    *,
    planned_prompts: int | None = None,
    repeats: int | None = None,
    measurement: HarnessMeasurement = BUSY,
) -> list[LevelSummary]:
    """Levels of ``records``; the cells in ``busy`` had a client measured as ``measurement``
    (by default half a core of CPU; the others have no harness measurement); with
    ``planned_prompts`` (per cell) and ``repeats``, a level with fewer records or cells is
    unfinished."""
    measured = {key: measurement for key in busy}
    cells = summarize_cells(records, limits, measured, planned_prompts)
    return summarize_levels(cells, repeats)


# --- a sweep's typed metadata and analysed result ---------------------------------------------


def make_estimate(model: str, total_usd: str, batch_usd: str | None, prompts: int) -> ModelEstimate:
    total = Decimal(total_usd)
    return ModelEstimate(
        model=model,
        prompts=prompts,
        input_tokens=100 * prompts,
        output_tokens=50 * prompts,
        input_cost_usd=total / 2,
        output_cost_usd=total / 2,
        total_cost_usd=total,
        cost_per_1k_prompts_usd=total * 1000 / prompts,
        batch_total_cost_usd=None if batch_usd is None else Decimal(batch_usd),
        tokens_exact=True,
        price_source="built-in table",
        bound=True,
        basis=estimate_basis(True, assumed_output_tokens=ASSUMED_OUTPUT_TOKENS, assumed_prompts=0),
    )


def make_meta(
    *,
    models: Iterable[str] = ("gpt-4o",),
    levels: Iterable[int] = (1, 2, 4, 8),
    prompt_count: int = 20,
    target: TargetInfo | None = None,
    estimates: Mapping[str, ModelEstimate] | None = None,
    **config: Any,
) -> SweepMeta:
    """Metadata of a simulated sweep; ``config`` overrides SweepConfig fields."""
    return SweepMeta(
        config=SweepConfig(prompts="demo", models=tuple(models), levels=tuple(levels), **config),
        prompt_count=prompt_count,
        target=target or TargetInfo(SIMULATOR, "http://127.0.0.1:8123/v1", "gpt-4o", 0.05),
        price_source="built-in table",
        price_date="2025-01-01",
        estimates=dict(estimates or {}),
        created_at="2025-01-02T03:04:05Z",
        tool_version="0.1.0",
    )


def result_of(
    records: Iterable[Record],
    meta: SweepMeta | None = None,
    harness: Mapping[CellKey, HarnessMeasurement] | None = None,
) -> SweepResult:
    """What a report is rendered from, for these records."""
    return analyse(SweepData(meta or make_meta(), list(records), dict(harness or {})))


def with_config(meta: SweepMeta, **config: Any) -> SweepMeta:
    return replace(meta, config=replace(meta.config, **config))


# --- a sweep for the report: two models (one named to inject markup), levels 1-8, 2 repeats ---

EVIL_MODEL = "<script>alert('model')</script>"
EVIL_PROMPT = "<script>alert('prompt')</script>"

REPORT_META = replace(
    make_meta(
        models=("gpt-4o", EVIL_MODEL),
        repeats=2,
        rpm=240,
        max_tokens=64,
        seed=7,
        estimates={"gpt-4o": make_estimate("gpt-4o", "0.04", "0.02", 20)},
    ),
    job_size=10_000,  # every chart is drawn, the projection's too
)


def report_record(
    model: str, level: int, repeat: int, index: int, *, failed: bool = False
) -> Record:
    """Prompt ``index`` of 20 in a cell whose wall time shrinks with the level (ceiling at 4);
    each takes 0.8 s. A failure's prompt id and error carry markup and a URL to escape."""
    wall_s = 20.0 / min(level, 4) * (1 + 0.05 * repeat)
    end = wall_s * (index + 1) / 20
    return make_record(
        prompt_id=EVIL_PROMPT if failed else f"p{index}",
        model=model,
        concurrency=level,
        repeat=repeat,
        status="server_error" if failed else OK,
        http_status=500 if failed else 200,
        attempts=2 if failed else 1,
        error="see https://example.invalid/x.js",
        started_at_s=end - 0.8,
        ended_at_s=end,
        latency_s=0.8,
        queue_wait_s=0.0,
        cost_usd="0.002" if model == "gpt-4o" else "0.0002",
    )


def report_sweep() -> list[Record]:
    """Every record of the sweep ``REPORT_META`` describes; prompt 0 fails at level 8."""
    return [
        report_record(model, level, repeat, index, failed=(level == 8 and index == 0))
        for model in ("gpt-4o", EVIL_MODEL)
        for level in (1, 2, 4, 8)
        for repeat in range(2)
        for index in range(20)
    ]


# --- an open-loop sweep (--rate): one model at 1 and 4 req/s, at most 4 in flight ------------

RATE_META = make_meta(levels=(4,), max_concurrency=4, rates=(1.0, 4.0), prompt_count=4)


def rate_sweep() -> list[Record]:
    """At 1 req/s, 4 prompts due 1 s apart from 0, each sent when due and answered in 0.5 s:
    3.5 s of wall time. At 4 req/s, due 0.25 s apart from 10, but served one after another in
    2 s each (queued at 10, 12, 14, 16, so 0, 1.75, 3.5 and 5.25 s past due): 8 s of wall."""
    slow = [
        make_record(
            prompt_id=f"p{i}",
            concurrency=4,
            queued_at_s=i * 1.0,
            ended_at_s=i * 1.0 + 0.5,
            scheduled_at_s=i * 1.0,
            offered_rps=1.0,
        )
        for i in range(4)
    ]
    fast = [
        make_record(
            prompt_id=f"p{i}",
            concurrency=4,
            repeat=1,
            queued_at_s=10 + 2.0 * i,
            ended_at_s=12 + 2.0 * i,
            scheduled_at_s=10 + 0.25 * i,
            offered_rps=4.0,
        )
        for i in range(4)
    ]
    return slow + fast


def open_loop_cell(
    offered_rps: float, due_s: Sequence[float], ended_s: Sequence[float], *, repeat: int = 0
) -> list[Record]:
    """One rate's cell of RATE_META's model: prompt i fell due and went out at ``due_s[i]``
    (no client queueing) and was answered at ``ended_s[i]``."""
    return [
        make_record(
            prompt_id=f"p{i}",
            concurrency=4,
            repeat=repeat,
            queued_at_s=due,
            ended_at_s=end,
            scheduled_at_s=due,
            offered_rps=offered_rps,
        )
        for i, (due, end) in enumerate(zip(due_s, ended_s, strict=True))
    ]
