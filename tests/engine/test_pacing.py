"""The pacer: limits the server advertises are adopted once, never over the user's; every
worker waits out a pause on the pacer's own clock."""

from __future__ import annotations

from llmsweep.engine.pacing import Pacer
from llmsweep.transport.classify import Limits


def test_advertised_limits_are_adopted_once_and_never_over_the_users() -> None:
    pacer = Pacer(rpm=None, tpm=None)
    assert pacer.adopt(None) == (None, None)
    assert pacer.adopt(Limits(requests_per_minute=600, tokens_per_minute=None)) == (600, None)
    # Already pacing to requests: a later 429 does not replace that limiter.
    assert pacer.adopt(Limits(requests_per_minute=60, tokens_per_minute=9000)) == (None, 9000)
    user = Pacer(rpm=120.0, tpm=None)
    assert user.adopt(Limits(requests_per_minute=6000, tokens_per_minute=None)) == (None, None)


async def test_a_pause_is_waited_out_on_the_pacers_clock() -> None:
    now = [100.0]
    reads: list[float] = []

    def clock() -> float:
        reads.append(now[0])
        value = now[0]
        now[0] += 0.004  # every look at the clock finds a little time gone by
        return value

    pacer = Pacer(rpm=None, tpm=None, clock=clock)
    await pacer.wait_for_turn(10)  # no pause: one look before the limits, one after
    assert len(reads) == 2
    reads.clear()
    pacer.pause_until(now[0] + 0.01)
    pacer.pause_until(now[0] - 5)  # an earlier pause never shortens a later one
    await pacer.wait_for_turn(10)
    assert reads[-1] >= reads[0] + 0.01  # it looked again until the pause had passed
