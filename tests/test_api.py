"""The library API end to end: default target is the simulator in its own process."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from pathlib import Path

import pytest

import llmsweep
from conftest import StartSimulator
from llmsweep.errors import OutputError, UsageError
from llmsweep.inputs.prompts import Prompt
from llmsweep.simulator import SimulatorConfig


def test_run_prompts_sync_on_the_default_simulator() -> None:
    prompts: list[Prompt | str] = [
        "Hello there",
        Prompt("p2", [{"role": "user", "content": "Hi"}], 7),
    ]
    records = llmsweep.run_prompts_sync(
        prompts,
        model="gpt-4o",
        concurrency=2,
        max_tokens=5,
        simulator=SimulatorConfig(latency_scale=0.01),
        client="http",
    )
    assert sorted((r.prompt_id, r.status, r.max_tokens) for r in records) == [
        ("0", "ok", 5),
        ("p2", "ok", 7),
    ]
    assert all(r.usage_reported and 0 < r.output_tokens <= 7 for r in records)


def test_sweep_writes_the_report_and_returns_the_summary(tmp_path: Path) -> None:
    out = tmp_path / "sweep"

    def sweep(*, resume: bool = False) -> llmsweep.SweepResult:
        return llmsweep.sweep(
            "synthetic:12:20:5",
            models=["gpt-4o-mini"],
            levels=[4],
            out_dir=out,
            latency_scale=0.01,
            client="http",
            max_tokens=5,
            slo={"p95": 60.0},  # met by every level: a generous target
            resume=resume,
        )

    result = sweep()
    assert [str(target) for target in result.meta.config.slo] == [
        "p95 \N{LESS-THAN OR EQUAL TO} 60 s"
    ]
    assert all(level.slo_met for level in result.levels)
    assert result.recommendations[0].target == "p95 \N{LESS-THAN OR EQUAL TO} 60 s"
    # The sequential baseline is always added, as on the command line.
    assert [(level.model, level.concurrency) for level in result.levels] == [
        ("gpt-4o-mini", 1),
        ("gpt-4o-mini", 4),
    ]
    assert all(level.requests == 12 and level.failed == 0 for level in result.levels)
    assert result.meta.target.simulated and result.meta.prompt_count == 12
    summary = json.loads((out / "summary.json").read_text("utf-8"))
    assert summary["recommended_concurrency"] == result.recommended
    assert (out / "report.html").exists()
    # The folder holds that sweep: a second call needs resume (nothing left to send) or force.
    with pytest.raises(OutputError, match="already holds a sweep"):
        llmsweep.sweep("synthetic:12:20:5", models=["gpt-4o-mini"], levels=[4], out_dir=out)
    again = sweep(resume=True)
    assert again.levels == result.levels


def test_each_prompt_gets_the_same_answer_length_at_every_level_and_repeat(
    tmp_path: Path,
) -> None:
    # The simulator draws an answer's length from the prompt, not from the arrival order, so a
    # prompt costs the same whatever the concurrency: levels compare like with like.
    out = tmp_path / "sweep"
    llmsweep.sweep(
        "demo",
        models=["gpt-4o-mini"],
        levels=[4, 12],
        repeats=2,
        out_dir=out,
        # No rate limit (gpt-4o-mini's published 500 RPM made this 216-request sweep take 26 s
        # at least): the lengths depend on the prompt alone either way.
        simulator=SimulatorConfig(latency_scale=0.002),
        client="http",
    )
    lengths: dict[str, set[int]] = {}
    cells: set[tuple[int, int]] = set()
    for line in (out / "records.jsonl").read_text("utf-8").splitlines():
        record = json.loads(line)
        assert record["status"] == "ok"
        lengths.setdefault(record["prompt_id"], set()).add(record["output_tokens"])
        cells.add((record["concurrency"], record["repeat"]))
    assert cells == {(level, repeat) for level in (1, 4, 12) for repeat in (0, 1)}
    assert len(lengths) == 36 and all(len(seen) == 1 for seen in lengths.values())
    assert len({next(iter(seen)) for seen in lengths.values()}) > 5  # lengths still vary


async def test_sweep_of_a_local_server_prices_an_unknown_model_at_zero(
    tmp_path: Path, start_simulator: StartSimulator
) -> None:
    sim = await start_simulator(latency_scale=0.01)
    result = await asyncio.to_thread(
        llmsweep.sweep,
        "synthetic:4:20:5",
        models=["tiny"],
        levels=[2],
        out_dir=tmp_path / "sweep",
        base_url=sim.base_url,
        max_tokens=5,
        client="http",
        job_size=100,
    )
    assert all(level.succeeded == 4 and level.cost_usd == 0 for level in result.levels)
    assert result.meta.job_size == 100  # projected to, as on the command line
    assert result.meta.price_source == "tiny: self-hosted: no per-token price"


def test_sweep_with_search_chooses_its_levels_and_returns_its_trace(tmp_path: Path) -> None:
    # 12 prompts cap the search at 12; it starts at 1 and doubles from there. A simulator
    # without gpt-4o-mini's published limits: at 500 RPM level 1 would already be at them.
    def search(resume: bool) -> llmsweep.SweepResult:
        return llmsweep.sweep(
            "synthetic:12:20:5",
            models=["gpt-4o-mini"],
            search=True,
            out_dir=tmp_path / "s",
            simulator=SimulatorConfig(latency_scale=0.01),
            client="http",
            max_tokens=5,
            resume=resume,
        )

    result = search(resume=False)
    steps = [step.level for step in result.search]
    assert steps[:2] == [1, 2] and max(steps) <= 12
    assert [level.concurrency for level in result.levels] == sorted(steps)
    assert all(step.rounds >= 2 for step in result.search)
    assert "## Search trace" in (tmp_path / "s" / "report.md").read_text("utf-8")
    # Resumed when done, it decides the same from the records it has and sends nothing more.
    records = (tmp_path / "s" / "records.jsonl").read_text("utf-8")
    again = search(resume=True)
    assert [replace(step, prompts_reused=0) for step in again.search] == list(result.search)
    assert all(step.prompts_reused == step.prompts_sent for step in again.search)
    assert (tmp_path / "s" / "records.jsonl").read_text("utf-8") == records


def test_sweep_with_rates_runs_an_open_loop_and_returns_each_rate(tmp_path: Path) -> None:
    result = llmsweep.sweep(
        "synthetic:4:20:5",
        models=["gpt-4o-mini"],
        rates=[20, 5],
        max_concurrency=2,
        out_dir=tmp_path / "r",
        simulator=SimulatorConfig(latency_scale=0.01),
        client="http",
        max_tokens=5,
    )
    assert result.levels == [] and result.meta.mode == "rate"
    assert [(row.offered_rps, row.requests, row.cap) for row in result.rates] == [
        (5.0, 4, 2),
        (20.0, 4, 2),
    ]
    assert [rec.model for rec in result.rate_recommendations] == ["gpt-4o-mini"]
    with pytest.raises(UsageError, match="--rate and --search are two modes"):
        llmsweep.sweep("demo", models=["gpt-4o-mini"], search=True, rates=[2])
