"""``llmsweep sweep`` and ``report``: folder, re-render, resume (after a signal: a subprocess),
refusals."""

from __future__ import annotations

import json
import shutil
import signal
import time
from decimal import Decimal
from pathlib import Path
from subprocess import CompletedProcess

import pytest

from cli_helpers import (
    llmsweep,
    llmsweep_at_a_terminal,
    llmsweep_here,
    simulator_in_a_thread,
    start,
)
from engine_helpers import fixed_profile
from llmsweep.cost.money import usd_for_prompts

SWEEP = (
    "sweep",
    "demo",
    "--model",
    "gpt-4o",
    "--model",
    "gpt-4o-mini",
    "--sim-rpm",  # no rate limit: these tests are about other things, and fast
    "0",
    "--concurrency",
    "2,4",
    "--latency-scale",
    "0.02",
)


# Session scope: a module's fixture is torn down whenever its worker runs another module's test
# in between, as xdist's workers do.
@pytest.fixture(scope="session")
def swept(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, CompletedProcess[str]]:
    """One run of SWEEP, shared by the tests that each check another part of what it wrote and
    printed (a sweep and its report are some 15 s); each works on its own copy of the folder.
    Those tests stand together, so that xdist mostly sends them to one worker. In a process of
    its own: its report must come out the same when this process re-renders it."""
    out = tmp_path_factory.mktemp("swept") / "r"
    return out, llmsweep(*SWEEP, "--out-dir", str(out))


def _copy_of(swept: tuple[Path, CompletedProcess[str]], tmp_path: Path) -> Path:
    folder, done = swept
    assert done.returncode == 0, done.stderr
    return Path(shutil.copytree(folder, tmp_path / "r"))


def test_sweep_writes_the_report_and_report_rerenders_it_identically(
    swept: tuple[Path, CompletedProcess[str]], tmp_path: Path
) -> None:
    out = _copy_of(swept, tmp_path)
    done = swept[1]
    assert "built-in simulator" in done.stderr and "estimated cost" in done.stderr
    names = {p.name for p in out.iterdir()}
    assert {
        "records.jsonl",
        "meta.json",
        "summary.json",
        "summary.csv",
        "report.md",
        "report.html",
        "charts",
    } <= names
    summary = json.loads((out / "summary.json").read_text())
    assert {lvl["concurrency"] for lvl in summary["levels"]} == {1, 2, 4}  # 1 added
    assert summary["meta"]["target"]["kind"] == "simulator"
    records = (out / "records.jsonl").read_text().splitlines()
    assert len(records) == 36 * 3 * 2
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    again = llmsweep_here("report", str(out))  # the sweep's process wrote it; this one too
    assert again.returncode == 0, again.stderr
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before


def test_existing_folder_needs_resume_or_force(
    swept: tuple[Path, CompletedProcess[str]], tmp_path: Path
) -> None:
    out = _copy_of(swept, tmp_path)
    refused = llmsweep_here(*SWEEP, "--out-dir", str(out))
    assert refused.returncode == 1 and "--resume" in refused.stderr
    assert "estimated cost" not in refused.stderr  # refused before estimating or sending
    other = llmsweep_here(
        *SWEEP[:-4],
        "--concurrency",
        "8",
        "--latency-scale",
        "0.02",
        "--out-dir",
        str(out),
        "--resume",
    )
    assert other.returncode == 1
    assert "another configuration (levels [1, 2, 4] -> [1, 8])" in other.stderr
    assert "target:" not in other.stderr  # no simulator was started for it
    done_again = llmsweep_here(*SWEEP, "--out-dir", str(out), "--resume")
    assert done_again.returncode == 0, done_again.stderr
    assert len((out / "records.jsonl").read_text().splitlines()) == 36 * 3 * 2  # nothing re-sent


def test_sweep_tells_its_expected_duration_first_and_its_verdict_last(
    swept: tuple[Path, CompletedProcess[str]], tmp_path: Path
) -> None:
    out = _copy_of(swept, tmp_path)
    done = swept[1]
    lines = done.stderr.splitlines()
    (duration,) = [i for i, line in enumerate(lines) if "expected duration about" in line]
    assert (
        "(estimate: the simulator profiles' median latency x latency scale 0.02" in lines[duration]
    )
    first_bar = next(i for i, line in enumerate(lines) if "cell 1 of 6: gpt-4o c=1 r1" in line)
    assert any("cell 6 of 6: gpt-4o-mini c=4 r1" in line and "ETA" in line for line in lines)
    assert all("sweep ETA " in line for line in lines if " of 6: " in line)
    written = next(i for i, line in enumerate(lines) if "report written" in line)
    verdict = [line.removeprefix("llmsweep: verdict: ") for line in lines[written + 1 :]]
    report = (out / "report.md").read_text()
    assert "llmsweep: simulated rate limit: none" in lines  # --sim-rpm 0
    assert duration < first_bar < written
    assert len(verdict) == 2 and all(f"- {line}" in report for line in verdict)
    assert verdict[0].startswith("gpt-4o: ") and verdict[1].startswith("gpt-4o-mini: ")


