"""One record per prompt: the single source of truth for everything computed after a run.

Records hold raw monotonic timestamps (``time.monotonic()``-style seconds, comparable only within
one run on one machine) plus derived durations, so stats and reports are pure functions of
``records.jsonl`` and re-render without re-running anything.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, fields
from decimal import Decimal
from itertools import pairwise
from typing import Any

from llmsweep.settings import CostFn

# Status values. "ok" succeeded; every other value names why the prompt finally failed.
OK = "ok"
# A stop (a budget, Ctrl-C) came before this prompt's retry; it is recorded only because an
# attempt may have been billed (Record.possibly_billed_usd): not a failure of the API.
STOPPED = "stopped"
CellKey = tuple[str, int, int]  # (model, concurrency, repeat): one sweep cell


@dataclass(frozen=True)
class Record:
    """The final outcome of one prompt.

    Timings (``started_at_s``, ``first_token_at_s``, ``ended_at_s``, ``latency_s``, ``ttft_s``)
    cover the *last* attempt only (``timed_attempt`` says which); time lost to earlier attempts
    and to backoff is in ``retry_wait_s`` and in ``total_s`` = ended - queued. Latency starts
    when the request was allowed out; ``dispatch_lag_s`` is how much of it this client spent
    before the request was on the wire (event loop, pool, request building), new connections
    excluded (``connect_s``), so a busy client shows up as itself rather than as the API.
    """

    prompt_id: str
    model: str
    concurrency: int
    repeat: int
    status: str  # "ok" or an error kind, e.g. "rate_limited", "server_error", "timeout"
    http_status: int | None  # of the last attempt; None when no HTTP answer came
    attempts: int  # requests actually sent for this prompt (retries = attempts - 1)
    rate_limited: int  # how many of those attempts were answered 429
    error: str | None  # last attempt's error, without secrets
    queued_at_s: float  # monotonic: when the prompt was taken up by a worker
    started_at_s: float  # monotonic: when the last attempt went out (after limits and pauses)
    first_token_at_s: float | None  # monotonic: first non-empty content chunk (streaming)
    ended_at_s: float  # monotonic: when the last attempt finished
    latency_s: float  # ended - started, last attempt
    ttft_s: float | None  # first token - started, last attempt, streaming only
    retry_wait_s: float  # seconds this prompt slept in backoff (server hints included)
    queue_wait_s: float  # started - queued: limiter, pause and backoff time before the last send
    timed_attempt: int  # which attempt (1-based) the timings cover
    input_tokens: int  # from the API's usage, else our own count; 0 for a failure without usage
    output_tokens: int
    cached_input_tokens: int
    usage_reported: bool  # False: the API gave no usage; ok records then carry our own counts
    cost_usd: str | None  # exact Decimal as a string; None when no price is known
    # When the last attempt really went out (files written before these fields read as unknown).
    sent_at_s: float | None = None  # monotonic: its request fully written; None: never/unknown
    # Seconds it spent opening a new connection (0: one was reused), and on any pooled ones
    # the server had closed before it (``stale_connection_resends``).
    connect_s: float = 0.0
    dispatch_lag_s: float | None = None  # sent - started - connect: the client's own delay
    max_tokens: int | None = None  # the max_tokens asked (rate limiters charge it up front)
    response_text: str | None = None
    # Why each earlier attempt of this prompt failed, in order (an ok record keeps them too):
    # ``retry_causes`` holds their kinds ("rate_limited", "timeout", ...), ``retry_errors`` the
    # matching messages, without secrets. Empty when the first attempt was the last.
    retry_causes: tuple[str, ...] = ()
    retry_errors: tuple[str, ...] = ()
    # Streams: the gaps between successive content chunks of the last attempt, in ms rounded to
    # 0.1 ms (``chunk_gaps_ms``): enough for inter-token latency (ITL) percentiles over a whole
    # cell, at about six bytes a chunk. Empty when not streamed or with fewer than two chunks.
    chunk_gaps_ms: tuple[float, ...] = ()
    answered_model: str | None = None  # the answer's own ``model`` field; None: none given
    # Sends repeated at once, over all attempts, because a pooled connection turned out closed
    # by the server before any answer (transport.base.Attempt); not retries, no backoff.
    stale_connection_resends: int = 0
    # The account's rate limits as the API's x-ratelimit-limit-requests/-tokens headers stated
    # them on this prompt's last attempt that carried them (per minute); None: never stated.
    limit_rpm: int | None = None
    limit_tpm: int | None = None
    # Attempts the provider may have billed that ``cost_usd`` leaves out: those that timed out
    # or were cut after the request was accepted (transport.base.Attempt.possibly_billed), and
    # earlier failed attempts that reported usage. Each is priced at the pre-run input count
    # (or the usage reported) plus the output tokens that had arrived; the USD is an exact
    # Decimal string, None when there were none or no price is known. Kept apart from the
    # actual spend.
    possibly_billed_attempts: int = 0
    possibly_billed_input_tokens: int = 0
    possibly_billed_output_tokens: int = 0
    possibly_billed_usd: str | None = None
    # The prompt sent (``Prompt.text``): ``run`` keeps it unless --no-prompt-text; a sweep's
    # records leave it out (its prompts are in the file it names).
    prompt_text: str | None = None
    # An open-loop cell (``sweep --rate``): when the prompt was due to be sent (monotonic, as
    # ``engine.arrivals`` scheduled it) at what offered rate; None in a closed-loop cell.
    scheduled_at_s: float | None = None
    offered_rps: float | None = None

    @property
    def ok(self) -> bool:
        return self.status == OK

    @property
    def tpot_s(self) -> float | None:
        """Time per output token after the first: (latency - TTFT) / (output tokens - 1), as
        vLLM's benchmark defines it; None when not streamed or with fewer than two tokens."""
        if self.ttft_s is None or self.output_tokens < 2:
            return None
        return (self.latency_s - self.ttft_s) / (self.output_tokens - 1)

    @property
    def retried(self) -> bool:
        """Whether this prompt needed more than one attempt."""
        return self.attempts > 1

    @property
    def other_model(self) -> str | None:
        """The model that answered, when it is not the one asked for (``same_model``)."""
        answered = self.answered_model
        return None if answered is None or same_model(self.model, answered) else answered

    @property
    def client_queue_s(self) -> float | None:
        """Open loop: how long the prompt waited past its due time for a free slot under the
        client's cap (``queued - scheduled``); the server never saw that wait."""
        return None if self.scheduled_at_s is None else self.queued_at_s - self.scheduled_at_s

    @property
    def since_due_s(self) -> float | None:
        """Open loop: from its due time to done, as the service's user waits (client queueing,
        retries and the request itself); ``latency_s`` is from the send."""
        return None if self.scheduled_at_s is None else self.ended_at_s - self.scheduled_at_s

    @property
    def total_s(self) -> float:
        return self.ended_at_s - self.queued_at_s

    @property
    def cost(self) -> Decimal:
        return Decimal(self.cost_usd) if self.cost_usd is not None else Decimal(0)

    @property
    def possibly_billed(self) -> Decimal:
        """What the attempts in ``possibly_billed_usd`` may have cost (0 when unpriced)."""
        usd = self.possibly_billed_usd
        return Decimal(usd) if usd is not None else Decimal(0)

    @property
    def spent(self) -> Decimal:
        """What a ``--max-cost`` budget counts this prompt as having spent: its actual cost
        and what its other attempts may have been billed."""
        return self.cost + self.possibly_billed

    def to_dict(self) -> dict[str, Any]:
        """Every field by name. Shallow: ``dataclasses.asdict`` deep-copies each value, which
        cost more CPU per record than sending the request did (every field is a scalar, a
        string or a tuple of strings, which JSON and pickle take as they are)."""
        return {name: getattr(self, name) for name in _FIELD_NAMES}

    def to_json(self, *, include_text: bool = True) -> str:
        data = self.to_dict()
        if not include_text:
            data.pop("response_text")
        return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


