"""``llmsweep run``: one prompt file at one setting, resumable."""

from __future__ import annotations

import asyncio
import functools
import re
import sys
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import click

from llmsweep.analysis import stats
from llmsweep.analysis.stats import per_1k_prompts_usd
from llmsweep.cli.app import err
from llmsweep.cli.options import (
    engine_options,
    make_pricer,
    positive_int,
    price,
    resume_command,
    run_async,
    target_options,
    target_spec,
)
from llmsweep.cli.progress import ProgressView
from llmsweep.cost.estimate import DEFAULT_OUTPUT_TOKENS
from llmsweep.cost.estimate import estimate as estimate_rows
from llmsweep.engine.harness import (
    HarnessMeasurement,
    client_bound_reasons,
    measure_harness,
    remedy,
)
from llmsweep.engine.processes import EngineFactory, harness_of, refuse_split_budget
from llmsweep.engine.runner import Engine, RunSettings
from llmsweep.errors import TargetError, UsageError
from llmsweep.inputs.tokens import tokenizer_for
from llmsweep.session.target import open_target
from llmsweep.store.runfile import RunOutcome, execute_run, plan_run
from llmsweep.transport import probe


@click.command()
@click.argument("prompts")
@click.option(
    "--model",
    "models",
    multiple=True,
    default=("gpt-4o-mini",),
    show_default=True,
    help="The model to send to (one; compare models with sweep).",
)
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
    models: tuple[str, ...],
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
    processes: int,
    client: str,
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
    if len(models) > 1:
        raise UsageError("--model: run sends to one model; compare models with sweep")
    (model,) = models
    refuse_split_budget(processes, max_cost)
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
    pricer = make_pricer([model], price_file, price_in, price_out)
    spec = target_spec(base_url, api_key_env, sim_profile, latency_scale, sim_rpm, sim_tpm, seed)
    # Only letters, digits, dot, dash and underscore: "synthetic:100:20:5" or "org/model" would
    # make awkward (or, on Windows, invalid) file names.
    name = re.sub(r"[^\w.-]", "_", f"{Path(prompts).stem}.{model}")
    out = out_path or Path(f"{name}.jsonl")
    plan = plan_run(
        prompts,
        out,
        model=model,
        seed=seed,
        resume=resume,
        force=force,
        context_window=pricer.pricing(model).context_window,
    )
    if settings.max_cost_usd is not None and plan.spent_usd:
        # The cap covers what the records in --out already cost, not just this session.
        left = settings.max_cost_usd - plan.spent_usd
        if left <= 0:
            raise UsageError(
                f"--max-cost {max_cost:g}: ${plan.spent_usd:.4f} already spent by "
                f"the records in {out}; raise it to continue"
            )
        settings = replace(settings, max_cost_usd=left)
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
    (row,) = estimate_rows(
        plan.prompts(),
        [model],
        pricer=pricer,
        default_output_tokens=max_tokens or DEFAULT_OUTPUT_TOKENS,
    )
    err(
        f"llmsweep: {plan.todo} prompt(s) to send; estimated cost ${row.total_cost_usd:.4f} "
        f"(estimate: {'exact' if row.tokens_exact else 'approximate'} input tokens, "
        "output at max tokens)"
    )
    runner_box: list[Engine] = []
    harness: list[HarnessMeasurement] = []

    async def main() -> RunOutcome:
        async with open_target(spec) as (target, api_key):
            err(f"llmsweep: target: {target.label()}")
            if not target.simulated:
                await probe(spec.base_url or target.base_url, api_key)
            engines = EngineFactory(client, spec.base_url or target.base_url, api_key, processes)
            cost_fn = functools.partial(price, pricer, model)
            async with engines.open(settings, seed=seed, cost_fn=cost_fn) as runner:
                runner_box.append(runner)
                # As a sweep does: the run's own figures then show its steady state, not a
                # burst of connects and first-use costs (and on a resume of a huge file it
                # costs nothing worth mentioning).
                await runner.warm_up()
                with ProgressView() as view:
                    view.track(f"{model} c={concurrency}", plan.todo, runner.progress)
                    async with measure_harness() as harness_probe:
                        outcome = await execute_run(plan, runner, on_record=lambda _: view.update())
                harness.append(harness_of(runner, harness_probe))
                return outcome

    def wind_down() -> None:
        if runner_box:
            runner_box[0].stop("interrupted")

    resume_cmd = resume_command(out)
    try:
        outcome = run_async(main, wind_down)
    except asyncio.CancelledError:
        err(f"llmsweep: interrupted; records so far are in {out}. Continue with:\n  {resume_cmd}")
        sys.exit(130)
    err(run_summary(outcome))
    paced = runner_box[0].progress if runner_box else None
    if paced is not None and (paced.paced_rpm or paced.paced_tpm):
        err(
            f"llmsweep: after the first 429, paced to the limits the server advertised "
            f"(RPM {paced.paced_rpm or '-'}, TPM {paced.paced_tpm or '-'}); pass --rpm/--tpm "
            "to pace from the start"
        )
    if harness and outcome.latencies_s:
        lags = outcome.dispatch_lags_s
        reasons = client_bound_reasons(
            harness[0],
            stats.percentile(outcome.latencies_s, 50),
            dispatch_lag_p95_s=stats.percentile(lags, 95) if lags else None,
        )
        if reasons:
            err(
                f"llmsweep: warning: the client, not the API, may have set these numbers "
                f"({'; '.join(reasons)}): {remedy(client, concurrency)}"
            )
    if outcome.stopped == "auth":
        raise TargetError("the server rejected the API key (HTTP 401/403); nothing more was sent")
    if outcome.stopped == "budget" and outcome.done == 0:
        raise UsageError(
            f"--max-cost {max_cost:g}: not enough for one more request at its max "
            "tokens; raise it to continue"
        )
    if outcome.remaining:
        if outcome.stopped == "budget":
            what = "the --max-cost budget was reached). Raise --max-cost and continue with"
        elif outcome.stopped == "interrupted":
            what = "interrupted). Continue with"
        else:
            what = "some prompts failed). Retry them with"
        err(f"llmsweep: {outcome.remaining} prompt(s) not done ({what}:\n  {resume_cmd}")
        if outcome.stopped == "interrupted":
            sys.exit(130)


def run_summary(outcome: RunOutcome) -> str:
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
    if outcome.dispatch_lags_s:
        lag_p95 = stats.percentile(outcome.dispatch_lags_s, 95)
        lines.append(f"dispatch lag p95 {lag_p95 * 1000:.1f} ms (measured: this client's delay)")
    lines.append(
        f"cost ${outcome.cost_usd:.4f} (actual, from the usage the API returned), "
        f"${per_1k_prompts_usd(outcome.cost_usd, done):.4f} per 1k prompts"
        + (
            f", of which ${outcome.failed_cost_usd:.4f} on failed prompts"
            if outcome.failed_cost_usd
            else ""
        )
    )
    lines.append(f"records: {outcome.plan.out_path}")
    return "llmsweep: " + "\n  ".join(lines)