def test_sigint_then_resume_finishes_the_sweep_without_resending(tmp_path: Path) -> None:
    out = tmp_path / "r"
    args = (
        "sweep",
        "synthetic:30:20:20",  # 30 prompts a cell, 90 in all
        "--model",
        "gpt-4o",
        "--concurrency",
        "1,2,4",
        "--sim-profile",
        "demo",
        "--latency-scale",
        "0.2",
        "--out-dir",
        str(out),
    )
    process = start(*args)
    records = out / "records.jsonl"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and (
        not records.exists() or len(records.read_text().splitlines()) < 35
    ):  # interrupted in the second cell
        time.sleep(0.05)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 130, stderr
    assert "--resume" in stderr and "Traceback" not in stderr
    first = [json.loads(line) for line in records.read_text().splitlines()]
    assert 35 <= len(first) < 90

    resumed = llmsweep_here(*args, "--resume")
    assert resumed.returncode == 0, resumed.stderr
    final = [json.loads(line) for line in records.read_text().splitlines()]
    keys = [(r["concurrency"], r["prompt_id"]) for r in final if r["status"] == "ok"]
    assert len(keys) == len(set(keys)) == 90  # every prompt of every cell ok exactly once
    assert final[: len(first)] == first  # what was there is untouched
    assert (out / "report.html").exists()


def test_budget_stop_is_stated_in_the_report_and_resume_finishes(tmp_path: Path) -> None:
    out = tmp_path / "r"
    # Demo prompts ask up to 350 output tokens (at most about $0.004 each), and with no retry
    # the budget holds one attempt a prompt: $0.02 stops in level 1.
    args = (*SWEEP[:4], "--sim-rpm", "0", "--concurrency", "2", "--max-retries", "0", *SWEEP[-2:])
    stopped = llmsweep_here(*args, "--out-dir", str(out), "--max-cost", "0.02")
    assert stopped.returncode == 0, stopped.stderr
    assert "stopped early (budget)" in stopped.stderr and "Raise --max-cost" in stopped.stderr
    report = (out / "report.md").read_text()
    recorded = len((out / "records.jsonl").read_text().splitlines())
    assert 0 < recorded < 36  # it stopped inside level 1
    assert (
        f"The sweep did not finish: gpt-4o @ 1 ({recorded} of 36 prompts), gpt-4o @ 2 (not run). "
        "The --max-cost budget ran out: raise --max-cost" in report
    )
    # A resume may raise the budget (nothing else): that is how a budget stop is finished.
    finished = llmsweep_here(*args, "--out-dir", str(out), "--max-cost", "1", "--resume")
    assert finished.returncode == 0, finished.stderr
    assert "The sweep did not finish" not in (out / "report.md").read_text()
    assert len((out / "records.jsonl").read_text().splitlines()) == 36 * 2


def test_a_budget_with_several_processes_is_refused_before_anything_is_sent(
    tmp_path: Path,
) -> None:
    out = tmp_path / "r"
    refused = llmsweep_here(*SWEEP, "--processes", "2", "--max-cost", "1", "--out-dir", str(out))
    assert refused.returncode == 2
    assert refused.stderr.strip().splitlines() == [
        "llmsweep: error: --max-cost needs one process: a budget cannot be split safely"
    ]
    assert not out.exists()


def test_declining_the_confirmation_for_a_real_target_sends_nothing(tmp_path: Path) -> None:
    out = tmp_path / "r"
    # A real (non-simulated) target asks first; "n" at the terminal declines. Port 9 is never
    # reached.
    declined = llmsweep_at_a_terminal(
        *SWEEP,
        "--base-url",
        "http://127.0.0.1:9/v1",
        "--out-dir",
        str(out),
        typed="n\n",
        env={"OPENAI_API_KEY": "sk-test-key"},
    )
    assert declined.returncode == 1, declined.stderr
    # demo's prompts all set max_tokens: the estimate is a maximum.
    assert "spending at most $0." in declined.stderr and "(estimate)?" in declined.stderr
    assert "llmsweep:   gpt-4o: at most $0." in declined.stderr
    assert declined.stderr.strip().endswith("llmsweep: aborted; nothing was sent")
    assert not out.exists()


