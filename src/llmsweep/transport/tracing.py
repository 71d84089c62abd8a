"""When a request really went out, the connections it went out on, and what its answer's head
said of the rate limits.

The runner knows when it *allowed* a request to start; only the HTTP library knows when its bytes
were written and whether a new connection had to be opened first. This module gets that from
aiohttp's tracing (both transports send over aiohttp; the SDK through its aiohttp backend) into
one ``WireTimes`` per attempt, and opens a pool's connections ahead of a measurement. The head's
limits are read there too: it is the one place that sees every answer's head before its body,
so a 200 whose body then breaks still says what limits it stated (the SDK's ``post`` reads a
whole answer's body before it hands back the head).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from types import SimpleNamespace
from typing import TYPE_CHECKING

from llmsweep.transport.classify import Limits, advertised_limits

if TYPE_CHECKING:  # imported by the transports, so that ``--help`` loads no HTTP library
    import aiohttp

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
        self.limits: Limits | None = None  # the rate limits the answer's head stated, if any
        self.stale_connection_resends = 0
        self._detour_s = 0.0  # time lost to closed pooled connections before this send

    def resending(self, began_at_s: float) -> None:
        """The request goes out again at once: the pooled connection it took was closed.

        The detour since the attempt began counts as getting a connection (``connect_s``),
        not as the client's own delay: its cost is the server's closed connection."""
        self.stale_connection_resends += 1
        self.reused = self.answered = False
        self.limits = None
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


# The attempt being sent in the current task: aiohttp's trace hooks find its WireTimes here when
# the request carries none, since the SDK gives no way to pass a per-request object down to the
# aiohttp session under it (its hooks run in the sending task).
_CURRENT_WIRE: ContextVar[WireTimes | None] = ContextVar("llmsweep_wire", default=None)


@contextmanager
def sdk_tracing(wire: WireTimes) -> Iterator[None]:
    """Within this block, the SDK's requests in this task report to ``wire``."""
    token = _CURRENT_WIRE.set(wire)
    try:
        yield
    finally:
        _CURRENT_WIRE.reset(token)


def _wire_of(context: SimpleNamespace) -> WireTimes | None:
    """The request's own ``WireTimes`` (the lean client's ``trace_request_ctx``), else the one
    of the SDK request being sent in this task; None for others (the warm-up's)."""
    wire = context.trace_request_ctx
    return wire if isinstance(wire, WireTimes) else _CURRENT_WIRE.get()


def aiohttp_tracing() -> aiohttp.TraceConfig:
    """aiohttp's tracing, feeding each chat request's ``WireTimes``."""
    import aiohttp

    async def connecting(_: object, context: SimpleNamespace, __: object) -> None:
        if wire := _wire_of(context):
            wire.connecting()

    async def connected(_: object, context: SimpleNamespace, __: object) -> None:
        if wire := _wire_of(context):
            wire.connected()

    async def reused(_: object, context: SimpleNamespace, __: object) -> None:
        if wire := _wire_of(context):
            wire.reused = True

    async def sent(_: object, context: SimpleNamespace, __: object) -> None:
        if wire := _wire_of(context):
            wire.sent()  # the body's last chunk is the last one to fire

    async def answered(
        _: object, context: SimpleNamespace, end: aiohttp.TraceRequestEndParams
    ) -> None:
        if wire := _wire_of(context):
            wire.answered = True  # aiohttp ends a request once the answer's head is read
            wire.limits = advertised_limits(end.response.headers)

    config = aiohttp.TraceConfig()
    config.on_connection_create_start.append(connecting)
    config.on_connection_create_end.append(connected)
    config.on_connection_reuseconn.append(reused)
    config.on_request_chunk_sent.append(sent)
    config.on_request_end.append(answered)
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


async def list_models(
    session: aiohttp.ClientSession, url: str, headers: dict[str, str] | None = None
) -> None:
    """The warm-up's request (``open_connections``): ``GET /models`` read to its end, no tokens."""
    async with session.get(url, headers=headers) as response:
        await response.read()
