"""One session for run, sweep and the library: it opens the target, runs engines, and stops."""

from __future__ import annotations

import re

import pytest

from conftest import StartSimulator
from engine_helpers import fixed_profile, prompts
from llmsweep.engine.runner import RunSettings
from llmsweep.errors import LlmsweepError, TargetError
from llmsweep.session.session import Session
from llmsweep.session.target import TargetSpec
from llmsweep.settings import ClientOptions
from llmsweep.simulator import SimulatorConfig


async def test_no_url_and_no_key_opens_the_built_in_simulator() -> None:
    spec = TargetSpec(None, None, SimulatorConfig(latency_scale=0.01))
    session = Session(spec, ClientOptions(client="http"))
    with pytest.raises(LlmsweepError, match="not open"):
        session.target  # noqa: B018
    async with session:
        assert session.target.simulated and session.target.base_url.startswith("http://127.")
        settings = RunSettings("gpt-4o", 2, max_tokens=5)
        records = [r async for r in session.records(settings, prompts(6, max_tokens=5), seed=0)]
    assert len(records) == 6 and all(r.ok for r in records)
    # What the client cost while those ran, for the harness check.
    assert session.harness is not None and session.harness.requests == 6
    assert session.progress is not None and session.progress.done == 6


async def test_a_stop_holds_for_the_engines_that_open_after_it(
    start_simulator: StartSimulator,
) -> None:
    sim = await start_simulator(profile=fixed_profile(ttft_s=0.01, tokens=5))
    spec = TargetSpec(sim.base_url, "sk-test", SimulatorConfig())
    async with Session(spec, ClientOptions(client="http")) as session:
        session.stop("interrupted")
        records = [r async for r in session.records(RunSettings("gpt-4o", 2), prompts(4), seed=0)]
        assert session.stopped == "interrupted"
    assert records == [] and sim.stats()["requests"] == 0


async def test_an_unreachable_target_fails_before_any_prompt() -> None:
    spec = TargetSpec("http://127.0.0.1:9/v1", "sk-test", SimulatorConfig())
    with pytest.raises(TargetError, match=re.escape("cannot reach http://127.0.0.1:9/v1")):
        async with Session(spec, ClientOptions()):
            pytest.fail("the session opened")