def test_without_max_tokens_the_confirmation_gives_an_expected_cost_not_a_maximum(
    tmp_path: Path,
) -> None:
    prompts = tmp_path / "p.jsonl"
    prompts.write_text('{"id": "a", "prompt": "hi"}\n{"id": "b", "prompt": "hello"}\n')
    args = ("sweep", str(prompts), "--model", "gpt-4o", "--model", "llama-3.1-8b-instruct")
    declined = llmsweep_here(
        *args,
        "--concurrency",
        "2",
        "--price-file",
        str(_llama_prices(tmp_path)),
        "--base-url",
        "https://api.example.invalid/v1",
        "--out-dir",
        str(tmp_path / "r"),
        env={"OPENAI_API_KEY": "sk-test-key"},
    )
    # No terminal to confirm at: refused before sending, after the estimate was shown.
    assert declined.returncode == 2, declined.stderr
    assert declined.stderr.strip().endswith("pass --yes to send without asking")
    assert "up to" not in declined.stderr and "at most" not in declined.stderr
    assert "estimated cost about $0." in declined.stderr and " expected:" in declined.stderr
    assumed = "assuming 256 output tokens a prompt where no max_tokens is set (2 prompt(s))"
    lines = declined.stderr.splitlines()
    gpt = next(line for line in lines if line.startswith("llmsweep:   gpt-4o: "))
    llama = next(line for line in lines if line.startswith("llmsweep:   llama-3.1-8b-instruct: "))
    assert f"expected ({assumed}; input tokens exact)" in gpt
    assert f"expected ({assumed}; input tokens approximate (o200k_base stand-in))" in llama


def test_every_token_label_comes_from_the_models_own_flag(tmp_path: Path) -> None:
    out = tmp_path / "r"
    done = llmsweep_here(
        "sweep",
        "synthetic:3:20:5",
        "--model",
        "gpt-4o",
        "--model",
        "llama-3.1-8b-instruct",
        "--concurrency",
        "2",
        "--price-file",
        str(_llama_prices(tmp_path)),
        "--latency-scale",
        "0.02",
        "--out-dir",
        str(out),
    )
    assert done.returncode == 0, done.stderr
    meta = json.loads((out / "meta.json").read_text())["estimates"]
    assert (meta["gpt-4o"]["tokens_exact"], meta["llama-3.1-8b-instruct"]["tokens_exact"]) == (
        True,
        False,
    )
    exact = "input tokens exact)"
    approximate = "input tokens approximate (o200k_base stand-in), so the bound is approximate too)"
    lines = done.stderr.splitlines()
    assert exact in next(x for x in lines if x.startswith("llmsweep:   gpt-4o: "))
    assert approximate in next(x for x in lines if x.startswith("llmsweep:   llama-3.1-8b"))
    # Which simulator profile each model got, said before sending and kept for the report.
    assert "simulator profile for gpt-4o: gpt-4o (its own)" in done.stderr
    assert (
        "simulator profile for llama-3.1-8b-instruct: self-hosted-8b (by family llama*)"
        in done.stderr
    )
    assert "generic" not in done.stderr
    simulated_as = json.loads((out / "meta.json").read_text())["simulated_as"]
    assert simulated_as["llama-3.1-8b-instruct"] == {
        "profile": "self-hosted-8b",
        "family": "llama*",
        "generic": False,
    }
    assert "self-hosted-8b (by family llama\\*)" in (out / "report.md").read_text()
    assert "exact input tokens" not in done.stderr
    report = (out / "report.md").read_text().replace("\\_", "_")  # Markdown escapes "_"
    assert "llama-3.1-8b-instruct at most $0." in report and approximate in report


def _llama_prices(tmp_path: Path) -> Path:
    path = tmp_path / "prices.toml"
    path.write_text('[models."llama-3.1-8b-instruct"]\ninput = 0.1\noutput = 0.2\n')
    return path


