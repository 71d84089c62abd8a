"""What an open-loop sweep's (``--rate``) report says: its title, intro, verdicts and per-rate
table, rendered by ``writer`` (Markdown) and ``html`` as they render a concurrency sweep's."""

from __future__ import annotations

from collections.abc import Sequence

from llmsweep.analysis.formatting import format_pct, format_rps
from llmsweep.analysis.rate import KEEP_UP_Z, NO_SPEEDUP, RateRecommendation, RateSummary
from llmsweep.report.sections import Table
from llmsweep.store.meta import SweepMeta

RATE_HEADERS = (
    "Model",
    "Offered req/s",
    "Achieved req/s",
    "Departures req/s",
    "Keeps up (needs ≥ req/s)",
    "Latency p50 from send (s)",
    "p95 from send (s)",
    "p99 from send (s)",
    "p95 from due (s)",
    "Client queueing p50 (s)",
    "Client queueing p95 (s)",
    "Failures",
    "429s",
)


def rate_title(rates: Sequence[RateSummary]) -> str:
    models = ", ".join(dict.fromkeys(row.model for row in rates)) or "no records"
    return f"llmsweep open-loop rate report: {models}"


def rate_intro(meta: SweepMeta) -> list[str]:
    """What an open-loop sweep is, first thing in the report."""
    rates = ", ".join(f"{rate:g}" for rate in meta.config.rates)
    return [
        f"This is an open-loop rate sweep: at each offered rate ({rates} requests per second) "
        "the prompts were sent at seeded Poisson arrival times whatever was in flight, as a "
        f"service's users send them, with at most {meta.config.max_concurrency} in flight "
        "(--max-concurrency). A prompt due while that many were in flight waited at the client: "
        "that wait is the client queueing column, and the latency from its due time includes "
        "it; the latency from the send is the server's share.",
        NO_SPEEDUP,
        "Achieved throughput = succeeded / wall time, from the first due time to the last end; "
        "that wall time includes the last requests' latency, so a short run falls short of a "
        "rate kept up with perfectly. Keeping up is judged on departures instead: the "
        "succeeded requests, in the order they fell due, split into halves, and the departure "
        "rate is half their number over the seconds from the earlier half's median end to the "
        "later half's. A server that keeps up ends each request a latency after it fell due, "
        "so whatever that latency its departures keep pace with the arrivals; one that cannot "
        "ends them at its own pace. A rate keeps up when its departure rate is at least the "
        f"offered rate less {KEEP_UP_Z:g} standard deviations of a Poisson count over those "
        "seconds; it is sustained when it also keeps failures and 429s under the "
        "recommendation's thresholds and meets any latency target (--slo, on the latency from "
        "the send).",
    ]


def rate_verdicts(recommendations: Sequence[RateRecommendation]) -> list[str]:
    lines = []
    for rec in recommendations:
        target = f" (latency target {rec.target})" if rec.target else ""
        if rec.rate_rps is None:
            lines.append(f"{rec.model}: no offered rate was sustained{target}")
        else:
            lines.append(f"{rec.model}: sustains {rec.rate_rps:g} req/s offered{target}")
    return lines


def _s(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}"


def rate_table(
    rates: Sequence[RateSummary], recommendations: Sequence[RateRecommendation]
) -> Table:
    """One row per model and offered rate; the rate recommended marked."""
    picked = {(rec.model, rec.rate_rps) for rec in recommendations}
    rows = tuple(
        (
            row.model,
            f"{row.offered_rps:g}",
            format_rps(row.achieved_rps),
            "" if row.departure_rps is None else format_rps(row.departure_rps),
            f"{'yes' if row.keeps_up else 'no'} ({format_rps(row.keep_up_floor_rps)})",
            _s(row.latency_p50_s),
            _s(row.latency_p95_s),
            _s(row.latency_p99_s),
            _s(row.since_due_p95_s),
            _s(row.client_queue_p50_s),
            _s(row.client_queue_p95_s),
            format_pct(row.failure_rate),
            str(row.rate_limited),
        )
        for row in rates
    )
    marked = frozenset(i for i, row in enumerate(rates) if (row.model, row.offered_rps) in picked)
    greyed = frozenset(i for i, row in enumerate(rates) if row.unfinished)
    return Table(RATE_HEADERS, rows, marked, greyed)


def by_rate(table: Table | None, meta: SweepMeta) -> Table | None:
    """A per-cell table (harness, failure examples: model, concurrency, repeat, ...) as a rate
    sweep names its cells: the repeat is the rate's place in ``config.rates``, the
    concurrency its cap."""
    if table is None:
        return None
    rates = meta.config.rates
    headers = (table.headers[0], "offered req/s", "at most in flight", *table.headers[3:])
    rows = tuple((row[0], f"{rates[int(row[2]) - 1]:g}", row[1], *row[3:]) for row in table.rows)
    return Table(headers, rows, table.marked, table.greyed)
