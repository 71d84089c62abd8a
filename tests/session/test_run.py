"""``llmsweep run``'s job in a session: a resumed run sends only what is left, then compacts."""

from __future__ import annotations

from pathlib import Path

from conftest import StartSimulator
from engine_helpers import fixed_profile
from factories import make_record, write_records
from llmsweep.engine.runner import RunSettings
from llmsweep.session.run import execute_run
from llmsweep.session.session import Session
from llmsweep.session.target import TargetSpec
from llmsweep.settings import ClientOptions
from llmsweep.simulator import SimulatorConfig
from llmsweep.store.records import read_records
from llmsweep.store.runfile import plan_run


async def test_a_resumed_run_sends_only_what_is_left_then_compacts(
    start_simulator: StartSimulator, tmp_path: Path
) -> None:
    sim = await start_simulator(profile=fixed_profile(ttft_s=0.01, tokens=5))
    out = tmp_path / "out.jsonl"
    done = make_record(prompt_id="s0", response_text="kept")
    write_records(out, [done, make_record(prompt_id="s1", status="timeout")])
    plan = plan_run("synthetic:3:10:5", out, model="gpt-4o", seed=0, resume=True, force=False)
    spec = TargetSpec(sim.base_url, "sk-test", SimulatorConfig())
    seen: list[str] = []
    async with Session(spec, ClientOptions()) as session:
        outcome = await execute_run(
            plan,
            RunSettings("gpt-4o", 2),
            session,
            cost_fn=None,
            on_record=lambda record: seen.append(record.prompt_id),
        )
    assert sorted(seen) == ["s1", "s2"] and sim.stats()["requests"] == 2
    assert (outcome.statuses["ok"], outcome.remaining, outcome.stopped) == (2, 0, None)
    records = read_records(out).records
    assert sorted(r.prompt_id for r in records) == ["s0", "s1", "s2"]  # s1's failure is gone
    assert records[0] == done and all(r.ok for r in records)
