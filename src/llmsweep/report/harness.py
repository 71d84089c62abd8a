"""The report's "Measurement harness" section: what the client cost in each cell, and whether
it, rather than the API, set the cell's numbers (plain text, escaped by each renderer)."""

from __future__ import annotations

from collections.abc import Sequence

from llmsweep.analysis.client_bound import CPU_BUSY, LAG_THRESHOLD
from llmsweep.analysis.recommend import format_pct
from llmsweep.analysis.stats import CellSummary
from llmsweep.report.sections import DASH, Table, seconds
from llmsweep.store.meta import SweepMeta


def harness_intro(meta: SweepMeta) -> str:
    processes = meta.config.processes
    split = (
        f" With --processes {processes}, a row gives its worst worker's figures; levels below "
        f"{processes} ran one process per concurrent request."
        if processes > 1
        else ""
    )
    return (
        f"What the client on this machine cost in each cell (--client "
        f"{meta.config.client}, {processes} process{'es' if processes > 1 else ''}"
        "; measured). Dispatch lag: from the moment a request was allowed out to the moment it "
        "was written to the socket, new connections excluded, i.e. what it waited for this "
        "client. Loop lag: how late the client's event loop ran a 10 ms timer, i.e. what "
        "anything waited behind the client's own work. CPU per request includes the process's "
        "fixed costs (progress display, these measurements), which dominate at low request "
        f"rates.{split} A cell is client-bound when the dispatch-lag or loop-lag p95 is over "
        f"{LAG_THRESHOLD:.0%} of its median latency, or the client used {CPU_BUSY:.0%} of a CPU "
        "core or more (not at concurrency 1, where no request queues behind another's work): "
        "its numbers then show this machine's limit, not the API's. Not when something else "
        "explains them: the rate-limit ceiling, a speedup within 90% of ideal, or throughput "
        "flat against the level below while latency grew at the server (it queued requests)."
    )


def harness_table(cells: Sequence[CellSummary]) -> Table | None:
    """Per cell: the client's CPU, event-loop lag, dispatch lag, and its client-bound verdict."""
    rows = []
    for cell in cells:  # in (model, concurrency, repeat) order
        measured = cell.harness
        if measured is None:
            continue
        lag_ms = cell.dispatch_lag_p95_s
        per_request = measured.cpu_s_per_request
        rows.append(
            (
                cell.model,
                str(cell.concurrency),
                str(cell.repeat + 1),
                DASH if per_request is None else f"{per_request * 1000:.2f}",
                format_pct(measured.cpu_share),
                f"{measured.loop_lag.p95_s * 1000:.1f}",
                DASH if lag_ms is None else f"{lag_ms * 1000:.1f}",
                seconds(cell.latency_p50_s),
                cell.client_bound.text(),
            )
        )
    if not rows:
        return None
    headers = (
        "model",
        "concurrency",
        "repeat",
        "client CPU ms / request",
        "CPU share of a core",
        "loop-lag p95 ms",
        "dispatch-lag p95 ms",
        "p50 s",
        "client-bound",
    )
    return Table(headers, tuple(rows))
