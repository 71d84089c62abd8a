"""``llmsweep sweep`` against a rate-limited simulator: the limits its answers state, reported."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from cli_helpers import llmsweep
from conftest import StartSimulator
from engine_helpers import fixed_profile


async def test_the_report_shows_the_limits_the_headers_stated_before_any_429(
    start_simulator: StartSimulator, tmp_path: Path
) -> None:
    # What --sim-rpm/--sim-tpm set, on a simulator of the test's own, so that its counters can
    # say no 429 was ever sent: 12 requests in all, within the first second's bucket of 20.
    sim = await start_simulator(profile=fixed_profile(ttft_s=0.01), rpm=1200, tpm=600_000)
    out = tmp_path / "r"
    args = ("sweep", "synthetic:6:20:5", "--model", "gpt-4o", "--concurrency", "2")
    done = await asyncio.to_thread(
        llmsweep, *args, "--base-url", sim.base_url, "--yes", "--out-dir", str(out)
    )
    assert done.returncode == 0, done.stderr
    stats = sim.stats()
    assert stats["by_status"] == {"200": 12}
    assert isinstance(stats["rate_limited"], dict) and not any(stats["rate_limited"].values())
    summary = json.loads((out / "summary.json").read_text())
    (stated,) = summary["stated_limits"]
    assert (stated["model"], stated["rpm"], stated["tpm"]) == ("gpt-4o", 1200, 600_000)
    # 1200 rpm = 20 req/s; 600k tpm / 60 / (20 input + 5 max tokens, about) binds far above it.
    assert stated["ceiling_rps"] == 20.0
    assert all(level["ceiling_rps"] == 20.0 for level in summary["levels"])
    report = (out / "report.md").read_text()
    assert (
        "Rate limits of gpt-4o (from the API's headers): 1,200 requests/min and 600,000 "
        "tokens/min, a ceiling of 20 req/s at the tokens a request was charged." in report
    )
