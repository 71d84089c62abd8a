"""The fault matrix, mixed: every prompt ends in exactly one record, and what the engine counted
equals what the simulator says it injected."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import StartSimulator
from engine_helpers import fixed_profile, prompts, run_all, sweep
from llmsweep.engine.retry import BackoffPolicy
from llmsweep.engine.runner import RunSettings
from llmsweep.settings import SweepConfig
from llmsweep.simulator import FaultRates

RETRYABLE = (
    "error_500",
    "error_503",
    "disconnect",
    "hang",
    "malformed_json",
    "rate_limit_429",
    "rate_limit_429_nohint",
)
FAST_BACKOFF = BackoffPolicy(base_s=0.005, cap_s=0.02)


def mixed(total: float, *, stream: bool) -> FaultRates:
    kinds = [*RETRYABLE, "missing_usage", *(["stream_cut"] if stream else [])]
    share = total / len(kinds)
    return FaultRates(**dict.fromkeys(kinds, share), hang_s=60.0, retry_after_s=0.05)


def injected_retryable(stats: dict[str, object], *, stream: bool) -> int:
    faults = stats["faults"]
    assert isinstance(faults, dict)
    kinds = [*RETRYABLE, *(["stream_cut"] if stream else [])]
    return sum(int(faults[kind]) for kind in kinds)


@pytest.mark.parametrize("stream", [False, True])
async def test_mixed_faults_at_30_percent(start_simulator: StartSimulator, stream: bool) -> None:
    sim = await start_simulator(
        profile=fixed_profile(ttft_s=0.005, tokens=12), faults=mixed(0.3, stream=stream), seed=11
    )
    settings = RunSettings(
        "gpt-4o", 16, stream=stream, timeout_s=0.5, max_retries=20, backoff=FAST_BACKOFF
    )
    items = prompts(150, max_tokens=12)
    records, runner = await run_all(sim, settings, items)
    stats = sim.stats()
    assert sorted(r.prompt_id for r in records) == sorted(p.id for p in items)
    assert all(r.ok for r in records), {r.status for r in records if not r.ok}
    # A disconnect on a pooled connection is sent again at once, not retried (see test_runner).
    # Every attempt reached the server; a resend did when the server dropped it, but not when
    # the server had closed the pooled connection (after a cut stream) before the request went
    # out on it, which turns on scheduling: so resends bound the counts rather than add to them.
    resends = sum(r.stale_connection_resends for r in records)
    attempts = sum(r.attempts for r in records)
    # On a busy machine the 0.5 s timeout can also fire on an answer that was not hung (or on a
    # request the server had not read yet): those timeouts beyond the injected hangs are the
    # machine's, and loosen the bounds by exactly their number.
    faults = stats["faults"]
    assert isinstance(faults, dict)
    timed_out = sum(r.retry_causes.count("timeout") for r in records)
    load_timeouts = max(0, timed_out - faults["hang"])
    requests = stats["requests"]
    assert isinstance(requests, int)
    assert attempts - load_timeouts <= requests <= attempts + resends
    retries = attempts - len(records)
    assert retries - load_timeouts <= injected_retryable(stats, stream=stream) <= retries + resends
    rate_limited = stats["rate_limited"]
    assert isinstance(rate_limited, dict)
    injected_429 = rate_limited["injected"] + rate_limited["injected_nohint"]
    # A 429 answered after the 0.5 s timeout (a busy machine) is a timeout to the client.
    assert sum(r.rate_limited for r in records) == runner.progress.rate_limited <= injected_429
    # So is an answer without usage: it is retried, and its record holds the retry's usage.
    missing_usage = sum(not r.usage_reported for r in records)
    assert faults["missing_usage"] - load_timeouts <= missing_usage <= faults["missing_usage"]
    assert faults["missing_usage"] > 0


async def test_sweep_summary_counts_equal_the_simulators(
    start_simulator: StartSimulator, tmp_path: Path
) -> None:
    sim = await start_simulator(
        profile=fixed_profile(ttft_s=0.005), faults=mixed(0.15, stream=False), seed=5
    )
    # The sweep uses the default backoff (0.5 s base): fewer faults keep this test short.
    config = SweepConfig(
        prompts="synthetic:40:20:5",
        models=("gpt-4o",),
        levels=(1, 4, 16),
        timeout_s=0.3,
        max_retries=20,
    )
    summary = await sweep(sim, config, tmp_path / "r")
    stats = sim.stats()
    cells = summary["cells"]
    assert [c["requests"] for c in cells] == [40, 40, 40]
    resends = sum(c["stale_connection_resends"] for c in cells)
    assert sum(c["attempts"] for c in cells) + resends == stats["requests"]
    assert sum(c["retries"] for c in cells) + resends == injected_retryable(stats, stream=False)
    rate_limited = stats["rate_limited"]
    assert isinstance(rate_limited, dict)
    assert sum(c["rate_limited"] for c in cells) == (
        rate_limited["injected"] + rate_limited["injected_nohint"]
    )
    assert sum(c["usage_estimated"] for c in cells) == stats["faults"]["missing_usage"]  # type: ignore[index]


@pytest.mark.slow  # 3,000 requests; the fault mix is covered by the faster tests above
async def test_soak_thousands_of_requests_at_a_mixed_fault_rate(
    start_simulator: StartSimulator,
) -> None:
    sim = await start_simulator(
        profile=fixed_profile(ttft_s=0.01, tokens=3),
        latency_scale=0.0,
        faults=mixed(0.2, stream=False),
        seed=99,
    )
    # Only the injected hangs should wait out the 2 s timeout; a heavily loaded machine may add
    # a few timeouts of its own, bounded below.
    settings = RunSettings("gpt-4o", 64, timeout_s=2.0, max_retries=30, backoff=FAST_BACKOFF)
    items = prompts(3000, max_tokens=3)
    records, _ = await run_all(sim, settings, items)
    assert len(records) == 3000 and len({r.prompt_id for r in records}) == 3000
    assert all(r.ok for r in records)
    resends = sum(r.stale_connection_resends for r in records)
    # Every attempt that got any answer reached the server; one that timed out may not have
    # (a loop loaded enough to hold a request back 2 s), so the server's count lies between.
    sent = sum(r.attempts for r in records) + resends
    timed_out = sum(r.retry_causes.count("timeout") for r in records)
    stats = sim.stats()
    assert sent - timed_out <= int(stats["requests"]) <= sent  # type: ignore[call-overload]
    assert timed_out >= stats["faults"]["hang"]  # type: ignore[index]
