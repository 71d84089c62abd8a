"""When a request really went out, and the connections it went out on.

The runner knows when it *allowed* a request to start; only the HTTP library knows when its bytes
were written and whether a new connection had to be opened first. This module gets that from
each library's tracing (aiohttp's TraceConfig, httpcore's ``trace`` extension) into one
``WireTimes`` per attempt, and opens a pool's connections ahead of a measurement.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # each library is imported by its own transport, never by the other's
    import aiohttp
    import httpx2

Clock = Callable[[], float]


class WireTimes:
    """One attempt's send time and connect time, filled in by the tracing hooks below.

    From allowed-to-start to sent, less any new connection's setup, is the client's own
    dispatch lag (event loop, pool wait, request building): the part of a latency that is ours.
    """

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._connecting_at: float | None = None
        self.sent_at_s: float | None = None
        self.connect_s = 0.0
        # Of the send under way: it went out on a pooled connection; its answer's head came.
        self.reused = False
        self.answered = False
        self.stale_connection_resends = 0
        self._detour_s = 0.0  # time lost to closed pooled connections before this send
        # The answer's headers (the SDK's response hook): a 200 carries the account's rate
        # limits there, and the SDK hands a caller only the parsed body.
        self.response_headers: Mapping[str, str] = {}

    def resending(self, began_at_s: float) -> None:
        """The request goes out again at once: the pooled connection it took was closed.

        The detour since the attempt began counts as getting a connection (``connect_s``),
        not as the client's own delay: its cost is the server's closed connection."""
        self.stale_connection_resends += 1
        self.reused = self.answered = False
        self._connecting_at = None
        self._detour_s = self.connect_s = self._clock() - began_at_s

    def connecting(self) -> None:
        self._connecting_at = self._clock()

    def connected(self) -> None:
        # Measured from the start of the connect each time a stage completes, so TLS after TCP
        # extends the same figure rather than adding a second one.
        if self._connecting_at is not None:
            self.connect_s = self._detour_s + self._clock() - self._connecting_at

    def sent(self) -> None:
        self.sent_at_s = self._clock()

    async def httpcore_trace(self, event: str, info: dict[str, Any]) -> None:
        """httpcore's ``trace`` extension: TCP connect, then TLS, then the request body."""
        if event == "connection.connect_tcp.started":
            self.connecting()
        elif event in ("connection.connect_tcp.complete", "connection.start_tls.complete"):
            self.connected()
        elif event.endswith(".send_request_headers.started"):
            # httpcore says nothing on taking a pooled connection: no connect first means one.
            self.reused = self._connecting_at is None
        elif event.endswith(".send_request_body.complete"):
            self.sent()
        elif event.endswith(".receive_response_headers.complete"):
            self.answered = True


# The attempt being sent in the current task: httpx's request hook finds its WireTimes here,
# since the SDK gives no way to pass a per-request object down to httpcore's trace extension.
_CURRENT_WIRE: ContextVar[WireTimes | None] = ContextVar("llmsweep_wire", default=None)


@contextmanager
def sdk_tracing(wire: WireTimes) -> Iterator[None]:
    """Within this block, the SDK's requests in this task report to ``wire``."""
    token = _CURRENT_WIRE.set(wire)
    try:
        yield
    finally:
        _CURRENT_WIRE.reset(token)


async def trace_httpx_request(request: httpx2.Request) -> None:
    """httpx's ``request`` event hook: hand httpcore the current attempt's ``WireTimes``."""
    wire = _CURRENT_WIRE.get()
    if wire is not None:
        request.extensions["trace"] = wire.httpcore_trace


async def trace_httpx_response(response: httpx2.Response) -> None:
    """httpx's ``response`` event hook: keep the answer's headers on the attempt's
    ``WireTimes`` (called once the head has come, before any of a stream's body)."""
    wire = _CURRENT_WIRE.get()
    if wire is not None:
        wire.response_headers = response.headers


def aiohttp_tracing() -> aiohttp.TraceConfig:
    """aiohttp's tracing, feeding each chat request's ``WireTimes`` (its ``trace_request_ctx``;
    other requests, the warm-up's, carry none)."""
    import aiohttp

    async def connecting(_: object, context: SimpleNamespace, __: object) -> None:
        if isinstance(wire := context.trace_request_ctx, WireTimes):
            wire.connecting()

    async def connected(_: object, context: SimpleNamespace, __: object) -> None:
        if isinstance(wire := context.trace_request_ctx, WireTimes):
            wire.connected()

    async def reused(_: object, context: SimpleNamespace, __: object) -> None:
        if isinstance(wire := context.trace_request_ctx, WireTimes):
            wire.reused = True

    async def sent(_: object, context: SimpleNamespace, __: object) -> None:
        if isinstance(wire := context.trace_request_ctx, WireTimes):
            wire.sent()  # the body's last chunk is the last one to fire

    config = aiohttp.TraceConfig()
    config.on_connection_create_start.append(connecting)
    config.on_connection_create_end.append(connected)
    config.on_connection_reuseconn.append(reused)
    config.on_request_chunk_sent.append(sent)
    return config


async def open_connections(
    connections: int,
    request: Callable[[], Awaitable[object]],
    failures: tuple[type[Exception], ...],
) -> None:
    """Open up to ``connections`` pooled connections by making that many requests at once.

    A benchmark's warm-up, as load generators such as wrk do before their clock starts: a
    cell's first requests would otherwise also pay for opening every connection at once (a
    burst that costs a Python client about 0.3 ms of CPU per connection here, more with TLS).
    Any answer opens the connection, so ``failures`` (the transport's own) are ignored: a
    target that cannot be reached says so in the run itself. Anything else is raised: a
    cancellation, an interrupt or a bug of ours.
    """
    results = await asyncio.gather(*(request() for _ in range(connections)), return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException) and not isinstance(result, failures):
            raise result
