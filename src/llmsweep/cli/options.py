"""The flags ``run`` and ``sweep`` share (target, engine, prices) and the option groups they
become; the other commands use a few of them (``positive_int``, ``profile_from_flag``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeVar

import click

from llmsweep.cost.pricing import Pricer
from llmsweep.cost.user_prices import pricer_from_flags
from llmsweep.errors import UsageError
from llmsweep.session.target import TargetSpec, self_hosted, spec_from_env
from llmsweep.settings import (
    ASSUMED_OUTPUT_TOKENS,
    CLIENTS,
    DEFAULT_API_KEY_ENV,
    ClientOptions,
    RequestOptions,
    refuse_split_budget,
)
from llmsweep.simulator import (
    BUILTIN_PROFILES,
    Profile,
    SimulatorConfig,
    load_profile,
    published_limits,
)

F = TypeVar("F", bound=Callable[..., Any])


def compose(*decorators: Callable[[F], F]) -> Callable[[F], F]:
    def apply(function: F) -> F:
        for decorator in reversed(decorators):
            function = decorator(function)
        return function

    return apply


def profile_from_flag(value: str | None, flag: str = "--sim-profile") -> Profile | None:
    if value is None:
        return None
    if value in BUILTIN_PROFILES:
        return BUILTIN_PROFILES[value]
    if value.endswith(".toml"):
        try:
            return load_profile(value)
        except ValueError as error:
            raise UsageError(f"{flag}: {error}") from None
    names = ", ".join(sorted(BUILTIN_PROFILES))
    raise UsageError(f"{flag} {value!r}: not a built-in profile ({names}) or a .toml file")


positive_int = click.IntRange(min=1)
positive_float = click.FloatRange(min=0, min_open=True)

target_options = compose(
    click.option(
        "--base-url",
        help="OpenAI-compatible base URL (default: $OPENAI_BASE_URL; "
        "with no URL and no key, the built-in simulator).",
    ),
    click.option(
        "--api-key-env",
        default=DEFAULT_API_KEY_ENV,
        show_default=True,
        help="Environment variable holding the API key (never a flag: keys in "
        "command lines end up in shell history).",
    ),
    click.option(
        "--sim-profile",
        help="Simulator latency profile for every model: a .toml file or one of "
        f"{', '.join(sorted(BUILTIN_PROFILES))} (default: each model's own profile).",
    ),
    click.option(
        "--latency-scale",
        type=positive_float,
        default=1.0,
        show_default=True,
        help="Simulator only: multiply every simulated latency (0.05 = 20x faster).",
    ),
    click.option(
        "--sim-rpm",
        type=click.IntRange(min=0),
        help="Simulator only: server-side requests-per-minute limit (default: each model's "
        "published tier, e.g. OpenAI tier 1 for gpt-4o: 500 RPM, 30,000 TPM; none for the "
        "synthetic profiles). Setting either simulator limit replaces both of the tier's; 0 "
        "is no limit, so 0 turns rate limits off.",
    ),
    click.option(
        "--sim-tpm",
        type=click.IntRange(min=0),
        help="Simulator only: server-side tokens-per-minute limit (default: each model's "
        "published tier, as for the RPM limit); 0 is no limit.",
    ),
)

engine_options = compose(
    click.option(
        "--processes",
        type=positive_int,
        default=ClientOptions.processes,
        show_default=True,
        help="Worker processes per level, each with its share of the concurrency and limits: "
        "for levels one event loop cannot drive (see the client-bound warning).",
    ),
    click.option(
        "--client",
        type=click.Choice(CLIENTS),
        default=ClientOptions.client,
        show_default=True,
        help="http: a lean aiohttp client, the default because the SDK's higher CPU cost per "
        "request would bend the curve at high concurrency (on 2 cores, 256 requests of 1 s in "
        "flight); openai: the official SDK (what production code uses), over its aiohttp "
        "backend.",
    ),
    click.option(
        "--rpm",
        type=positive_float,
        help="Client-side requests-per-minute limit (default: none; after a 429 the client "
        "paces itself to the limit the server states).",
    ),
    click.option(
        "--tpm",
        type=positive_float,
        help="Client-side tokens-per-minute limit (default: none); each attempt is charged "
        f"its prompt tokens + max_tokens, or + {ASSUMED_OUTPUT_TOKENS} without max_tokens.",
    ),
    click.option(
        "--max-retries",
        type=click.IntRange(min=0),
        default=RequestOptions.max_retries,
        show_default=True,
        help="Retries per prompt after its first attempt (429s, 5xx, timeouts, cut streams).",
    ),
    click.option(
        "--timeout",
        "timeout_s",
        type=positive_float,
        default=RequestOptions.timeout_s,
        show_default=True,
        help="Seconds one attempt may take.",
    ),
    click.option(
        "--max-tokens",
        type=positive_int,
        help="max_tokens for prompts that do not set their own (default: none sent; the server "
        f"decides, and estimates assume {ASSUMED_OUTPUT_TOKENS} output tokens).",
    ),
    click.option(
        "--stream/--no-stream",
        default=RequestOptions.stream,
        show_default=True,
        help="Stream answers and measure time to first token.",
    ),
    click.option(
        "--max-cost",
        type=positive_float,
        help="Budget cap in USD: stop dispatching before the projected spend would pass it.",
    ),
    click.option(
        "--seed",
        type=int,
        default=ClientOptions.seed,
        show_default=True,
        help="Seed for jitter, synthetic prompts and the simulator.",
    ),
    click.option(
        "--price-file",
        type=click.Path(dir_okay=False),
        help="TOML prices (USD per million tokens) that add or override models.",
    ),
    click.option(
        "--price-in",
        type=click.FloatRange(min=0),
        help="Input price, USD per million tokens, for --model.",
    ),
    click.option(
        "--price-out",
        type=click.FloatRange(min=0),
        help="Output price, USD per million tokens, for --model.",
    ),
)


@dataclass(frozen=True)
class CommonFlags:
    """The flags ``run`` and ``sweep`` share, as the library's option groups."""

    request: RequestOptions
    client: ClientOptions
    target: TargetSpec
    pricer: Pricer


