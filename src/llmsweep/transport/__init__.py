"""Transports: one chat request attempt each, through the OpenAI SDK or a lean aiohttp client.

The contract is in ``base``; ``make_transport`` is the one place that imports a concrete
transport, and only the one asked for, so openai loads only for ``--client openai``; both send
over aiohttp, and ``--help`` loads no HTTP library.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Protocol

from llmsweep.errors import UsageError
from llmsweep.settings import CLIENTS

if TYPE_CHECKING:
    from llmsweep.transport.base import Transport
    from llmsweep.transport.tracing import Clock


class _TransportClass(Protocol):
    def __call__(
        self, *, base_url: str, api_key: str, concurrency: int, timeout_s: float, clock: Clock
    ) -> Transport: ...


def make_transport(
    client: str, *, base_url: str, api_key: str, concurrency: int, timeout_s: float
) -> Transport:
    transport_class = _transport_class(client)
    return transport_class(
        base_url=base_url,
        api_key=api_key,
        concurrency=concurrency,
        timeout_s=timeout_s,
        clock=time.monotonic,
    )


def _transport_class(client: str) -> _TransportClass:
    if client == "openai":
        from llmsweep.transport.sdk import OpenAITransport

        return OpenAITransport
    if client == "http":
        from llmsweep.transport.http import HttpTransport

        return HttpTransport
    raise UsageError(f"--client {client!r}: expected one of {', '.join(CLIENTS)}")


async def probe(base_url: str, api_key: str, *, timeout_s: float = 5.0) -> None:
    """Fail fast, before any prompt is sent, on a target that cannot be used at all.

    One ``GET /models`` over aiohttp (never the SDK: ``--client http`` would pay for its
    import), imported only when a real target is probed.
    """
    from llmsweep.transport.http import probe as http_probe

    await http_probe(base_url, api_key, timeout_s=timeout_s)
