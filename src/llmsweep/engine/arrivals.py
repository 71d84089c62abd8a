"""Open-loop arrivals (``sweep --rate``): each prompt sent at a seeded Poisson arrival time.

``Runner`` is a closed loop: a worker sends the next prompt when its last one is answered, so the
load it offers slows down with the server. A service's users do not wait for each other; an open
loop sends each prompt at its due time whatever is in flight. The ``concurrency`` workers stay as
a safety cap: a prompt that fell due while every worker was busy goes out late, and that wait is
the client's queueing, kept in each record (``Record.scheduled_at_s``, ``client_queue_s``).
"""

from __future__ import annotations

import asyncio
import math
import random
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import replace
from typing import Any

from llmsweep.engine.runner import Runner
from llmsweep.inputs.prompts import Prompt
from llmsweep.store.records import Record


def arrival_offsets_s(count: int, rate_rps: float, rng: random.Random) -> tuple[float, ...]:
    """When each of ``count`` prompts falls due, in seconds from the cell's start: the first at
    0, then gaps drawn from an exponential distribution of mean 1 / ``rate_rps`` (a Poisson
    process). Pure: the same ``rng`` state gives the same schedule."""
    if not rate_rps > 0:
        raise ValueError(f"arrival rate must be positive, got {rate_rps}")
    offsets: list[float] = []
    due_s = 0.0
    for _ in range(count):
        offsets.append(due_s)
        due_s += rng.expovariate(rate_rps)
    return tuple(offsets)


def arrival_seed(seed: int | str) -> str:
    """The arrivals' own seed, apart from the backoff jitter's (``Runner``'s rng), so a retry
    never shifts the schedule: the same sweep seed and cell schedule the same arrivals."""
    return f"{seed}:arrivals"


class OpenLoopRunner(Runner):
    """A ``Runner`` whose workers take each prompt up at its due time (``settings.offered_rps``
    arrivals from ``arrivals``), at most ``settings.concurrency`` at once."""

    def __init__(self, *args: Any, arrivals: random.Random, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.settings.offered_rps is None:
            raise ValueError("an open loop needs settings.offered_rps")
        self._rate_rps = self.settings.offered_rps
        self._arrivals = arrivals
        self._due_s: Iterator[float] = iter(())

    async def warm_up(self) -> None:
        # A second's arrivals, not the whole cap: a safety cap of hundreds would open hundreds
        # of connections a low rate never uses.
        await self._transport.warm_up(min(self.settings.concurrency, math.ceil(self._rate_rps)))

    async def run(self, prompts: Iterable[Prompt]) -> AsyncIterator[Record]:
        todo = list(prompts)
        origin_s = self._clock()  # after the warm-up: the schedule starts with the cell's clock
        offsets = arrival_offsets_s(len(todo), self._rate_rps, self._arrivals)
        self._due_s = (origin_s + offset for offset in offsets)
        async for record in super().run(todo):
            yield record

    async def _process(self, prompt: Prompt) -> Record | None:
        # Runner._work took the prompt with no await before this: its due time is taken in step.
        due_s = next(self._due_s)
        early_s = due_s - self._clock()
        if early_s > 0 and not await self._unless_stopped(asyncio.sleep(early_s)):
            return None  # stopped before it fell due: never sent, no record (as Runner)
        record = await super()._process(prompt)
        if record is None:
            return None
        return replace(record, scheduled_at_s=due_s, offered_rps=self._rate_rps)
