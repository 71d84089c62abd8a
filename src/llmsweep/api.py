"""The library entry points: the same sessions the command line runs, without the printing.

    records = llmsweep.run_prompts_sync(["Hello", "Hi"], model="gpt-4o-mini", concurrency=4)
    result = llmsweep.sweep("demo", models=["gpt-4o-mini"], levels=[1, 2, 4, 8])

With no ``base_url`` and no ``api_key`` the built-in simulator (in its own process) is the
target, as on the command line.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from contextlib import aclosing
from dataclasses import fields
from decimal import Decimal
from pathlib import Path
from typing import Any, TypedDict, Unpack

from llmsweep.analysis.result import SweepResult, analyse
from llmsweep.cost.pricing import Pricer
from llmsweep.cost.user_prices import pricer_from_flags
from llmsweep.engine.runner import RunSettings
from llmsweep.inputs.prompts import Prompt
from llmsweep.report.writer import write_report
from llmsweep.session.cells import execute_sweep
from llmsweep.session.search import execute_search
from llmsweep.session.session import Session
from llmsweep.session.sweep import plan_sweep
from llmsweep.session.target import TargetSpec, describe, self_hosted
from llmsweep.settings import (
    ASSUMED_OUTPUT_TOKENS,
    MAX_CONCURRENCY,
    ClientOptions,
    CostFn,
    RequestOptions,
    SweepConfig,
    latency_targets,
    sweep_levels,
)
from llmsweep.simulator import SimulatorConfig, published_limits
from llmsweep.store.records import Record


class RunOptions(TypedDict, total=False):
    """Optional settings; each default is the command line's (``llmsweep.settings``)."""

    rpm: float | None  # client-side limits
    tpm: float | None
    max_retries: int
    timeout_s: float  # one attempt
    max_tokens: int | None  # for prompts that do not set their own
    stream: bool
    max_cost_usd: Decimal | None  # needs cost_fn (run) or a known price (sweep)
    cost_fn: CostFn | None  # run only: (input, output, cached input tokens) -> USD
    base_url: str | None  # None and no api_key: the built-in simulator
    api_key: str | None
    client: str  # "openai" (the SDK) or "http" (the lean client)
    processes: int
    seed: int
    # How the built-in simulator behaves; by default each model's published tier limits it
    # (``simulator.published_limits``); ``SimulatorConfig()`` has no limits.
    simulator: SimulatorConfig | None
    latency_scale: float  # the built-in simulator's, when no ``simulator`` is given


def _groups(
    options: RunOptions, models: Sequence[str]
) -> tuple[RequestOptions, ClientOptions, TargetSpec]:
    """The option groups the sessions take, from the flat keyword options."""
    given: dict[str, Any] = dict(options)
    request = RequestOptions(
        **{f.name: given[f.name] for f in fields(RequestOptions) if f.name in given}
    )
    client = ClientOptions(
        **{f.name: given[f.name] for f in fields(ClientOptions) if f.name in given}
    )
    simulator = options.get("simulator") or SimulatorConfig(
        seed=client.seed,
        latency_scale=options.get("latency_scale", 1.0),
        model_limits=published_limits(models),
        unset_max_tokens_charge=ASSUMED_OUTPUT_TOKENS,
    )
    spec = TargetSpec(options.get("base_url"), options.get("api_key"), simulator)
    return request, client, spec


def as_prompts(prompts: Iterable[Prompt | str]) -> Iterable[Prompt]:
    """Plain strings become single user messages with their position as id."""
    for index, item in enumerate(prompts):
        if isinstance(item, Prompt):
            yield item
        else:
            yield Prompt(str(index), [{"role": "user", "content": item}])


async def iter_prompts(
    prompts: Iterable[Prompt | str],
    *,
    model: str,
    concurrency: int,
    **options: Unpack[RunOptions],
) -> AsyncIterator[Record]:
    """Yield one record per prompt as each completes (async). Options: see ``RunOptions``."""
    request, client, spec = _groups(options, [model])
    settings = RunSettings.at_level(request, model, concurrency)
    async with Session(spec, client) as session:
        records = session.records(
            settings,
            as_prompts(prompts),
            seed=client.seed,
            cost_fn=options.get("cost_fn"),
        )
        async with aclosing(records):
            async for record in records:
                yield record


async def run_prompts(
    prompts: Iterable[Prompt | str], *, model: str, concurrency: int, **options: Unpack[RunOptions]
) -> list[Record]:
    """All records, in completion order (async)."""
    stream = iter_prompts(prompts, model=model, concurrency=concurrency, **options)
    return [record async for record in stream]


def run_prompts_sync(
    prompts: Iterable[Prompt | str], *, model: str, concurrency: int, **options: Unpack[RunOptions]
) -> list[Record]:
    """``run_prompts`` for code without an event loop."""
    return asyncio.run(run_prompts(prompts, model=model, concurrency=concurrency, **options))


def sweep(
    prompts: str,
    *,
    models: Sequence[str],
    levels: Sequence[int] = (1, 2, 4, 8, 16),
    out_dir: str | Path | None = None,
    repeats: int = 1,
    sample: int | None = None,
    job_size: int | None = None,
    unique_prompts: bool = False,
    search: bool = False,
    rates: Sequence[float] = (),
    max_concurrency: int = MAX_CONCURRENCY,
    slo: Mapping[str, float] | None = None,
    pricer: Pricer | None = None,
    resume: bool = False,
    force: bool = False,
    **options: Unpack[RunOptions],
) -> SweepResult:
    """Sweep ``prompts`` (a file or ``demo``/``synthetic:N:IN:OUT``) over ``levels`` per model,
    write the report folder, and return the summary (levels, cells, recommendations, and
    ``projections`` of ``job_size`` prompts: by default the file's size when ``sample`` is set).

    With ``search`` it chooses the levels itself up to ``max_concurrency`` (``--search``;
    ``levels`` is then unused). With ``rates`` (requests per second, ``--rate``) it is an
    open-loop sweep instead, at most ``max_concurrency`` in flight (``levels`` unused; the
    records hold each prompt's due time). ``slo`` holds the recommendation to latency targets, as
    ``--slo`` does: seconds by name (``{"p95": 2.0}``; ``settings.SLO_METRICS``). It sends as
    the command line does, without asking: mind ``max_cost_usd`` on a real target.
    """
    request, client, spec = _groups(options, models)
    config = SweepConfig(
        prompts=prompts,
        models=tuple(dict.fromkeys(models)),
        levels=sweep_levels(",".join(map(str, levels)), search, tuple(rates), max_concurrency),
        rates=tuple(sorted(set(rates))),
        repeats=repeats,
        sample=sample,
        unique_prompts=unique_prompts,
        search=search,
        max_concurrency=max_concurrency,
        slo=latency_targets((slo or {}).items()),
        **request.request_fields(),
        **client.client_fields(),
    )
    folder = Path(out_dir) if out_dir is not None else None
    if pricer is None:  # as the command line prices with no price flags
        pricer = pricer_from_flags(config.models, None, None, None, self_hosted=self_hosted(spec))
    plan = plan_sweep(
        config,
        pricer,
        folder,
        resume=resume,
        force=force,
        target=describe(spec),
        job_size=job_size,
    )

    async def main() -> None:
        async with Session(spec, config) as session:
            execute = execute_search if search else execute_sweep
            await execute(plan, session, resume=resume, force=force)

    asyncio.run(main())
    result = analyse(plan.folder.read())
    write_report(plan.folder.path, result)
    return result