_FIELD_NAMES = tuple(f.name for f in fields(Record))
_FIELDS = frozenset(_FIELD_NAMES)
# A snapshot's date, as OpenAI names them: gpt-4o-mini-2024-07-18, gpt-4-0613.
_DATED_SUFFIX = re.compile(r"-(\d{4}-\d{2}-\d{2}|\d{4})")


def same_model(asked: str, answered: str) -> bool:
    """Whether ``answered`` names the model asked for: the same name, or the name of one of its
    dated snapshots (OpenAI answers "gpt-4o-mini" as "gpt-4o-mini-2024-07-18"). Anything else
    (llama.cpp answering with its own file name, a proxy routing elsewhere) is another model,
    whose prices may not be the ones asked for."""
    if answered == asked:
        return True
    rest = answered.removeprefix(asked)
    return rest != answered and _DATED_SUFFIX.fullmatch(rest) is not None


def price_change(record: Record, cost_fn: CostFn) -> str | None:
    """How ``cost_fn`` prices ``record``'s tokens otherwise than the record was priced, or
    None: a resume must not mix two price lists in one run's costs."""
    now = cost_fn(record.input_tokens, record.output_tokens, record.cached_input_tokens)
    if record.cost_usd is not None and Decimal(record.cost_usd) == now:
        return None  # compared as numbers: "0.00015" and "0.000150" are one price
    was = "unpriced" if record.cost_usd is None else f"at {record.cost_usd} USD"
    return f"prices: {record.model} prompt {record.prompt_id!r} was {was}, now {now} USD"


_TUPLES = (
    "retry_causes",
    "retry_errors",
    "chunk_gaps_ms",
)  # JSON gives lists; a frozen record keeps tuples


def chunk_gaps_ms(arrivals_s: Sequence[float]) -> tuple[float, ...]:
    """``Record.chunk_gaps_ms`` from the chunks' arrival times (monotonic seconds)."""
    return tuple(round((later - earlier) * 1000, 1) for earlier, later in pairwise(arrivals_s))


def record_from_dict(data: dict[str, Any]) -> Record:
    kept = {k: v for k, v in data.items() if k in _FIELDS}
    for name in _TUPLES:
        if name in kept:
            kept[name] = tuple(kept[name])
    return Record(**kept)


@dataclass
class Span:
    """From the first record's queue time to the last one's end, kept up as records arrive."""

    first_queued_s: float | None = None
    last_ended_s: float | None = None

    def add(self, record: Record) -> None:
        if self.first_queued_s is None or record.queued_at_s < self.first_queued_s:
            self.first_queued_s = record.queued_at_s
        self.last_ended_s = max(self.last_ended_s or record.ended_at_s, record.ended_at_s)

    @property
    def seconds(self) -> float:
        if self.first_queued_s is None or self.last_ended_s is None:
            return 0.0
        return self.last_ended_s - self.first_queued_s


def iter_latest(records: list[Record]) -> Iterator[Record]:
    """The latest record per (model, concurrency, repeat, prompt id), in first-seen order."""
    latest: dict[tuple[str, int, int, str], Record] = {}
    for record in records:
        latest[(record.model, record.concurrency, record.repeat, record.prompt_id)] = record
    yield from latest.values()
