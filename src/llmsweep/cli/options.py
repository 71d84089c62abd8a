"""Options and plumbing shared by the commands: targets, engine flags, prices, signals."""

from __future__ import annotations

import asyncio
import shlex
import signal
import sys
from collections.abc import Callable, Coroutine, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import click

from llmsweep.cli.app import err
from llmsweep.cost.pricing import Pricer, load_price_file, user_price
from llmsweep.errors import UsageError
from llmsweep.session.target import TargetSpec, public_url, spec_from_env
from llmsweep.simulator import (
    BUILTIN_PROFILES,
    Profile,
    SimulatorConfig,
    load_profile,
)
from llmsweep.transport import CLIENTS

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")
GRACE_S = 5.0  # after a first Ctrl-C, how long in-flight requests get to finish


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
        default="OPENAI_API_KEY",
        show_default=True,
        help="Environment variable holding the API key (never a flag: keys in "
        "command lines end up in shell history).",
    ),
    click.option(
        "--sim-profile",
        help="Simulator latency profile for every model: a built-in "
        "name or a .toml file (default: each model's own built-in profile).",
    ),
    click.option(
        "--latency-scale",
        type=positive_float,
        default=1.0,
        show_default=True,
        help="Simulator only: multiply every simulated latency (0.05 = 20x faster).",
    ),
    click.option("--sim-rpm", type=positive_int, help="Simulator only: server-side RPM limit."),
    click.option("--sim-tpm", type=positive_int, help="Simulator only: server-side TPM limit."),
)

engine_options = compose(
    click.option(
        "--processes",
        type=positive_int,
        default=1,
        show_default=True,
        help="Worker processes per level, each with its share of the concurrency and limits: "
        "for levels one event loop cannot drive (see the client-bound warning).",
    ),
    click.option(
        "--client",
        type=click.Choice(CLIENTS),
        default="openai",
        show_default=True,
        help="openai: the official SDK (what production code uses); http: a lean aiohttp "
        "client, for fast servers where the SDK's CPU cost would set the curve.",
    ),
    click.option("--rpm", type=positive_float, help="Client-side requests-per-minute limit."),
    click.option(
        "--tpm",
        type=positive_float,
        help="Client-side tokens-per-minute limit "
        "(charges estimated prompt tokens + max tokens per attempt).",
    ),
    click.option(
        "--max-retries",
        type=click.IntRange(min=0),
        default=6,
        show_default=True,
        help="Retries per prompt after its first attempt (429s, 5xx, timeouts, cut streams).",
    ),
    click.option(
        "--timeout",
        "timeout_s",
        type=positive_float,
        default=120.0,
        show_default=True,
        help="Seconds one attempt may take.",
    ),
    click.option(
        "--max-tokens", type=positive_int, help="max_tokens for prompts that do not set their own."
    ),
    click.option(
        "--stream/--no-stream",
        default=False,
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
        default=0,
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


def make_pricer(
    models: list[str], price_file: str | None, price_in: float | None, price_out: float | None
) -> Pricer:
    overrides = dict(load_price_file(price_file)) if price_file else {}
    if (price_in is None) != (price_out is None):
        raise UsageError("--price-in and --price-out go together")
    if price_in is not None and price_out is not None:
        if len(models) != 1:
            raise UsageError("--price-in/--price-out need exactly one --model")
        overrides[models[0]] = user_price(price_in, price_out)
    pricer = Pricer(overrides)
    for model in models:
        pricer.pricing(model)  # unknown model: fail now, with close names, before any request
    return pricer


def target_spec(
    base_url: str | None,
    api_key_env: str,
    sim_profile: str | None,
    latency_scale: float,
    sim_rpm: int | None,
    sim_tpm: int | None,
    seed: int,
) -> TargetSpec:
    config = SimulatorConfig(
        profile=profile_from_flag(sim_profile),
        rpm=sim_rpm,
        tpm=sim_tpm,
        seed=seed,
        latency_scale=latency_scale,
    )
    return spec_from_env(base_url, api_key_env, config)


def run_async(
    main: Callable[[], Coroutine[Any, Any, T]],
    on_first_signal: Callable[[], None],
) -> T:
    """Run ``main`` with SIGINT/SIGTERM handled: the first winds down, the second cancels."""

    async def wrapper() -> T:
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        assert task is not None
        signals = 0

        def handle() -> None:
            nonlocal signals
            signals += 1
            if signals == 1:
                err(
                    "llmsweep: stopping: finishing requests in flight "
                    f"(up to {GRACE_S:g} s; signal again to stop now)"
                )
                on_first_signal()
                loop.call_later(GRACE_S, task.cancel)
            else:
                task.cancel()

        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, handle)
        return await main()

    return asyncio.run(wrapper())


def command_line(extra: Sequence[str] = (), *, drop: Sequence[str] = ()) -> str:
    """This command as typed, for reports and resume hints; URLs lose any user:password."""
    args = [public_url(a) if "://" in a else a for a in sys.argv[1:] if a not in drop]
    return shlex.join(["llmsweep", *args, *extra])


def resume_command(out: Path, out_flag: str = "--out") -> str:
    extra = [] if "--resume" in sys.argv else ["--resume"]
    if out_flag not in sys.argv:
        extra += [out_flag, str(out)]
    return command_line(extra, drop=["--force"])  # --force would throw the records away


def price(
    pricer: Pricer, model: str, input_tokens: int, output_tokens: int, cached: int
) -> Decimal:
    """A model's actual cost from usage; partial() of it is the engine's cost function."""
    return pricer.cost_usd(
        model, input_tokens=input_tokens, output_tokens=output_tokens, cached_input_tokens=cached
    )
