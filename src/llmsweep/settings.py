"""Every setting a run or a sweep takes, with its default, defined once.

The command line, the library API, the sweep's metadata and the engine all read these option
groups; none of them restates a default. ``charged_tokens`` is the one rule for what a request
is charged against a tokens-per-minute limit: the engine's limiter charges it, the rate-limit
ceiling divides by it and the cost estimate assumes the same output.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, fields
from decimal import Decimal
from typing import Any

from llmsweep.errors import UsageError

# Without max_tokens a limiter still has to charge *something* for the answer, and an estimate
# has to assume some output: both take this (the server may charge more, and answer longer).
ASSUMED_OUTPUT_TOKENS = 256

# What a request cost, from its usage: (input, output, cached input tokens) -> USD.
CostFn = Callable[[int, int, int], Decimal]

# ``http``: the lean aiohttp client, the default. ``openai``: the official SDK, what production
# code uses; even over its aiohttp backend, with raw answers and its request built once, it
# costs 1.2-2x the lean client's CPU per request, and with 256 requests of 1 s in flight on 2
# cores it stretched the run 12% past a bare aiohttp loop (the lean client 3%): it would bend
# the curve there instead of the API (reports/benchmarks.md, issue 14).
CLIENTS = ("openai", "http")
DEFAULT_API_KEY_ENV = "OPENAI_API_KEY"
MAX_CONCURRENCY = 256  # the highest level --search may measure, unless --max-concurrency


# Latency targets a recommendation can be held to (``--slo``): the per-level percentiles of
# latency (p50, p95, p99) and of time to first token (ttft_p95, streamed answers only).
# What a sweep varies (SweepConfig.mode): requests in flight, or an open loop's arrival rate.
CONCURRENCY_MODE = "concurrency"
RATE_MODE = "rate"
SLO_METRICS = ("p50", "p95", "p99", "ttft_p95")
_SLO_USAGE = (
    f"expected NAME=SECONDS with NAME one of {', '.join(SLO_METRICS)}, e.g. p95=2.0 (or none)"
)


@dataclass(frozen=True)
class LatencyTarget:
    """One latency target: the level's ``metric`` (one of ``SLO_METRICS``) at most ``max_s``."""

    metric: str
    max_s: float

    def __post_init__(self) -> None:
        if self.metric not in SLO_METRICS:
            raise UsageError(f"--slo {self.metric}={self.max_s:g}: {_SLO_USAGE}")
        # Written so that NaN fails too (every comparison with NaN is false).
        if not (math.isfinite(self.max_s) and self.max_s > 0):
            raise UsageError(f"--slo {self.metric}: seconds must be a positive number")

    def __str__(self) -> str:
        return f"{self.metric} \N{LESS-THAN OR EQUAL TO} {self.max_s:g} s"


def latency_targets(pairs: Iterable[tuple[str, float]]) -> tuple[LatencyTarget, ...]:
    """Targets from (metric, seconds) pairs, in ``SLO_METRICS`` order; a metric given twice is
    refused (which one was meant?)."""
    targets: dict[str, LatencyTarget] = {}
    for metric, max_s in pairs:
        if metric in targets:
            raise UsageError(f"--slo {metric}: given twice; give each target once")
        targets[metric] = LatencyTarget(metric, max_s)
    return tuple(targets[name] for name in SLO_METRICS if name in targets)


def parse_slo(texts: Iterable[str]) -> tuple[LatencyTarget, ...]:
    """``--slo`` values, each one or more comma-separated ``NAME=SECONDS``: ('p95=2',
    'ttft_p95=0.5') or ('p95=2,ttft_p95=0.5'); ('none',) is no target at all."""
    texts = list(texts)
    if [text.strip() for text in texts] == ["none"]:
        return ()
    pairs = []
    for text in texts:
        for part in text.split(","):
            name, equals, seconds = part.strip().partition("=")
            try:
                max_s = float(seconds)
            except ValueError:
                raise UsageError(f"--slo {part.strip()!r}: {_SLO_USAGE}") from None
            if not equals or name.strip() not in SLO_METRICS:
                raise UsageError(f"--slo {part.strip()!r}: {_SLO_USAGE}")
            pairs.append((name.strip(), max_s))
    return latency_targets(pairs)


