"""Opening an engine for a run or a sweep cell: a ``Runner`` in this process over its own
transport (``local_runner``), or with ``--processes`` a ``ProcessPool`` of worker processes."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from llmsweep.engine.arrivals import OpenLoopRunner, arrival_seed
from llmsweep.engine.harness import HarnessProbe
from llmsweep.engine.processes import ProcessPool
from llmsweep.engine.runner import Engine, Runner, RunSettings
from llmsweep.inputs.tokens import tokenizer_for
from llmsweep.settings import CostFn
from llmsweep.store.harness import HarnessMeasurement
from llmsweep.transport import make_transport


@asynccontextmanager
async def local_runner(
    client: str,
    base_url: str,
    api_key: str,
    settings: RunSettings,
    rng: random.Random,
    cost_fn: CostFn | None = None,
    arrivals: random.Random | None = None,
) -> AsyncIterator[Runner]:
    """A ``Runner`` in this process over its own transport, closed when the block ends; an
    ``OpenLoopRunner`` with ``arrivals`` (``settings.offered_rps``)."""
    transport = make_transport(
        client,
        base_url=base_url,
        api_key=api_key,
        concurrency=settings.concurrency,
        timeout_s=settings.timeout_s,
    )
    try:
        tokenizer = tokenizer_for(settings.model)
        if arrivals is not None:
            yield OpenLoopRunner(
                settings, transport, tokenizer, cost_fn=cost_fn, rng=rng, arrivals=arrivals
            )
        else:
            yield Runner(settings, transport, tokenizer, cost_fn=cost_fn, rng=rng)
    finally:
        await transport.aclose()


@dataclass(frozen=True)
class EngineFactory:
    """How to reach the target; opens one engine per run or sweep cell."""

    client: str
    base_url: str
    api_key: str = field(repr=False)  # never in a repr, a log line or a traceback
    processes: int = 1

    @asynccontextmanager
    async def open(
        self, settings: RunSettings, *, seed: int | str, cost_fn: CostFn | None
    ) -> AsyncIterator[Engine]:
        # A level below the process count (the sequential baseline, say) uses fewer processes.
        processes = min(self.processes, settings.concurrency)
        if processes > 1:
            yield ProcessPool(
                settings,
                processes=processes,
                client=self.client,
                base_url=self.base_url,
                api_key=self.api_key,
                seed=hash_seed(seed),
                cost_fn=cost_fn,
            )
            return
        rng = random.Random(seed)
        arrivals = None
        if settings.offered_rps is not None:
            arrivals = random.Random(arrival_seed(seed))
        async with local_runner(
            self.client, self.base_url, self.api_key, settings, rng, cost_fn, arrivals
        ) as runner:
            yield runner


def hash_seed(seed: int | str) -> int:
    """A stable integer from a seed string (``hash()`` of a str changes between processes)."""
    return seed if isinstance(seed, int) else random.Random(seed).getrandbits(32)


def harness_of(engine: Engine, probe: HarnessProbe) -> HarnessMeasurement:
    """The measurement to judge a cell by: this process's, or the worst worker's."""
    if isinstance(engine, ProcessPool):
        worst = engine.worst_harness()
        if worst is not None:
            return worst
    return probe.result(requests=engine.progress.attempts)
