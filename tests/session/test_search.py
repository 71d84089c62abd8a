"""``sweep --search`` against the real simulator: the knee for fewer requests than a grid."""

from __future__ import annotations

import json
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest

from conftest import StartSimulator
from engine_helpers import PRICER, fixed_profile, sweep
from llmsweep.analysis.recommend import recommend
from llmsweep.analysis.result import analyse
from llmsweep.errors import OutputError
from llmsweep.report.writer import render_folder
from llmsweep.session.search import execute_search
from llmsweep.session.session import Session
from llmsweep.session.sweep import plan_sweep
from llmsweep.session.target import TargetSpec
from llmsweep.settings import SweepConfig
from llmsweep.simulator import SimulatorConfig
from llmsweep.store.recordfile import read_records
from llmsweep.store.sweepdir import SweepFolder


def throughput_knee(folder: Path) -> int:
    """The level picked on the throughput curve alone. On a busy machine the self-check can
    flag every level of a cell this short client-bound, and then nothing is recommended: that
    is the check at work, not the search; what search and grid must agree on is the knee."""
    levels = analyse(SweepFolder(folder).read()).levels
    (pick,) = recommend([replace(level, client_bound=False) for level in levels])
    assert pick.level is not None, pick.explanation
    return pick.level


@pytest.mark.slow  # a fidelity check: a whole 576-request grid at 0.1 s a request beside it
async def test_search_finds_the_grids_knee_with_fewer_requests(
    start_simulator: StartSimulator, tmp_path: Path
) -> None:
    # Capacity 4, 0.1 s a request: throughput doubles up to 4 and is flat beyond. The grid sends
    # 96 prompts at each of 1..32 (576 requests); the search sends 8 to 24 a round, 2 or 3
    # rounds a level, over 1, 2, 4, 8 and 6 (at most 210), or, if this machine made 8 look
    # faster than 4, also 16 and 12 (at most 462): fewer either way.
    profile = fixed_profile(ttft_s=0.1, tokens=5, capacity=4)
    grid_config = SweepConfig(
        prompts="synthetic:96:20:5", models=("gpt-4o",), levels=(1, 2, 4, 8, 16, 32), client="http"
    )
    grid_sim = await start_simulator(profile=profile)
    grid = await sweep(grid_sim, grid_config, tmp_path / "g")
    assert grid["recommended_concurrency"]  # the helper's summary, checked for its shape
    grid_level = throughput_knee(tmp_path / "g")

    search_sim = await start_simulator(profile=profile)
    config = replace(grid_config, levels=(1,), search=True, max_concurrency=32)
    out = tmp_path / "s"
    plan = plan_sweep(config, PRICER, out, resume=False, force=False)
    spec = TargetSpec(search_sim.base_url, "sk-test", SimulatorConfig())
    async with Session(spec, config) as session:
        assert await execute_search(plan, session, resume=False, force=False) is None
    render_folder(out)
    summary = json.loads((out / "summary.json").read_text())
    search_level = throughput_knee(out)

    assert grid_level / 2 <= search_level <= grid_level * 2, (grid_level, search_level)
    sent, grid_sent = search_sim.stats()["requests"], grid_sim.stats()["requests"]
    assert isinstance(sent, int) and grid_sent == 576 and sent < grid_sent
    records = read_records(out / "records.jsonl").records
    assert len(records) == sent  # every request the server saw is an ordinary record
    trace = json.loads((out / "search.json").read_text())["steps"]
    assert [step["level"] for step in trace][:4] == [1, 2, 4, 8]
    assert sum(step["rounds"] * step["prompts_per_round"] for step in trace) == sent
    measured = {lvl["concurrency"] for lvl in summary["levels"]}
    assert measured == {step["level"] for step in trace}
    report = (out / "report.md").read_text()
    assert "## Search trace" in report and "doubling to 2" in report


