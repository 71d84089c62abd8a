"""The engine: a concurrency cap, optional RPM/TPM limits, retries that honour the server.

One event loop, nothing global. ``concurrency`` workers each take the next prompt from a shared
iterator (so prompts are read lazily and in-flight requests can never exceed the cap), send it
through a ``Transport``, retry what can succeed, and emit exactly one ``Record`` per prompt they
took up, except after a stop: a prompt then still waiting for its turn, or whose last attempt
failed in a way a retry could mend, gets no record (a failure the stop caused would inflate the
failure rate); it was never answered, so a resume sends it. The exception to the exception: a
prompt with an attempt that may have been billed (``Record.possibly_billed_usd``) is recorded
with status ``stopped``, so that what it may have cost is never lost. After any 429 every
worker pauses until the server's hinted time.

A ``--max-cost`` budget holds, for each prompt under way, the worst case of every attempt it
may make (``max_retries`` + 1, each at its max_tokens), and counts what finished prompts cost
and may have cost: the actual spend plus the possibly billed never exceeds it.
"""

from __future__ import annotations

import asyncio
import functools
import random
import time
from collections.abc import AsyncIterator, Callable, Coroutine, Iterable, Iterator
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any, Protocol

from llmsweep.engine.pacing import Pacer
from llmsweep.engine.progress import RunProgress
from llmsweep.engine.recording import Recorder, billed_apart
from llmsweep.engine.retry import BackoffPolicy
from llmsweep.errors import UsageError
from llmsweep.inputs.prompts import Prompt
from llmsweep.inputs.tokens import Tokenizer
from llmsweep.settings import CostFn, RequestOptions, charged_tokens, refuse_unbounded_budget
from llmsweep.store.records import STOPPED, Record
from llmsweep.transport import classify as retry
from llmsweep.transport.base import Attempt, Transport


@dataclass(frozen=True)
class RunSettings(RequestOptions):
    """One run at one level: the shared request options plus what only the engine needs."""

    model: str
    concurrency: int
    repeat: int = 0
    keep_text: bool = True  # each record keeps its answer's text
    keep_prompt_text: bool = True  # ... and its prompt's (Prompt.text)
    pace_share: int = 1  # processes sharing the API key: each paces to its share of a limit
    backoff: BackoffPolicy = field(default_factory=BackoffPolicy)
    offered_rps: float | None = None  # an open loop's arrival rate (engine.arrivals)

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.concurrency < 1:
            raise UsageError("--concurrency must be at least 1")

    @classmethod
    def at_level(
        cls, options: RequestOptions, model: str, concurrency: int, **extra: Any
    ) -> RunSettings:
        """The settings for one level of ``options``: the one place they are copied over."""
        return cls(model=model, concurrency=concurrency, **{**options.request_fields(), **extra})


class Engine(Protocol):
    """What runs a prompt set: ``Runner`` here, ``workers.ProcessPool`` over processes."""

    settings: RunSettings
    progress: RunProgress

    def stop(self, reason: str = "interrupted") -> None: ...

    async def warm_up(self) -> None: ...

    def run(self, prompts: Iterable[Prompt]) -> AsyncIterator[Record]: ...


