"""``llmsweep sweep`` and ``llmsweep report``."""

from __future__ import annotations

import asyncio
import functools
import sys
from dataclasses import asdict
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import click

from llmsweep.cli.app import err
from llmsweep.cli.options import (
    command_line,
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
from llmsweep.cost.estimate import DEFAULT_OUTPUT_TOKENS, row_to_dict
from llmsweep.cost.estimate import estimate as estimate_rows
from llmsweep.engine.processes import EngineFactory
from llmsweep.engine.runner import Engine
from llmsweep.errors import TargetError
from llmsweep.session.sweep import (
    SweepConfig,
    build_meta,
    check_out_dir,
    parse_levels,
    prepare_out_dir,
    render_report,
    run_sweep,
    select_prompts,
)
from llmsweep.session.target import OPENAI_BASE_URL, open_target, public_url
from llmsweep.transport import probe


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
        client=client,
        processes=processes,
        max_cost_usd=str(Decimal(str(max_cost))) if max_cost is not None else None,
    )
    pricer = make_pricer(list(config.models), price_file, price_in, price_out)
    spec = target_spec(base_url, api_key_env, sim_profile, latency_scale, sim_rpm, sim_tpm, seed)
    chosen = select_prompts(config)
    created = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    folder = out_dir or Path("reports") / f"{created[:19].replace(':', '')}-{Path(prompts).stem}"
    # Before the estimate and any confirmation: a folder this sweep cannot continue is refused.
    check_out_dir(
        folder, {**asdict(config), "prompt_count": len(chosen)}, resume=resume, force=force
    )
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
            f"Send these requests to {public_url(spec.base_url or OPENAI_BASE_URL)}, "
            f"spending up to about ${total_usd:.4f} (estimate)?",
            abort=True,
            err=True,
        )
    runners: list[Engine] = []

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
                estimates={row.model: row_to_dict(row) for row in rows},
                prompt_count=len(chosen),
                command=command_line(),
            )
            state = prepare_out_dir(folder, meta, resume=resume, force=force)
            if state.torn_lines:
                err(f"llmsweep: {folder}/records.jsonl: dropped {state.torn_lines} torn line(s)")

            engines = EngineFactory(client, spec.base_url or target.base_url, api_key, processes)

            with ProgressView() as view:

                def on_runner(runner: Engine, cell: tuple[str, int, int], todo: int) -> None:
                    runners[:] = [runner]
                    model, level, repeat = cell
                    view.track(f"{model} c={level} r{repeat + 1}", todo, runner.progress)

                return await run_sweep(
                    config,
                    chosen,
                    folder,
                    state,
                    engines=engines,
                    cost_fn=functools.partial(price, pricer),
                    on_runner=on_runner,
                    on_record=lambda _: view.update(),
                )

    def wind_down() -> None:
        for runner in runners:
            runner.stop("interrupted")

    resume_cmd = resume_command(folder, out_flag="--out-dir")
    try:
        stopped = run_async(main, wind_down)
    except asyncio.CancelledError:
        err(
            f"llmsweep: interrupted; records so far are in {folder}. Continue with:\n  {resume_cmd}"
        )
        sys.exit(130)
    paths = render_report(folder)
    err(f"llmsweep: report written: {folder / 'report.html'} ({len(paths)} files)")
    if stopped == "budget":
        err(
            "llmsweep: sweep stopped early (budget): --max-cost cannot cover one more request at "
            "its max tokens; the report covers what finished. Raise --max-cost in:\n  "
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
            sys.exit(130)


@click.command()
@click.argument("folder", type=click.Path(file_okay=False, exists=True, path_type=Path))
def report(folder: Path) -> None:
    """Re-render a sweep's report from its records.jsonl and meta.json; sends nothing."""
    paths = render_report(folder)
    click.echo(f"{len(paths)} files written to {folder}")