def charged_tokens(input_tokens: int, max_tokens: int | None) -> int:
    """Tokens a request is charged up front against a TPM limit: input + max_tokens asked."""
    return input_tokens + (max_tokens or ASSUMED_OUTPUT_TOKENS)


@dataclass(frozen=True, kw_only=True)
class RequestOptions:
    """How each request is sent and limited: the engine flags ``run`` and ``sweep`` share."""

    rpm: float | None = None  # client-side limits; None: no limit
    tpm: float | None = None
    max_retries: int = 6  # after the first attempt
    timeout_s: float = 120.0  # one attempt, connect to last byte
    deadline_s: float = 900.0  # one prompt, all attempts and waits included
    max_tokens: int | None = None  # for prompts that do not set their own
    stream: bool = False
    max_cost_usd: Decimal | None = None  # budget cap; None: no cap

    def __post_init__(self) -> None:
        positive = (
            ("--rpm", self.rpm),
            ("--tpm", self.tpm),
            ("--timeout", self.timeout_s),
            ("deadline", self.deadline_s),
            ("--max-cost", self.max_cost_usd),
        )
        for name, value in positive:
            # Written so that NaN fails too (every comparison with NaN is false).
            if value is not None and not (math.isfinite(value) and value > 0):
                raise UsageError(f"{name} must be a positive number, got {value}")
        if self.max_retries < 0:
            raise UsageError("--max-retries must be 0 or more")
        if self.max_tokens is not None and self.max_tokens < 1:
            raise UsageError("--max-tokens must be at least 1")

    def request_fields(self) -> dict[str, Any]:
        """This group's own fields, to build another group that extends it."""
        return {f.name: getattr(self, f.name) for f in fields(RequestOptions)}


@dataclass(frozen=True, kw_only=True)
class ClientOptions:
    """Which client sends, over how many processes, seeded how."""

    client: str = "http"  # not the SDK: see CLIENTS
    processes: int = 1
    seed: int = 0
    # Open each cell's connections before its clock starts (one GET /models per connection, as
    # load generators do); kept in a sweep's config so its report says whether cells started warm.
    warm_up: bool = True

    def __post_init__(self) -> None:
        if self.client not in CLIENTS:
            raise UsageError(f"--client {self.client!r}: choose one of {', '.join(CLIENTS)}")
        if self.processes < 1:
            raise UsageError("--processes must be at least 1")

    def client_fields(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(ClientOptions)}


def refuse_split_budget(processes: int, max_cost: object) -> None:
    """A budget is kept by one engine against its own spending; split over processes it could
    be overspent. Checked before anything is sent."""
    if processes > 1 and max_cost is not None:
        raise UsageError("--max-cost needs one process: a budget cannot be split safely")


def refuse_unbounded_budget(
    max_cost_usd: object, max_tokens: int | None, prompt_id: str, prompt_max_tokens: int | None
) -> None:
    """A budget holds each request's worst case, which needs its max_tokens. Checked for every
    prompt when a run or sweep is planned, so it never fails after some prompts were sent."""
    if max_cost_usd is not None and max_tokens is None and prompt_max_tokens is None:
        raise UsageError(
            f"--max-cost needs --max-tokens (or max_tokens on every prompt; prompt {prompt_id!r} "
            "has none)"
        )


