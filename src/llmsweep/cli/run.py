"""``llmsweep run``: one prompt file at one setting, resumable."""

from __future__ import annotations

import asyncio
import re
import sys
from pathlib import Path
from typing import Any

import click

from llmsweep.analysis.client_bound import judge_cell, remedy
from llmsweep.cli.app import err
from llmsweep.cli.interrupts import interrupted, resume_command, run_async
from llmsweep.cli.options import (
    CommonFlags,
    common_flags,
    engine_options,
    positive_int,
    target_options,
)
from llmsweep.cli.progress import ProgressView
from llmsweep.cli.target import AnsweredModels, confirm_spending, say_profiles, say_target
from llmsweep.cost.estimate import cost_phrase, estimate
from llmsweep.cost.money import format_usd, per_1k_prompts_usd
from llmsweep.engine.progress import RunProgress
from llmsweep.engine.runner import RunSettings
from llmsweep.errors import INTERRUPTED_EXIT, PROMPTS_FAILED_EXIT_CODE, TargetError, UsageError
from llmsweep.percentile import percentile
from llmsweep.report.warnings import format_causes
from llmsweep.session.run import budget_left, execute_run
from llmsweep.session.session import Session
from llmsweep.session.target import describe
from llmsweep.store.meta import REAL
from llmsweep.store.records import STOPPED, Record
from llmsweep.store.runfile import RunOutcome, RunPlan, file_outcome, plan_run


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
@click.option("--yes", is_flag=True, help="Do not ask before spending money on a real API.")
@click.option(
    "--prompt-text/--no-prompt-text",
    default=True,
    show_default=True,
    help="Keep each prompt's text in its record (a lone message's text, else the messages as "
    "JSON); --no-prompt-text leaves it out: a smaller file, or prompts that must not be copied.",
)
@target_options
@engine_options
def run(
    prompts: str,
    models: tuple[str, ...],
    concurrency: int,
    out_path: Path | None,
    resume: bool,
    force: bool,
    yes: bool,
    prompt_text: bool,
    **flags: Any,
) -> None:
    """Process PROMPTS at one setting, writing one record per prompt.

    PROMPTS is a .jsonl, .csv or text file, 'demo' or 'synthetic:N:IN:OUT'. Records name
    each prompt by its id; a prompt without one gets its number: its line's in a .jsonl or
    text file, its data row's in a .csv (the first row under the header is 1). --resume
    matches prompts by id, so keep ids stable between runs.

    \b
    Examples:
      llmsweep run prompts.jsonl --model gpt-4o-mini --concurrency 16 --out answers.jsonl
      llmsweep run prompts.jsonl --model gpt-4o-mini --out answers.jsonl --resume
    """
    if len(models) > 1:
        raise UsageError("--model: run sends to one model; compare models with sweep")
    (model,) = models
    common = common_flags(models, flags)
    settings = RunSettings.at_level(
        common.request, model, concurrency, keep_prompt_text=prompt_text
    )
    plan, settings = _plan(prompts, out_path, resume, force, settings, common, yes)
    if plan.todo == 0:
        return
    say_profiles(common.target, models)
    session = Session(common.target, common.client)
    answered = AnsweredModels()

    async def main() -> RunOutcome:
        async with session:
            say_target(session.target, [model])
            with ProgressView() as view:

                def on_record(record: Record) -> None:
                    view.update()
                    answered.add(record)

                return await execute_run(
                    plan,
                    settings,
                    session,
                    cost_fn=common.pricer.cost_fn(model),
                    on_engine=lambda engine, todo: view.track(
                        f"{model} c={concurrency}", todo, engine.progress
                    ),
                    on_record=on_record,
                )

    resume_cmd = resume_command(plan.out_path)
    try:
        outcome = run_async(main, session.stop, lambda: session.started)
    except asyncio.CancelledError:
        interrupted(session.started, plan.out_path, resume_cmd)
    # A resumed run is summed up over the whole file; its timing only over this session, as
    # monotonic clocks of different sessions cannot be compared.
    err(run_summary(file_outcome(plan) if plan.had_records else outcome, outcome))
    _say_pacing(session.progress)
    _warn_about_harness(outcome, common.client.client, concurrency)
    answered.warn()
    _report_stop(outcome, settings, resume_cmd)


