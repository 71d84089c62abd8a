"""``llmsweep sweep`` and ``llmsweep report``."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

import click

from llmsweep.analysis.formatting import format_duration
from llmsweep.analysis.result import analyse
from llmsweep.analysis.search import top_level
from llmsweep.cli.app import err
from llmsweep.cli.options import (
    AnsweredModels,
    CommonFlags,
    command_line,
    common_flags,
    confirm_spending,
    engine_options,
    interrupted,
    positive_int,
    resume_command,
    run_async,
    say_profiles,
    say_target,
    target_options,
)
from llmsweep.cli.progress import ProgressView
from llmsweep.cost.estimate import cost_phrase
from llmsweep.engine.runner import Engine
from llmsweep.errors import INTERRUPTED_EXIT, TargetError, UsageError
from llmsweep.report.rate import rate_verdicts
from llmsweep.report.sections import verdicts
from llmsweep.report.writer import render_folder, write_report
from llmsweep.session.eta import sweep_eta
from llmsweep.session.search import execute_search
from llmsweep.session.session import Session
from llmsweep.session.sweep import (
    SweepPlan,
    execute_sweep,
    expected_duration_s,
    plan_sweep,
)
from llmsweep.session.target import describe
from llmsweep.settings import (
    MAX_CONCURRENCY,
    SLO_METRICS,
    SweepConfig,
    parse_rates,
    parse_slo,
    sweep_levels,
)
from llmsweep.store.records import CellKey, Record
from llmsweep.store.sweepdir import SweepFolder, SweepState

DEFAULT_LEVELS = "1,2,4,8,16"
SLO_HELP = (
    "Latency target NAME=SECONDS, NAME one of "
    f"{', '.join(SLO_METRICS)} (repeat it, or comma-separate): recommend the highest-throughput "
    "level that meets every target with failures under the threshold (without one: the knee)."
)


@click.command()
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
    help="Comma-separated levels; 1 (the sequential baseline) is always added "
    f"[default: {DEFAULT_LEVELS}].",
)
@click.option(
    "--search",
    is_flag=True,
    help="Choose the levels per model: from 1, double while throughput rises beyond the noise, "
    "then bisect to the knee, each level with only as many prompts as it needs.",
)
@click.option(
    "--rate",
    "rates_text",
    help="Open loop instead of levels: comma-separated arrival rates in requests per second "
    "(e.g. 2,4,8), each prompt sent at a seeded Poisson arrival time whatever is in flight.",
)
@click.option(
    "--max-concurrency",
    type=positive_int,
    default=MAX_CONCURRENCY,
    show_default=True,
    help="With --search: the highest level it may measure. With --rate: the most requests in "
    "flight; a prompt due beyond it waits at the client, and that wait is reported.",
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
    "--job-size",
    type=positive_int,
    help="Prompts in the whole job: the verdict projects its time and cost (and the Batch API's) "
    "at each recommended level (default: the prompt file's size with --sample, else none).",
)
@click.option(
    "--out-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Report folder (default: reports/<timestamp>-<prompts>).",
)
@click.option("--resume", is_flag=True, help="Continue a sweep in --out-dir: skip done cells.")
@click.option("--force", is_flag=True, help="Overwrite an --out-dir that holds another sweep.")
@click.option("--yes", is_flag=True, help="Do not ask before spending money on a real target.")
@click.option(
    "--unique-prompts",
    is_flag=True,
    help="Start each cell's prompts with a tag of its own ('[run 3f2a9c] ', a few tokens), so a "
    "server's prompt cache cannot carry over from one cell to the next.",
)
@click.option(
    "--slo",
    "slo_texts",
    multiple=True,
    help=SLO_HELP,
)
@target_options
@engine_options
def sweep(
    prompts: str,
    models: tuple[str, ...],
    levels_text: str | None,
    search: bool,
    rates_text: str | None,
    max_concurrency: int,
    repeats: int,
    sample: int | None,
    job_size: int | None,
    out_dir: Path | None,
    resume: bool,
    force: bool,
    yes: bool,
    unique_prompts: bool,
    slo_texts: tuple[str, ...],
    **flags: Any,
) -> None:
    """Run PROMPTS at each level for each model; write a report folder.

    PROMPTS is a .jsonl, .csv or text file, 'demo' or 'synthetic:N:IN:OUT'.

    \b
    Examples:
      llmsweep sweep demo --model gpt-4o-mini --concurrency 1,2,4,8
      llmsweep sweep prompts.jsonl --model gpt-4o --base-url https://api.openai.com/v1
      llmsweep sweep demo --concurrency 1,2,4,8,16 --slo p95=2.0
    """
    models = tuple(dict.fromkeys(models))
    if search and levels_text is not None:
        raise UsageError("--search chooses the levels itself: drop --concurrency")
    if rates_text is not None and (search or levels_text is not None):
        raise UsageError("--rate, --concurrency and --search are three modes: give one")
    rates = parse_rates(rates_text) if rates_text is not None else ()
    common = common_flags(models, flags)
    config = SweepConfig(
        prompts=prompts,
        models=models,
        levels=sweep_levels(levels_text or DEFAULT_LEVELS, search, rates, max_concurrency),
        rates=rates,
        repeats=repeats,
        sample=sample,
        unique_prompts=unique_prompts,
        search=search,
        max_concurrency=max_concurrency,
        slo=parse_slo(slo_texts),
        **common.request.request_fields(),
        **common.client.client_fields(),
    )
    plan = plan_sweep(
        config,
        common.pricer,
        out_dir,
        resume=resume,
        force=force,
        target=describe(common.target),
        job_size=job_size,
    )
    _confirm(plan, common, yes)
    folder = plan.folder.path
    session = Session(common.target, config)
    answered = AnsweredModels()

    eta = sweep_eta(plan, common.target)

    def on_state(state: SweepState) -> None:
        eta.skip_done({cell: len(ids) for cell, ids in state.ok_ids.items()})
        if state.torn_lines:
            err(f"llmsweep: {folder}/records.jsonl: dropped {state.torn_lines} torn line(s)")

    async def main() -> str | None:
        async with session:
            say_target(session.target, models)
            # A search's cells are not known in advance: no whole-sweep ETA.
            with ProgressView(None if search else eta.left_s) as view:

                def on_cell(engine: Engine, cell: CellKey, todo: int) -> None:
                    if not search:
                        eta.start(cell, todo, engine.progress)
                    view.track(_cell_label(config, cell), todo, engine.progress)

                def on_record(record: Record) -> None:
                    view.update()
                    answered.add(record)

                if search:
                    return await execute_search(
                        plan,
                        session,
                        resume=resume,
                        force=force,
                        command=command_line(),
                        on_state=on_state,
                        on_cell=on_cell,
                        on_record=on_record,
                    )
                return await execute_sweep(
                    plan,
                    session,
                    resume=resume,
                    force=force,
                    command=command_line(),
                    on_state=on_state,
                    on_cell=on_cell,
                    on_record=on_record,
                )

    resume_cmd = resume_command(folder, out_flag="--out-dir")
    try:
        stopped = run_async(main, session.stop, lambda: session.started)
    except asyncio.CancelledError:
        interrupted(session.started, folder, resume_cmd)
    answered.warn()
    result = analyse(SweepFolder(folder).read())
    paths = write_report(folder, result)
    err(f"llmsweep: report written: {folder / 'report.html'} ({len(paths)} files)")
    lines = verdicts(result.levels, result.recommendations, result.meta)
    for line in rate_verdicts(result.rate_recommendations) if config.rates else lines:
        err(f"llmsweep: verdict: {line}")
    _report_stop(stopped, resume_cmd)


def _cell_label(config: SweepConfig, cell: CellKey) -> str:
    model, level, repeat = cell
    offered_rps = config.offered_rps(cell)
    if offered_rps is not None:
        cells = config.cells()
        where = f"cell {cells.index(cell) + 1} of {len(cells)}"
        return f"{where}: {model} {offered_rps:g} req/s (at most {level} in flight)"
    if config.search:
        return f"search: {model} c={level} round {repeat + 1}"
    cells = config.cells()
    return f"cell {cells.index(cell) + 1} of {len(cells)}: {model} c={level} r{repeat + 1}"


_ARRIVALS = ", nor than each rate sends its prompts"


def _say_duration(plan: SweepPlan, common: CommonFlags) -> None:
    if plan.config.search:
        err("llmsweep: expected duration: unknown in advance (the search chooses its levels)")
        return
    if not common.target.simulated:
        err(
            "llmsweep: expected duration: unknown in advance for a real API (its latency is "
            "what the sweep measures); the progress line shows each cell's ETA, and the "
            "sweep's once its pace is measured"
        )
        return
    simulator = common.target.simulator
    say_profiles(common.target, plan.config.models)
    duration_s = expected_duration_s(plan, simulator)
    err(
        f"llmsweep: expected duration about {format_duration(duration_s)} (estimate: the simulator "
        f"profiles' median latency x latency scale {simulator.latency_scale:g}, requests "
        "in flight up to each level or the model's capacity, no faster than the rate-limit "
        f"ceiling{_ARRIVALS if plan.config.rates else ''}; no retries)"
    )


def _confirm(plan: SweepPlan, common: CommonFlags, yes: bool) -> None:
    """Say what the sweep will send and cost; ask first when a target that may bill would
    (a local server too: it may be a proxy to a paid API)."""
    config = plan.config
    total = cost_phrase(plan.estimated_usd, bound=plan.estimate_bound)
    if config.rates:
        err(
            f"llmsweep: {len(plan.prompts)} prompts x {len(config.rates)} rates (open loop, at "
            f"most {config.max_concurrency} in flight) x {len(config.models)} model(s); "
            f"estimated cost {total}:"
        )
    elif config.search:
        err(
            f"llmsweep: search over {len(plan.prompts)} prompts x {len(config.models)} model(s), "
            f"at most {plan.search_requests} requests per model (up to concurrency "
            f"{top_level(config.max_concurrency, len(plan.prompts))}); estimated cost of that "
            f"most {total}:"
        )
    else:
        err(
            f"llmsweep: {len(plan.prompts)} prompts x {len(config.levels)} levels x "
            f"{config.repeats} repeat(s) x {len(config.models)} model(s); estimated cost {total}:"
        )
    for row in plan.estimates:
        usd = plan.model_usd(row)
        spending = cost_phrase(usd, bound=row.bound, basis=row.basis)
        err(f"llmsweep:   {row.model}: {spending}; prices: {row.price_source}")
    _say_duration(plan, common)
    if not common.target.simulated:
        confirm_spending(common.target, f"{total} (estimate)", yes)


def _report_stop(stopped: str | None, resume_cmd: str) -> None:
    if stopped == "budget":
        err(
            "llmsweep: sweep stopped early (budget): --max-cost cannot cover one more prompt at "
            "its max tokens with every attempt it may make (1 + --max-retries) counted as "
            "billed; the report covers what finished. Raise --max-cost in:\n  "
            f"{resume_cmd}"
        )
    elif stopped is not None:
        err(
            f"llmsweep: sweep stopped early ({stopped}); the report covers what finished. "
            f"Continue with:\n  {resume_cmd}"
        )
        if stopped == "auth":
            raise TargetError("the server rejected the API key (HTTP 401/403)")
        if stopped == "interrupted":
            sys.exit(INTERRUPTED_EXIT)


@click.command()
@click.argument("folder", type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.option(
    "--slo",
    "slo_texts",
    multiple=True,
    help=f"Judge the sweep by these latency targets instead (kept in its meta.json; 'none' "
    f"drops them). {SLO_HELP}",
)
def report(folder: Path, slo_texts: tuple[str, ...]) -> None:
    """Re-render a sweep folder's report from its records.

    Reads FOLDER's records.jsonl and meta.json and writes its report files again; sends
    nothing, also with --slo.

    \b
    Examples:
      llmsweep report reports/example
      llmsweep report reports/example --slo p95=1.5
    """
    if slo_texts:
        SweepFolder(folder).hold_to(parse_slo(slo_texts))
    paths = render_folder(folder)
    click.echo(f"{len(paths)} files written to {folder}")
