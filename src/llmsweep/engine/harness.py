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

``analysis.client_bound`` turns these into a verdict; see its docstring for the rule.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import AsyncIterator, Callable
from types import TracebackType

from llmsweep.percentile import percentile
from llmsweep.store.harness import HarnessMeasurement, LoopLag

Clock = Callable[[], float]


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
