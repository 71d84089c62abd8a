"""The simulator's settings, validated when built so a server never starts half-configured."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

from llmsweep.simulator.faults import FaultRates
from llmsweep.simulator.profiles import Profile

PromptCounter = Callable[[list[dict[str, object]], str], int]
"""Prompt tokens of a chat request's ``messages`` for ``model``, as ``usage`` reports them."""


@dataclass(frozen=True)
class SimulatorConfig:
    """Everything a simulator instance does differently from another.

    ``api_key`` makes the server check keys (401 otherwise); by default any key is accepted.
    ``profile`` None picks a built-in profile from each request's model (``demo`` when none
    matches). ``latency_scale`` multiplies every simulated delay; 0 answers at once.
    ``close_after_answer``: each connection carries one answer, though every answer advertises
    keep-alive (as llama.cpp's llama-server does); see ``server.one_answer_per_connection``.
    """

    profile: Profile | None = None
    rpm: int | None = None
    tpm: int | None = None
    quota_exhausted: bool = False
    faults: FaultRates = field(default_factory=FaultRates)
    seed: int = 0
    latency_scale: float = 1.0
    host: str = "127.0.0.1"
    port: int = 0
    max_body_bytes: int = 1_000_000
    api_key: str | None = None  # when set, any other key gets 401 invalid_api_key
    # When set, every answer names this model whatever was asked, as llama-server does.
    answer_model: str | None = None
    close_after_answer: bool = False

    def __post_init__(self) -> None:
        for label, limit in (("rpm", self.rpm), ("tpm", self.tpm)):
            if limit is not None and (
                isinstance(limit, bool) or not isinstance(limit, int) or limit < 1
            ):
                raise ValueError(f"{label} must be a positive integer, got {limit!r}")
        if not (math.isfinite(self.latency_scale) and self.latency_scale >= 0):
            raise ValueError(f"latency_scale must be >= 0, got {self.latency_scale!r}")
        if not 0 <= self.port <= 65535:
            raise ValueError(f"port must be within 0..65535, got {self.port!r}")
        if self.max_body_bytes < 1:
            raise ValueError(f"max_body_bytes must be >= 1, got {self.max_body_bytes!r}")