def test_resume_refuses_another_target_and_an_unbounded_budget_before_sending(
    tmp_path: Path,
) -> None:
    out = tmp_path / "r"
    small = ("sweep", "synthetic:4:20:5", "--model", "gpt-4o", "--concurrency", "2")
    first = llmsweep_here(*small, "--latency-scale", "0.02", "--out-dir", str(out))
    assert first.returncode == 0, first.stderr
    # With no --sim-rpm/--sim-tpm, the simulator holds gpt-4o to its published tier, and says so.
    assert (
        "llmsweep: simulated rate limit: 500 RPM, 30,000 TPM (OpenAI usage tier 1 for gpt-4o)"
        in first.stderr.splitlines()
    )
    assert json.loads((out / "meta.json").read_text())["target"]["model_limits"] == {
        "gpt-4o": {"rpm": 500, "tpm": 30_000, "tier": "OpenAI usage tier 1 for gpt-4o"}
    }
    before = (out / "records.jsonl").read_bytes()
    other = llmsweep_here(*small, "--latency-scale", "0.05", "--out-dir", str(out), "--resume")
    assert other.returncode == 1
    assert other.stderr.strip().splitlines() == [
        f"llmsweep: error: {out} holds a sweep with another configuration (target latency_scale "
        "0.02 -> 0.05): --resume needs the same arguments (or use --force / another --out-dir)"
    ]
    prompts = tmp_path / "p.jsonl"
    prompts.write_text(
        '{"id": "a", "prompt": "hi", "max_tokens": 5}\n{"id": "b", "prompt": "hi"}\n'
    )
    unbounded = llmsweep_here(
        "sweep",
        str(prompts),
        "--concurrency",
        "2",
        "--max-cost",
        "1",
        "--out-dir",
        str(tmp_path / "u"),
        "--latency-scale",
        "0.02",
    )
    assert unbounded.returncode == 2
    assert "prompt 'b' has none" in unbounded.stderr and "target:" not in unbounded.stderr
    assert (out / "records.jsonl").read_bytes() == before and not (tmp_path / "u").exists()


def test_a_model_answered_by_another_is_warned_of_once_and_in_the_report(tmp_path: Path) -> None:
    out = tmp_path / "r"
    args = ("sweep", "synthetic:3:20:5", "--model", "gpt-4o-mini", "--concurrency", "2")
    with simulator_in_a_thread(
        profile=fixed_profile(ttft_s=0.01), answer_model="llama-3-8b"
    ) as sim:
        done = llmsweep_here(*args, "--base-url", sim.base_url, "--yes", "--out-dir", str(out))
    assert done.returncode == 0, done.stderr
    warning = (
        "Asked for gpt-4o-mini, the server answered as llama-3-8b: gpt-4o-mini's prices may not "
        "apply to it; give the real prices with --price-in/--price-out (or --price-file)."
    )
    assert [line for line in done.stderr.splitlines() if "answered as" in line] == [
        f"llmsweep: warning: {warning}"
    ]
    assert f"- {warning}" in (out / "report.md").read_text()


def test_a_confirmation_with_no_terminal_to_answer_it_asks_for_yes(tmp_path: Path) -> None:
    args = ("sweep", "synthetic:3:20:5", "--model", "gpt-4o", "--concurrency", "2")
    out = tmp_path / "r"
    with simulator_in_a_thread(profile=fixed_profile(ttft_s=0.01)) as sim:
        # A pipe that happens to hold "y" is not a person agreeing to spend money.
        done = llmsweep_here(
            *args, "--base-url", sim.base_url, "--out-dir", str(out), stdin_text="y\n"
        )
        assert sim.stats()["requests"] == 0
    assert done.returncode == 2, done.stderr
    assert done.stderr.splitlines()[-1] == (
        "llmsweep: error: a real target needs confirmation, but stdin is not a terminal: pass "
        "--yes to send without asking"
    )
    assert not out.exists()


def test_levels_above_the_prompt_count_are_refused_before_anything_runs(tmp_path: Path) -> None:
    out = tmp_path / "r"
    args = ("sweep", "synthetic:4:20:5", "--concurrency", "2,4,8,16", "--out-dir", str(out))
    refused = llmsweep_here(*args)
    assert refused.returncode == 2
    assert refused.stderr.strip().splitlines() == [
        "llmsweep: error: --concurrency 8,16: above the 4 prompts each cell sends, so never "
        "reached; use levels up to 4, or more prompts"
    ]
    sampled = llmsweep_here(
        "sweep", "demo", "--sample", "3", "--concurrency", "4", "--out-dir", str(out)
    )
    assert "--concurrency 4: above the 3 prompts" in sampled.stderr
    assert sampled.stderr.strip().endswith("use levels up to 3, or a larger --sample")
    assert not out.exists()


