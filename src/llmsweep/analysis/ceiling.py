"""The rate-limit ceiling on throughput, and when a measured throughput is at it (pure).

Defined once: the summary draws the ceiling, the client-bound verdict exempts a cell at it, and
the recommendation says it caps throughput, all through ``at_ceiling``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from llmsweep.settings import RequestOptions
from llmsweep.store.meta import SweepMeta, TargetInfo
from llmsweep.store.records import Record

# Throughput within this share of the ceiling (either side) is explained by the ceiling; further
# above it, the limits assumed were not what bounded the run.
AT_CEILING = 0.9


@dataclass(frozen=True)
class RateLimits:
    """The tighter of the client's and the server's limits, where known."""

    rpm: float | None = None
    tpm: float | None = None


NO_LIMITS = RateLimits()


def _tightest(*values: float | None) -> float | None:
    known = [value for value in values if value is not None]
    return min(known) if known else None


def tighter(first: RateLimits, second: RateLimits) -> RateLimits:
    """Each limit the tighter of the two, where either is known."""
    return RateLimits(_tightest(first.rpm, second.rpm), _tightest(first.tpm, second.tpm))


def limits_of(meta: SweepMeta) -> dict[str, RateLimits]:
    """Per model, the client's limits (the sweep's config) against the simulator's own for that
    model (its target's)."""
    return {model: model_limits(meta.config, meta.target, model) for model in meta.config.models}


def model_limits(client: RequestOptions, target: TargetInfo, model: str) -> RateLimits:
    """The tighter of the client's limits and the simulator's for ``model``."""
    return tighter(RateLimits(client.rpm, client.tpm), RateLimits(*target.limits_for(model)))


def stated_limits(records: Iterable[Record]) -> dict[str, RateLimits]:
    """Per model, the account's limits as the API's headers stated them (``Record.limit_rpm``,
    ``limit_tpm``): the last record, in the order given, that carried each. Models whose
    answers stated none are left out."""
    rpm: dict[str, float] = {}
    tpm: dict[str, float] = {}
    for record in records:
        if record.limit_rpm is not None:
            rpm[record.model] = record.limit_rpm
        if record.limit_tpm is not None:
            tpm[record.model] = record.limit_tpm
    return {model: RateLimits(rpm.get(model), tpm.get(model)) for model in sorted({*rpm, *tpm})}


def rate_limit_ceiling_rps(limits: RateLimits, charged_tokens_per_request: float) -> float | None:
    """Most requests per second the limits allow: min(rpm / 60, tpm / 60 / charged tokens),
    with the tokens a request is charged by ``settings.charged_tokens``."""
    bounds = []
    if limits.rpm is not None:
        bounds.append(limits.rpm / 60)
    if limits.tpm is not None and charged_tokens_per_request > 0:
        bounds.append(limits.tpm / 60 / charged_tokens_per_request)
    return min(bounds) if bounds else None


def at_ceiling(throughput_rps: float, ceiling_rps: float | None) -> bool:
    """Whether the ceiling explains this throughput."""
    if ceiling_rps is None or ceiling_rps <= 0:
        return False
    return AT_CEILING <= throughput_rps / ceiling_rps <= 1 / AT_CEILING


def reached_ceiling(throughput_rps: float, ceiling_rps: float | None) -> bool:
    """Whether a level's throughput is at the ceiling or past it: past it, a short run caught
    the burst a limiter allows before it bites (the simulator's bucket holds one second's
    worth), which no longer run can keep up. Either way no higher level can go faster."""
    return at_ceiling(throughput_rps, ceiling_rps) or (
        ceiling_rps is not None and ceiling_rps > 0 and throughput_rps > ceiling_rps
    )
