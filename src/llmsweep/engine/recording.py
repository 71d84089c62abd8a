"""What one prompt's attempts become: its one ``Record``, with the tokens and cost of the
attempt it keeps, and apart from them what its other attempts may have been billed."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING

from llmsweep.inputs.prompts import Prompt
from llmsweep.inputs.tokens import Tokenizer
from llmsweep.settings import CostFn
from llmsweep.store.records import Record, chunk_gaps_ms
from llmsweep.transport.base import Attempt

if TYPE_CHECKING:  # the engine's settings; runner.py imports this module
    from llmsweep.engine.runner import RunSettings


class Recorder:
    """Turns a prompt's attempts into its record, under one run's settings and prices."""

    def __init__(self, settings: RunSettings, tokenizer: Tokenizer, cost_fn: CostFn | None) -> None:
        self.settings = settings
        self._tokenizer = tokenizer
        self._cost_fn = cost_fn

    def record(
        self,
        prompt: Prompt,
        queued: float,
        attempt: Attempt,
        attempts: int,
        rate_limited: int,
        backoff_s: float,
        input_estimate: Callable[[], int],
        earlier: list[Attempt],
    ) -> Record:
        """The record of ``prompt``: its last attempt ``attempt`` timed and priced, the
        ``earlier`` ones as retry causes and, where they may have cost, billed apart."""
        reported, input_tokens, output_tokens, cost = self._usage(attempt, input_estimate)
        ttft = None
        if attempt.first_token_at_s is not None:
            ttft = attempt.first_token_at_s - attempt.started_at_s
        # The last the server said of its limits: a failed attempt may have carried none.
        limits = next((a.limits for a in (attempt, *reversed(earlier)) if a.limits), None)
        dispatch_lag = None
        if attempt.sent_at_s is not None:
            dispatch_lag = max(0.0, attempt.sent_at_s - attempt.started_at_s - attempt.connect_s)
        apart = [a for a in earlier if billed_apart(a)]
        apart += [attempt] if attempt.possibly_billed else []  # else its cost is cost_usd
        billed = self._possibly_billed(apart, input_estimate)
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
            retry_causes=tuple(a.kind for a in earlier),
            retry_errors=tuple(a.error or a.kind for a in earlier),
            chunk_gaps_ms=chunk_gaps_ms(attempt.chunk_at_s),
            answered_model=attempt.answered_model,
            stale_connection_resends=sum(a.stale_connection_resends for a in (*earlier, attempt)),
            limit_rpm=limits.requests_per_minute if limits is not None else None,
            limit_tpm=limits.tokens_per_minute if limits is not None else None,
            possibly_billed_attempts=len(apart),
            possibly_billed_input_tokens=sum(tokens[0] for tokens in billed),
            possibly_billed_output_tokens=sum(tokens[1] for tokens in billed),
            possibly_billed_usd=self._price_apart(billed),
            prompt_text=prompt.text if self.settings.keep_prompt_text else None,
        )

    def _usage(
        self, attempt: Attempt, input_estimate: Callable[[], int]
    ) -> tuple[bool, int, int, Decimal | None]:
        """Whether the API reported usage, the input and output tokens, and their cost."""
        reported = attempt.input_tokens is not None and attempt.output_tokens is not None
        input_tokens = attempt.input_tokens
        if input_tokens is None:
            input_tokens = input_estimate()
        if attempt.output_tokens is not None:
            output_tokens = attempt.output_tokens
        else:
            output_tokens = self._tokenizer.count_text(attempt.text) if attempt.text else 0
        if not (attempt.ok or reported):
            input_tokens = output_tokens = 0  # a failed attempt is billed only if usage says so
        cost = None
        if self._cost_fn is not None:
            cost = self._cost_fn(input_tokens, output_tokens, attempt.cached_input_tokens)
        return reported, input_tokens, output_tokens, cost

    def _possibly_billed(
        self, attempts: list[Attempt], input_estimate: Callable[[], int]
    ) -> list[tuple[int, int]]:
        """(input, output) tokens of each attempt billed apart: the usage it reported, else
        the pre-run input count and the output that had arrived."""
        billed = []
        for attempt in attempts:
            input_tokens = attempt.input_tokens
            output_tokens = attempt.output_tokens
            if input_tokens is None:
                input_tokens = input_estimate()
            if output_tokens is None:
                output_tokens = self._tokenizer.count_text(attempt.received_text)
            billed.append((input_tokens, output_tokens))
        return billed

    def _price_apart(self, billed: list[tuple[int, int]]) -> str | None:
        """What attempts billed apart may have cost, each priced on its own (tiers apply per
        request); None when there were none or no price is known."""
        if self._cost_fn is None or not billed:
            return None
        cost_fn = self._cost_fn
        return str(sum((cost_fn(i, o, 0) for i, o in billed), Decimal(0)))


def billed_apart(attempt: Attempt) -> bool:
    """A failed attempt that may have cost something: possibly billed (a timeout or a cut
    after the request was accepted), or one whose usage the server reported."""
    return attempt.possibly_billed or (not attempt.ok and attempt.input_tokens is not None)
