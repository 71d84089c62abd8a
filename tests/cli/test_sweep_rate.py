"""``llmsweep sweep --rate``: refusals in one line, a report that re-renders."""

from __future__ import annotations

import json
from pathlib import Path

from cli_helpers import llmsweep_here

RATE_SWEEP = (
    "sweep",
    "synthetic:6:20:10",
    "--model",
    "gpt-4o",
    "--sim-rpm",
    "0",
    "--latency-scale",
    "0.02",
    "--max-concurrency",
    "2",
)


def test_rate_refuses_other_modes_and_bad_rates_in_one_line(tmp_path: Path) -> None:
    out = tmp_path / "r"
    base = ("sweep", "demo", "--out-dir", str(out))
    modes = "--rate, --concurrency and --search are three modes: give one"
    for extra, message in (
        (("--rate", "2", "--concurrency", "1,2"), modes),
        (("--rate", "2", "--search"), modes),
        (("--rate", "2,fast"), "--rate '2,fast': expected requests per second like 2,4,8"),
        (("--rate", "0,2"), "--rate '0,2': rates must be positive numbers (requests per second)"),
        (("--rate", "2", "--resume"), "--resume does not continue a --rate sweep: run it again "
         "with --force"),
    ):  # fmt: skip
        refused = llmsweep_here(*base, *extra)
        assert refused.returncode == 2, refused.stderr
        assert refused.stderr.strip().splitlines() == [f"llmsweep: error: {message}"]
    assert not out.exists()


def test_a_rate_sweep_writes_its_report_and_report_rerenders_it(tmp_path: Path) -> None:
    out = tmp_path / "r"
    done = llmsweep_here(*RATE_SWEEP, "--rate", "50,5.5", "--out-dir", str(out))
    assert done.returncode == 0, done.stderr
    assert "6 prompts x 2 rates (open loop, at most 2 in flight)" in done.stderr
    assert "llmsweep: verdict: gpt-4o: " in done.stderr
    records = [json.loads(line) for line in (out / "records.jsonl").read_text().splitlines()]
    assert len(records) == 12  # one per prompt per rate
    for rate, index in ((5.5, 0), (50.0, 1)):
        cell = [r for r in records if r["repeat"] == index]
        assert sorted(r["prompt_id"] for r in cell) == sorted({r["prompt_id"] for r in cell})
        assert len(cell) == 6 and {r["offered_rps"] for r in cell} == {rate}
        assert {r["concurrency"] for r in cell} == {2}  # the cap
    for r in records:
        assert r["scheduled_at_s"] is not None and r["started_at_s"] >= r["scheduled_at_s"]
    meta = json.loads((out / "meta.json").read_text())
    assert meta["config"]["rates"] == [5.5, 50.0] and meta["schema_version"] == 6
    summary = json.loads((out / "summary.json").read_text())
    assert summary["mode"] == "rate" and [r["offered_rps"] for r in summary["rates"]] == [5.5, 50]
    assert (out / "report.md").read_text().startswith("# llmsweep open-loop rate report")
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    again = llmsweep_here("report", str(out))
    assert again.returncode == 0, again.stderr
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
