"""A strictly first-come, first-served limit on requests generated at once.

``asyncio.Semaphore`` lets a newcomer take a slot freed before a queued waiter has resumed;
a model server's queue does not, and queueing delay is exactly what the simulator measures.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from types import TracebackType


class FifoGate:
    """``async with gate:`` holds one of ``slots`` slots; waiters get them in arrival order."""

    __slots__ = ("_free", "_waiters")

    def __init__(self, slots: int) -> None:
        if slots < 1:
            raise ValueError(f"a gate needs at least one slot, got {slots}")
        self._free = slots
        self._waiters: deque[asyncio.Future[None]] = deque()

    async def __aenter__(self) -> None:
        if self._free > 0 and not self._waiters:
            self._free -= 1
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self._release()  # the slot was handed over just as we were cancelled: pass it on
            else:
                with contextlib.suppress(ValueError):  # _release may have dropped it already
                    self._waiters.remove(waiter)
            raise

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._release()

    def _release(self) -> None:
        # Hand the slot straight to the oldest waiter, so nobody can overtake it.
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
        self._free += 1
