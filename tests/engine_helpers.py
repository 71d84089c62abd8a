"""Run the real engine against a real simulator, one run or a whole sweep; shared by the tests
of the engine, the session and the store."""

from __future__ import annotations

import json
import random
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

from llmsweep.cost.pricing import Pricer, UserPrice
from llmsweep.engine.runner import Runner, RunSettings
from llmsweep.inputs.prompts import Prompt, load_prompts
from llmsweep.inputs.tokens import tokenizer_for
from llmsweep.report.writer import render_folder
from llmsweep.session.cells import execute_sweep
from llmsweep.session.session import Session
from llmsweep.session.sweep import plan_sweep
from llmsweep.session.target import TargetSpec
from llmsweep.settings import SweepConfig
from llmsweep.simulator import BUILTIN_PROFILES, Profile, Simulator, SimulatorConfig
from llmsweep.store.records import Record
from llmsweep.transport import make_transport
from llmsweep.transport.base import Transport

FIXED = BUILTIN_PROFILES["fixed"]


def fixed_profile(
    *, ttft_s: float = 0.05, tokens: int = 10, capacity: int = 1000, tokens_per_s: float = 1000.0
) -> Profile:
    return replace(
        FIXED,
        ttft_median_s=ttft_s,
        ttft_p95_s=ttft_s,
        output_tokens_median=tokens,
        output_tokens_p95=tokens,
        capacity=capacity,
        output_tokens_per_s=tokens_per_s,
    )


def prompts(count: int, *, max_tokens: int = 10, seed: int = 0) -> list[Prompt]:
    return list(load_prompts(f"synthetic:{count}:20:{max_tokens}", seed=seed))


def flat_price(input_tokens: int, output_tokens: int, cached: int) -> Decimal:
    # $1 / $2 per million tokens: round numbers so expected costs are easy to work by hand.
    return (Decimal(input_tokens) * 1 + Decimal(output_tokens) * 2) / Decimal(1_000_000)


def make_runner(
    sim: Simulator,
    settings: RunSettings,
    *,
    priced: bool = True,
    api_key: str = "sk-test",
    transport_kind: str = "openai",
) -> tuple[Runner, Transport]:
    # Every engine test runs over both transports: they must give the engine the same attempts.
    transport = make_transport(
        transport_kind,
        base_url=sim.base_url,
        api_key=api_key,
        concurrency=settings.concurrency,
        timeout_s=settings.timeout_s,
    )
    runner = Runner(
        settings,
        transport,
        tokenizer_for(settings.model),
        cost_fn=flat_price if priced else None,
        rng=random.Random(1),
    )
    return runner, transport


async def run_all(
    sim: Simulator, settings: RunSettings, items: list[Prompt], **options: object
) -> tuple[list[Record], Runner]:
    runner, transport = make_runner(sim, settings, **options)  # type: ignore[arg-type]
    try:
        return [record async for record in runner.run(items)], runner
    finally:
        await transport.aclose()


# $1 per million input tokens, $2 per million output tokens.
PRICER = Pricer({"gpt-4o": UserPrice(Decimal(1), Decimal(2))})


async def sweep(
    sim: Simulator,
    config: SweepConfig,
    out_dir: Path,
    prompts: list[Prompt] | None = None,
    *,
    stops: str | None = None,
) -> dict[str, Any]:
    """Sweep ``config`` against ``sim`` into ``out_dir``, render the report, return its summary;
    the sweep must stop early for the reason ``stops`` (None: it must finish)."""
    plan = plan_sweep(config, PRICER, out_dir, resume=False, force=False)
    if prompts is not None:
        plan = replace(plan, prompts=prompts)
    spec = TargetSpec(sim.base_url, "sk-test", SimulatorConfig())
    async with Session(spec, config) as session:
        stopped = await execute_sweep(plan, session, resume=False, force=False)
    assert stopped == stops
    render_folder(out_dir)
    summary: dict[str, Any] = json.loads((out_dir / "summary.json").read_text())
    return summary


def by_level(summary: dict[str, Any], model: str) -> dict[int, dict[str, Any]]:
    """A sweep summary's levels of ``model``, by concurrency."""
    return {lvl["concurrency"]: lvl for lvl in summary["levels"] if lvl["model"] == model}
