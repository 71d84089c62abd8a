"""Live counters of one run, for a progress display; the records remain the truth."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from llmsweep.store.records import Record, Span


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
    possibly_billed_usd: Decimal = Decimal(0)  # Record.possibly_billed: apart from cost_usd
    stopped: str | None = None  # why dispatching stopped early: "budget", "interrupted", "auth"
    paced_rpm: int | None = None  # limits adopted from the server's 429 headers (Pacer.adopt)
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
        self.possibly_billed_usd += record.possibly_billed

    @property
    def spent_usd(self) -> Decimal:
        """What a budget counts as spent (``Record.spent``, summed)."""
        return self.cost_usd + self.possibly_billed_usd
