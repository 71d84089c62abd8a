"""Scale past one event loop: one level's prompts split across worker processes.

Each worker runs the ordinary engine (``Runner``) on its share of the prompts with its share of
the concurrency and of the rate limits; all start together (released once every one is ready),
and their records come back to this process, which prices them and writes them, as for one
process. A worker is a fresh interpreter running ``engine.worker`` (see ``llmsweep.child``: not
a multiprocessing child, which would re-import the caller's ``__main__``); its job, only
picklable values, goes to its stdin, and its messages come back as JSON lines on its stdout.

Not shared between workers: the pause after a 429 (each worker pauses on its own) and the
budget cap (``--max-cost`` is refused with more than one process).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import pickle
import signal
from asyncio.subprocess import PIPE, Process
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from llmsweep.child import python_command, python_env
from llmsweep.engine.progress import RunProgress
from llmsweep.engine.runner import RunSettings
from llmsweep.errors import LlmsweepError, UsageError
from llmsweep.inputs.prompts import Prompt
from llmsweep.settings import CostFn, refuse_split_budget
from llmsweep.store.harness import HarnessMeasurement
from llmsweep.store.records import Record, record_from_dict

STOP_SIGNAL = signal.SIGUSR1  # parent -> worker: stop taking prompts, finish those in flight
MESSAGE_LIMIT = 1 << 28  # longest message line: a record with a long answer's text
Messages = asyncio.Queue[tuple[str, Any]]


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


class WorkerCrash(RuntimeError):
    """A bug of ours in a worker process, raised here as one (not a typed error): its message
    ends with the worker's exception, its note holds the worker's whole traceback."""

    def __init__(self, worker_traceback: str) -> None:
        super().__init__(f"a worker process failed: {worker_traceback.strip().splitlines()[-1]}")
        self.add_note(f"The worker's traceback:\n{worker_traceback.rstrip()}")


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
        self._workers: list[Process] = []
        self._warm_up = False

    def stop(self, reason: str = "interrupted") -> None:
        """Ask every worker to wind down (stop taking prompts, finish those in flight).

        A signal: it reaches a worker whatever it is doing, and needs nothing shared.
        """
        if self.progress.stopped is None:
            self.progress.stopped = reason
        for process in self._workers:
            if process.returncode is None:
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
        count = self._processes
        messages: Messages = asyncio.Queue()
        readers: list[asyncio.Task[None]] = []
        try:
            for index in range(count):
                self._workers.append(await _start(self._job(index, prompts[index::count])))
                readers.append(asyncio.create_task(_read(self._workers[-1], messages)))
            ready = finished = 0
            while finished < count:
                kind, payload = await messages.get()
                if kind == "record":
                    record = self._adopt(record_from_dict(payload))
                    self._count(record)
                    yield record
                elif kind == "ready":
                    ready += 1
                    if ready == count:  # start together: a staggered start skews wall time
                        await _release(self._workers)
                elif kind == "done":
                    finished += 1
                    self._finished(*payload)
                elif kind == "crash":
                    raise WorkerCrash(payload)
                else:
                    raise LlmsweepError(f"a worker process failed: {payload}")
        finally:
            for process in self._workers:
                if process.stdin is not None:
                    process.stdin.close()  # a worker still running or waiting ends
            for process in self._workers:
                await _reap(process)  # its reader drains it meanwhile, so it can end
            for reader in readers:
                reader.cancel()

    def _finished(self, measurement: dict[str, Any], stopped: str | None) -> None:
        self.harness.append(HarnessMeasurement.from_dict(measurement))
        if stopped is not None and self.progress.stopped is None:
            self.stop(stopped)

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


async def _start(job: WorkerJob) -> Process:
    process = await asyncio.create_subprocess_exec(
        *python_command("llmsweep.engine.worker"),
        stdin=PIPE,
        stdout=PIPE,
        env=python_env(),
        limit=MESSAGE_LIMIT,
    )
    assert process.stdin is not None
    process.stdin.write(pickle.dumps(job))
    await process.stdin.drain()
    return process


async def _read(process: Process, messages: Messages) -> None:
    """Hand on one worker's messages; one that ends without a last word has failed."""
    assert process.stdout is not None
    last_word = False
    async for line in process.stdout:
        kind, payload = json.loads(line)
        last_word = last_word or kind in ("done", "error", "crash")
        messages.put_nowait((kind, payload))
    if not last_word:
        # Said at once, not after the others finish: their records would hide it until then.
        messages.put_nowait(("error", f"it exited with code {await process.wait()}"))


async def _release(processes: Sequence[Process]) -> None:
    """Let every worker, warmed up and waiting, start sending (its stdin stays open: its end
    ends the worker)."""
    for process in processes:
        assert process.stdin is not None
        with contextlib.suppress(ConnectionError):  # one that died is reported by its reader
            process.stdin.write(b"g")
            await process.stdin.drain()


async def _reap(process: Process) -> None:
    try:
        await asyncio.wait_for(process.wait(), 10)
    except TimeoutError:
        process.kill()
        await process.wait()