def common_flags(models: Sequence[str], flags: Mapping[str, Any]) -> CommonFlags:
    """Turn the parsed ``target_options`` and ``engine_options`` into option groups; every
    check that can fail happens here, before anything is sent."""
    max_cost = flags["max_cost"]
    request = RequestOptions(
        rpm=flags["rpm"],
        tpm=flags["tpm"],
        max_retries=flags["max_retries"],
        timeout_s=flags["timeout_s"],
        max_tokens=flags["max_tokens"],
        stream=flags["stream"],
        max_cost_usd=None if max_cost is None else Decimal(str(max_cost)),
    )
    client = ClientOptions(client=flags["client"], processes=flags["processes"], seed=flags["seed"])
    refuse_split_budget(client.processes, request.max_cost_usd)
    simulator = simulator_config(
        models,
        profile_from_flag(flags["sim_profile"]),
        flags["sim_rpm"],
        flags["sim_tpm"],
        seed=client.seed,
        latency_scale=flags["latency_scale"],
    )
    target = spec_from_env(flags["base_url"], flags["api_key_env"], simulator)
    pricer = pricer_from_flags(
        models,
        flags["price_file"],
        flags["price_in"],
        flags["price_out"],
        self_hosted=self_hosted(target),
    )
    return CommonFlags(request, client, target, pricer)


def simulator_config(
    models: Sequence[str],
    profile: Profile | None,
    rpm: int | None,
    tpm: int | None,
    *,
    seed: int,
    latency_scale: float,
) -> SimulatorConfig:
    """The simulator ``--sim-rpm``/``--sim-tpm`` ask for: neither given, each model's published
    tier (``published_limits``); else just those (0: that kind unlimited)."""
    common: dict[str, Any] = {
        "profile": profile,
        "seed": seed,
        "latency_scale": latency_scale,
        "unset_max_tokens_charge": ASSUMED_OUTPUT_TOKENS,
    }
    if rpm is None and tpm is None:
        return SimulatorConfig(model_limits=published_limits(models, profile), **common)
    return SimulatorConfig(rpm=rpm or None, tpm=tpm or None, **common)
