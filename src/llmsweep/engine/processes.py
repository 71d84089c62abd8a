"""Scale past one event loop: one level's prompts split across worker processes.

Each worker runs the ordinary engine (``Runner``) on its share of the prompts with its share of
the concurrency and of the rate limits; all start together (a barrier), and their records come
back to this process, which prices them and writes them, as for one process. The worker
function takes only picklable values, so another backend (e.g. Ray) could run it unchanged.

Not shared between workers: the pause after a 429 (each worker pauses on its own) and the
budget cap (``--max-cost`` is refused with more than one process).
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
import random
import signal
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass, field, replace
from decimal import Decimal
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier
from queue import Empty
from typing import Any

from llmsweep.engine.harness import HarnessMeasurement, HarnessProbe, measure_harness
from llmsweep.engine.runner import Engine, Runner, RunProgress, RunSettings
from llmsweep.errors import LlmsweepError, UsageError
from llmsweep.inputs.prompts import Prompt
from llmsweep.inputs.tokens import tokenizer_for
from llmsweep.store.records import Record, record_from_dict
from llmsweep.transport import make_transport

CostFn = Callable[[int, int, int], Decimal]
STOP_SIGNAL = signal.SIGUSR1  # parent -> worker: stop taking prompts, finish those in flight


@dataclass(frozen=True)
class WorkerJob:
    """Everything one worker needs, all picklable."""

    index: int
    settings: RunSettings
    prompts: list[Prompt]
    client: str
    base_url: str
    api_key: str = field(repr=False)  # never in a repr or a traceback
    seed: int
    warm_up: bool = False  # open the connections before the start barrier


def refuse_split_budget(processes: int, max_cost: object) -> None:
    """A budget is kept by one engine against its own spending; split over processes it could
    be overspent. Callers check early, before anything is sent; ``ProcessPool`` as a backstop."""
    if processes > 1 and max_cost is not None:
        raise UsageError("--max-cost needs one process: a budget cannot be split safely")


def share(settings: RunSettings, processes: int, index: int) -> RunSettings:
    """Worker ``index``'s part of the concurrency and of the rate limits."""
    base, extra = divmod(settings.concurrency, processes)
    return replace(
        settings,
        concurrency=base + (index < extra),
        rpm=settings.rpm / processes if settings.rpm else None,
        tpm=settings.tpm / processes if settings.tpm else None,
        pace_share=processes,
    )


class ProcessPool:
    """Like ``Runner`` (``progress``, ``stop()``, ``run()``), over ``processes`` processes."""

    def __init__(
        self,
        settings: RunSettings,
        *,
        processes: int,
        client: str,
        base_url: str,
        api_key: str,
        seed: int,
        cost_fn: CostFn | None = None,
    ) -> None:
        if processes < 1:
            raise UsageError("--processes must be at least 1")
        if processes > settings.concurrency:
            raise UsageError(
                f"--processes {processes} exceeds the concurrency "
                f"{settings.concurrency}: each process needs at least one slot"
            )
        refuse_split_budget(processes, settings.max_cost_usd)
        self.settings = settings
        self.progress = RunProgress()
        self.harness: list[HarnessMeasurement] = []
        self._processes = processes
        self._client = client
        self._base_url = base_url
        self._api_key = api_key
        self._seed = seed
        self._cost_fn = cost_fn
        self._context = multiprocessing.get_context("spawn")  # fork is unsafe under a loop
        self._workers: Sequence[multiprocessing.process.BaseProcess] = ()
        self._warm_up = False

    def stop(self, reason: str = "interrupted") -> None:
        """Ask every worker to wind down (stop taking prompts, finish those in flight).

        A signal rather than a shared multiprocessing Event: a worker killed while waiting on
        an Event's condition leaves it so that ``set()`` blocks forever.
        """
        if self.progress.stopped is None:
            self.progress.stopped = reason
        for process in self._workers:
            if process.pid is not None and process.exitcode is None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(process.pid, STOP_SIGNAL)

    async def warm_up(self) -> None:
        """Each worker opens its own connections, before they all start together."""
        self._warm_up = True

    def worst_harness(self) -> HarnessMeasurement | None:
        """The worker whose event loop lagged most: the one to judge the cell by."""
        return max(self.harness, key=lambda m: m.loop_lag.p95_s, default=None)

    async def run(self, source: Iterable[Prompt]) -> AsyncIterator[Record]:
        prompts = list(source)  # to deal them out; a run with --processes holds its prompts
        queue: Queue[tuple[str, Any]] = self._context.Queue()
        barrier = self._context.Barrier(self._processes)
        workers = [
            self._context.Process(
                target=work,
                args=(self._job(index, prompts[index :: self._processes]), queue, barrier),
                daemon=True,
            )
            for index in range(self._processes)
        ]
        for process in workers:
            process.start()
        self._workers = workers
        try:
            finished = 0
            while finished < len(workers):
                kind, payload = await asyncio.to_thread(_next_message, queue, workers)
                if kind == "record":
                    record = self._adopt(record_from_dict(payload))
                    self._count(record)
                    yield record
                elif kind == "done":
                    finished += 1
                    measurement, stopped = payload
                    self.harness.append(HarnessMeasurement.from_dict(measurement))
                    if stopped is not None and self.progress.stopped is None:
                        self.stop(stopped)
                else:
                    raise LlmsweepError(f"a worker process failed: {payload}")
        finally:
            for process in workers:
                await asyncio.to_thread(process.join, 10)
                if process.is_alive():
                    process.kill()

    def _job(self, index: int, prompts: list[Prompt]) -> WorkerJob:
        settings = share(self.settings, self._processes, index)
        return WorkerJob(
            index,
            settings,
            prompts,
            self._client,
            self._base_url,
            self._api_key,
            self._seed,
            self._warm_up,
        )

    def _adopt(self, record: Record) -> Record:
        """A worker's record as this level's: the whole level's concurrency, and priced here."""
        cost = None
        if self._cost_fn is not None:
            cost = self._cost_fn(
                record.input_tokens, record.output_tokens, record.cached_input_tokens
            )
        return replace(
            record,
            concurrency=self.settings.concurrency,
            cost_usd=None if cost is None else str(cost),
        )

    def _count(self, record: Record) -> None:
        # Workers keep their attempt counters to themselves: rebuild them from the records.
        self.progress.add(record)
        self.progress.attempts += record.attempts
        self.progress.retries += record.attempts - 1
        self.progress.rate_limited += record.rate_limited