class Runner:
    """Runs one prompt set at one setting. Use ``run()`` once; call ``stop()`` to wind down."""

    def __init__(
        self,
        settings: RunSettings,
        transport: Transport,
        tokenizer: Tokenizer,
        *,
        cost_fn: CostFn | None = None,
        rng: random.Random | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self.progress = RunProgress()
        self._transport = transport
        self._tokenizer = tokenizer
        self._cost_fn = cost_fn
        self._recorder = Recorder(settings, tokenizer, cost_fn)
        self._rng = rng if rng is not None else random.Random(0)
        self._clock = clock
        self._pacer = Pacer(settings.rpm, settings.tpm, share=settings.pace_share, clock=clock)
        self._stopping = False
        self._waits: set[asyncio.Task[None]] = set()  # workers' pacing and backoff waits
        self._reserved_usd = Decimal(0)  # budget held by requests in flight
        if settings.max_cost_usd is not None and cost_fn is None:
            raise UsageError("--max-cost needs a price for the model")

    def stop(self, reason: str = "interrupted") -> None:
        """Stop taking up new prompts; requests in flight finish; prompts waiting for their
        turn or for a retry are dropped unrecorded (see the module's docstring)."""
        if not self._stopping:
            self._stopping = True
            self.progress.stopped = reason
            for wait in self._waits:
                wait.cancel()

    async def warm_up(self) -> None:
        """Open a connection per worker now, so timing starts with a warm pool; per cell."""
        await self._transport.warm_up(self.settings.concurrency)

    async def run(self, prompts: Iterable[Prompt]) -> AsyncIterator[Record]:
        """Yield one record per prompt taken up, as each completes."""
        source = iter(prompts)
        queue: asyncio.Queue[Record | BaseException | None] = asyncio.Queue()
        live = self.settings.concurrency

        async def worker() -> None:
            nonlocal live
            try:
                await self._work(source, queue)
            except asyncio.CancelledError:
                raise
            except BaseException as error:  # a bad prompt line: stop all, surface it after
                self.stop("error")
                await queue.put(error)
            finally:
                live -= 1
                if live == 0:
                    queue.put_nowait(None)

        workers = [asyncio.create_task(worker()) for _ in range(self.settings.concurrency)]
        failure: BaseException | None = None
        try:
            while (item := await queue.get()) is not None:
                if isinstance(item, BaseException):
                    failure = failure or item
                else:
                    yield item
        finally:
            for task in workers:
                task.cancel()
            await asyncio.gather(*workers, return_exceptions=True)
        if failure is not None:
            raise failure

    async def _work(
        self, source: Iterator[Prompt], queue: asyncio.Queue[Record | BaseException | None]
    ) -> None:
        while not self._stopping:
            prompt = next(source, None)
            if prompt is None:
                return
            record = await self._process(prompt)
            if record is not None:
                self.progress.add(record)
                await queue.put(record)

    async def _process(self, prompt: Prompt) -> Record | None:
        settings = self.settings
        queued = self._clock()
        # Counted only when something needs it (a budget, a TPM limit or pause, an answer
        # without usage): counting every prompt again was the largest of the run's own CPU
        # costs per request (issue 14), and the estimate before the run counted them.
        input_estimate = functools.cache(lambda: self._tokenizer.count_chat(prompt.messages))
        max_tokens = prompt.max_tokens or settings.max_tokens
        reserve = self._reserve_budget(prompt, input_estimate, max_tokens)
        if reserve is None:
            return None
        attempts = rate_limited = 0
        backoff_s = 0.0
        earlier: list[Attempt] = []  # failed attempts that were followed by another
        try:
            while True:
                turn = self._pacer.idle() or await self._unless_stopped(
                    self._pacer.wait_for_turn(charged_tokens(input_estimate(), max_tokens))
                )
                if not turn or self._stopping:
                    # Not sent (again): left for a resume, unless an attempt may have cost.
                    return self._unless_billed(
                        prompt, queued, earlier, rate_limited, backoff_s, input_estimate
                    )
                attempts += 1
                self.progress.attempts += 1
                self.progress.in_flight += 1
                try:
                    attempt = await self._transport.send(
                        settings.model, prompt.messages, max_tokens, settings.stream
                    )
                finally:
                    self.progress.in_flight -= 1
                if attempt.kind == retry.RATE_LIMITED:
                    rate_limited += 1
                    self.progress.rate_limited += 1
                    adopted = self._pacer.adopt(attempt.limits)
                    self.progress.paced_rpm = self.progress.paced_rpm or adopted[0]
                    self.progress.paced_tpm = self.progress.paced_tpm or adopted[1]
                if attempt.kind == retry.AUTH:
                    self.stop("auth")  # every other prompt would fail the same way
                delay = self._retry_delay(attempt, attempts, queued)
                if delay is None:
                    break
                earlier.append(attempt)
                # It would have been retried: a resume sends it (unless it may have cost).
                if self._stopping:
                    return self._unless_billed(
                        prompt, queued, earlier, rate_limited, backoff_s, input_estimate
                    )
                self.progress.retries += 1
                backoff_s += delay
                if not await self._unless_stopped(asyncio.sleep(delay)):
                    return self._unless_billed(
                        prompt, queued, earlier, rate_limited, backoff_s, input_estimate
                    )
        finally:
            self._reserved_usd -= reserve
        return self._recorder.record(
            prompt, queued, attempt, attempts, rate_limited, backoff_s, input_estimate, earlier
        )

    def _unless_billed(
        self,
        prompt: Prompt,
        queued: float,
        tried: list[Attempt],
        rate_limited: int,
        backoff_s: float,
        input_estimate: Callable[[], int],
    ) -> Record | None:
        """No record for a prompt a stop cut short, unless one of its attempts may have been
        billed: then it is recorded as ``STOPPED``, with its last attempt's error and timings,
        to keep that spend (a resume sends it again)."""
        if not any(billed_apart(attempt) for attempt in tried):
            return None
        last, earlier = tried[-1], tried[:-1]
        record = self._recorder.record(
            prompt, queued, last, len(tried), rate_limited, backoff_s, input_estimate, earlier
        )
        error = f"stopped before a retry; last attempt: {last.kind}: {last.error or ''}"
        return replace(record, status=STOPPED, error=error)

    async def _unless_stopped(self, wait: Coroutine[object, object, None]) -> bool:
        """Wait (for a turn, out a backoff); False when the run is or gets stopped first."""
        if self._stopping:
            wait.close()
            return False
        task = asyncio.ensure_future(wait)
        self._waits.add(task)
        try:
            await task
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if current is not None and current.cancelling():
                raise  # this worker itself is cancelled (a second Ctrl-C): not a stop
            return False
        finally:
            self._waits.discard(task)
        return True

    def _reserve_budget(
        self, prompt: Prompt, input_tokens: Callable[[], int], max_tokens: int | None
    ) -> Decimal | None:
        """Hold this prompt's worst-case cost, every attempt it may make billed at its
        max_tokens, or stop if that would break ``--max-cost``."""
        cap = self.settings.max_cost_usd
        if cap is None or self._cost_fn is None:
            return Decimal(0)
        # Planning checks every prompt first; this guards callers that skip it (the library).
        refuse_unbounded_budget(cap, self.settings.max_tokens, prompt.id, prompt.max_tokens)
        assert max_tokens is not None
        attempts = self.settings.max_retries + 1
        worst = self._cost_fn(input_tokens(), max_tokens, 0) * attempts
        if self.progress.spent_usd + self._reserved_usd + worst > cap:
            self.stop("budget")
            return None
        self._reserved_usd += worst
        return worst

    def _retry_delay(self, attempt: Attempt, attempts: int, queued: float) -> float | None:
        """Seconds to wait before retrying, or None when this attempt is the last."""
        if attempt.ok or not attempt.retryable:
            return None
        if attempts > self.settings.max_retries:
            return None
        delay = self.settings.backoff.delay_s(attempts, self._rng, attempt.hint_s)
        now = self._clock()
        if now + delay - queued > self.settings.deadline_s:
            return None
        if attempt.kind == retry.RATE_LIMITED:
            # Everyone waits out the server's hint; only this worker also sleeps its own growing
            # jitter, so one late retry cannot pause the whole pool for up to the backoff cap.
            self._pacer.pause_until(now + (attempt.hint_s if attempt.hint_s is not None else delay))
        return delay