def test_a_sampled_sweep_projects_the_whole_prompt_file_and_the_job_size_is_kept(
    tmp_path: Path,
) -> None:
    # One second a request, no spread: this machine's lags stay far below 5% of it.
    profile = tmp_path / "slow.toml"
    profile.write_text('base = "fixed"\nttft_median_s = 1.0\nttft_p95_s = 1.0\n')
    prompts = tmp_path / "p.txt"
    prompts.write_text("".join(f"prompt {i}\n" for i in range(5)))
    out = tmp_path / "r"
    args = ("sweep", str(prompts), "--model", "gpt-4o-mini", "--concurrency", "1")
    flags = ("--sample", "3", "--sim-profile", str(profile), "--client", "http")
    done = llmsweep_here(*args, *flags, "--out-dir", str(out))
    assert done.returncode == 0, done.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["meta"]["job_size"] == 5  # the prompt file's size, not the sample's
    (level,) = summary["levels"]
    rate_rps = min(level["throughput_rps"], level["ceiling_rps"] or level["throughput_rps"])
    estimate = summary["meta"]["estimates"]["gpt-4o-mini"]
    share = Decimal(estimate["batch_total_cost_usd"]) / Decimal(estimate["total_cost_usd"])
    per_1k = Decimal(level["cost_per_1k_succeeded_usd"])
    projected = summary["projection"]["gpt-4o-mini"]
    assert projected["kind"] == "projection" and projected["prompts"] == 5
    assert projected["concurrency"] == 1
    assert projected["wall_s"] == pytest.approx(5 / rate_rps, rel=1e-6)
    assert Decimal(projected["cost_usd"]) == usd_for_prompts(per_1k, 5)
    assert Decimal(projected["batch_cost_usd"]) == usd_for_prompts(per_1k, 5, share)
    assert share == Decimal("0.5")  # gpt-4o-mini's batch price is half its price
    verdict = next(line for line in done.stderr.splitlines() if "verdict: gpt-4o-mini" in line)
    assert "projected from the simulated target for 5 prompts at concurrency 1: about " in verdict
    assert "via the Batch API $" in verdict and "(results within 24 h)" in verdict
    assert (out / "charts" / "projection.png").exists()
    # A resume with another --job-size sends nothing and re-projects; `report` keeps it.
    again = llmsweep_here(*args, *flags, "--job-size", "1000000", "--out-dir", str(out), "--resume")
    assert again.returncode == 0, again.stderr
    assert len((out / "records.jsonl").read_text().splitlines()) == 3
    assert llmsweep_here("report", str(out)).returncode == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["projection"]["gpt-4o-mini"]["prompts"] == 1_000_000
    assert (
        "simulated target for 1,000,000 prompts at concurrency 1" in (out / "report.md").read_text()
    )


def test_search_refuses_levels_and_repeats_in_one_line(tmp_path: Path) -> None:
    out = tmp_path / "r"
    base = ("sweep", "demo", "--search", "--out-dir", str(out))
    for extra, message in (
        (("--concurrency", "1,2"), "--search chooses the levels itself: drop --concurrency"),
        (("--repeats", "3"), "--search runs each level in rounds of its own: drop --repeats"),
    ):
        refused = llmsweep_here(*base, *extra)
        assert refused.returncode == 2, refused.stderr
        assert refused.stderr.strip().splitlines() == [f"llmsweep: error: {message}"]
    assert not out.exists()


def test_a_search_stopped_by_its_budget_resumes_with_a_larger_one(tmp_path: Path) -> None:
    out = tmp_path / "r"
    args = (
        *("sweep", "synthetic:16:20:5", "--model", "gpt-4o", "--search", "--max-concurrency", "4"),
        *("--sim-rpm", "0", "--latency-scale", "0.02", "--out-dir", str(out)),
    )
    # About $0.0001 a prompt at gpt-4o's prices: $0.001 stops the search in its first probes.
    stopped = llmsweep_here(*args, "--max-cost", "0.001")
    assert stopped.returncode == 0, stopped.stderr
    assert "stopped early (budget)" in stopped.stderr
    first = (out / "records.jsonl").read_text().splitlines()
    resumed = llmsweep_here(*args, "--max-cost", "1", "--resume")
    assert resumed.returncode == 0, resumed.stderr
    final = [json.loads(line) for line in (out / "records.jsonl").read_text().splitlines()]
    assert 0 < len(first) < len(final) and final[: len(first)] == [json.loads(x) for x in first]
    keys = [(r["concurrency"], r["repeat"], r["prompt_id"]) for r in final]
    assert len(keys) == len(set(keys))  # nothing recorded was sent again
    steps = json.loads((out / "search.json").read_text())["steps"]
    assert sum(step["prompts_reused"] for step in steps) == len(first)
    assert sum(step["rounds"] * step["prompts_per_round"] for step in steps) == len(final)
    assert "The sweep did not finish" not in (out / "report.md").read_text()
