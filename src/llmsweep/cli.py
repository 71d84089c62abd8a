"""Command line: parse, call the library, print. The only module that prints or exits."""

from __future__ import annotations

import asyncio
import os
import random
import shlex
import signal
import sys
import time
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import click

from llmsweep import __version__, stats
from llmsweep.client import OpenAITransport, probe
from llmsweep.errors import LlmsweepError, TargetError, UsageError
from llmsweep.estimate import DEFAULT_OUTPUT_TOKENS
from llmsweep.estimate import estimate as estimate_rows
from llmsweep.jobs import RunOutcome, execute_run, plan_run
from llmsweep.pricing import Pricer, load_price_file, user_price
from llmsweep.progress import ProgressView
from llmsweep.runner import Runner, RunSettings
from llmsweep.simulator import (
    BUILTIN_PROFILES,
    TIER_PRESETS,
    FaultRates,
    Profile,
    SimulatorConfig,
    load_profile,
    serve_forever,
)
from llmsweep.sweep import (
    SweepConfig,
    build_meta,
    estimate_to_meta,
    parse_levels,
    prepare_out_dir,
    render_report,
    run_sweep,
    select_prompts,
)
from llmsweep.target import TargetSpec, count_prompt_tokens, open_target, spec_from_env
from llmsweep.tokens import tokenizer_for

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")
GRACE_S = 5.0  # after a first Ctrl-C, how long in-flight requests get to finish


def err(message: str) -> None:
    """Progress, warnings and notes go to stderr; results go to files (or stdout when asked)."""
    click.echo(message, err=True)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="llmsweep")
def cli() -> None:
    """Measure how much parallelism buys against LLM chat APIs, and what it costs."""


def _compose(*decorators: Callable[[F], F]) -> Callable[[F], F]:
    def apply(function: F) -> F:
        for decorator in reversed(decorators):
            function = decorator(function)
        return function

    return apply


def _profile(value: str | None, flag: str = "--sim-profile") -> Profile | None:
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

