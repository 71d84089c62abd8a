"""``llmsweep sweep`` and ``llmsweep report``."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import click

from llmsweep.analysis.result import analyse
from llmsweep.cli.app import err
from llmsweep.cli.interrupts import command_line, interrupted, resume_command, run_async
from llmsweep.cli.options import (
    CommonFlags,
    common_flags,
    engine_options,
    positive_int,
    target_options,
)
from llmsweep.cli.progress import ProgressView
from llmsweep.cli.sweep_plan import cell_label, confirm_sweep, report_stop
from llmsweep.cli.target import AnsweredModels, say_target
from llmsweep.engine.runner import Engine
from llmsweep.errors import UsageError
from llmsweep.report.rate import rate_verdicts
from llmsweep.report.sections import verdicts
from llmsweep.report.writer import render_folder, write_report
from llmsweep.session.cells import execute_sweep
from llmsweep.session.eta import sweep_eta
from llmsweep.session.search import execute_search
from llmsweep.session.session import Session
from llmsweep.session.sweep import SweepPlan, plan_sweep
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
    rates = _rates(search, levels_text, rates_text)
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
    confirm_sweep(plan, common, yes)
    folder = plan.folder.path
    session = Session(common.target, config)
    answered = AnsweredModels()

    resume_cmd = resume_command(folder, out_flag="--out-dir")
    try:
        stopped = run_async(
            lambda: _execute(plan, session, common, answered, resume=resume, force=force),
            session.stop,
            lambda: session.started,
        )
    except asyncio.CancelledError:
        interrupted(session.started, folder, resume_cmd)
    answered.warn()
    _write_report(folder)
    report_stop(stopped, resume_cmd)


def _rates(search: bool, levels_text: str | None, rates_text: str | None) -> tuple[float, ...]:
    """--rate's rates (none in the other two modes), once the flags give one mode."""
    if search and levels_text is not None:
        raise UsageError("--search chooses the levels itself: drop --concurrency")
    if rates_text is not None and (search or levels_text is not None):
        raise UsageError("--rate, --concurrency and --search are three modes: give one")
    return parse_rates(rates_text) if rates_text is not None else ()


def _write_report(folder: Path) -> None:
    """Write the report from what the folder holds, and say where and its verdicts."""
    result = analyse(SweepFolder(folder).read())
    paths = write_report(folder, result)
    err(f"llmsweep: report written: {folder / 'report.html'} ({len(paths)} files)")
    lines = verdicts(result.levels, result.recommendations, result.meta)
    rated = rate_verdicts(result.rate_recommendations)
    for line in rated if result.meta.config.rates else lines:
        err(f"llmsweep: verdict: {line}")


async def _execute(
    plan: SweepPlan,
    session: Session,
    common: CommonFlags,
    answered: AnsweredModels,
    *,
    resume: bool,
    force: bool,
) -> str | None:
    """Run the sweep (or search) with its progress line and ETA; how it stopped (None: it
    finished)."""
    config, folder, search = plan.config, plan.folder.path, plan.config.search
    eta = sweep_eta(plan, common.target)

    def on_state(state: SweepState) -> None:
        eta.skip_done({cell: len(ids) for cell, ids in state.ok_ids.items()})
        if state.torn_lines:
            err(f"llmsweep: {folder}/records.jsonl: dropped {state.torn_lines} torn line(s)")

    async with session:
        say_target(session.target, config.models)
        # A search's cells are not known in advance: no whole-sweep ETA.
        with ProgressView(None if search else eta.left_s) as view:

            def on_cell(engine: Engine, cell: CellKey, todo: int) -> None:
                if not search:
                    eta.start(cell, todo, engine.progress)
                view.track(cell_label(config, cell), todo, engine.progress)

            def on_record(record: Record) -> None:
                view.update()
                answered.add(record)

            return await (execute_search if search else execute_sweep)(
                plan,
                session,
                resume=resume,
                force=force,
                command=command_line(),
                on_state=on_state,
                on_cell=on_cell,
                on_record=on_record,
            )


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
