"""The library entry point: send prompts through the engine and get their records back.

    records = llmsweep.run_prompts_sync(["Hello", "Hi"], model="gpt-4o-mini", concurrency=4)

With no ``base_url`` and no ``api_key`` the built-in simulator (in its own process) is the
target, as on the command line.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Iterable
from decimal import Decimal
from typing import TypedDict, Unpack

from llmsweep.engine.runner import CostFn, Runner, RunSettings
from llmsweep.inputs.prompts import Prompt
from llmsweep.inputs.tokens import tokenizer_for
from llmsweep.session.target import TargetSpec, open_target
from llmsweep.simulator import SimulatorConfig
from llmsweep.store.records import Record
from llmsweep.transport import make_transport, probe


class RunOptions(TypedDict, total=False):
    """Optional settings; the defaults are the command line's."""

    rpm: float | None  # client-side limits
    tpm: float | None
    max_retries: int
    timeout_s: float  # one attempt
    max_tokens: int | None  # for prompts without their own
    stream: bool
    max_cost_usd: Decimal | None  # needs cost_fn
    cost_fn: CostFn | None  # (input, output, cached input tokens) -> USD
    base_url: str | None  # None and no api_key: the built-in simulator
    api_key: str | None
    client: str  # "openai" (the SDK) or "http" (the lean client)
    seed: int
    simulator: SimulatorConfig | None  # how the built-in simulator behaves


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
    settings = RunSettings(
        model=model,
        concurrency=concurrency,
        rpm=options.get("rpm"),
        tpm=options.get("tpm"),
        max_retries=options.get("max_retries", 6),
        timeout_s=options.get("timeout_s", 120.0),
        max_tokens=options.get("max_tokens"),
        stream=options.get("stream", False),
        max_cost_usd=options.get("max_cost_usd"),
    )
    base_url, api_key = options.get("base_url"), options.get("api_key")
    seed = options.get("seed", 0)
    spec = TargetSpec(base_url, api_key, options.get("simulator") or SimulatorConfig(seed=seed))
    async with open_target(spec) as (target, key):
        url = base_url or target.base_url
        if not target.simulated:
            await probe(url, key)
        transport = make_transport(
            options.get("client", "openai"),
            base_url=url,
            api_key=key,
            concurrency=concurrency,
            timeout_s=settings.timeout_s,
        )
        runner = Runner(
            settings,
            transport,
            tokenizer_for(model),
            cost_fn=options.get("cost_fn"),
            rng=random.Random(seed),
        )
        try:
            async for record in runner.run(as_prompts(prompts)):
                yield record
        finally:
            await transport.aclose()


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
