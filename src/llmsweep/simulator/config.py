"""The simulator's settings, validated when built so a server never starts half-configured."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from llmsweep.simulator.faults import FaultRates
from llmsweep.simulator.profiles import Profile, RateLimit, builtin_profile_for

PromptCounter = Callable[[list[dict[str, object]], str], int]
"""Prompt tokens of a chat request's ``messages`` for ``model``, as ``usage`` reports them."""


@dataclass(frozen=True)
class SimulatorConfig:
    """Everything a simulator instance does differently from another.

    ``api_key`` makes the server check keys (401 otherwise); by default any key is accepted.
    ``profile`` None picks a built-in profile from each request's model (``demo`` when none
    matches). ``latency_scale`` multiplies every simulated delay; 0 answers at once.
    ``rpm``/``tpm`` limit every request; ``model_limits`` instead limits each model it names
    apart (its own buckets per key, as OpenAI limits each model apart): what ``published_limits``
    gives, the default of ``run`` and ``sweep``.
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
    model_limits: Mapping[str, RateLimit] = field(default_factory=dict)
    # What a request without max_tokens is charged for its answer against a TPM limit, up front.
    # None: the profile's max_output_tokens, the most it could answer. ``run`` and ``sweep`` pass
    # the allowance their own limiter and ceiling assume (``llmsweep.settings``), so the
    # simulator charges what the report's ceiling divides by.
    unset_max_tokens_charge: int | None = None

    def __post_init__(self) -> None:
        for label, limit in (("rpm", self.rpm), ("tpm", self.tpm)):
            if limit is not None and (
                isinstance(limit, bool) or not isinstance(limit, int) or limit < 1
            ):
                raise ValueError(f"{label} must be a positive integer, got {limit!r}")
        if self.model_limits and (self.rpm is not None or self.tpm is not None):
            raise ValueError("give rpm/tpm or model_limits, not both")
        charge = self.unset_max_tokens_charge
        if charge is not None and (not isinstance(charge, int) or charge < 1):
            raise ValueError(f"unset_max_tokens_charge must be >= 1, got {charge!r}")
        if not (math.isfinite(self.latency_scale) and self.latency_scale >= 0):
            raise ValueError(f"latency_scale must be >= 0, got {self.latency_scale!r}")
        if not 0 <= self.port <= 65535:
            raise ValueError(f"port must be within 0..65535, got {self.port!r}")
        if self.max_body_bytes < 1:
            raise ValueError(f"max_body_bytes must be >= 1, got {self.max_body_bytes!r}")


def published_limits(models: Iterable[str], profile: Profile | None = None) -> dict[str, RateLimit]:
    """Each model's published tier limits: those of ``profile`` when given (it stands for every
    model), else of the model's built-in profile. Models whose profile has none are left out."""
    limits = {}
    for model in models:
        limit = (profile or builtin_profile_for(model)).rate_limit
        if limit is not None:
            limits[model] = limit
    return limits
