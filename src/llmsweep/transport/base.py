"""The transport contract: what the engine asks of a transport, and what one attempt gives back.

Apart from every transport (as httpx keeps its ``BaseTransport`` apart from its transports) so
that the engine, the factory and the tests depend on this small module, never on a transport's
HTTP library. Every failure comes back as an ``Attempt`` value, never as an exception.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from llmsweep.transport import classify as retry

if TYPE_CHECKING:
    from llmsweep.transport.tracing import WireTimes


@dataclass(frozen=True)
class Attempt:
    """One HTTP attempt's outcome. ``kind`` is "ok" or an error kind from ``transport.classify``."""

    kind: str
    retryable: bool
    http_status: int | None
    error: str | None
    hint_s: float | None  # the server's retry hint, when it gave one
    text: str | None
    input_tokens: int | None  # None: the answer carried no usage
    output_tokens: int | None
    cached_input_tokens: int
    started_at_s: float
    first_token_at_s: float | None
    ended_at_s: float
    limits: retry.Limits | None = None  # the rate limits the answer's headers stated, if any
    sent_at_s: float | None = None  # when the request was fully written; None: never (or unknown)
    # Time spent opening a new connection for it (0: one was reused), and on any pooled ones
    # the server had closed before it (``stale_connection_resends``).
    connect_s: float = 0.0
    # Streams: when each non-empty content chunk arrived (the first is ``first_token_at_s``).
    chunk_at_s: tuple[float, ...] = ()
    answered_model: str | None = None  # the answer's ``model`` field; None: it had none
    # Times it went out again at once, on a new connection, because the pooled connection it
    # first took had been closed by the server before any answer (not a retry: see http.py).
    stale_connection_resends: int = 0
    # A failed stream: the answer's text that had arrived before it broke ("" if none).
    received_text: str = ""

    @property
    def ok(self) -> bool:
        return self.kind == "ok"

    @property
    def possibly_billed(self) -> bool:
        """A failed attempt the provider may still charge for: the request was all sent, no
        error status refused it, and then it timed out or was cut (the server may have
        generated all the while), with no usage to say what it cost. An attempt refused with a
        status (429, 5xx, 4xx) or never sent is not billed."""
        refused = self.http_status is not None and self.http_status >= 400
        return not (self.ok or refused or self.sent_at_s is None or self.input_tokens is not None)


def failed_attempt(
    verdict: retry.Classified,
    http_status: int | None,
    error: str,
    *,
    hint_s: float | None,
    started_at_s: float,
    first_token_at_s: float | None,
    ended_at_s: float,
    wire: WireTimes | None = None,
    received_text: str = "",
) -> Attempt:
    """An attempt that got no usable answer (``error`` must already be free of secrets); the
    limits are those its answer's head stated, if a head came, whatever became of the body."""
    return Attempt(
        kind=verdict.kind,
        retryable=verdict.retryable,
        http_status=http_status,
        error=error,
        hint_s=hint_s,
        text=None,
        input_tokens=None,
        output_tokens=None,
        cached_input_tokens=0,
        started_at_s=started_at_s,
        first_token_at_s=first_token_at_s,
        ended_at_s=ended_at_s,
        limits=wire.limits if wire is not None else None,
        sent_at_s=wire.sent_at_s if wire is not None else None,
        connect_s=wire.connect_s if wire is not None else 0.0,
        stale_connection_resends=wire.stale_connection_resends if wire is not None else 0,
        received_text=received_text,
    )


class Transport(Protocol):
    async def send(
        self, model: str, messages: list[dict[str, Any]], max_tokens: int | None, stream: bool
    ) -> Attempt: ...

    async def warm_up(self, connections: int) -> None: ...

    async def aclose(self) -> None: ...


def redact(text: str, secret: str) -> str:
    """Remove a secret from a message that might echo it (some servers quote the bad key)."""
    if len(secret) >= 4 and secret in text:
        return text.replace(secret, "***")
    return text
