"""Measuring the harness itself, and saying when it, not the API, set the result.

A load generator that saturates its own client reports the client's limit as the API's. Three
figures per cell (one run at one concurrency level) show it:

- **Dispatch lag**, per request (``Record.dispatch_lag_s``): from the moment the engine allowed
  the request out to the moment the HTTP library finished writing it, less any new
  connection's setup. It is what the requests themselves waited for this client, so it sees
  the lock-step waves (all started together, all answered together) that even sampling misses.
- **Event-loop lag**: a task sleeps ``interval_s`` over and over and records how late it wakes.
  Any other ready callback waits behind the loop just as long, an answer's reading included,
  which dispatch lag does not cover. Lag is sampled evenly in time, so a short burst that
  delays many requests covers few samples: the p95 then under-reads what they waited.
- **Client CPU**: process CPU seconds (``time.process_time``) over wall seconds of the cell.
  The engine runs on one event loop: while it computes, nothing is sent or received, so its
  busy share is roughly the share of time requests wait behind it. This catches the lock-step
  waves that loop lag misses (measured: 10% of a core already costs 5% or more of speedup).

``client_bound`` turns these into a verdict; see its docstring for the rule.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from types import TracebackType
from typing import Any

from llmsweep.analysis.stats import CellSummary, percentile

Clock = Callable[[], float]
LAG_THRESHOLD = 0.05  # dispatch/loop-lag p95 as a share of the median latency (client_bound)
# Share of one core above which requests measurably queue behind the client's own work. Set from
# bench/bench_fidelity.py (reports/benchmarks.md): wherever the client used 10% of a core or
# more, speedup fell 5-30% short of ideal, while loop lag stayed under 5% of latency.
CPU_BUSY = 0.10


@dataclass(frozen=True)
class LoopLag:
    """Summary of the loop-lag samples of one cell, in seconds."""

    samples: int
    p50_s: float
    p95_s: float
    max_s: float
    mean_s: float


class LoopLagMonitor:
    """``async with LoopLagMonitor() as monitor:`` samples loop lag until the block ends."""

    def __init__(self, interval_s: float = 0.01, clock: Clock = time.monotonic) -> None:
        if not (math.isfinite(interval_s) and interval_s > 0):
            raise ValueError(f"interval_s must be a positive number of seconds, got {interval_s!r}")
        self.interval_s = interval_s
        self.samples_s: list[float] = []
        self._clock = clock
        self._expected = 0.0  # when the ticker should next wake
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> LoopLagMonitor:
        self._expected = self._clock() + self.interval_s
        self._task = asyncio.create_task(self._tick())
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        # A loop busy right up to the end never let the ticker wake: what it is overdue by now
        # is a lag too (a lower bound), and may be the only one a short, saturated cell has.
        overdue = self._clock() - self._expected
        if overdue > 0:
            self.samples_s.append(overdue)

    async def _tick(self) -> None:
        while True:
            # Sleep until the expected time rather than a fixed interval: the first wake is
            # then due ``interval_s`` after the block began, so a loop kept busy before this
            # task first runs shows up as lag too.
            await asyncio.sleep(max(0.0, self._expected - self._clock()))
            now = self._clock()
            # asyncio may wake a timer up to its clock resolution early; that is not lag.
            self.samples_s.append(max(0.0, now - self._expected))
            self._expected = now + self.interval_s

    def summary(self) -> LoopLag:
        samples = self.samples_s
        if not samples:
            return LoopLag(0, 0.0, 0.0, 0.0, 0.0)
        return LoopLag(
            samples=len(samples),
            p50_s=percentile(samples, 50),
            p95_s=percentile(samples, 95),
            max_s=max(samples),
            mean_s=math.fsum(samples) / len(samples),
        )


@dataclass(frozen=True)
class HarnessMeasurement:
    """What the harness cost during one cell. ``cpu_s_per_request`` is None for no requests."""

    requests: int
    cpu_s: float
    cpu_s_per_request: float | None
    wall_s: float
    loop_lag: LoopLag

    @property
    def cpu_share(self) -> float:
        """Process CPU time over wall time: 1.0 is one core busy all the cell."""
        return self.cpu_s / self.wall_s if self.wall_s > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> HarnessMeasurement:
        lag = data["loop_lag"]
        per_request = data.get("cpu_s_per_request")
        return cls(
            requests=int(data["requests"]),
            cpu_s=float(data["cpu_s"]),
            cpu_s_per_request=None if per_request is None else float(per_request),
            wall_s=float(data["wall_s"]),
            loop_lag=LoopLag(
                samples=int(lag["samples"]),
                p50_s=float(lag["p50_s"]),
                p95_s=float(lag["p95_s"]),
                max_s=float(lag["max_s"]),
                mean_s=float(lag["mean_s"]),
            ),
        )


def combine(parts: Sequence[HarnessMeasurement]) -> HarnessMeasurement:
    """One cell measured over several sessions (a resumed sweep): times and counts add up; the
    lag percentiles are the worst session's, since those of separate samples cannot be merged
    exactly and the check should not lose a bad session in a good one."""
    requests = sum(part.requests for part in parts)
    cpu_s = math.fsum(part.cpu_s for part in parts)
    samples = sum(part.loop_lag.samples for part in parts)
    weighted = math.fsum(part.loop_lag.mean_s * part.loop_lag.samples for part in parts)
    return HarnessMeasurement(
        requests=requests,
        cpu_s=cpu_s,
        cpu_s_per_request=cpu_s / requests if requests else None,
        wall_s=math.fsum(part.wall_s for part in parts),
        loop_lag=LoopLag(
            samples=samples,
            p50_s=max(part.loop_lag.p50_s for part in parts),
            p95_s=max(part.loop_lag.p95_s for part in parts),
            max_s=max(part.loop_lag.max_s for part in parts),
            mean_s=weighted / samples if samples else 0.0,
        ),
    )


class HarnessProbe:
    """Yielded by ``measure_harness``; ``result()`` works inside the block or after it."""

    def __init__(self, monitor: LoopLagMonitor, clock: Clock, cpu_clock: Clock) -> None:
        self.monitor = monitor
        self._clock = clock
        self._cpu_clock = cpu_clock
        self._began = (clock(), cpu_clock())
        self._ended: tuple[float, float] | None = None

    def finish(self) -> None:
        self._ended = (self._clock(), self._cpu_clock())

    def result(self, *, requests: int) -> HarnessMeasurement:
        """The cell so far (inside the block) or the whole cell (after it)."""
        wall_end, cpu_end = self._ended or (self._clock(), self._cpu_clock())
        cpu_s = cpu_end - self._began[1]
        return HarnessMeasurement(
            requests=requests,
            cpu_s=cpu_s,
            cpu_s_per_request=cpu_s / requests if requests > 0 else None,
            wall_s=wall_end - self._began[0],
            loop_lag=self.monitor.summary(),
        )


@contextlib.asynccontextmanager
async def measure_harness(
    *,
    interval_s: float = 0.01,
    clock: Clock = time.monotonic,
    cpu_clock: Clock = time.process_time,
) -> AsyncIterator[HarnessProbe]:
    """``async with measure_harness() as probe: ...`` then ``probe.result(requests=n)``.

    Wrap exactly one cell: CPU time is the whole process's, so whatever else the process does
    meanwhile (an in-process simulator, say) is counted as harness work too.
    """
    async with LoopLagMonitor(interval_s, clock) as monitor:
        probe = HarnessProbe(monitor, clock, cpu_clock)
        try:
            yield probe
        finally:
            probe.finish()


def client_bound_reasons(
    measurement: HarnessMeasurement,
    latency_p50_s: float,
    *,
    dispatch_lag_p95_s: float | None = None,
    threshold: float = LAG_THRESHOLD,
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
      share of the time (see ``CPU_BUSY``).
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
    if measurement.cpu_share >= CPU_BUSY:
        reasons.append(f"the client process used {measurement.cpu_share:.0%} of a CPU core")
    return reasons


def cell_client_bound_reasons(cell: CellSummary, measurement: HarnessMeasurement) -> list[str]:
    """The rule above for one cell of a sweep: its own median latency and dispatch lag."""
    if cell.latency_p50_s is None:  # nothing succeeded: no latency to judge against
        return []
    return client_bound_reasons(
        measurement, cell.latency_p50_s, dispatch_lag_p95_s=cell.dispatch_lag_p95_s
    )


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
