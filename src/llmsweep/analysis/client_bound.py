"""The client-bound verdict: when this machine, not the API, set a cell's numbers.

Defined here once; the verdict is computed once per cell (``analysis.stats``) and every part of
the report and the CLI reads it from there. What is measured is described in
``engine.harness``.
"""

from __future__ import annotations

from dataclasses import dataclass

from llmsweep.analysis.ceiling import at_ceiling
from llmsweep.store.harness import HarnessMeasurement

LAG_THRESHOLD = 0.05  # dispatch/loop-lag p95 as a share of the median latency (client_bound)
# Share of one core above which requests measurably queue behind the client's own work. Set from
# bench/bench_fidelity.py (reports/benchmarks.md): wherever the client used 10% of a core or
# more, speedup fell 5-30% short of ideal, while loop lag stayed under 5% of latency.
CPU_BUSY = 0.10
# Throughput within this share of the level below counts as flat (closed-loop noise between
# cells of one sweep is a few percent; a real gain from doubling the level is far above it).
FLAT_THROUGHPUT = 0.10
# A server queues requests when the client's own lag explains under this share of the growth
# in median latency over the level below (a saturated client grows its lags with the latency).
CLIENT_SHARE_OF_GROWTH = 0.25
# A level whose like-for-like speedup reached this share of ideal cannot have been held back by
# the client by more than the rest: the CPU rule's concern (speedup 5-30% short) did not happen.
NEAR_IDEAL = 0.9


@dataclass(frozen=True)
class LevelBelow:
    """What the next lower level of the same model and repeat measured."""

    concurrency: int
    throughput_rps: float
    latency_p50_s: float


def client_bound_reasons(
    measurement: HarnessMeasurement,
    latency_p50_s: float,
    *,
    dispatch_lag_p95_s: float | None = None,
    threshold: float = LAG_THRESHOLD,
    concurrency: int | None = None,
) -> list[str]:
    """Why the client, not the server, may have set this cell's numbers; empty when it did not.

    The rule, any of:

    - dispatch-lag p95 (over the cell's records) > ``threshold`` x the cell's median request
      latency (5% by default): one request in twenty lost that much to this client before it
      was even sent.
    - loop-lag p95 > ``threshold`` x the median latency. Every request waits behind the loop
      about one lag to go out and one to be seen back, so at 5% the measured latency (and
      throughput, through it) is already off by up to about a tenth.
    - process CPU >= 10% of wall time: requests queue behind the loop's own work about that
      share of the time (see ``CPU_BUSY``). Not at ``concurrency`` 1 (None: not known, so the
      rule applies): one request at a time has no other request's work to queue behind, and
      its own shows in the dispatch lag and in its latency.
    """
    reasons: list[str] = []
    if dispatch_lag_p95_s is not None and dispatch_lag_p95_s > threshold * latency_p50_s:
        reasons.append(
            f"dispatch lag p95 {dispatch_lag_p95_s * 1000:.1f} ms is over {threshold:.0%} of "
            f"the median latency ({latency_p50_s * 1000:.1f} ms)"
        )
    lag_s = measurement.loop_lag.p95_s
    if lag_s > threshold * latency_p50_s:
        reasons.append(
            f"event-loop lag p95 {lag_s * 1000:.1f} ms is over {threshold:.0%} of the median "
            f"latency ({latency_p50_s * 1000:.1f} ms)"
        )
    if measurement.cpu_share >= CPU_BUSY and concurrency != 1:
        reasons.append(f"the client process used {measurement.cpu_share:.0%} of a CPU core")
    return reasons


@dataclass(frozen=True)
class ClientBound:
    """One cell's verdict, computed once (``judge_cell``) and read by every part of the report."""

    bound: bool
    reasons: tuple[str, ...] = ()  # why it is bound, or why the rule fired yet does not apply

    def text(self) -> str:
        if self.bound:
            return "yes: " + "; ".join(self.reasons)
        return "no" + (": " + "; ".join(self.reasons) if self.reasons else "")