@dataclass(frozen=True, kw_only=True)
class SweepConfig(RequestOptions, ClientOptions):
    """What a sweep runs; stored in its ``meta.json``, so a resume can be checked against it."""

    prompts: str
    models: tuple[str, ...]
    levels: tuple[int, ...]
    repeats: int = 1
    sample: int | None = None
    # Each cell's prompts start with a tag of its own (session.sweep.cell_tag), so a server's
    # prefix cache cannot carry over from one cell to the next.
    unique_prompts: bool = False
    # Latency targets (--slo): the recommendation is then the fastest level meeting them all.
    slo: tuple[LatencyTarget, ...] = ()
    # --search: the sweep chooses its levels (analysis.search), up to max_concurrency; its
    # ``levels`` are then (1,), where it starts.
    search: bool = False
    max_concurrency: int = MAX_CONCURRENCY
    # --rate: an open-loop sweep (engine.arrivals), one cell per rate (requests per second) and
    # model, each cell's ``repeat`` the rate's index; its ``levels`` are then
    # (max_concurrency,), the safety cap on requests in flight. Empty: a concurrency sweep.
    rates: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        RequestOptions.__post_init__(self)
        ClientOptions.__post_init__(self)
        if not self.stream and any(target.metric.startswith("ttft") for target in self.slo):
            raise UsageError(
                "--slo ttft_p95 needs --stream: time to first token is measured on streamed "
                "answers only"
            )
        if not self.models:
            raise UsageError("--model: give at least one model")
        refuse_split_budget(self.processes, self.max_cost_usd)
        if not self.levels or min(self.levels) < 1:
            raise UsageError("--concurrency: levels must be positive integers")
        if self.repeats < 1:
            raise UsageError("--repeats must be at least 1")
        if self.max_concurrency < 1:
            raise UsageError("--max-concurrency must be at least 1")
        if self.search and self.repeats > 1:
            raise UsageError("--search runs each level in rounds of its own: drop --repeats")
        if self.rates:
            self._check_rates()

    @property
    def mode(self) -> str:
        """RATE_MODE for an open-loop sweep (``--rate``), else CONCURRENCY_MODE."""
        return RATE_MODE if self.rates else CONCURRENCY_MODE

    def _check_rates(self) -> None:
        if not all(math.isfinite(rate) and rate > 0 for rate in self.rates):
            raise UsageError("--rate: rates must be positive numbers (requests per second)")
        if self.search:
            raise UsageError("--rate and --search are two modes: give one")
        if self.repeats > 1:
            raise UsageError("--rate runs each rate once: drop --repeats")
        if self.processes > 1:
            raise UsageError("--rate needs one process: one schedule cannot be split")
        if self.levels != (self.max_concurrency,):
            raise UsageError("--rate: the level is the cap, --max-concurrency")

    def cells(self) -> list[tuple[str, int, int]]:
        if self.rates:  # (model, the cap, the rate's index)
            cap = self.max_concurrency
            return [(m, cap, index) for m in self.models for index in range(len(self.rates))]
        return [
            (m, lvl, r) for m in self.models for lvl in self.levels for r in range(self.repeats)
        ]

    def offered_rps(self, cell: tuple[str, int, int]) -> float | None:
        """The arrival rate ``cell`` is offered in a rate sweep; None in a concurrency sweep."""
        return self.rates[cell[2]] if self.rates else None


def parse_rates(text: str) -> tuple[float, ...]:
    """'2,4,8' -> (2.0, 4.0, 8.0): --rate's arrival rates (requests per second), sorted."""
    try:
        rates = {float(part) for part in text.split(",") if part.strip()}
    except ValueError:
        raise UsageError(f"--rate {text!r}: expected requests per second like 2,4,8") from None
    if not rates or not all(math.isfinite(rate) and rate > 0 for rate in rates):
        raise UsageError(f"--rate {text!r}: rates must be positive numbers (requests per second)")
    return tuple(sorted(rates))


def sweep_levels(
    levels_text: str, search: bool, rates: tuple[float, ...], max_concurrency: int
) -> tuple[int, ...]:
    """A sweep's ``levels``: a search starts at 1; a rate sweep's one level is its cap."""
    if rates:
        return (max_concurrency,)
    return (1,) if search else parse_levels(levels_text)


def parse_levels(text: str) -> tuple[int, ...]:
    """'1,2,4,8' -> (1, 2, 4, 8), sorted, with the sequential baseline 1 always included."""
    try:
        levels = {int(part) for part in text.split(",") if part.strip()}
    except ValueError:
        raise UsageError(f"--concurrency {text!r}: expected integers like 1,2,4,8") from None
    if not levels or min(levels) < 1:
        raise UsageError(f"--concurrency {text!r}: levels must be positive integers")
    return tuple(sorted(levels | {1}))