def _plan(
    prompts: str,
    out_path: Path | None,
    resume: bool,
    force: bool,
    settings: RunSettings,
    common: CommonFlags,
    yes: bool,
) -> tuple[RunPlan, RunSettings]:
    """Everything checked before a request is sent, and what it would cost (printed); a real
    API is asked for first."""
    model = settings.model
    # Only letters, digits, dot, dash and underscore: "synthetic:100:20:5" or "org/model" would
    # make awkward (or, on Windows, invalid) file names.
    name = re.sub(r"[^\w.-]", "_", f"{Path(prompts).stem}.{model}")
    target = describe(common.target)
    out = out_path or Path(f"{name}.jsonl")
    plan = plan_run(
        prompts,
        out,
        model=model,
        seed=common.client.seed,
        resume=resume,
        force=force,
        context_window=common.pricer.pricing(model).context_window,
        request=settings,
        target=target,
        cost_fn=common.pricer.cost_fn(model),
    )
    settings = budget_left(settings, plan)
    if plan.torn_lines:
        err(f"llmsweep: {out}: dropped {plan.torn_lines} torn last line(s) left by a hard stop")
    if plan.todo == 0:
        err(f"llmsweep: all {plan.total} prompts in {out} are already ok; nothing to send")
        return plan, settings
    (row,) = estimate(plan.prompts(), [model], pricer=common.pricer, max_tokens=settings.max_tokens)
    spending = cost_phrase(row.total_cost_usd, bound=row.bound, basis=row.basis)
    err(
        f"llmsweep: {plan.todo} prompt(s) to send; estimated cost {spending}; "
        f"prices: {row.price_source}"
    )
    if target.kind == REAL:
        confirm_spending(
            common.target, f"{cost_phrase(row.total_cost_usd, bound=row.bound)} (estimate)", yes
        )
    return plan, settings


def _say_pacing(paced: RunProgress | None) -> None:
    """The limits the client paced itself to after a 429, if it did."""
    if paced is not None and (paced.paced_rpm or paced.paced_tpm):
        err(
            f"llmsweep: after the first 429, paced to the limits the server advertised "
            f"(RPM {paced.paced_rpm or '-'}, TPM {paced.paced_tpm or '-'}); pass --rpm/--tpm "
            "to pace from the start"
        )


def _warn_about_harness(outcome: RunOutcome, client: str, concurrency: int) -> None:
    if not outcome.latencies_s:
        return
    lags = outcome.dispatch_lags_s
    verdict = judge_cell(
        outcome.harness,
        percentile(outcome.latencies_s, 50),
        percentile(lags, 95) if lags else None,
        outcome.statuses["ok"] / outcome.wall_s if outcome.wall_s > 0 else 0.0,
        None,
        concurrency=concurrency,
    )
    if verdict.bound:
        err(
            f"llmsweep: warning: the client, not the API, may have set these numbers "
            f"({'; '.join(verdict.reasons)}): {remedy(client, concurrency)}"
        )


