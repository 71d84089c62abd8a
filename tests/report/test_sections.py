"""The report's text, before any escaping: headline, verdicts, tables and "About this report"."""

from __future__ import annotations

from dataclasses import replace

from factories import LAGGING, levels_of, make_cell, make_estimate, make_meta, make_record
from llmsweep.analysis.levels import LevelSummary
from llmsweep.analysis.recommend import Recommendation
from llmsweep.analysis.stats import summarize_cells
from llmsweep.report.about import about
from llmsweep.report.sections import (
    failure_examples,
    search_table,
    subtitle,
    summary_table,
    title,
    verdicts,
)
from llmsweep.store.meta import REAL, SIMULATOR, SimulatedLimit, TargetInfo
from llmsweep.store.search import SearchStep

DASH = "\N{EN DASH}"
TIMES = "\N{MULTIPLICATION SIGN}"


def two_levels(*, bound: bool = False) -> list[LevelSummary]:
    """Level 1: 4 prompts ending at 1..4 s, $0.001 each, twice. Level 2: the same 4 prompts in
    2 s, then in 3 s, at $0.002 each; with ``bound``, the client used half a core in its second
    (1.33x: short of ideal, so held back)."""
    records = [
        *make_cell("m", 1, prompts=4, wall_s=4.0),
        *make_cell("m", 1, prompts=4, wall_s=4.0, repeat=1),
        *make_cell("m", 2, prompts=4, wall_s=2.0, cost_usd="0.002"),
        *make_cell("m", 2, prompts=4, wall_s=3.0, repeat=1, cost_usd="0.002"),
    ]
    return levels_of(records, busy=(("m", 2, 1),) if bound else ())


def test_summary_table_rows_hand_worked() -> None:
    # Level 1: latencies 1-4 s, so p50 2.5, p95 3 + 0.85 = 3.85, p99 3.97; 1 req/s, 50 tok/s;
    # its two repeats are equal, so their intervals have no width.
    # Level 2: walls 2 and 3 s against 4 s in each repeat: speedups 2 and 4/3, median 5/3,
    # efficiency 83%; no retries, no cached input.
    table = summary_table(two_levels(bound=True), [Recommendation("m", 2, "why", ())])
    assert "TTFT p50 s" not in table.headers  # nothing streamed
    assert table.rows[0] == (
        "m", "1", f"4.00 (4.00{DASH}4.00)", f"1.00{TIMES}", "100%", "1.0 ± 0.00", "50",
        "2.50 ± 0.00", "3.85 ± 0.00", "3.97", "0 (0%)", "0 (0%)", "0 (0%)", "0%", "$1.00", "",
    )  # fmt: skip
    # Two repeats: mean ± t(0.975, 1) = 12.706 x sd / √2. Speedups 4/2, 4/3: 1.67 ± 4.24;
    # req/s 2, 1.33: 1.7 ± 4.2; latency p50 = 0.625 x wall: 1.25, 1.875 -> 1.56 ± 3.97; p95 =
    # 0.9625 x wall: 1.925, 2.8875 -> 2.41 ± 6.11. Efficiency: the median 5/3 over 2 = 83%.
    assert table.rows[1][:9] == (
        "m", "2", f"2.50 (2.00{DASH}3.00)", f"1.67{TIMES} ± 4.24", "83%", "1.7 ± 4.2", "83",
        "1.56 ± 3.97", "2.41 ± 6.11",
    )  # fmt: skip
    assert table.rows[1][-1] == "recommended, client-bound"
    assert table.marked == frozenset({1})


def test_ttft_itl_and_tpot_columns_appear_once_something_streamed() -> None:
    # Gaps 16, 17 ms in each of 3 answers, pooled: p50 at rank 2.5 of 16,16,16,17,17,17 is
    # 16.5 ms, p95 at rank 4.75 is 17 ms. TPOT: (1.0 - 0.2) s / (50 - 1) tokens = 16.3 ms.
    streamed = [
        make_record(prompt_id=f"p{i}", ttft_s=0.2, ended_at_s=1.0, chunk_gaps_ms=(16.0, 17.0))
        for i in range(3)
    ]
    table = summary_table(levels_of(streamed), [])
    ttft = table.headers.index("TTFT p50 s")
    assert table.headers[ttft : ttft + 5] == (
        "TTFT p50 s", "TTFT p95 s", "ITL p50 ms", "ITL p95 ms", "TPOT p50 ms",
    )  # fmt: skip
    assert table.rows[0][ttft : ttft + 5] == ("0.20", "0.20", "16.5", "17.0", "16.3")