def _next_message(
    queue: Queue[tuple[str, Any]], workers: Sequence[multiprocessing.process.BaseProcess]
) -> tuple[str, Any]:
    """The next message from the workers, or an error as soon as one died without a word."""
    while True:
        # A killed worker sends nothing: look for one before each message, not only when idle,
        # or the others' records would hide it until they finished.
        dead = [w.exitcode for w in workers if w.exitcode not in (None, 0)]
        if dead:
            return ("error", f"it exited with code {dead[0]}")
        try:
            return queue.get(timeout=1.0)
        except Empty:
            continue


def work(job: WorkerJob, queue: Queue[tuple[str, Any]], barrier: Barrier) -> None:
    """A worker process: run the engine on ``job`` and send back every record."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when to stop
    signal.signal(STOP_SIGNAL, signal.SIG_IGN)  # until the engine exists to be stopped
    try:
        asyncio.run(_work(job, queue, barrier))
    except BaseException as error:  # report, never die silently: the parent waits for us
        queue.put(("error", f"{type(error).__name__}: {error}"))


async def _work(job: WorkerJob, queue: Queue[tuple[str, Any]], barrier: Barrier) -> None:
    rng = random.Random(f"{job.seed}:{job.index}")
    async with _local_runner(job.client, job.base_url, job.api_key, job.settings, rng) as runner:
        asyncio.get_running_loop().add_signal_handler(STOP_SIGNAL, runner.stop)
        if job.warm_up:
            await runner.warm_up()
        await asyncio.to_thread(barrier.wait)  # start together: a staggered start skews wall
        async with measure_harness() as probe:
            async for record in runner.run(job.prompts):
                queue.put(("record", asdict(record)))
    measured = probe.result(requests=runner.progress.attempts).to_dict()
    queue.put(("done", (measured, runner.progress.stopped)))


@asynccontextmanager
async def _local_runner(
    client: str,
    base_url: str,
    api_key: str,
    settings: RunSettings,
    rng: random.Random,
    cost_fn: CostFn | None = None,
) -> AsyncIterator[Runner]:
    """A ``Runner`` in this process over its own transport, closed when the block ends."""
    transport = make_transport(
        client,
        base_url=base_url,
        api_key=api_key,
        concurrency=settings.concurrency,
        timeout_s=settings.timeout_s,
    )
    try:
        yield Runner(settings, transport, tokenizer_for(settings.model), cost_fn=cost_fn, rng=rng)
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
        async with _local_runner(
            self.client, self.base_url, self.api_key, settings, rng, cost_fn
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
