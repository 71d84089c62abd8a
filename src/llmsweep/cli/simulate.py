"""``llmsweep simulate``: the simulator as a standalone server."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, TypeVar

import click

from llmsweep.cli.app import err
from llmsweep.cli.options import (
    positive_float,
    positive_int,
    profile_from_flag,
)
from llmsweep.errors import TargetError, UsageError
from llmsweep.session.serve import count_prompt_tokens
from llmsweep.simulator import (
    BUILTIN_PROFILES,
    TIER_PRESETS,
    FaultRates,
    SimulatorConfig,
    serve_forever,
)

F = TypeVar("F", bound=Callable[..., Any])


def fault_option(kind: str, what: str) -> Callable[[F], F]:
    return click.option(
        f"--{kind.replace('_', '-')}-rate",
        kind,
        type=click.FloatRange(0, 1),
        default=0.0,
        show_default=True,
        help=f"Share of attempts: {what}.",
    )


@click.command()
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to bind; loopback unless you mean to expose it.",
)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8000,
    show_default=True,
    help="Port to bind (0 picks a free one).",
)
@click.option(
    "--profile",
    "profile_name",
    help="Latency profile for every model: a built-in "
    f"name ({', '.join(sorted(BUILTIN_PROFILES))}) or a .toml file (default: each "
    "request's model picks its built-in profile, else demo).",
)
@click.option(
    "--latency-scale",
    type=click.FloatRange(min=0),
    default=1.0,
    show_default=True,
    help="Multiply every simulated delay (0.1 = ten times faster, 0 = instant).",
)
@click.option(
    "--tier",
    type=click.Choice(sorted(TIER_PRESETS)),
    help="Preset RPM/TPM of a published rate-limit tier (--rpm/--tpm override).",
)
@click.option("--rpm", type=positive_int, help="Requests per minute per API key.")
@click.option(
    "--tpm",
    type=positive_int,
    help="Tokens per minute per API key (prompt + max tokens charged up front).",
)
@click.option(
    "--quota-exhausted", is_flag=True, help="Answer every request 429 insufficient_quota."
)
@click.option(
    "--error-rate",
    type=click.FloatRange(0, 1),
    default=0.0,
    show_default=True,
    help="Shorthand: split this share of attempts evenly between HTTP 500 and 503.",
)
@fault_option("error_500", "HTTP 500")
@fault_option("error_503", "HTTP 503")
@fault_option("disconnect", "connection dropped before any response byte")
@fault_option("hang", "no answer for --hang-s seconds")
@fault_option("stream_cut", "connection closed part-way through the body")
@fault_option("malformed_json", "HTTP 200 with a body that is not JSON")
@fault_option("rate_limit_429", "injected 429 with retry hints")
@fault_option("rate_limit_429_nohint", "injected 429 without retry hints")
@fault_option("missing_usage", "answer without usage")
@click.option(
    "--hang-s",
    type=positive_float,
    default=3600.0,
    show_default=True,
    help="How long a hung request hangs.",
)
@click.option(
    "--max-body-bytes",
    type=positive_int,
    default=1_000_000,
    show_default=True,
    help="Largest request body accepted (larger: HTTP 413).",
)
@click.option(
    "--close-after-answer",
    is_flag=True,
    help="Close each connection after one answer while saying keep-alive, as llama.cpp's "
    "llama-server does (the next request on it is closed unanswered).",
)
@click.option(
    "--require-key-env",
    metavar="NAME",
    help="Answer 401 unless requests carry the key held in environment variable NAME "
    "(default: accept any key).",
)
@click.option(
    "--seed",
    type=int,
    default=0,
    show_default=True,
    help="Seed for latencies, lengths, text and faults.",
)
@click.option(
    "--answer-model",
    metavar="NAME",
    help="Name NAME as the model in every answer, whatever was asked (as llama-server does).",
)
def simulate(
    host: str,
    port: int,
    profile_name: str | None,
    latency_scale: float,
    tier: str | None,
    rpm: int | None,
    tpm: int | None,
    quota_exhausted: bool,
    error_rate: float,
    hang_s: float,
    max_body_bytes: int,
    close_after_answer: bool,
    require_key_env: str | None,
    seed: int,
    answer_model: str | None,
    **fault_rates: float,
) -> None:
    """Serve the built-in OpenAI-compatible simulator until Ctrl-C.

    \b
    Example:
      llmsweep simulate --port 8000 --profile gpt-4o --rpm 500
    """
    if tier is not None:
        tier_rpm, tier_tpm = TIER_PRESETS[tier]
        rpm, tpm = rpm or tier_rpm, tpm or tier_tpm
    required_key = None
    if require_key_env is not None:
        required_key = os.environ.get(require_key_env)
        if not required_key:
            raise UsageError(f"--require-key-env: ${require_key_env} is not set")
    if error_rate:
        fault_rates["error_500"] += error_rate / 2
        fault_rates["error_503"] += error_rate / 2
    try:
        faults = FaultRates(**fault_rates, hang_s=hang_s)
        config = SimulatorConfig(
            profile=profile_from_flag(profile_name, "--profile"),
            rpm=rpm,
            tpm=tpm,
            quota_exhausted=quota_exhausted,
            faults=faults,
            seed=seed,
            latency_scale=latency_scale,
            host=host,
            port=port,
            max_body_bytes=max_body_bytes,
            api_key=required_key,
            answer_model=answer_model,
            close_after_answer=close_after_answer,
        )
    except ValueError as error:
        raise UsageError(str(error)) from None

    def ready(base_url: str) -> None:
        err(
            f"llmsweep: simulator serving {base_url} (latency scale {latency_scale:g}); "
            "Ctrl-C stops it"
        )

    try:
        serve_forever(config, count_prompt_tokens, ready)
    except OSError as error:
        raise TargetError(f"cannot listen on {host}:{port} ({error.strerror})") from None
    err("llmsweep: simulator stopped")