NOT_MEASURED = ClientBound(False, ("no harness measurement",))


def server_queued(
    below: LevelBelow | None, throughput_rps: float, latency_p50_s: float, client_lag_s: float
) -> str | None:
    """Why the server, not this client, set a cell: against the level below, throughput stayed
    flat while the median latency grew, and the client's own lag explains little of that
    growth, so the added requests waited at the server. None when that is not what happened."""
    if below is None or throughput_rps > below.throughput_rps * (1 + FLAT_THROUGHPUT):
        return None
    growth_s = latency_p50_s - below.latency_p50_s
    if growth_s <= 0 or client_lag_s > CLIENT_SHARE_OF_GROWTH * growth_s:
        return None
    return (
        f"server-bound: throughput stayed flat ({below.throughput_rps:.2f} req/s at "
        f"{below.concurrency}, {throughput_rps:.2f} here) while median latency grew "
        f"{growth_s * 1000:.0f} ms, of which this client's lag explains "
        f"{client_lag_s * 1000:.1f} ms: requests queued at the server"
    )


def judge_cell(
    measurement: HarnessMeasurement | None,
    latency_p50_s: float | None,
    dispatch_lag_p95_s: float | None,
    throughput_rps: float,
    ceiling_rps: float | None,
    below: LevelBelow | None = None,
    *,
    concurrency: int,
    speedup: float | None = None,
) -> ClientBound:
    """The rule above for one cell, except where something else explains its numbers: the
    rate-limit ceiling, a speedup near ideal, or a server that queued requests
    (``server_queued``)."""
    if measurement is None:
        return NOT_MEASURED
    if latency_p50_s is None:  # nothing succeeded: no latency to judge against
        return ClientBound(False)
    reasons = client_bound_reasons(
        measurement, latency_p50_s, dispatch_lag_p95_s=dispatch_lag_p95_s, concurrency=concurrency
    )
    if reasons and at_ceiling(throughput_rps, ceiling_rps):
        return ClientBound(False, ("at the rate-limit ceiling, which explains it", *reasons))
    if reasons and concurrency > 1 and speedup is not None and speedup >= NEAR_IDEAL * concurrency:
        near = f"scaled to {speedup / concurrency:.0%} of ideal, so not held back"
        return ClientBound(False, (near, *reasons))
    client_lag_s = max(measurement.loop_lag.p95_s, dispatch_lag_p95_s or 0.0)
    queued = server_queued(below, throughput_rps, latency_p50_s, client_lag_s)
    if reasons and queued is not None:
        return ClientBound(False, (queued, *reasons))
    return ClientBound(bool(reasons), tuple(reasons))


def client_bound(
    measurement: HarnessMeasurement,
    latency_p50_s: float,
    *,
    dispatch_lag_p95_s: float | None = None,
    threshold: float = LAG_THRESHOLD,
) -> bool:
    """True when this cell measured the client's limit rather than the API's (rule above)."""
    reasons = client_bound_reasons(
        measurement, latency_p50_s, dispatch_lag_p95_s=dispatch_lag_p95_s, threshold=threshold
    )
    return bool(reasons)


def remedy(client: str, level: int) -> str:
    """What to do about a client-bound cell at ``level`` measured with ``client``."""
    actions = [] if client == "http" else ["use the lean client (--client http)"]
    if level > 1:  # one request at a time can neither go lower nor be split over processes
        actions += ["lower the level", "split it over processes (--processes N)"]
    fallback = "read the numbers as lower bounds"
    if not actions:
        return fallback
    listed = ", ".join(actions[:-1]) + (" or " if len(actions) > 1 else "") + actions[-1]
    return f"{listed}; otherwise {fallback}"


def how_to_measure(client: str) -> str:
    """How to measure levels that were client-bound with ``client`` on this machine."""
    actions = [] if client == "http" else ["use the lean client (--client http)"]
    actions += ["split each level over processes (--processes N)", "run from a less busy machine"]
    return ", ".join(actions[:-1]) + " or " + actions[-1]
