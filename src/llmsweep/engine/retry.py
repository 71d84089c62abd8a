"""How long the engine waits before retrying: capped exponential backoff with full jitter.

An engine concern, not a transport's: a transport reports one attempt and the server's hint;
the engine decides when the next attempt goes. Randomness only through the ``random.Random``
passed in.
"""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class BackoffPolicy:
    """Exponential backoff with full jitter (AWS architecture blog's 'Full Jitter'), capped."""

    base_s: float = 0.5
    cap_s: float = 30.0

    def delay_s(self, retry_number: int, rng: random.Random, hint_s: float | None) -> float:
        """Wait before retry ``retry_number`` (1 = first retry). A server hint is a floor.

        The jitter still grows with each retry on top of a hint: a hint says when the budget
        refills, not that every waiting worker fits in it, so equal hints would make them all
        collide again at the same instant.
        """
        jitter = rng.uniform(0, min(self.cap_s, self.base_s * 2 ** (retry_number - 1)))
        return jitter if hint_s is None else hint_s + jitter
