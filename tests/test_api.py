"""The library API end to end: default target is the simulator in its own process."""

from __future__ import annotations

import llmsweep
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
