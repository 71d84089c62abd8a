"""``llmsweep sweep`` against a rate-limited simulator: the limits its answers state, reported."""

from __future__ import annotations

import json
from pathlib import Path

from cli_helpers import llmsweep_here, simulator_in_a_thread
from engine_helpers import fixed_profile


def test_the_report_shows_the_limits_the_headers_stated_before_any_429(tmp_path: Path) -> None:
    # What --sim-rpm/--sim-tpm set, on a simulator of the test's own, so that its counters can
    # say no 429 was ever sent: 12 requests in all, within the first second's bucket of 20.
    out = tmp_path / "r"
    args = ("sweep", "synthetic:6:20:5", "--model", "gpt-4o", "--concurrency", "2")
    limits = {"rpm": 1200, "tpm": 600_000}
    with simulator_in_a_thread(profile=fixed_profile(ttft_s=0.01), **limits) as sim:
        done = llmsweep_here(*args, "--base-url", sim.base_url, "--yes", "--out-dir", str(out))
        stats = sim.stats()
    assert done.returncode == 0, done.stderr
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
    assert (
        "Rate limits of gpt-4o (from the API&#x27;s headers): 1,200 requests/min"
        in (out / "report.html").read_text()
    )


# Every request takes 0.8 s and the model generates 3 at once: at concurrency 6, three of every
# six wait 0.8 s for a slot, so its latency p95 is 1.6 s (the server's queue sets it, not the
# client's speed); at 1 and 2 it is 0.8 s plus the client's own overhead. Throughput is about
# 1.25, 2.5 and 3.75 req/s: the knee (within 10% of the best) is 6, and p95 <= 1.2 s leaves
# 0.4 s of margin either side.
QUEUEING = fixed_profile(ttft_s=0.7, tokens=10, tokens_per_s=100.0, capacity=3)
SLO_SWEEP = ("sweep", "synthetic:6:20:10", "--model", "gpt-4o", "--concurrency", "2,6")


def test_under_a_latency_target_the_pick_is_the_fastest_level_that_met_it(tmp_path: Path) -> None:
    out = tmp_path / "r"
    with simulator_in_a_thread(profile=QUEUEING) as sim:
        target = ("--base-url", sim.base_url, "--yes", "--client", "http", "--out-dir", str(out))
        done = llmsweep_here(*SLO_SWEEP, *target, "--slo", "p95=1.2")
        assert done.returncode == 0, done.stderr
        assert sim.stats()["peak_serving"] == 3  # the capacity really did queue level 6
        summary = json.loads((out / "summary.json").read_text())
        levels = {level["concurrency"]: level for level in summary["levels"]}
        assert levels[6]["latency_p95_s"] >= 1.5 and levels[2]["latency_p95_s"] < 1.2
        assert levels[6]["throughput_rps"] > levels[2]["throughput_rps"] / 0.9  # the knee is 6
        assert [levels[c]["slo_met"] for c in (1, 2, 6)] == [True, True, False]
        assert summary["recommended_concurrency"] == {"gpt-4o": 2}
        assert summary["meta"]["config"]["slo"] == [{"metric": "p95", "max_s": 1.2}]
        assert "gpt-4o: use concurrency 2 (" in done.stderr
        assert "meets the latency target p95 \N{LESS-THAN OR EQUAL TO} 1.2 s)" in done.stderr
        report = (out / "report.md").read_text()
        assert "| latency target met |" in report and "| no: p95 1." in report

        # Re-judged without sending anything; a plain re-render keeps the targets it was given.
        sent = sim.stats()["requests"]
        looser = llmsweep_here("report", str(out), "--slo", "p95=2")
        assert looser.returncode == 0, looser.stderr
        assert _recommended(out) == {"gpt-4o": 6}
        again = llmsweep_here("report", str(out))
        assert again.returncode == 0 and _recommended(out) == {"gpt-4o": 6}
        dropped = llmsweep_here("report", str(out), "--slo", "none")
        assert dropped.returncode == 0 and _recommended(out) == {"gpt-4o": 6}  # the knee
        assert "latency target" not in (out / "report.md").read_text()
        assert sim.stats()["requests"] == sent


def _recommended(out: Path) -> dict[str, int | None]:
    recommended: dict[str, int | None] = json.loads((out / "summary.json").read_text())[
        "recommended_concurrency"
    ]
    return recommended


def test_a_bad_latency_target_is_one_line_naming_the_flag(tmp_path: Path) -> None:
    out = tmp_path / "r"
    for value, error in (
        ("p95=fast", "--slo 'p95=fast': expected NAME=SECONDS with NAME one of p50, p95, p99, "
         "ttft_p95, e.g. p95=2.0 (or none)"),
        ("ttft_p95=1", "--slo ttft_p95 needs --stream: time to first token is measured on "
         "streamed answers only"),
    ):  # fmt: skip
        refused = llmsweep_here(*SLO_SWEEP, "--slo", value, "--out-dir", str(out))
        assert refused.returncode == 2
        assert refused.stderr.strip().splitlines() == [f"llmsweep: error: {error}"]
    assert not out.exists()
