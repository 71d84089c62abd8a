"""``llmsweep run`` end to end: output, resume after SIGINT (in a subprocess, signalled), bad
input."""

from __future__ import annotations

import json
import re
import signal
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from cli_helpers import llmsweep_here, simulator_in_a_thread, start
from engine_helpers import fixed_profile
from llmsweep.cost.money import format_usd
from llmsweep.percentile import percentile
from llmsweep.store.records import record_from_dict

# No rate limit (--sim-rpm 0): these tests are about other things, and fast.
FAST = ("--latency-scale", "0.02", "--sim-rpm", "0")


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_run_writes_one_record_with_text_per_prompt(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    done = llmsweep_here(
        "run", "demo", "--model", "gpt-4o", "--concurrency", "6", "--out", str(out), *FAST
    )
    assert done.returncode == 0, done.stderr
    rows = lines(out)
    assert len(rows) == 36 and len({r["prompt_id"] for r in rows}) == 36
    assert all(r["status"] == "ok" and r["response_text"] for r in rows)
    demo = {r["prompt_id"]: r["prompt_text"] for r in rows}
    assert demo["demo-02"] == "Write a haiku about rate limits."  # its prompt, as the file has it
    assert "built-in simulator" in done.stderr and "latency scale 0.02" in done.stderr
    assert "simulator profile for gpt-4o: gpt-4o (its own)" in done.stderr
    assert "ok 36/36" in done.stderr and "p95" in done.stderr
    assert "Traceback" not in done.stderr


def test_default_output_name_is_safe_for_any_shell_or_file_system(tmp_path: Path) -> None:
    done = llmsweep_here("run", "synthetic:3:20:5", "--model", "gpt-4o-mini", *FAST, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "synthetic_3_20_5.gpt-4o-mini.jsonl",
        "synthetic_3_20_5.gpt-4o-mini.jsonl.target.json",  # what --resume must send to
    ]
    rows = lines(tmp_path / "synthetic_3_20_5.gpt-4o-mini.jsonl")
    assert len(rows) == 3
    assert [row["connect_s"] for row in rows] == [0.0] * 3  # connections opened beforehand


def test_sigint_then_resume_gives_every_prompt_once_and_resends_nothing_ok(
    tmp_path: Path,
) -> None:
    out = tmp_path / "out.jsonl"
    args = (
        "run",
        "synthetic:300:30:40",
        "--model",
        "gpt-4o",
        "--concurrency",
        "4",
        "--out",
        str(out),
        "--sim-profile",
        "demo",
        "--latency-scale",
        "0.3",
    )
    process = start(*args)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and (not out.exists() or len(lines(out)) < 10):
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 130, stderr
    assert "--resume" in stderr and "Traceback" not in stderr
    first = {r["prompt_id"]: r for r in lines(out)}
    assert 10 <= len(first) < 300

    # The same target (a resume on other simulator settings is refused); more concurrency.
    resumed = llmsweep_here(*args[:5], "32", *args[6:], "--resume")
    assert resumed.returncode == 0, resumed.stderr
    final = lines(out)
    assert sorted(r["prompt_id"] for r in final) == sorted(f"s{i}" for i in range(300))
    by_id = {r["prompt_id"]: r for r in final}
    for prompt_id, record in first.items():
        if record["status"] == "ok":  # untouched: same record, same timestamps, not re-sent
            assert by_id[prompt_id] == record


def test_existing_output_needs_resume_or_force(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    out.write_text("{}\n")
    refused = llmsweep_here("run", "demo", "--out", str(out), *FAST)
    assert refused.returncode == 1
    assert refused.stderr.strip().splitlines() == [
        f"llmsweep: error: {out} already holds records: pass --resume to continue that run or "
        "--force to overwrite it"
    ]
    forced = llmsweep_here("run", "demo", "--out", str(out), "--force", *FAST)
    assert forced.returncode == 0, forced.stderr
    assert len(lines(out)) == 36


def test_torn_last_line_is_reported_and_resume_completes(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    assert llmsweep_here("run", "demo", "--out", str(out), *FAST).returncode == 0
    text = out.read_text().splitlines()
    out.write_text("\n".join(text[:20]) + "\n" + text[20][: len(text[20]) // 2])
    resumed = llmsweep_here("run", "demo", "--out", str(out), "--resume", *FAST)
    assert resumed.returncode == 0, resumed.stderr
    assert "dropped 1 torn last line" in resumed.stderr
    assert sorted(r["prompt_id"] for r in lines(out)) == sorted(
        f"demo-{i:02d}" for i in range(1, 37)
    )


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (("run", "missing.jsonl"), 2, "missing.jsonl: no such prompt file"),
        (("run", "bad.jsonl"), 2, "bad.jsonl:2: not valid JSON"),
        (("run", "demo", "--concurrency", "0"), 2, "Invalid value for '--concurrency'"),
        (("run", "demo", "--concurrency", "many"), 2, "Invalid value for '--concurrency'"),
        (("run", "demo", "--concurrency", "-4"), 2, "Invalid value for '--concurrency'"),
        (("run", "demo", "--model", "gpt-4oo"), 2, "gpt-4o"),
        (("run", "demo", "--rpm", "-1"), 2, "Invalid value for '--rpm'"),
        (("run", "demo", "--base-url", "ftp://x"), 2, "--base-url 'ftp://x' is not an http(s) URL"),
        (("run", "demo", "--base-url", "http://127.0.0.1:9/v1"), 1, "cannot reach"),
        (("run", "plain.txt", "--max-cost", "1"), 2, "--max-cost needs --max-tokens"),
        (
            ("run", "big.jsonl", "--model", "gpt-4o"),
            2,
            "big.jsonl:1: prompt 'big' has 140,008 input tokens, more than gpt-4o's context window",
        ),
    ],
)
def test_bad_input_is_one_line_with_exit_code(
    tmp_path: Path, args: tuple[str, ...], code: int, message: str
) -> None:
    (tmp_path / "bad.jsonl").write_text('{"prompt": "ok"}\n{"prompt": \n')
    (tmp_path / "plain.txt").write_text("a prompt without max_tokens\n")
    (tmp_path / "big.jsonl").write_text(json.dumps({"id": "big", "prompt": "hello " * 140_000}))
    done = llmsweep_here(*args, "--out", str(tmp_path / "o.jsonl"), *FAST, cwd=tmp_path)
    assert done.returncode == code, done.stderr
    error_lines = [line for line in done.stderr.splitlines() if "error" in line]
    assert len(error_lines) == 1 and message in error_lines[0], done.stderr
    assert "Traceback" not in done.stderr


def test_a_full_disk_stops_cleanly(tmp_path: Path) -> None:
    done = llmsweep_here("run", "demo", "--out", "/dev/full", *FAST)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1] == (
        "llmsweep: error: /dev/full: write failed (No space left on device)"
    )
    assert "Traceback" not in done.stderr


def test_a_second_signal_exits_at_once_leaving_a_valid_file(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    process = start(
        "run",
        "synthetic:400:30:40",
        "--concurrency",
        "8",
        "--out",
        str(out),
        "--sim-profile",
        "demo",
        "--latency-scale",
        "0.5",
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and (not out.exists() or len(lines(out)) < 5):
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    time.sleep(0.2)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=10)
    assert process.returncode == 130 and "Traceback" not in stderr
    assert "--resume" in stderr
    assert all(row["prompt_id"] for row in lines(out))  # every line is a whole record


def test_a_streamed_run_prints_ttft_and_tpot_from_its_records(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    done = llmsweep_here("run", "synthetic:6:20:20", "--stream", "--out", str(out), *FAST)
    assert done.returncode == 0, done.stderr
    records = [record_from_dict(row) for row in lines(out)]
    ttfts = [r.ttft_s for r in records if r.ttft_s is not None]
    tpots = [t for r in records if (t := r.tpot_s) is not None]
    assert len(ttfts) == len(tpots) == 6
    assert (
        f"TTFT p50 {percentile(ttfts, 50):.3f} s, p95 {percentile(ttfts, 95):.3f} s, "
        f"TPOT p50 {percentile(tpots, 50) * 1000:.1f} ms per token "
        "(measured, ok streamed requests)"
    ) in done.stderr
    assert all(len(r.chunk_gaps_ms) >= 1 for r in records)
    plain = llmsweep_here("run", "synthetic:2:20:5", "--out", str(tmp_path / "plain.jsonl"), *FAST)
    assert "TTFT" not in plain.stderr and "TPOT" not in plain.stderr


def test_the_summary_names_how_many_prompts_were_retried_and_why(tmp_path: Path) -> None:
    # A server that drops 30% of connections before answering: retries, all "connection".
    server = start("simulate", "--port", "0", "--latency-scale", "0", "--disconnect-rate", "0.3")
    assert server.stderr is not None
    try:
        match = re.search(r"serving (http://127\.0\.0\.1:\d+/v1)", server.stderr.readline())
        assert match
        out = tmp_path / "out.jsonl"
        done = llmsweep_here(
            "run", "synthetic:20:20:5", "--model", "gpt-4o", "--concurrency", "10",
            "--client", "http", "--max-retries", "20", "--base-url", match.group(1),
            "--out", str(out),
            env={"OPENAI_API_KEY": "sk-test-key"},
        )  # fmt: skip
    finally:
        server.send_signal(signal.SIGINT)
        server.communicate(timeout=10)
    assert done.returncode == 0, done.stderr
    rows = lines(out)
    retried = sum(1 for row in rows if row["attempts"] > 1)
    causes = sum(len(row["retry_causes"]) for row in rows)
    assert retried > 0 and {c for row in rows for c in row["retry_causes"]} == {"connection"}
    assert f"retried {retried} of 20 prompts (connection {causes})" in done.stderr
    # Each dropped attempt had gone out, so it may have been billed: priced apart (issue 13).
    billed = sum((Decimal(row["possibly_billed_usd"] or 0) for row in rows), Decimal(0))
    assert sum(row["possibly_billed_attempts"] for row in rows) == causes
    assert (
        f"possibly billed besides: {format_usd(billed)} for {causes} attempt(s) that timed out "
        "or were cut after the request went out"
    ) in done.stderr


def test_prompts_that_failed_for_good_exit_3_with_the_resume_command(tmp_path: Path) -> None:
    # gpt-4o answers at most 16,384 tokens: asking for more is a 400, never retried.
    prompts = tmp_path / "p.jsonl"
    prompts.write_text(
        '{"id": "a", "prompt": "hi"}\n{"id": "b", "prompt": "hi", "max_tokens": 99999}\n'
    )
    out = tmp_path / "out.jsonl"
    done = llmsweep_here("run", str(prompts), "--model", "gpt-4o", "--out", str(out), *FAST)
    assert done.returncode == 3, done.stderr
    assert "1 prompt(s) not done (1 failed for good). Retry them with:" in done.stderr
    assert done.stderr.splitlines()[-1] == (
        f"  llmsweep run {prompts} --model gpt-4o --out {out} {' '.join(FAST)} --resume"
    )
    assert {r["prompt_id"]: r["status"] for r in lines(out)} == {"a": "ok", "b": "bad_request"}


def test_max_cost_without_max_tokens_is_refused_before_anything_is_sent(tmp_path: Path) -> None:
    # The first prompt is bounded, the second is not: refused while planning, not after the
    # first was sent and paid for.
    prompts = tmp_path / "p.jsonl"
    prompts.write_text(
        '{"id": "a", "prompt": "hi", "max_tokens": 5}\n{"id": "b", "prompt": "hi"}\n'
    )
    out = tmp_path / "out.jsonl"
    done = llmsweep_here("run", str(prompts), "--out", str(out), "--max-cost", "1", *FAST)
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().splitlines() == [
        "llmsweep: error: --max-cost needs --max-tokens (or max_tokens on every prompt; "
        "prompt 'b' has none)"
    ]
    assert not out.exists()


@pytest.mark.parametrize(
    ("changed", "message"),
    [
        (("--latency-scale", "0.05"), "target latency_scale 0.02 -> 0.05"),
        (("--sim-rpm", "6000"), "target rpm None -> 6000"),
        (("--sim-profile", "demo"), "target profile None -> 'demo'"),
        (("--price-in", "1", "--price-out", "2"), "holds a run priced otherwise (prices: gpt-4o"),
    ],
)
def test_resume_refuses_another_target_or_other_prices(
    tmp_path: Path, changed: tuple[str, ...], message: str
) -> None:
    out = tmp_path / "out.jsonl"
    args = ("run", "synthetic:3:20:5", "--model", "gpt-4o", "--out", str(out))
    assert llmsweep_here(*args, *FAST).returncode == 0
    before = out.read_bytes()
    refused = llmsweep_here(*args, "--resume", *FAST, *changed)
    assert refused.returncode == 1, refused.stderr
    (error,) = refused.stderr.strip().splitlines()
    assert error.startswith(f"llmsweep: error: {out} holds a run") and message in error, error
    assert out.read_bytes() == before
    again = llmsweep_here(*args, "--resume", *FAST)  # the same target and prices: nothing to send
    assert again.returncode == 0 and "already ok" in again.stderr


def test_a_loopback_base_url_is_a_local_server_and_its_model_is_checked(tmp_path: Path) -> None:
    # As llama-server does, it answers with its own model's name whatever is asked.
    out = tmp_path / "out.jsonl"
    args = ("run", "synthetic:3:20:5", "--model", "gpt-4o", "--out", str(out))
    with simulator_in_a_thread(
        profile=fixed_profile(ttft_s=0.01), answer_model="llama-3-8b"
    ) as sim:
        done = llmsweep_here(*args, "--base-url", sim.base_url)
        assert done.returncode == 0, done.stderr
        assert f"llmsweep: target: local server {sim.base_url}" in done.stderr
    warned = [line for line in done.stderr.splitlines() if "answered as" in line]
    assert warned == [
        "llmsweep: warning: Asked for gpt-4o, the server answered as llama-3-8b: gpt-4o's prices "
        "may not apply to it; give the real prices with --price-in/--price-out (or --price-file)."
    ]
    # Its records were made against that server: resuming them on the simulator is refused.
    refused = llmsweep_here(*args, "--resume", *FAST)
    assert refused.returncode == 1
    assert "target kind 'local' -> 'simulator'" in refused.stderr


def test_a_resumed_run_sums_up_the_whole_output_file(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    args = ("run", "synthetic:3:20:5", "--model", "gpt-4o", "--out", str(out), *FAST)
    assert llmsweep_here(*args).returncode == 0
    out.write_text(out.read_text().splitlines(keepends=True)[0])  # as if stopped after one
    resumed = llmsweep_here(*args, "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert "llmsweep: 2 prompt(s) to send" in resumed.stderr
    assert "llmsweep: ok 3/3\n" in resumed.stderr  # the file's 3 prompts, not this session's 2
    assert "this session (2 prompts): wall " in resumed.stderr
    first = llmsweep_here(*args, "--force")
    assert "llmsweep: ok 3/3\n" in first.stderr and "this session" not in first.stderr


def test_a_real_api_is_asked_first_and_the_estimate_says_whether_it_is_a_maximum(
    tmp_path: Path,
) -> None:
    prompts = tmp_path / "p.jsonl"
    prompts.write_text('{"id": "a", "prompt": "hi"}\n{"id": "b", "prompt": "hello"}\n')
    out = tmp_path / "out.jsonl"
    args = ("run", str(prompts), "--model", "gpt-4o", "--out", str(out))
    real = ("--base-url", "https://api.example.invalid/v1")
    env = {"OPENAI_API_KEY": "sk-test-key"}
    # No terminal to answer at: it stops before sending (the host does not even resolve).
    expected = llmsweep_here(*args, *real, env=env)
    assert expected.returncode == 2, expected.stderr
    assert "up to" not in expected.stderr and "at most" not in expected.stderr
    assert (
        "estimated cost about $0.00" in expected.stderr
        and "expected (assuming 256 output tokens a prompt where no max_tokens is set "
        "(2 prompt(s)); input tokens exact)"
        in expected.stderr
    )
    assert expected.stderr.strip().endswith("pass --yes to send without asking")
    bounded = llmsweep_here(*args, *real, "--max-tokens", "5", env=env)
    assert bounded.returncode == 2, bounded.stderr
    assert "estimated cost at most $0.00" in bounded.stderr
    assert "(a bound: output at each prompt's max_tokens; input tokens exact)" in bounded.stderr
    assert not out.exists()
    # --yes skips the question: it goes on to reach the target, which is not there.
    skipped = llmsweep_here(*args, *real, "--yes", "--max-retries", "0", env=env)
    assert "Send these requests" not in skipped.stderr and "aborted" not in skipped.stderr


def test_a_model_with_no_price_is_free_on_a_local_server_and_refused_elsewhere(
    tmp_path: Path,
) -> None:
    out = tmp_path / "out.jsonl"
    args = ("run", "synthetic:3:20:5", "--model", "llama-3.1-8b-instruct", "--out", str(out))
    with simulator_in_a_thread(profile=fixed_profile(ttft_s=0.01)) as sim:
        done = llmsweep_here(*args, "--base-url", sim.base_url)
        assert done.returncode == 0, done.stderr
        assert "estimated cost at most $0 (" in done.stderr
        assert "; prices: self-hosted: no per-token price" in done.stderr
        assert [r["cost_usd"] for r in lines(out)] == ["0", "0", "0"]
        # A price given wins over the self-hosted $0.
        priced = llmsweep_here(
            *args, "--force", "--base-url", sim.base_url, "--price-in", "1", "--price-out", "2"
        )
    assert priced.returncode == 0, priced.stderr
    assert "prices: --price-in/--price-out" in priced.stderr
    # Anywhere else it is refused before anything is sent, with names genai-prices does know.
    refused = llmsweep_here(
        *args, "--force", "--base-url", "https://api.example.invalid/v1", "--yes"
    )
    assert refused.returncode == 2, refused.stderr
    (error,) = refused.stderr.strip().splitlines()
    assert error.startswith(
        "llmsweep: error: no per-token price known for model 'llama-3.1-8b-instruct' (did you "
        "mean: "
    )
    assert "avian:Meta-Llama-3.1-8B-Instruct" in error
    assert error.endswith("give one with --price-in/--price-out (or --price-file)")


def test_prompt_text_is_kept_unless_opted_out_and_resume_takes_records_either_way(
    tmp_path: Path,
) -> None:
    prompts = tmp_path / "p.csv"
    # No id column: the rows are numbered from 1, though the second prompt spans two lines.
    prompts.write_text('prompt\n"first"\n"two\nlines"\nthird\n')
    out = tmp_path / "out.jsonl"
    args = ("run", str(prompts), "--model", "gpt-4o", "--out", str(out), *FAST)
    assert llmsweep_here(*args, "--no-prompt-text").returncode == 0
    assert {r["prompt_id"]: r["prompt_text"] for r in lines(out)} == {
        "1": None,
        "2": None,
        "3": None,
    }
    out.write_text(out.read_text().splitlines(keepends=True)[0])  # as if stopped after one
    resumed = llmsweep_here(*args, "--resume")  # with text this time: records of both kinds
    assert resumed.returncode == 0, resumed.stderr
    assert "llmsweep: ok 3/3\n" in resumed.stderr
    texts = {r["prompt_id"]: r["prompt_text"] for r in lines(out)}
    assert len(texts) == 3 and list(texts.values()).count(None) == 1
    assert {texts[i] for i in ("1", "2", "3") if texts[i] is not None} <= {
        "first",
        "two\nlines",
        "third",
    }
    again = llmsweep_here(*args, "--resume", "--no-prompt-text")
    assert again.returncode == 0 and "already ok; nothing to send" in again.stderr