def test_verdicts_give_the_pick_its_speed_and_the_models_cost() -> None:
    levels = two_levels()
    picked, none = Recommendation("m", 2, "", ()), Recommendation("m", None, "", ())
    # Cost is the model's over all its levels, not the pick's ($2.00): $0.008 + $0.016 over 16
    # prompts (concurrency does not change what a request costs).
    assert verdicts(levels, [picked]) == [
        f"m: use concurrency 2 (1.7{TIMES} faster than sequential, 1.7 req/s); "
        "$1.50 per 1k succeeded prompts at any level."
    ]
    assert verdicts(levels, [none]) == [
        "m: no concurrency met the thresholds (see warnings); $1.50 per 1k succeeded prompts "
        "at any level."
    ]
    bound = levels_of(
        make_cell("m", 1, prompts=4, wall_s=4.0), busy=(("m", 1, 0),), measurement=LAGGING
    )
    assert verdicts(bound, [none]) == [
        "m: no level measured the API: this machine was the bottleneck at each (see warnings); "
        "$1.00 per 1k succeeded prompts at any level."
    ]
    free = levels_of(make_cell("free", 1, prompts=2, wall_s=1.0, cost_usd=None))
    assert verdicts(free, [Recommendation("free", 1, "", ())]) == [
        "free: use concurrency 1 (1.0\N{MULTIPLICATION SIGN} faster than sequential, "
        "2.0 req/s); cost unknown."
    ]


def test_title_and_subtitle_name_the_models_and_the_target() -> None:
    levels = levels_of(
        make_cell("b", 1, prompts=1, wall_s=1) + make_cell("a", 1, prompts=1, wall_s=1)
    )
    assert title(levels) == "llmsweep concurrency report: a, b"
    assert title([]) == "llmsweep concurrency report: no records"
    simulated = TargetInfo(SIMULATOR, "http://127.0.0.1:5/v1", None, 0.1)
    meta = replace(make_meta(target=simulated), created_at="2026-01-01T00:00:00Z")
    assert subtitle(meta) == (
        "Run created 2026-01-01T00:00:00Z against a simulated target "
        "(profile per model, latency scale 0.1). Simulated rate limit: none."
    )
    tier = SimulatedLimit(500, 30_000, "OpenAI usage tier 1 for gpt-4o")
    limited = replace(simulated, model_limits={"gpt-4o": tier})
    assert subtitle(make_meta(target=limited, models=("gpt-4o", "other"))).endswith(
        "latency scale 0.1). Simulated rate limit: 500 RPM, 30,000 TPM (OpenAI usage tier 1 "
        "for gpt-4o). Simulated rate limit: none."
    )
    flags = replace(simulated, rpm=3000)  # --sim-rpm: one limit for every model, said once
    assert subtitle(make_meta(target=flags, models=("a", "b"))).endswith(
        "Simulated rate limit: 3,000 RPM (--sim-rpm/--sim-tpm)."
    )
    real = make_meta(target=TargetInfo(REAL, "https://api.example.com/v1"))
    assert subtitle(real) == "Run created 2025-01-02T03:04:05Z against a real API."


def test_failure_examples_are_cut_to_twelve_rows_and_160_characters() -> None:
    # Five cells of three failed prompts each: 15 examples, of which the first 12 are shown.
    records = [
        r for level in range(1, 6) for r in make_cell("m", level, prompts=3, wall_s=1.0, failed=3)
    ]
    table = failure_examples(summarize_cells(records))
    assert table is not None and len(table.rows) == 12
    assert table.rows[0] == ("m", "1", "1", "p0", "server_error", "server_error error")
    assert table.rows[-1][:4] == ("m", "4", "1", "p2")
    long = make_record(status="timeout", error="x" * 200)
    cut = failure_examples(summarize_cells([long]))
    assert cut is not None and cut.rows[0][-1] == "x" * 160 + "…"
    assert failure_examples(summarize_cells(make_cell("m", 1, prompts=2, wall_s=1))) is None