async def test_max_cost_stops_the_search_and_the_trace_says_where(
    start_simulator: StartSimulator, tmp_path: Path
) -> None:
    # $1 / $2 per million tokens, about 25 input and 5 output tokens a prompt: about $0.00004
    # each, so $0.001 covers some 25 requests, less than the 8 x 2 rounds x 3 levels the search
    # would send before it could settle.
    sim = await start_simulator(profile=fixed_profile(ttft_s=0.01, tokens=5))
    config = SweepConfig(
        prompts="synthetic:64:20:5",
        models=("gpt-4o",),
        levels=(1,),
        search=True,
        max_cost_usd=Decimal("0.001"),
        client="http",
    )
    out = tmp_path / "s"
    plan = plan_sweep(config, PRICER, out, resume=False, force=False)
    spec = TargetSpec(sim.base_url, "sk-test", SimulatorConfig())
    async with Session(spec, config) as session:
        assert await execute_search(plan, session, resume=False, force=False) == "budget"
    render_folder(out)
    trace = json.loads((out / "search.json").read_text())["steps"]
    assert trace[-1]["reason"] == "the search stopped here (budget)"
    records = read_records(out / "records.jsonl").records
    assert len(records) == sim.stats()["requests"]
    assert sum(Decimal(r.cost_usd or 0) for r in records) <= Decimal("0.001")
    assert json.loads((out / "meta.json").read_text())["stopped"] == "budget"


def _decisions(steps: list[dict[str, object]]) -> list[dict[str, object]]:
    """A trace less which session sent each probe's prompts."""
    return [{k: v for k, v in step.items() if k != "prompts_reused"} for step in steps]


async def test_a_stopped_search_resumes_where_it_stopped_and_sends_nothing_twice(
    start_simulator: StartSimulator, tmp_path: Path
) -> None:
    # As above, $0.001 stops the search after some 20 requests; the resume lifts the budget
    # (the one setting a resume may change) and the search goes on up to 8, at most 2 x 3 x 24.
    profile = fixed_profile(ttft_s=0.01, tokens=5, capacity=2)
    config = SweepConfig(
        prompts="synthetic:24:20:5",
        models=("gpt-4o",),
        levels=(1,),
        search=True,
        max_concurrency=8,
        max_cost_usd=Decimal("0.001"),
        client="http",
    )
    out = tmp_path / "s"
    sim = await start_simulator(profile=profile)  # one target: a resume refuses another

    async def search(config: SweepConfig, resume: bool) -> tuple[str | None, int]:
        sim.reset_stats()
        plan = plan_sweep(config, PRICER, out, resume=resume, force=False)
        async with Session(TargetSpec(sim.base_url, "sk-test", SimulatorConfig()), config) as s:
            stopped = await execute_search(plan, s, resume=resume, force=False)
        sent = sim.stats()["requests"]
        assert isinstance(sent, int)
        return stopped, sent

    stopped, sent = await search(config, resume=False)
    before = (out / "records.jsonl").read_text().splitlines()
    assert stopped == "budget" and 0 < sent == len(before)
    stopped_trace = json.loads((out / "search.json").read_text())["steps"]
    assert stopped_trace[-1]["reason"] == "the search stopped here (budget)"

    unlimited = replace(config, max_cost_usd=None)
    stopped, sent = await search(unlimited, resume=True)
    assert stopped is None
    after = (out / "records.jsonl").read_text().splitlines()
    assert after[: len(before)] == before and sent == len(after) - len(before)
    trace = json.loads((out / "search.json").read_text())["steps"]
    # The probes done before the stop are decided again from their records, as before.
    done = len(stopped_trace) - 1
    assert _decisions(trace[:done]) == _decisions(stopped_trace[:done])
    assert trace[done]["level"] == stopped_trace[done]["level"]
    assert sum(step["prompts_reused"] for step in trace) == len(before)
    records = read_records(out / "records.jsonl").records
    assert all(record.ok for record in records)
    keys = [(r.concurrency, r.repeat, r.prompt_id) for r in records]
    assert len(set(keys)) == len(keys) == sum(s["rounds"] * s["prompts_per_round"] for s in trace)

    # Resumed once more, the finished search sends nothing and decides the same from its records.
    assert await search(unlimited, resume=True) == (None, 0)
    again = json.loads((out / "search.json").read_text())["steps"]
    assert _decisions(again) == _decisions(trace)
    assert [s["prompts_reused"] for s in again] == [
        s["rounds"] * s["prompts_per_round"] for s in trace
    ]
    render_folder(out)
    assert "before a --resume)" in (out / "report.md").read_text()
    with pytest.raises(OutputError, match=r"another configuration \(max_concurrency 8 -> 4\)"):
        plan_sweep(replace(unlimited, max_concurrency=4), PRICER, out, resume=True, force=False)