def _report_stop(outcome: RunOutcome, settings: RunSettings, resume_cmd: str) -> None:
    if outcome.stopped == "auth":
        raise TargetError("the server rejected the API key (HTTP 401/403); nothing more was sent")
    if outcome.stopped == "budget" and outcome.done == 0:
        raise UsageError(
            f"--max-cost {settings.max_cost_usd}: not enough for one more prompt at its max "
            f"tokens, with each of the {settings.max_retries + 1} attempts it may make (1 + "
            "--max-retries) counted as billed; raise it (or lower --max-retries) to continue"
        )
    if outcome.remaining:
        stopped = outcome.statuses[STOPPED]  # cut short by the stop: a resume retries them
        failed = outcome.done - outcome.statuses["ok"] - stopped
        why = [f"{failed} failed for good"] if failed else []
        if stopped:
            why.append(f"{stopped} stopped before a retry, kept as they may have been billed")
        action = "Retry them with"
        if outcome.stopped == "budget":
            why.append("the --max-cost budget was reached")
            action = "Raise --max-cost and continue with"
        elif outcome.stopped == "interrupted":
            why.append("interrupted")
            action = "Continue with"
        err(
            f"llmsweep: {outcome.remaining} prompt(s) not done ({'; '.join(why)}). "
            f"{action}:\n  {resume_cmd}"
        )
        if outcome.stopped == "interrupted":
            sys.exit(INTERRUPTED_EXIT)
        if failed:
            sys.exit(PROMPTS_FAILED_EXIT_CODE)


def run_summary(outcome: RunOutcome, session: RunOutcome) -> str:
    """``outcome``: every record in the output file; ``session``: those sent this time (the
    same object unless resumed), whose span alone is one clock's."""
    done = outcome.done
    ok = outcome.statuses["ok"]
    failed = {k: v for k, v in outcome.statuses.items() if k != "ok"}
    wall = session.wall_s
    lines = [f"ok {ok}/{done}" + (f", failed: {format_causes(failed)}" if failed else "")]
    if outcome.retried:
        causes = format_causes(outcome.retry_causes)
        lines.append(
            f"retried {outcome.retried} of {done} prompts" + (f" ({causes})" if causes else "")
        )
    if outcome.stale_connection_resends:
        lines.append(
            f"resent {outcome.stale_connection_resends} request(s) of {outcome.resent_prompts} "
            "prompt(s) at once on another connection, the server having closed theirs (not "
            "retries)"
        )
    if wall > 0:
        this = "" if session is outcome else f"this session ({session.done} prompts): "
        ok_rate = session.statuses["ok"] / wall
        lines.append(f"{this}wall {wall:.2f} s (measured), throughput {ok_rate:.2f} ok req/s")
    if outcome.latencies_s:
        p50 = percentile(outcome.latencies_s, 50)
        p95 = percentile(outcome.latencies_s, 95)
        lines.append(f"latency p50 {p50:.3f} s, p95 {p95:.3f} s (measured, ok requests)")
    if outcome.ttfts_s:
        ttft = f"TTFT p50 {percentile(outcome.ttfts_s, 50):.3f} s, p95 "
        ttft += f"{percentile(outcome.ttfts_s, 95):.3f} s"
        if outcome.tpots_s:
            ttft += f", TPOT p50 {percentile(outcome.tpots_s, 50) * 1000:.1f} ms per token"
        lines.append(f"{ttft} (measured, ok streamed requests)")
    if outcome.dispatch_lags_s:
        lag_p95 = percentile(outcome.dispatch_lags_s, 95)
        lines.append(f"dispatch lag p95 {lag_p95 * 1000:.1f} ms (measured: this client's delay)")
    lines.append(
        f"cost {format_usd(outcome.cost_usd)} (actual, from the usage the API returned), "
        f"{format_usd(per_1k_prompts_usd(outcome.cost_usd, ok))} per 1k succeeded prompts"
        + (
            f", of which {format_usd(outcome.failed_cost_usd)} on failed prompts"
            if outcome.failed_cost_usd
            else ""
        )
    )
    if outcome.possibly_billed_attempts:
        lines.append(
            f"possibly billed besides: {format_usd(outcome.possibly_billed_usd)} for "
            f"{outcome.possibly_billed_attempts} attempt(s) that timed out or were cut after the "
            "request went out (pre-run input count + output received; the provider decides)"
        )
    lines.append(f"records: {outcome.plan.out_path}")
    return "llmsweep: " + "\n  ".join(lines)