def test_about_shows_the_host_but_never_credentials_and_keeps_the_seed_apart() -> None:
    target = TargetInfo(REAL, "https://me:s3cret@api.example.com:8443/v1?k=v")
    meta = make_meta(levels=(1, 2), target=target, seed=7)
    meta = replace(meta, price_source="genai-prices", price_date="2026-01-01")
    estimated = [make_record(prompt_id=f"p{i}", usage_reported=i > 1) for i in range(4)]
    facts = dict(about(meta, levels_of(estimated)))
    assert facts["Target"] == "real API at api.example.com:8443"
    assert "s3cret" not in " ".join(facts.values())
    assert facts["Seed"] == "7"
    # Every other field of the config, sorted by name, the seed not among them.
    assert facts["Config"] == (
        "client: http; deadline_s: 900.0; levels: 1, 2; max_concurrency: 256; "
        "max_cost_usd: none; max_retries: 6; max_tokens: none; models: gpt-4o; processes: 1; "
        "prompts: demo; rates: none; repeats: 1; rpm: none; sample: none; search: False; "
        "slo: none; stream: False; timeout_s: 120.0; tpm: none; unique_prompts: False; "
        "warm_up: True"
    )
    assert facts["Prices"] == "genai-prices; 2026-01-01"
    assert facts["Connections"].startswith("opened before each cell's clock started")
    assert "2 prompts had no usage from the API" in facts["Cost"]
    # Typed metadata always has a seed and a tool version; an empty URL is the client's default.
    bare = dict(about(make_meta(target=TargetInfo(REAL, ""), warm_up=False), []))
    assert bare["Target"] == "real API at the client's default endpoint"
    assert (bare["Seed"], bare["Tool version"]) == ("0", "llmsweep 0.1.0")
    assert bare["Connections"] == "opened by each cell's first requests, inside the measured time"


def test_the_report_states_each_estimate_in_the_words_the_command_line_used() -> None:
    capped = make_estimate("gpt-4o", "0.2211", None, 20)
    assumed = replace(
        make_estimate("llama", "0.01", None, 20),
        bound=False,
        basis="assuming 256 output tokens a prompt where no max_tokens is set (20 prompt(s)); "
        "input tokens approximate (o200k_base stand-in)",
    )
    meta = make_meta(estimates={"gpt-4o": capped, "llama": assumed})
    cost = dict(about(meta, []))["Cost"]
    assert cost.endswith(
        "Pre-run estimate of one pass over the prompts (cost chart): gpt-4o at most $0.221 (a "
        "bound: output at each prompt's max_tokens; input tokens exact); llama about $0.0100 "
        f"expected ({assumed.basis})."
    )
    assert "exact input tokens, output at max tokens" not in cost


def test_a_level_not_compared_is_greyed_with_its_reason_and_no_speedup() -> None:
    # Level 4 stopped after 4 of its 20 prompts.
    records = [*make_cell("m", 1, prompts=20, wall_s=20.0), *make_cell("m", 4, prompts=4, wall_s=1)]
    table = summary_table(levels_of(records, planned_prompts=20), [])
    assert table.greyed == frozenset({1})
    speedup = table.headers.index("speedup")
    assert table.rows[1][speedup : speedup + 2] == (DASH, DASH)
    assert table.rows[1][-1] == "not compared, unfinished: fewer records than planned prompts"


def test_the_table_shows_retried_prompts_with_their_causes_and_the_cached_share() -> None:
    records = [
        make_record(prompt_id="a", attempts=4, retry_causes=("timeout", "connection", "timeout")),
        make_record(prompt_id="b", cached_input_tokens=25),
    ]
    table = summary_table(levels_of(records), [])
    retried = table.headers.index("retried prompts (causes)")
    assert table.rows[0][retried : retried + 2] == ("1 (50%): timeout 2, connection 1", "12%")


def test_the_search_trace_is_one_row_per_probe_in_the_order_measured() -> None:
    steps = [
        SearchStep("m", 1, 2, 8, 10.0, 9.5, 10.5, 1.0, "doubling to 2"),
        SearchStep("m", 2, 3, 8, 19.0, None, None, None, "the search stopped here (budget)"),
    ]
    table = search_table(steps)
    assert table is not None and [row[:7] for row in table.rows] == [
        ("m", "1", "1", f"2 {TIMES} 8", "16", f"10 (9.5{DASH}10)", f"1.00{TIMES}"),
        ("m", "2", "2", f"3 {TIMES} 8", "24", "19", DASH),
    ]
    assert table.rows[1][-1] == "the search stopped here (budget)"
    assert search_table([]) is None  # a grid sweep has none
