"""The report's text, before any escaping: headline, verdicts, tables and "About this report"."""

from __future__ import annotations

from dataclasses import replace

from factories import levels_of, make_cell, make_meta, make_record
from llmsweep.analysis.levels import LevelSummary
from llmsweep.analysis.recommend import Recommendation
from llmsweep.analysis.stats import summarize_cells
from llmsweep.report.sections import (
    about,
    failure_examples,
    subtitle,
    summary_table,
    title,
    verdicts,
)
from llmsweep.store.meta import REAL, SIMULATOR, TargetInfo

DASH = "\N{EN DASH}"
TIMES = "\N{MULTIPLICATION SIGN}"


def two_levels(*, bound: bool = False) -> list[LevelSummary]:
    """Level 1: 4 prompts ending at 1..4 s, $0.001 each. Level 2: the same 4 prompts in 2 s,
    then in 3 s, at $0.002 each; with ``bound``, the client used half a core in its first."""
    records = [
        *make_cell("m", 1, prompts=4, wall_s=4.0),
        *make_cell("m", 2, prompts=4, wall_s=2.0, cost_usd="0.002"),
        *make_cell("m", 2, prompts=4, wall_s=3.0, repeat=1, cost_usd="0.002"),
    ]
    return levels_of(records, busy=(("m", 2, 0),) if bound else ())


def test_summary_table_rows_hand_worked() -> None:
    # Level 1: latencies 1-4 s, so p50 2.5, p95 3 + 0.85 = 3.85, p99 3.97; 1 req/s, 50 tok/s.
    # Level 2: walls 2 and 3 s (median 2.5): speedup 4 / 2.5 = 1.6, efficiency 80%.
    table = summary_table(two_levels(bound=True), [Recommendation("m", 2, "why", ())])
    assert "TTFT p50 s" not in table.headers  # nothing streamed
    assert table.rows[0] == (
        "m", "1", "4.00", f"1.00{TIMES}", "100%", "1.0", "50", "2.50", "3.85", "3.97",
        "0 (0%)", "0 (0%)", "0", "$1.00", "",
    )  # fmt: skip
    assert table.rows[1][:5] == ("m", "2", f"2.50 (2.00{DASH}3.00)", f"1.60{TIMES}", "80%")
    assert table.rows[1][-1] == "recommended, client-bound"
    assert table.marked == frozenset({1})


def test_ttft_columns_appear_once_something_streamed() -> None:
    streamed = [make_record(prompt_id=f"p{i}", ttft_s=0.2, ended_at_s=1.0) for i in range(3)]
    table = summary_table(levels_of(streamed), [])
    ttft = table.headers.index("TTFT p50 s")
    assert table.headers[ttft + 1] == "TTFT p95 s"
    assert table.rows[0][ttft : ttft + 2] == ("0.20", "0.20")


def test_verdicts_give_the_pick_its_speed_and_its_own_cost() -> None:
    levels = two_levels()
    picked, none = Recommendation("m", 2, "", ()), Recommendation("m", None, "", ())
    assert verdicts(levels, [picked]) == [
        f"m: use concurrency 2 (1.6{TIMES} faster than sequential, 1.7 req/s); "
        "$2.00 per 1k prompts."
    ]
    # No pick: the model's cost over all its levels, $0.004 + $0.016 over 12 prompts.
    assert verdicts(levels, [none]) == [
        "m: no concurrency met the thresholds (see warnings); $1.67 per 1k prompts."
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
        "(profile per model, latency scale 0.1)."
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
        "client: openai; deadline_s: 900.0; levels: 1, 2; max_cost_usd: none; max_retries: 6; "
        "max_tokens: none; models: gpt-4o; processes: 1; prompts: demo; repeats: 1; rpm: none; "
        "sample: none; stream: False; timeout_s: 120.0; tpm: none; unique_prompts: False; "
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