target_options = _compose(
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

engine_options = _compose(
    click.option("--rpm", type=positive_float, help="Client-side requests-per-minute limit."),
    click.option(
        "--tpm",
        type=positive_float,
        help="Client-side tokens-per-minute limit "
        "(charges estimated prompt tokens + max tokens per attempt).",
    ),
    click.option("--max-retries", type=click.IntRange(min=0), default=6, show_default=True),
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


def _pricer(
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


def _target_spec(
    base_url: str | None,
    api_key_env: str,
    sim_profile: str | None,
    latency_scale: float,
    sim_rpm: int | None,
    sim_tpm: int | None,
    seed: int,
) -> TargetSpec:
    config = SimulatorConfig(
        profile=_profile(sim_profile),
        rpm=sim_rpm,
        tpm=sim_tpm,
        seed=seed,
        latency_scale=latency_scale,
    )
    return spec_from_env(base_url, api_key_env, config)


def _run_async(
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


@cli.command()
@click.argument("prompts")
@click.option("--model", default="gpt-4o-mini", show_default=True)
@click.option(
    "--concurrency",
    type=positive_int,
    default=8,
    show_default=True,
    help="Requests in flight at most.",
)
@click.option(
    "--out",
    "out_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Records + answers, one JSON line per prompt (default: PROMPTS.MODEL.jsonl).",
)
@click.option("--resume", is_flag=True, help="Continue a run: skip prompts already ok in --out.")
@click.option("--force", is_flag=True, help="Overwrite an --out that holds another run.")
@target_options
@engine_options
def run(
    prompts: str,
    model: str,
    concurrency: int,
    out_path: Path | None,
    resume: bool,
    force: bool,
    base_url: str | None,
    api_key_env: str,
    sim_profile: str | None,
    latency_scale: float,
    sim_rpm: int | None,
    sim_tpm: int | None,
    rpm: float | None,
    tpm: float | None,
    max_retries: int,
    timeout_s: float,
    max_tokens: int | None,
    stream: bool,
    max_cost: float | None,
    seed: int,
    price_file: str | None,
    price_in: float | None,
    price_out: float | None,
) -> None:
    """Process a prompt file (JSONL, CSV, text, 'demo' or 'synthetic:N:IN:OUT') at one setting."""
    settings = RunSettings(
        model=model,
        concurrency=concurrency,
        rpm=rpm,
        tpm=tpm,
        max_retries=max_retries,
        timeout_s=timeout_s,
        max_tokens=max_tokens,
        stream=stream,
        max_cost_usd=Decimal(str(max_cost)) if max_cost is not None else None,
    )
    pricer = _pricer([model], price_file, price_in, price_out)
    spec = _target_spec(base_url, api_key_env, sim_profile, latency_scale, sim_rpm, sim_tpm, seed)
    out = out_path or Path(f"{Path(prompts).stem}.{model.replace('/', '_')}.jsonl")
    plan = plan_run(prompts, out, model=model, seed=seed, resume=resume, force=force)
    if plan.torn_lines:
        err(f"llmsweep: {out}: dropped {plan.torn_lines} torn last line(s) left by a hard stop")
    if plan.todo == 0:
        err(f"llmsweep: all {plan.total} prompts in {out} are already ok; nothing to send")
        return
    tokenizer = tokenizer_for(model)
    if not tokenizer.exact:
        err(
            f"llmsweep: no exact tokenizer for {model}: token estimates use "
            f"{tokenizer.encoding_name}"
        )
    runner_box: list[Runner] = []

    async def main() -> RunOutcome:
        async with open_target(spec) as (target, api_key):
            err(f"llmsweep: target: {target.label()}")
            if not target.simulated:
                await probe(spec.base_url or target.base_url, api_key)
            transport = OpenAITransport(
                base_url=spec.base_url or target.base_url,
                api_key=api_key,
                concurrency=concurrency,
                timeout_s=timeout_s,
                clock=time.monotonic,
            )
            runner = Runner(
                settings,
                transport,
                tokenizer,
                rng=random.Random(seed),
                cost_fn=lambda i, o, c: pricer.cost_usd(
                    model, input_tokens=i, output_tokens=o, cached_input_tokens=c
                ),
            )
            runner_box.append(runner)
            try:
                with ProgressView() as view:
                    view.track(f"{model} c={concurrency}", plan.todo, runner.progress)
                    return await execute_run(plan, runner, on_record=lambda _: view.update())
            finally:
                await transport.aclose()

    def wind_down() -> None:
        if runner_box:
            runner_box[0].stop("interrupted")

    resume_cmd = _resume_command(out)
    try:
        outcome = _run_async(main, wind_down)
    except asyncio.CancelledError:
        err(f"llmsweep: interrupted; records so far are in {out}. Continue with:\n  {resume_cmd}")
        sys.exit(130)
    err(_run_summary(outcome))
    if outcome.stopped == "auth":
        raise TargetError("the server rejected the API key (HTTP 401/403); nothing more was sent")
    if outcome.remaining:
        reason = {"budget": "the --max-cost budget was reached", "interrupted": "interrupted"}.get(
            outcome.stopped or "", "some prompts failed"
        )
        err(
            f"llmsweep: {outcome.remaining} prompt(s) not done ({reason}). Continue with:\n"
            f"  {resume_cmd}"
        )
        if outcome.stopped == "interrupted":
            sys.exit(130)


@cli.command()
@click.argument("prompts")
@click.option(
    "--model",
    "models",
    multiple=True,
    default=("gpt-4o-mini",),
    show_default=True,
    help="Model to sweep; repeat for several.",
)
@click.option(
    "--concurrency",
    "levels_text",
    default="1,2,4,8,16",
    show_default=True,
    help="Comma-separated levels; 1 (the sequential baseline) is always added.",
)
@click.option(
    "--repeats",
    type=positive_int,
    default=1,
    show_default=True,
    help="Runs per (model, level), for the spread.",
)
@click.option("--sample", type=positive_int, help="Use a seeded random sample of K prompts.")
@click.option(
    "--out-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Report folder (default: reports/<timestamp>-<prompts>).",
)
@click.option("--resume", is_flag=True, help="Continue a sweep in --out-dir: skip done cells.")
@click.option("--force", is_flag=True, help="Overwrite an --out-dir that holds another sweep.")
@click.option("--yes", is_flag=True, help="Do not ask before spending money on a real target.")
@target_options
@engine_options
def sweep(
    prompts: str,
    models: tuple[str, ...],
    levels_text: str,
    repeats: int,
    sample: int | None,
    out_dir: Path | None,
    resume: bool,
    force: bool,
    yes: bool,
    base_url: str | None,
    api_key_env: str,
    sim_profile: str | None,
    latency_scale: float,
    sim_rpm: int | None,
    sim_tpm: int | None,
    rpm: float | None,
    tpm: float | None,
    max_retries: int,
    timeout_s: float,
    max_tokens: int | None,
    stream: bool,
    max_cost: float | None,
    seed: int,
    price_file: str | None,
    price_in: float | None,
    price_out: float | None,
) -> None:
    """Run PROMPTS at each concurrency level for each model; write a report folder."""
    config = SweepConfig(
        prompts=prompts,
        models=tuple(dict.fromkeys(models)),
        levels=parse_levels(levels_text),
        repeats=repeats,
        sample=sample,
        rpm=rpm,
        tpm=tpm,
        max_tokens=max_tokens,
        stream=stream,
        max_retries=max_retries,
        timeout_s=timeout_s,
        seed=seed,
        max_cost_usd=str(Decimal(str(max_cost))) if max_cost is not None else None,
    )
    pricer = _pricer(list(config.models), price_file, price_in, price_out)
    spec = _target_spec(base_url, api_key_env, sim_profile, latency_scale, sim_rpm, sim_tpm, seed)
    chosen = select_prompts(config)
    rows = estimate_rows(
        chosen,
        list(config.models),
        pricer=pricer,
        default_output_tokens=max_tokens or DEFAULT_OUTPUT_TOKENS,
    )
    passes = len(config.levels) * config.repeats
    total_usd = sum((row.total_cost_usd for row in rows), Decimal(0)) * passes
    err(
        f"llmsweep: {len(chosen)} prompts x {len(config.levels)} levels x {config.repeats} "
        f"repeat(s) x {len(config.models)} model(s); estimated cost ${total_usd:.4f} "
        "(estimate: exact input tokens, output at max tokens)"
    )
    if not spec.simulated and not yes:
        click.confirm(
            f"Send these requests to {spec.base_url or 'the OpenAI API'}, "
            f"spending up to about ${total_usd:.2f}?",
            abort=True,
            err=True,
        )
    created = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    folder = out_dir or Path("reports") / f"{created[:19].replace(':', '')}-{Path(prompts).stem}"
    runners: list[Runner] = []

    async def main() -> str | None:
        async with open_target(spec) as (target, api_key):
            err(f"llmsweep: target: {target.label()}")
            if not target.simulated:
                await probe(spec.base_url or target.base_url, api_key)
            meta = build_meta(
                config,
                target=target.to_dict(),
                created_at=created,
                pricing={
                    "source": pricer.source_summary(list(config.models)),
                    "data_date": pricer.data_date(),
                },
                estimates={row.model: estimate_to_meta(row) for row in rows},
                prompt_count=len(chosen),
            )
            state = prepare_out_dir(folder, meta, resume=resume, force=force)
            if state.torn_lines:
                err(f"llmsweep: {folder}/records.jsonl: dropped {state.torn_lines} torn line(s)")

            def transport_for(level: int) -> OpenAITransport:
                return OpenAITransport(
                    base_url=spec.base_url or target.base_url,
                    api_key=api_key,
                    concurrency=level,
                    timeout_s=timeout_s,
                    clock=time.monotonic,
                )

            with ProgressView() as view:

                def on_runner(runner: Runner, cell: tuple[str, int, int], todo: int) -> None:
                    runners[:] = [runner]
                    model, level, repeat = cell
                    view.track(f"{model} c={level} r{repeat + 1}", todo, runner.progress)

                return await run_sweep(
                    config,
                    chosen,
                    folder,
                    state,
                    transport_for=transport_for,
                    cost_fn=lambda m, i, o, c: pricer.cost_usd(
                        m, input_tokens=i, output_tokens=o, cached_input_tokens=c
                    ),
                    on_runner=on_runner,
                    on_record=lambda _: view.update(),
                )

    def wind_down() -> None:
        for runner in runners:
            runner.stop("interrupted")

    resume_cmd = _resume_command(folder, out_flag="--out-dir")
    try:
        stopped = _run_async(main, wind_down)
    except asyncio.CancelledError:
        err(
            f"llmsweep: interrupted; records so far are in {folder}. Continue with:\n  {resume_cmd}"
        )
        sys.exit(130)
    paths = render_report(folder)
    err(f"llmsweep: report written: {folder / 'report.html'} ({len(paths)} files)")
    if stopped is not None:
        err(
            f"llmsweep: sweep stopped early ({stopped}); the report covers finished cells. "
            f"Continue with:\n  {resume_cmd}"
        )
        if stopped == "auth":
            raise TargetError("the server rejected the API key (HTTP 401/403)")
        if stopped == "interrupted":
            sys.exit(130)


@cli.command()
@click.argument("folder", type=click.Path(file_okay=False, exists=True, path_type=Path))
def report(folder: Path) -> None:
    """Re-render a sweep's report from its records.jsonl and meta.json; sends nothing."""
    paths = render_report(folder)
    click.echo(f"{len(paths)} files written to {folder}")


def _fault_option(kind: str, what: str) -> Callable[[F], F]:
    return click.option(
        f"--{kind.replace('_', '-')}-rate",
        kind,
        type=click.FloatRange(0, 1),
        default=0.0,
        show_default=True,
        help=f"Share of attempts: {what}.",
    )


@cli.command()
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
@_fault_option("error_500", "HTTP 500")
@_fault_option("error_503", "HTTP 503")
@_fault_option("disconnect", "connection dropped before any response byte")
@_fault_option("hang", "no answer for --hang-s seconds")
@_fault_option("stream_cut", "connection closed part-way through the body")
@_fault_option("malformed_json", "HTTP 200 with a body that is not JSON")
@_fault_option("rate_limit_429", "injected 429 with retry hints")
@_fault_option("rate_limit_429_nohint", "injected 429 without retry hints")
@_fault_option("missing_usage", "answer without usage")
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
    require_key_env: str | None,
    seed: int,
    **fault_rates: float,
) -> None:
    """Serve the built-in OpenAI-compatible simulator until Ctrl-C."""
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
            profile=_profile(profile_name, "--profile"),
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


def _resume_command(out: Path, out_flag: str = "--out") -> str:
    args = sys.argv[1:]
    if "--resume" not in args:
        args.append("--resume")
    if out_flag not in args:
        args += [out_flag, str(out)]
    return shlex.join(["llmsweep", *args])


def _run_summary(outcome: RunOutcome) -> str:
    done = outcome.done
    ok = outcome.statuses["ok"]
    failed = {k: v for k, v in outcome.statuses.items() if k != "ok"}
    wall = outcome.wall_s
    lines = [f"ok {ok}/{done}" + (f", failed: {dict(sorted(failed.items()))}" if failed else "")]
    if wall > 0:
        lines.append(f"wall {wall:.2f} s (measured), throughput {ok / wall:.2f} ok req/s")
    if outcome.latencies_s:
        p50 = stats.percentile(outcome.latencies_s, 50)
        p95 = stats.percentile(outcome.latencies_s, 95)
        lines.append(f"latency p50 {p50:.3f} s, p95 {p95:.3f} s (measured, ok requests)")
    lines.append(f"records: {outcome.plan.out_path}")
    return "llmsweep: " + "\n  ".join(lines)


@cli.command("estimate")
@click.argument("prompts")
@click.option(
    "--model", "models", multiple=True, required=True, help="Model to price; repeat for several."
)
@click.option(
    "--output-tokens",
    type=positive_int,
    help="Output tokens to assume per prompt (default: each prompt's max_tokens, else 256).",
)
@click.option(
    "--price-file",
    type=click.Path(dir_okay=False),
    help="TOML prices (USD per million tokens) that add or override models.",
)
@click.option(
    "--price-in",
    type=click.FloatRange(min=0),
    help="Input price, USD per million tokens, for the one --model.",
)
@click.option(
    "--price-out",
    type=click.FloatRange(min=0),
    help="Output price, USD per million tokens, for the one --model.",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed for synthetic prompts.")
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print a JSON list, one object per model; money as exact decimal strings.",
)
def estimate_command(
    prompts: str,
    models: tuple[str, ...],
    output_tokens: int | None,
    price_file: str | None,
    price_in: float | None,
    price_out: float | None,
    seed: int,
    as_json: bool,
) -> None:
    """Estimate what PROMPTS would cost on each --model; sends nothing."""
    # Imported here so other commands do not pay for loading tokenizers and table code.
    from rich.console import Console

    from llmsweep.estimate import DEFAULT_OUTPUT_TOKENS, estimate, estimate_table, rows_to_json
    from llmsweep.prompts import load_prompts

    names = list(dict.fromkeys(models))
    pricer = _pricer(names, price_file, price_in, price_out)
    rows = estimate(
        load_prompts(prompts, seed=seed), names, pricer=pricer, output_tokens=output_tokens
    )
    for row in rows:
        if row.oversized_prompts:
            err(
                f"llmsweep: warning: {row.oversized_prompts} prompt(s) exceed {row.model}'s "
                f"context window of {row.context_window:,} tokens (first: id "
                f"{row.first_oversized_id}, largest: {row.largest_input_tokens:,} tokens)"
            )
    if output_tokens is not None:
        assumed = f"output assumed to be {output_tokens:,} tokens per prompt (--output-tokens)"
    else:
        assumed = "output assumed to be each prompt's max_tokens"
        if rows and rows[0].default_output_prompts:
            defaulted = rows[0].default_output_prompts
            assumed += f" ({DEFAULT_OUTPUT_TOKENS} tokens for the {defaulted:,} that set none)"
    notes = [
        f"ESTIMATES, not bills: input tokens counted per model; {assumed}.",
        f"Prices: {pricer.data_date()}.",
        *(f"  {row.model}: {row.price_source}" for row in rows),
        *(
            f"Tokens for {row.model} are an estimate: tiktoken has no tokenizer for it, counted "
            f"with {row.encoding}."
            for row in rows
            if not row.tokens_exact
        ),
    ]
    if as_json:
        click.echo(rows_to_json(rows))
        for note in notes:
            err(f"llmsweep: {note}")
        return
    console = Console(width=None if sys.stdout.isatty() else 160)
    console.print(estimate_table(rows))
    for note in notes:
        console.print(note, highlight=False, markup=False)


@cli.command("prices")
@click.argument("pattern", required=False)
def prices_command(pattern: str | None) -> None:
    """List models with USD per million tokens: all, or those matching PATTERN (text or glob)."""
    from rich.console import Console

    from llmsweep.estimate import prices_table

    pricer = Pricer()
    found = pricer.find(pattern)
    if not found:
        raise UsageError(
            f"no model matches {pattern!r} (try part of a name, e.g. 'gpt-4o', "
            "or a glob such as 'claude-*')"
        )
    console = Console(width=None if sys.stdout.isatty() else 160)
    console.print(prices_table(found))
    console.print(
        f"USD per million tokens ('-': no such price; tiered prices show their base "
        f"rate). Prices: {pricer.data_date()}.",
        highlight=False,
        markup=False,
    )


def main() -> None:
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        err("llmsweep: aborted")
        sys.exit(130)
    except click.ClickException as error:
        # Usage errors from click: one line, naming the flag, exit 2.
        err(f"llmsweep: error: {error.format_message()}")
        sys.exit(error.exit_code)
    except LlmsweepError as error:
        err(f"llmsweep: error: {error}")
        sys.exit(error.exit_code)
    except KeyboardInterrupt:
        err("llmsweep: interrupted")
        sys.exit(130)
