"""Sweeps against the real simulator: the speedup curve, the rate-limit knee, the report."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest

from conftest import StartSimulator, count_prompt_tokens
from engine_helpers import PRICER, by_level, fixed_profile, sweep
from llmsweep.inputs.prompts import Prompt
from llmsweep.report.writer import render_folder
from llmsweep.session.sweep import expected_duration_s, plan_sweep, select_prompts
from llmsweep.settings import SweepConfig
from llmsweep.simulator import FaultRates, RateLimit, Simulator, SimulatorConfig


async def test_speedup_follows_the_level_up_to_capacity_then_stays_flat(
    start_simulator: StartSimulator, tmp_path: Path
) -> None:
    # Capacity 4, 0.2 s per request: 16 prompts take 16, 8, 4, 4 rounds at levels 1, 2, 4, 8.
    # The lean client keeps the harness (sharing this loop with the simulator) out of the way.
    sim = await start_simulator(profile=fixed_profile(ttft_s=0.2, tokens=5, capacity=4))
    config = SweepConfig(
        prompts="synthetic:16:20:5", models=("gpt-4o",), levels=(1, 2, 4, 8), client="http"
    )
    levels = by_level(await sweep(sim, config, tmp_path / "r"), "gpt-4o")
    # The tool's promise on a busy machine: a speedup is near the truth, or the harness says
    # the client could not keep up (and the report flags that level) - never a quiet error.
    for level in (1, 2, 4):
        assert levels[level]["client_bound"] or (
            abs(levels[level]["speedup"] - level) <= 0.1 * level
        ), levels[level]
    flat = levels[4]["speedup"]  # beyond capacity requests queue at the server: no gain
    assert levels[8]["client_bound"] or abs(levels[8]["speedup"] - flat) <= 0.15 * flat, levels[8]
    assert sim.stats()["peak_in_flight"] == 8
    records = (tmp_path / "r" / "records.jsonl").read_text().splitlines()
    assert all(json.loads(line)["connect_s"] == 0.0 for line in records)  # started warm
    report = (tmp_path / "r" / "report.md").read_text()
    assert "**Connections**: opened before each cell's clock started" in report
    assert "## Measurement harness" in report


async def test_rate_limit_bends_the_curve_and_the_recommendation_lands_at_the_knee(
    start_simulator: StartSimulator, tmp_path: Path
) -> None:
    # Sequential: 10 req/s. RPM 1200 = 20 req/s caps levels 4 and 8, which could do 40 and 80:
    # they sit at the ceiling however loaded the machine is. (Level 2 would need exactly 20 req/s
    # from two requests at a time: any client delay puts it under.)
    sim = await start_simulator(profile=fixed_profile(ttft_s=0.1, tokens=5), rpm=1200)
    config = SweepConfig(
        prompts="synthetic:30:20:5", models=("gpt-4o",), levels=(1, 4, 8), rpm=1200
    )
    summary = await sweep(sim, config, tmp_path / "r")
    levels = by_level(summary, "gpt-4o")
    for level in (4, 8):  # never above the ceiling; how far below turns on this machine's load
        assert levels[level]["throughput_rps"] <= 21, levels[level]
        assert levels[level]["ceiling_rps"] == 20
    # Level 4 is the knee, unless the harness found the client too slow to measure it (a busy
    # machine): the recommendation never rests on a client-bound level.
    recommended = summary["recommended_concurrency"]["gpt-4o"]
    if levels[4]["client_bound"]:
        assert recommended is None or not levels[recommended]["client_bound"]
    else:
        assert recommended == 4
    assert all(lvl["failed"] == 0 for lvl in levels.values())


async def test_report_rerenders_byte_for_byte_and_escapes_prompt_text(
    start_simulator: StartSimulator, tmp_path: Path
) -> None:
    sim = await start_simulator(
        profile=fixed_profile(ttft_s=0.01), faults=FaultRates(error_500=1.0)
    )
    evil = Prompt("<script>alert(1)</script>", [{"role": "user", "content": "hi"}], 5)
    config = SweepConfig(prompts="demo", models=("gpt-4o",), levels=(1, 2), max_retries=0)
    out = tmp_path / "r"
    await sweep(sim, config, out, prompts=[evil])
    files = sorted(p for p in out.rglob("*") if p.is_file() and p.name != "records.jsonl")
    before = {p: p.read_bytes() for p in files}
    render_folder(out)
    assert {p: p.read_bytes() for p in files} == before
    html = (out / "report.html").read_text()
    assert "<script>alert" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    for external in ('src="http', "src='http", 'href="http', "url(http", "@import"):
        assert external not in html
    assert 'src="data:image/png;base64,' in html


async def test_a_level_the_budget_stopped_is_not_compared_nor_recommended(
    start_simulator: StartSimulator, tmp_path: Path
) -> None:
    # The budget covers about three quarters of the estimate: all of level 1, part of level 4,
    # whose few prompts would otherwise show a speedup far above 4 and be recommended.
    sim = await start_simulator(profile=fixed_profile(ttft_s=0.05, tokens=5, capacity=8))
    config = SweepConfig(
        prompts="synthetic:16:20:5", models=("gpt-4o",), levels=(1, 4), client="http", max_tokens=5
    )
    estimate_usd = plan_sweep(config, PRICER, None, resume=False, force=False).estimated_usd
    budget = replace(config, max_cost_usd=estimate_usd * 3 / 4)
    summary = await sweep(sim, budget, tmp_path / "r", stops="budget")
    levels = by_level(summary, "gpt-4o")
    assert levels[1]["requests"] == 16 and levels[1]["excluded"] is None
    assert 0 < levels[4]["requests"] < 16
    assert levels[1]["requests"] + levels[4]["requests"] == sim.stats()["requests"]
    assert levels[4]["unfinished"] and levels[4]["speedup"] is None
    # Level 1 or nothing: on a busy machine level 1 itself may be client-bound, so unpicked.
    assert summary["recommended_concurrency"]["gpt-4o"] in (1, None)
    report = (tmp_path / "r" / "report.md").read_text()
    assert "not compared, unfinished" in report


async def test_a_budget_holds_over_a_sweep_whose_attempts_time_out_or_drop(
    start_simulator: StartSimulator, tmp_path: Path
) -> None:
    # A fifth of attempts hang past the timeout, a fifth are dropped after the request went
    # out: retried, and each may be billed. Actual plus possibly billed spend, over every cell
    # and across the budget each cell inherits, stays within --max-cost (issue 13, item 2).
    sim = await start_simulator(
        profile=fixed_profile(ttft_s=0.005, tokens=5),
        faults=FaultRates(hang=0.2, disconnect=0.2, hang_s=60.0),
        seed=2,
    )
    config = SweepConfig(
        prompts="synthetic:12:20:5",
        models=("gpt-4o",),
        levels=(1, 2),
        client="http",
        max_tokens=5,
        max_retries=2,
        timeout_s=0.3,
    )
    estimate_usd = plan_sweep(config, PRICER, None, resume=False, force=False).estimated_usd
    cap = estimate_usd * 3 / 4  # of both levels; each prompt holds 3 attempts while under way
    summary = await sweep(sim, replace(config, max_cost_usd=cap), tmp_path / "r", stops="budget")
    spent = summary["spent"]
    assert spent["possibly_billed_attempts"] > 0
    assert Decimal(spent["cost_usd"]) + Decimal(spent["possibly_billed_usd"]) <= cap
    report = (tmp_path / "r" / "report.md").read_text()
    assert "Possibly billed, apart from it:" in report


@pytest.mark.parametrize("unique", [False, True])
async def test_unique_prompts_give_each_cell_its_own_prompt_text(
    tmp_path: Path, unique: bool
) -> None:
    # The simulator counts the tokens of every request body it has not seen yet: what it is
    # given to count is what it was sent.
    sent: set[str] = set()

    def count(messages: list[dict[str, object]], model: str) -> int:
        sent.add(str(messages[0]["content"]))
        return count_prompt_tokens(messages, model)

    config = SweepConfig(
        prompts="synthetic:3:20:5",
        models=("gpt-4o",),
        levels=(1, 2),
        repeats=2,
        unique_prompts=unique,
    )
    async with Simulator(SimulatorConfig(profile=fixed_profile(ttft_s=0.01)), count) as sim:
        sent.clear()  # the tokenizers' warm-up
        await sweep(sim, config, tmp_path / "r")
    texts = {p.messages[0]["content"] for p in select_prompts(config)}
    if not unique:
        assert sent == texts
        return
    assert len(sent) == 3 * 4  # 3 prompts x 4 cells (2 levels x 2 repeats), each its own
    tags = {text.split("] ", 1)[0] for text in sent}
    assert len(tags) == 4 and all(re.fullmatch(r"\[run [0-9a-f]{6}", tag) for tag in tags)
    assert {text.split("] ", 1)[1] for text in sent} == texts
    meta = json.loads((tmp_path / "r" / "meta.json").read_text())
    assert meta["config"]["unique_prompts"] is True


def test_the_estimate_counts_the_tags_of_unique_prompts(tmp_path: Path) -> None:
    def input_tokens(unique: bool) -> int:
        config = SweepConfig(
            prompts="synthetic:10:20:5", models=("gpt-4o",), levels=(1,), unique_prompts=unique
        )
        plan = plan_sweep(config, PRICER, tmp_path / str(unique), resume=False, force=False)
        return plan.estimates[0].input_tokens

    extra = input_tokens(True) - input_tokens(False)
    assert 10 * 4 <= extra <= 10 * 10  # "[run 3f2a9c] ": a few tokens a prompt


def test_the_expected_duration_shares_median_latencies_among_the_requests_in_flight(
    tmp_path: Path,
) -> None:
    # Each prompt asks 10 tokens, below the profile's median 20: 0.1 s + 10 / 100 = 0.2 s.
    config = SweepConfig(
        prompts="synthetic:8:20:10", models=("gpt-4o",), levels=(1, 2, 8), repeats=2
    )
    plan = plan_sweep(config, PRICER, tmp_path / "r", resume=False, force=False)
    profile = fixed_profile(ttft_s=0.1, tokens=20, tokens_per_s=100.0, capacity=4)
    simulator = SimulatorConfig(profile=profile, latency_scale=0.5)
    # Per repeat: 8 x 0.2 s at 1 in flight, at 2, and at 4 (capacity caps level 8) = 2.8 s.
    assert expected_duration_s(plan, simulator) == pytest.approx(2 * 2.8 * 0.5)


def test_the_expected_duration_is_no_shorter_than_the_rate_limit_ceiling_allows(
    tmp_path: Path,
) -> None:
    # 60 requests a minute at most (the tighter of the client's --rpm 120 and the simulator's
    # 60 RPM): 8 s a cell however fast the model, which at 0.2 s a prompt would take 1.6 s or less.
    config = SweepConfig(prompts="synthetic:8:20:10", models=("gpt-4o",), levels=(1, 2), rpm=120.0)
    plan = plan_sweep(config, PRICER, tmp_path / "r", resume=False, force=False)
    profile = fixed_profile(ttft_s=0.1, tokens=20, tokens_per_s=100.0, capacity=4)
    limited = {"gpt-4o": RateLimit(60, None, "a test tier")}
    simulator = SimulatorConfig(profile=profile, model_limits=limited)
    assert expected_duration_s(plan, simulator) == pytest.approx(2 * 8.0)
    # 600 tokens a minute, each prompt charged its input + its max_tokens of 10.
    by_tokens = {"gpt-4o": RateLimit(None, 600, "a test tier")}
    simulator = SimulatorConfig(profile=profile, model_limits=by_tokens)
    charged = plan.estimates[0].input_tokens + 8 * 10
    assert expected_duration_s(plan, simulator) == pytest.approx(2 * charged / 600 * 60)
