"""When the next request may go out: the client's RPM/TPM limits and the pause after a 429.

One class, one job, one clock for every wait (as aiolimiter's leaky bucket): every worker of a
run asks the same ``Pacer`` for its turn.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from aiolimiter import AsyncLimiter

from llmsweep.transport.classify import Limits


def _limiter(per_minute: float, bucket_s: float) -> AsyncLimiter:
    # aiolimiter lets a full bucket through at once, so a bucket of a minute's worth would burst
    # far past the rate; a bucket of ``bucket_s`` keeps it smooth. At least 1, since acquire(n)
    # raises when n exceeds the bucket.
    capacity = max(1.0, per_minute / 60 * bucket_s)
    return AsyncLimiter(capacity, capacity * 60 / per_minute)


class Pacer:
    """RPM and TPM limiters (either may be absent) and a pause every worker waits out."""

    def __init__(
        self,
        rpm: float | None,
        tpm: float | None,
        *,
        share: int = 1,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        # One request at a time for RPM (perfectly smooth); a tenth of a second's worth for TPM,
        # charged in bucket-sized pieces.
        self._rpm = _limiter(rpm, 0.0) if rpm else None
        self._tpm = _limiter(tpm, 0.1) if tpm else None
        self._share = share  # processes sharing the API key: each paces to its share
        self._clock = clock
        self._pause_until_s = 0.0

    def pause_until(self, when_s: float) -> None:
        """Hold every worker until ``when_s`` (this pacer's clock), e.g. a 429's hint."""
        self._pause_until_s = max(self._pause_until_s, when_s)

    def adopt(self, limits: Limits | None) -> tuple[int | None, int | None]:
        """After a 429, pace to the limits the server advertises where the user set none;
        returns the (RPM, TPM) adopted now.

        Retrying on hints alone, a pool of workers hits the limit again as soon as the budget
        refills and most of its attempts are wasted; a limiter at the server's own rate avoids
        the collisions. The user's --rpm/--tpm, when given, are never overridden.
        """
        if limits is None:
            return None, None
        rpm, tpm = limits.requests_per_minute, limits.tokens_per_minute
        adopted_rpm = adopted_tpm = None
        if rpm and self._rpm is None:
            self._rpm, adopted_rpm = _limiter(rpm / self._share, 0.0), rpm
        if tpm and self._tpm is None:
            self._tpm, adopted_tpm = _limiter(tpm / self._share, 0.1), tpm
        return adopted_rpm, adopted_tpm

    def idle(self) -> bool:
        """True when a turn needs no wait at all: no limiter and no pause."""
        return self._rpm is None and self._tpm is None and self._pause_until_s <= self._clock()

    async def wait_for_turn(self, charge_tokens: int) -> None:
        """Wait out any pause and the RPM/TPM limiters."""
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
        while (remaining := self._pause_until_s - self._clock()) > 0:
            await asyncio.sleep(remaining)
