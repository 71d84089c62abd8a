"""An open-loop sweep (--rate) through the session against the real simulator."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import StartSimulator
from engine_helpers import fixed_profile, sweep
from llmsweep.settings import SweepConfig
from llmsweep.store.recordfile import read_records


async def test_a_rate_beyond_the_servers_capacity_is_not_sustained(
    start_simulator: StartSimulator, tmp_path: Path
) -> None:
    # One request served at a time, each for at least 0.05 s: at most 20 answers a second,
    # whatever the machine, against 1,000 a second offered to a client that lets 3 out at once.
    sim = await start_simulator(profile=fixed_profile(ttft_s=0.05, tokens=5, capacity=1))
    config = SweepConfig(
        prompts="synthetic:8:20:5",
        models=("gpt-4o",),
        levels=(3,),
        max_concurrency=3,
        rates=(1000.0,),
        client="http",
    )
    summary = await sweep(sim, config, tmp_path / "r")
    stats = sim.stats()
    records = read_records(tmp_path / "r" / "records.jsonl").records
    assert len(records) == 8 == stats["requests"] and all(r.ok for r in records)
    assert isinstance(peak := stats["peak_in_flight"], int) and peak <= 3  # the client's cap
    assert stats["peak_serving"] == 1  # the server's capacity: the rest queued there
    for r in records:
        assert r.scheduled_at_s is not None and r.queued_at_s >= r.scheduled_at_s
        assert r.offered_rps == 1000.0 and (r.concurrency, r.repeat) == (3, 0)
    (rate,) = summary["rates"]
    assert rate["requests"] == 8 and rate["achieved_rps"] <= 20
    # Departures at the server's pace, far below 1,000 less the noise over their span.
    assert rate["departure_rps"] < rate["keep_up_floor_rps"]
    assert not rate["keeps_up"] and summary["recommended_rate"] == {"gpt-4o": None}
    meta = json.loads((tmp_path / "r" / "meta.json").read_text())
    assert meta["config"]["rates"] == [1000.0]


async def test_a_rate_well_within_capacity_keeps_up_though_its_run_is_short(
    start_simulator: StartSimulator, tmp_path: Path
) -> None:
    # 8 prompts at 5 req/s, each answered in at least 2.5 s by a server of 1,000 slots: it never
    # queues. The wall time holds a whole latency after about 1.4 s of arrivals, so succeeded /
    # wall time is at most 8 / 2.5 = 3.2 req/s, short of 5 less its noise; the departures keep
    # pace with the arrivals whatever the latency.
    sim = await start_simulator(profile=fixed_profile(ttft_s=2.5, tokens=5))
    config = SweepConfig(
        prompts="synthetic:8:20:5",
        models=("gpt-4o",),
        levels=(8,),
        max_concurrency=8,
        rates=(5.0,),
        client="http",
    )
    summary = await sweep(sim, config, tmp_path / "r")
    stats = sim.stats()
    assert stats["requests"] == stats["completed_ok"] == 8
    assert isinstance(peak := stats["peak_serving"], int) and peak <= 8  # never a queue there
    (rate,) = summary["rates"]
    assert rate["succeeded"] == 8 and rate["achieved_rps"] <= 3.2
    assert rate["keeps_up"] and summary["recommended_rate"] == {"gpt-4o": 5.0}
