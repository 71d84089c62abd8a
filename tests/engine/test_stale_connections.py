"""A server that closes each connection after one answer, while saying keep-alive (as llama.cpp's
llama-server does), costs neither client a retry: a request that meets a closed pooled
connection is sent again at once on a new one, and each such resend matches a request the
server closed unanswered."""

from __future__ import annotations

import pytest

from conftest import StartSimulator
from engine_helpers import fixed_profile, make_runner, prompts
from llmsweep.engine.retry import BackoffPolicy
from llmsweep.engine.runner import RunSettings


@pytest.mark.parametrize("client", ["http", "openai"])
@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("concurrency", [1, 4])
async def test_closed_pooled_connections_are_resent_not_retried(
    start_simulator: StartSimulator, client: str, stream: bool, concurrency: int
) -> None:
    sim = await start_simulator(
        profile=fixed_profile(ttft_s=0.001, tokens=5), close_after_answer=True
    )
    settings = RunSettings(
        "gpt-4o",
        concurrency,
        stream=stream,
        timeout_s=5.0,
        max_retries=3,
        backoff=BackoffPolicy(base_s=0.001, cap_s=0.002),
    )
    items = prompts(12, max_tokens=5)
    runner, transport = make_runner(sim, settings, transport_kind=client)
    try:
        await runner.warm_up()  # a connection per worker, each already used for one answer
        records = [record async for record in runner.run(items)]
    finally:
        await transport.aclose()
    stats = sim.stats()
    assert sorted(r.prompt_id for r in records) == sorted(p.id for p in items)
    assert [r.retry_causes for r in records if r.retry_causes] == []
    assert all(r.ok and r.attempts == 1 for r in records)
    assert stats["requests"] == stats["completed_ok"] == len(items)  # each answered once
    # Every worker's first request went out on a warm-up connection, which the server closes.
    closed = stats["closed_after_answer"]
    assert isinstance(closed, int)
    assert sum(r.stale_connection_resends for r in records) == closed >= concurrency
    for record in records:  # the detour counts as getting a connection, not as client lag
        if record.stale_connection_resends:
            assert record.connect_s > 0 and record.sent_at_s is not None
            assert record.started_at_s + record.connect_s <= record.sent_at_s
