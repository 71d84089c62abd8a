"""An open-loop sweep (--rate) through the session against the real simulator."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import StartSimulator
from engine_helpers import fixed_profile, sweep
from llmsweep.settings import SweepConfig
from llmsweep.store.records import read_records


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
    assert not rate["keeps_up"] and summary["recommended_rate"] == {"gpt-4o": None}
    meta = json.loads((tmp_path / "r" / "meta.json").read_text())
    assert meta["config"]["rates"] == [1000.0]
