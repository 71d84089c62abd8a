"""Injected failures: which kinds exist, how often each happens, and how one is drawn.

Exactly one uniform draw per attempt picks at most one fault, so the rates are exact and
mutually exclusive, and a seed reproduces the same faults for a sequential client.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal, get_args

FaultKind = Literal[
    "error_500",
    "error_503",
    "disconnect",
    "hang",
    "stream_cut",
    "malformed_json",
    "rate_limit_429",
    "rate_limit_429_nohint",
    "missing_usage",
]
FAULT_KINDS: tuple[FaultKind, ...] = get_args(FaultKind)

# Faults answered before any rate limit or capacity slot is taken: they model failures in
# front of the model (gateway, load balancer), so they cost no quota and no generation time.
EARLY_FAULTS: frozenset[FaultKind] = frozenset(
    {"error_500", "error_503", "disconnect", "hang", "rate_limit_429", "rate_limit_429_nohint"}
)


@dataclass(frozen=True)
class FaultRates:
    """Probability of each fault per attempt (each in [0, 1], together at most 1)."""

    error_500: float = 0.0
    error_503: float = 0.0
    disconnect: float = 0.0  # connection closed before any response byte
    hang: float = 0.0  # no answer for hang_s, then the connection is closed
    stream_cut: float = 0.0  # connection closed part-way through the body
    malformed_json: float = 0.0  # status 200, body (or one SSE event) is not valid JSON
    rate_limit_429: float = 0.0  # OpenAI-style 429 with retry-after and reset headers
    rate_limit_429_nohint: float = 0.0  # 429 without any retry-after or reset header
    missing_usage: float = 0.0  # valid answer without usage
    hang_s: float = 3600.0
    retry_after_s: float = 1.0  # the wait an injected rate_limit_429 asks for

    def __post_init__(self) -> None:
        for kind in FAULT_KINDS:
            rate = getattr(self, kind)
            if isinstance(rate, bool) or not isinstance(rate, int | float):
                raise ValueError(f"fault rate {kind} must be a number, got {rate!r}")
            if not 0.0 <= rate <= 1.0:
                raise ValueError(f"fault rate {kind} must be within [0, 1], got {rate!r}")
        if self.total > 1.0 + 1e-9:
            raise ValueError(f"fault rates add up to {self.total:g}, more than 1")
        for label, seconds in (("hang_s", self.hang_s), ("retry_after_s", self.retry_after_s)):
            if not (math.isfinite(seconds) and seconds > 0):
                raise ValueError(f"{label} must be a positive number of seconds, got {seconds!r}")

    @property
    def total(self) -> float:
        return math.fsum(getattr(self, kind) for kind in FAULT_KINDS)

    def pick(self, uniform: float) -> FaultKind | None:
        """The fault a uniform draw in [0, 1) lands on, or None (kinds share [0, 1) in order)."""
        upper = 0.0
        for kind in FAULT_KINDS:
            rate = getattr(self, kind)
            upper += rate
            if rate and uniform < upper:
                return kind
        return None
