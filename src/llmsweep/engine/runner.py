"""The engine: a concurrency cap, optional RPM/TPM limits, retries that honour the server.

One event loop, nothing global. ``concurrency`` workers each take the next prompt from a shared
iterator (so prompts are read lazily and in-flight requests can never exceed the cap), send it
through a ``Transport``, retry what can succeed, and emit exactly one ``Record`` per prompt they
took up. After any 429 every worker pauses until the server's hinted time.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Protocol

from aiolimiter import AsyncLimiter

from llmsweep.engine.retry import BackoffPolicy
from llmsweep.errors import UsageError
from llmsweep.inputs.prompts import Prompt
from llmsweep.inputs.tokens import Tokenizer
from llmsweep.store.records import Record, Span
from llmsweep.transport import classify as retry
from llmsweep.transport.base import Attempt, Transport

# When neither the prompt nor the settings give max_tokens, the TPM limiter has to charge
# *something* for the answer; this is what it assumes (the server may charge more and 429).
ASSUMED_OUTPUT_TOKENS = 256
CostFn = Callable[[int, int, int], Decimal]  # (input, output, cached input tokens) -> USD


@dataclass(frozen=True)
class RunSettings:
    model: str
    concurrency: int
    rpm: float | None = None
    tpm: float | None = None
    max_retries: int = 6
    timeout_s: float = 120.0  # one attempt, connect to last byte
    deadline_s: float = 900.0  # one prompt, all attempts and waits included
    max_tokens: int | None = None  # for prompts that do not set their own
    stream: bool = False
    max_cost_usd: Decimal | None = None
    repeat: int = 0
    keep_text: bool = True
    pace_share: int = 1  # processes sharing the API key: each paces to its share of a limit
    backoff: BackoffPolicy = field(default_factory=BackoffPolicy)

    def __post_init__(self) -> None:
        if self.concurrency < 1:
            raise UsageError("--concurrency must be at least 1")
        for name, value in (("--rpm", self.rpm), ("--tpm", self.tpm)):
            if value is not None and value <= 0:
                raise UsageError(f"{name} must be positive")
        if self.max_retries < 0:
            raise UsageError("--max-retries must be 0 or more")
        if self.timeout_s <= 0:
            raise UsageError("--timeout must be positive")


@dataclass
class RunProgress:
    """Live counters for a progress display; the records remain the truth."""

    done: int = 0
    ok: int = 0
    failed: int = 0
    attempts: int = 0
    retries: int = 0
    rate_limited: int = 0
    in_flight: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: Decimal = Decimal(0)
    stopped: str | None = None  # why dispatching stopped early: "budget", "interrupted", "auth"
    paced_rpm: int | None = None  # limits adopted from the server's 429 headers (see _pace_to)
    paced_tpm: int | None = None
    # The records' own span, so that a live rate leaves out start-up and warm-up, as the
    # report's does.
    span: Span = field(default_factory=Span)

    @property
    def ok_per_s(self) -> float:
        """Succeeded prompts per second over the records' span so far (the report's rate)."""
        span_s = self.span.seconds
        return self.ok / span_s if span_s > 0 else 0.0

    def add(self, record: Record) -> None:
        """Count a finished prompt (attempt counters are kept live by the engine itself)."""
        self.span.add(record)
        self.done += 1
        self.ok += record.ok
        self.failed += not record.ok
        self.input_tokens += record.input_tokens
        self.output_tokens += record.output_tokens
        self.cost_usd += record.cost


def _limiter(per_minute: float, bucket_s: float) -> AsyncLimiter:
    # aiolimiter lets a full bucket through at once, so a bucket of a minute's worth would burst
    # far past the rate; a bucket of ``bucket_s`` keeps it smooth. At least 1, since acquire(n)
    # raises when n exceeds the bucket.
    capacity = max(1.0, per_minute / 60 * bucket_s)
    return AsyncLimiter(capacity, capacity * 60 / per_minute)


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
        self._rng = rng if rng is not None else random.Random(0)
        self._clock = clock
        # One request at a time for RPM (perfectly smooth); a tenth of a second's worth for TPM,
        # charged in bucket-sized pieces.
        self._rpm = _limiter(settings.rpm, 0.0) if settings.rpm else None
        self._tpm = _limiter(settings.tpm, 0.1) if settings.tpm else None
        self._pause_until = 0.0
        self._stopping = False
        self._reserved_usd = Decimal(0)  # budget held by requests in flight
        if settings.max_cost_usd is not None and cost_fn is None:
            raise UsageError("--max-cost needs a price for the model")

    def stop(self, reason: str = "interrupted") -> None:
        """Stop taking up new prompts; prompts already taken up finish (or are cancelled)."""
        if not self._stopping:
            self._stopping = True
            self.progress.stopped = reason

    async def warm_up(self) -> None:
        """Open a connection per worker now, so that timing starts with a warm pool (see
        ``wire.open_connections``); a sweep calls it before each cell."""
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
        input_estimate = self._tokenizer.count_chat(prompt.messages)
        max_tokens = prompt.max_tokens or settings.max_tokens
        reserve = self._reserve_budget(input_estimate, max_tokens)
        if reserve is None:
            return None
        charge = input_estimate + (max_tokens or ASSUMED_OUTPUT_TOKENS)
        attempts = rate_limited = 0
        backoff_s = 0.0
        try:
            while True:
                await self._wait_for_turn(charge)
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
                    self._pace_to(attempt.limits)
                if attempt.kind == retry.AUTH:
                    self.stop("auth")  # every other prompt would fail the same way
                delay = self._retry_delay(attempt, attempts, queued)
                if delay is None:
                    break
                self.progress.retries += 1
                backoff_s += delay
                await asyncio.sleep(delay)
        finally:
            self._reserved_usd -= reserve
        return self._record(
            prompt, queued, attempt, attempts, rate_limited, backoff_s, input_estimate
        )

    def _reserve_budget(self, input_tokens: int, max_tokens: int | None) -> Decimal | None:
        """Hold this request's worst-case cost, or stop if it would break ``--max-cost``."""
        cap = self.settings.max_cost_usd
        if cap is None or self._cost_fn is None:
            return Decimal(0)
        if max_tokens is None:
            raise UsageError("--max-cost needs --max-tokens (or max_tokens on every prompt)")
        worst = self._cost_fn(input_tokens, max_tokens, 0)
        if self.progress.cost_usd + self._reserved_usd + worst > cap:
            self.stop("budget")
            return None
        self._reserved_usd += worst
        return worst

    def _pace_to(self, limits: retry.Limits | None) -> None:
        """After a 429, pace to the limits the server advertises where the user set none.

        Retrying on hints alone, a pool of workers hits the limit again as soon as the budget
        refills and most of its attempts are wasted; a limiter at the server's own rate avoids
        the collisions. The user's --rpm/--tpm, when given, are never overridden.
        """
        if limits is None:
            return
        rpm, tpm = limits.requests_per_minute, limits.tokens_per_minute
        share = self.settings.pace_share
        if rpm and self._rpm is None:
            self._rpm = _limiter(rpm / share, 0.0)
            self.progress.paced_rpm = rpm
        if tpm and self._tpm is None:
            self._tpm = _limiter(tpm / share, 0.1)
            self.progress.paced_tpm = tpm

    async def _wait_for_turn(self, charge_tokens: int) -> None:
        """Wait out any 429 pause and the RPM/TPM limiters."""
        await self._sleep_out_pause()
        if self._rpm is not None:
            await self._rpm.acquire(1)
        if self._tpm is not None:
            # acquire(n) raises when n exceeds the bucket: take a large charge in bucket-sized
            # pieces. There is no refund, matching servers that charge max_tokens up front.
            left = float(charge_tokens)
            while left > 0:
                piece = min(left, self._tpm.max_rate)
                await self._tpm.acquire(piece)
                left -= piece
        await self._sleep_out_pause()

    async def _sleep_out_pause(self) -> None:
        while (remaining := self._pause_until - self._clock()) > 0:
            await asyncio.sleep(remaining)

    def _retry_delay(self, attempt: Attempt, attempts: int, queued: float) -> float | None:
        """Seconds to wait before retrying, or None when this attempt is the last."""
        if attempt.ok or not attempt.retryable or self._stopping:
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
            pause_s = attempt.hint_s if attempt.hint_s is not None else delay
            self._pause_until = max(self._pause_until, now + pause_s)
        return delay

    def _record(
        self,
        prompt: Prompt,
        queued: float,
        attempt: Attempt,
        attempts: int,
        rate_limited: int,
        backoff_s: float,
        input_estimate: int,
    ) -> Record:
        reported = attempt.input_tokens is not None and attempt.output_tokens is not None
        input_tokens = attempt.input_tokens if attempt.input_tokens is not None else input_estimate
        if attempt.output_tokens is not None:
            output_tokens = attempt.output_tokens
        else:
            output_tokens = self._tokenizer.count_text(attempt.text) if attempt.text else 0
        if not (attempt.ok or reported):
            input_tokens = output_tokens = 0  # a failed attempt is billed only if usage says so
        cost = None
        if self._cost_fn is not None:
            cost = self._cost_fn(input_tokens, output_tokens, attempt.cached_input_tokens)
        ttft = None
        if attempt.first_token_at_s is not None:
            ttft = attempt.first_token_at_s - attempt.started_at_s
        dispatch_lag = None
        if attempt.sent_at_s is not None:
            dispatch_lag = max(0.0, attempt.sent_at_s - attempt.started_at_s - attempt.connect_s)
        return Record(
            prompt_id=prompt.id,
            model=self.settings.model,
            concurrency=self.settings.concurrency,
            repeat=self.settings.repeat,
            status=attempt.kind,
            http_status=attempt.http_status,
            attempts=attempts,
            rate_limited=rate_limited,
            error=attempt.error,
            queued_at_s=queued,
            started_at_s=attempt.started_at_s,
            first_token_at_s=attempt.first_token_at_s,
            ended_at_s=attempt.ended_at_s,
            latency_s=attempt.ended_at_s - attempt.started_at_s,
            ttft_s=ttft,
            retry_wait_s=backoff_s,
            queue_wait_s=attempt.started_at_s - queued,
            timed_attempt=attempts,
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            cached_input_tokens=attempt.cached_input_tokens,
            usage_reported=reported,
            cost_usd=None if cost is None else str(cost),
            sent_at_s=attempt.sent_at_s,
            connect_s=attempt.connect_s,
            dispatch_lag_s=dispatch_lag,
            max_tokens=prompt.max_tokens or self.settings.max_tokens,
            response_text=attempt.text if self.settings.keep_text else None,
        )
