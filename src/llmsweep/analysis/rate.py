"""An open-loop sweep (``--rate``): what each offered rate got, and the highest one sustained.

Each rate is one cell per model (``settings.SweepConfig.cells``); its counts, wall time,
throughput and latency from the send are the cell's own (``analysis.stats.CellSummary``, one
definition). What only an open loop has comes from the records: the wait for a free slot under
the client's cap (``Record.client_queue_s``) and the latency as the service's user sees it, from
the prompt's due time (``Record.since_due_s``). There is no sequential baseline, so no speedup.

A rate is sustained when the server kept up with it, the failures and 429s stayed under the
recommendation's thresholds and the latency targets (``--slo``, judged on the latency from the
send, as in a concurrency sweep) were met.

Keeping up is judged on departures, not on the throughput: the cell's wall time ends a latency
after the last arrival, so succeeded / wall time falls short of a rate kept up with perfectly
whenever the run is short against the latency (30 prompts at 8 req/s answered in 3 s each: 4.4
req/s). The departure rate compares like with like: the n succeeded requests, in the order they
fell due, split into an earlier and a later half (the later one has the middle request when n is
odd), whose medians lie n / 2 places apart; the departure span runs from the earlier half's median
end to the later half's, and the departure rate is (n / 2) / span. A server that keeps up ends
each request a latency after it fell due, so whatever that latency the two medians lie as far
apart as the arrivals did, about (n / 2) / offered seconds; one that cannot ends them at its own
pace, further apart. Medians, not the first and last end, whose gap carries the latency's whole
spread (0.9 to 5 s on the simulator, against 3.8 s of arrivals at 8 req/s). The departure rate
must reach offered - KEEP_UP_Z * sqrt(offered / span): over the span, arrivals number about
offered * span with a standard deviation of sqrt(offered * span).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

from llmsweep.analysis.formatting import format_pct, format_rps
from llmsweep.analysis.recommend import MAX_429_RATE, MAX_FAILURE_RATE
from llmsweep.analysis.slo import describe, misses
from llmsweep.analysis.stats import CellSummary
from llmsweep.percentile import percentile
from llmsweep.settings import LatencyTarget
from llmsweep.store.meta import SweepMeta
from llmsweep.store.records import CellKey, Record

KEEP_UP_Z = 2.0  # standard deviations of the Poisson count: a false alarm about 1 time in 40
NO_SPEEDUP = (
    "No speedup in an open-loop sweep: there is no sequential baseline, each rate offers its "
    "own load."
)


@dataclass(frozen=True)
class RateSummary:
    """One model at one offered rate. Latencies cover succeeded prompts; queueing every one."""

    model: str
    offered_rps: float
    cap: int  # the most requests in flight at once (--max-concurrency)
    requests: int
    succeeded: int
    failure_rate: float
    rate_limited: int  # 429 answers over all attempts
    rate_limited_rate: float  # 429 answers / attempts
    wall_s: float
    achieved_rps: float  # succeeded / wall_s (CellSummary.throughput_rps)
    # Keeping up (module docstring); None: fewer than two succeeded, or no span between them.
    departure_span_s: float | None  # from the earlier half's median end to the later half's
    departure_rps: float | None  # (succeeded / 2) / departure_span_s
    keep_up_floor_rps: float  # the least departure rate Poisson noise explains
    latency_p50_s: float | None  # from the send (Record.latency_s)
    latency_p95_s: float | None
    latency_p99_s: float | None
    ttft_p95_s: float | None
    since_due_p50_s: float | None  # from the due time: client queueing included
    since_due_p95_s: float | None
    since_due_p99_s: float | None
    client_queue_p50_s: float | None  # waiting for the client's cap
    client_queue_p95_s: float | None
    unfinished: bool
    slo_misses: tuple[str, ...] = ()

    @property
    def keeps_up(self) -> bool:
        return self.departure_rps is not None and self.departure_rps >= self.keep_up_floor_rps

    def shortfalls(self) -> tuple[str, ...]:
        """Why this rate is not sustained; empty when it is."""
        reasons = ["stopped before all its prompts"] if self.unfinished else []
        if self.departure_rps is None:
            reasons.append("no departure rate (fewer than 2 succeeded, or no time between them)")
        elif not self.keeps_up:
            reasons.append(
                f"departures {format_rps(self.departure_rps)} req/s < "
                f"{format_rps(self.keep_up_floor_rps)} (offered less Poisson noise)"
            )
        if self.failure_rate > MAX_FAILURE_RATE:
            reasons.append(f"failures {format_pct(self.failure_rate)}")
        if self.rate_limited_rate > MAX_429_RATE:
            reasons.append(f"429s {format_pct(self.rate_limited_rate)}")
        return (*reasons, *self.slo_misses)


@dataclass(frozen=True)
class RateRecommendation:
    model: str
    rate_rps: float | None  # None: no offered rate was sustained
    explanation: str
    target: str | None = None  # the latency targets it was held to (analysis.slo.describe)


def keep_up_floor_rps(offered_rps: float, span_s: float | None) -> float:
    """The least departure rate that keeps up with ``offered_rps`` over ``span_s`` (module
    docstring); the offered rate itself when there is no span to allow noise over."""
    if span_s is None or span_s <= 0:
        return offered_rps
    return max(0.0, offered_rps - KEEP_UP_Z * math.sqrt(offered_rps / span_s))


def departure_span_s(ok: Sequence[Record]) -> float | None:
    """Seconds from the median end of the earlier-due half of ``ok`` (succeeded records of one
    cell) to the later-due half's (module docstring); None for fewer than two, or no time."""
    if len(ok) < 2:
        return None
    # In the order they fell due (an open loop's records all have a due time; else taken up).
    by_due = sorted(
        ok, key=lambda r: r.queued_at_s if r.scheduled_at_s is None else r.scheduled_at_s
    )
    half = len(by_due) // 2
    earlier = percentile([r.ended_at_s for r in by_due[:half]], 50)
    later = percentile([r.ended_at_s for r in by_due[half:]], 50)
    return later - earlier if later > earlier else None


