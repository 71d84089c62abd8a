"""``llmsweep run``'s job in a session: a resumed run sends only what is left, then compacts."""

from __future__ import annotations

from pathlib import Path

from conftest import StartSimulator
from engine_helpers import fixed_profile
from factories import make_record, write_records
from llmsweep.engine.retry import BackoffPolicy
from llmsweep.engine.runner import RunSettings
from llmsweep.session.run import execute_run
from llmsweep.session.session import Session
from llmsweep.session.target import TargetSpec
from llmsweep.settings import ClientOptions
from llmsweep.simulator import FaultRates, SimulatorConfig
from llmsweep.store.recordfile import read_records
from llmsweep.store.records import Record
from llmsweep.store.runfile import RunOutcome, plan_run


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


async def test_a_stopped_run_records_no_failure_the_stop_caused_and_resume_sends_each_once(
    start_simulator: StartSimulator, tmp_path: Path
) -> None:
    # Half the attempts fail with a 500 (a retry mends them). Stopped after 5 records: nothing
    # recorded may be such a failure, and the resume answers every other prompt exactly once.
    sim = await start_simulator(
        profile=fixed_profile(ttft_s=0.01, tokens=5), faults=FaultRates(error_500=0.5), seed=3
    )
    out = tmp_path / "out.jsonl"
    spec = TargetSpec(sim.base_url, "sk-test", SimulatorConfig())
    settings = RunSettings("gpt-4o", 4, max_retries=100, backoff=BackoffPolicy(0.01, 0.05))

    async def run(resume: bool) -> RunOutcome:
        plan = plan_run(
            "synthetic:40:10:5", out, model="gpt-4o", seed=0, resume=resume, force=False
        )
        async with Session(spec, ClientOptions()) as session:
            seen: list[str] = []

            def stop_after_five(record: Record) -> None:
                seen.append(record.prompt_id)
                if not resume and len(seen) == 5:
                    session.stop()

            return await execute_run(
                plan, settings, session, cost_fn=None, on_record=stop_after_five
            )

    first = await run(resume=False)
    assert first.stopped == "interrupted" and set(first.statuses) == {"ok"}
    assert 5 <= first.done < 40 and first.remaining == 40 - first.done
    second = await run(resume=True)
    assert second.stopped is None and second.statuses == {"ok": 40 - first.done}
    records = read_records(out).records
    assert sorted(r.prompt_id for r in records) == sorted(f"s{i}" for i in range(40))
    assert all(r.ok for r in records)
    assert sim.stats()["completed_ok"] == 40  # no prompt was answered twice