def departure_rps(succeeded: int, span_s: float | None) -> float | None:
    """Half the succeeded requests (the places between the two halves' medians) over the
    seconds between the halves' median ends."""
    return None if span_s is None else succeeded / 2 / span_s


def _pcts(values: Sequence[float], *qs: float) -> list[float | None]:
    return [percentile(values, q) if values else None for q in qs]


def summarize_rates(
    cells: Sequence[CellSummary],
    records: Sequence[Record],
    meta: SweepMeta,
) -> list[RateSummary]:
    """One summary per (model, rate), by model then rate; empty for a concurrency sweep."""
    rates = meta.config.rates
    by_cell: dict[CellKey, list[Record]] = {}
    for record in records:
        by_cell.setdefault((record.model, record.concurrency, record.repeat), []).append(record)
    rows = []
    for cell in cells:
        if not rates or cell.repeat >= len(rates):
            continue
        mine = by_cell.get((cell.model, cell.concurrency, cell.repeat), [])
        ok = [record for record in mine if record.ok]
        due = [r.since_due_s for r in ok if r.since_due_s is not None]
        queued = [r.client_queue_s for r in mine if r.client_queue_s is not None]
        offered = rates[cell.repeat]
        span_s = departure_span_s(ok)
        rows.append(
            RateSummary(
                model=cell.model,
                offered_rps=offered,
                cap=cell.concurrency,
                requests=cell.requests,
                succeeded=cell.succeeded,
                failure_rate=cell.failure_rate,
                rate_limited=cell.rate_limited,
                rate_limited_rate=cell.rate_limited / cell.attempts if cell.attempts else 0.0,
                wall_s=cell.wall_s,
                achieved_rps=cell.throughput_rps,
                departure_span_s=span_s,
                departure_rps=departure_rps(len(ok), span_s),
                keep_up_floor_rps=keep_up_floor_rps(offered, span_s),
                latency_p50_s=cell.latency_p50_s,
                latency_p95_s=cell.latency_p95_s,
                latency_p99_s=cell.latency_p99_s,
                ttft_p95_s=cell.ttft_p95_s,
                since_due_p50_s=_pcts(due, 50)[0],
                since_due_p95_s=_pcts(due, 95)[0],
                since_due_p99_s=_pcts(due, 99)[0],
                client_queue_p50_s=_pcts(queued, 50)[0],
                client_queue_p95_s=_pcts(queued, 95)[0],
                unfinished=cell.unfinished,
            )
        )
    return sorted(rows, key=lambda row: (row.model, row.offered_rps))


def judge_rates(rows: Sequence[RateSummary], targets: Sequence[LatencyTarget]) -> list[RateSummary]:
    """Each rate with how it missed the latency targets (none without targets)."""
    return (
        [replace(row, slo_misses=misses(row, targets)) for row in rows] if targets else list(rows)
    )


def recommend_rates(
    rows: Sequence[RateSummary], slo: Sequence[LatencyTarget] = ()
) -> list[RateRecommendation]:
    """Per model, the highest offered rate sustained with every lower rate sustained too (one
    lucky rate above a failing one is not capacity), and why the next one was not."""
    by_model: dict[str, list[RateSummary]] = {}
    for row in sorted(rows, key=lambda item: (item.model, item.offered_rps)):
        by_model.setdefault(row.model, []).append(row)
    target = describe(slo) or None
    return [
        RateRecommendation(model, *_recommend_model(model, mine), target=target)
        for model, mine in by_model.items()
    ]


def _recommend_model(model: str, rows: list[RateSummary]) -> tuple[float | None, str]:
    best: RateSummary | None = None
    for row in rows:
        if row.shortfalls():
            why = f"at {row.offered_rps:g} req/s offered: {'; '.join(row.shortfalls())}"
            if best is None:
                return None, f"{model}: no offered rate was sustained ({why})."
            return best.offered_rps, f"{_sustained(model, best)}; not {why}."
        best = row
    assert best is not None  # a model has at least one rate
    return best.offered_rps, (
        f"{_sustained(model, best)}; the highest rate measured: try higher rates to find its limit."
    )


def _sustained(model: str, row: RateSummary) -> str:
    p95 = "" if row.latency_p95_s is None else f", p95 from the send {row.latency_p95_s:.2f} s"
    return (
        f"{model}: {row.offered_rps:g} req/s is the highest offered rate sustained "
        f"(throughput {format_rps(row.achieved_rps)} req/s; departures "
        f"{format_rps(row.departure_rps or 0.0)} req/s, at least "
        f"{format_rps(row.keep_up_floor_rps)} needed; failures {format_pct(row.failure_rate)}, "
        f"429s {format_pct(row.rate_limited_rate)}{p95})"
    )
