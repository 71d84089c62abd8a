"""Run-wide warnings on hand-worked levels: simulation, small samples, unfinished sweeps."""

from __future__ import annotations

from dataclasses import replace

from factories import LAGGING, levels_of, make_cell, make_meta, make_record
from llmsweep.analysis.stats import summarize_cells
from llmsweep.report.warnings import cell_warnings, sweep_warnings, unfinished_levels
from llmsweep.store.meta import REAL, SimulatedAs, TargetInfo
from llmsweep.store.records import Record


def test_warnings_fire_for_few_prompts_one_repeat_and_simulation() -> None:
    records = make_cell("m", 1, prompts=5, wall_s=10.0) + make_cell(
        "m", 1, prompts=5, wall_s=14.0, repeat=1
    )
    levels = levels_of(records, busy=(("m", 1, 0),), measurement=LAGGING)
    meta = make_meta(models=("m",), levels=(1,), prompt_count=5, repeats=2)
    run_wide = " ".join(sweep_warnings(levels, meta))
    assert "simulated target (profile gpt-4o, latency scale 0.05)" in run_wide
    assert "Only 5 prompts per cell" in run_wide and "use at least 20 (add prompts)" in run_wide
    assert "--sample" not in run_wide  # none was given: a sample could only make them fewer
    meta = make_meta(models=("m",), levels=(1,), prompt_count=30)
    single = " ".join(sweep_warnings(levels_of(make_cell("m", 1, prompts=30, wall_s=3.0)), meta))
    assert "ran once" in single and "--repeats 3" in single


def test_a_full_sweep_of_the_real_api_with_repeats_warns_of_nothing() -> None:
    records = make_cell("m", 1, prompts=20, wall_s=4.0) + make_cell(
        "m", 1, prompts=20, wall_s=4.0, repeat=1
    )
    real = TargetInfo(REAL, "https://api.example.com/v1")
    meta = make_meta(models=("m",), levels=(1,), prompt_count=20, repeats=2, target=real)
    assert sweep_warnings(levels_of(records), meta) == []


def test_unfinished_levels_count_what_each_configured_level_lacks() -> None:
    # 10 prompts x 2 repeats = 20 wanted per level: level 1 has them, level 2 has 12, 4 none.
    records = [
        *make_cell("m", 1, prompts=10, wall_s=1.0),
        *make_cell("m", 1, prompts=10, wall_s=1.0, repeat=1),
        *make_cell("m", 2, prompts=10, wall_s=1.0),
        *make_cell("m", 2, prompts=2, wall_s=1.0, repeat=1),
    ]
    meta = make_meta(models=("m",), levels=(1, 2, 4), prompt_count=10, repeats=2)
    levels = levels_of(records)
    assert unfinished_levels(levels, meta) == [("m", 2, 12, 20), ("m", 4, 0, 20)]
    (warning,) = [
        w for w in sweep_warnings(levels, meta.with_stop("budget")) if "did not finish" in w
    ]
    assert warning.startswith(
        "The sweep did not finish: m @ 2 (12 of 20 prompts), m @ 4 (not run). The --max-cost "
        "budget ran out: raise --max-cost and rerun the same command with --resume;"
    )


def test_estimated_usage_and_missing_prices_are_counted() -> None:
    records = [
        make_record(prompt_id=f"p{i}", usage_reported=i >= 3, ended_at_s=i + 1.0) for i in range(20)
    ] + [
        make_record(prompt_id=f"p{i}", model="local", cost_usd=None, ended_at_s=i + 1.0)
        for i in range(20)
    ]
    meta = make_meta(models=("gpt-4o", "local"), levels=(1,), prompt_count=20)
    text = " ".join(sweep_warnings(levels_of(records), meta))
    assert "3 prompts got no token usage from the API" in text
    assert "No price was known for local;" in text


def test_a_speedup_above_its_level_is_warned_of_as_a_measurement_error() -> None:
    # 20 prompts took 20 s one at a time but 2 s two at a time: "10x" at level 2.
    records = make_cell("m", 1, prompts=20, wall_s=20.0) + make_cell("m", 2, prompts=20, wall_s=2)
    meta = make_meta(models=("m",), levels=(1, 2), prompt_count=20)
    (warning,) = [w for w in sweep_warnings(levels_of(records), meta) if "measurement" in w]
    assert warning.startswith(
        "Speedup above 1.1 x the level is a measurement error, not a result: "
        "m @ 2 (10.0\N{MULTIPLICATION SIGN}). Those levels are not compared or recommended."
    )
    assert "--repeats 3" in warning


def test_a_cell_where_more_than_a_tenth_of_prompts_retried_is_named_with_its_causes() -> None:
    # Level 4: 3 of 20 prompts retried (15%), for 3 connection drops and 1 timeout; level 1:
    # 2 of 20 (10%, not more than a tenth).
    def cell(level: int, retried: dict[int, tuple[str, ...]]) -> list[Record]:
        return [
            make_record(
                prompt_id=f"p{i}",
                model="m",
                concurrency=level,
                ended_at_s=1.0,
                attempts=1 + len(retried.get(i, ())),
                retry_causes=retried.get(i, ()),
            )
            for i in range(20)
        ]

    records = cell(1, {0: ("timeout",), 1: ("timeout",)}) + cell(
        4, {0: ("connection", "connection"), 1: ("connection",), 2: ("timeout",)}
    )
    (warning,) = cell_warnings(summarize_cells(records))
    assert warning.startswith(
        "More than 10% of prompts needed a retry at m @ 4 repeat 1 (15%), caused by connection 3, "
        "timeout 1: their timings include failed attempts and backoff. Lower the level;"
    )


def test_cells_of_one_model_whose_cached_input_differs_by_over_20_points_are_warned_of() -> None:
    def cell(level: int, cached: int) -> list[Record]:
        return [
            make_record(prompt_id=f"p{i}", model="m", concurrency=level, cached_input_tokens=cached)
            for i in range(4)
        ]

    # 100 input tokens each: 10% cached at level 1, 35% at level 2, 30% at level 4.
    records = cell(1, 10) + cell(2, 35) + cell(4, 30)
    (warning,) = cell_warnings(summarize_cells(records))
    assert warning == (
        "m: the server served 35% of input tokens from its prompt cache at concurrency 2 "
        "repeat 1 but 10% at concurrency 1 repeat 1: the server's prompt cache makes these "
        "cells incomparable; rerun with --unique-prompts so no cell reuses another's prompts."
    )
    assert cell_warnings(summarize_cells(cell(1, 10) + cell(4, 30))) == []  # 20 points: fine


def test_a_rate_sweeps_retry_and_cache_warnings_name_its_cells_by_rate() -> None:
    # An open loop at 2 and 8 req/s, at most 4 in flight: its cells are (4, repeat 0) and
    # (4, repeat 1). At 8 req/s, 3 of 4 prompts retried and 60% of input was cached; 10% at 2.
    def cell(repeat: int, cached: int, retried: int) -> list[Record]:
        return [
            make_record(
                prompt_id=f"p{i}",
                model="m",
                concurrency=4,
                repeat=repeat,
                cached_input_tokens=cached,
                attempts=2 if i < retried else 1,
                retry_causes=("timeout",) if i < retried else (),
            )
            for i in range(4)
        ]

    retries, cache = cell_warnings(summarize_cells(cell(0, 10, 0) + cell(1, 60, 3)), (2.0, 8.0))
    assert retries.startswith("More than 10% of prompts needed a retry at m @ 8 req/s (75%)")
    assert "Lower the rate;" in retries
    assert "at 8 req/s but 10% at 2 req/s:" in cache
    assert "concurrency" not in retries + cache and "repeat" not in retries + cache


def test_a_level_stopped_early_is_not_taken_for_a_small_prompt_set() -> None:
    records = make_cell("m", 1, prompts=20, wall_s=20.0) + make_cell("m", 2, prompts=3, wall_s=1)
    meta = make_meta(models=("m",), levels=(1, 2), prompt_count=20)
    text = " ".join(sweep_warnings(levels_of(records, planned_prompts=20), meta))
    assert "m @ 2 (3 of 20 prompts)" in text and "Only 3 prompts per cell" not in text


def test_a_model_answered_by_another_warns_once_with_how_to_price_it() -> None:
    # OpenAI answers with a dated snapshot of the model asked for: that is the same model.
    records = [
        make_record(prompt_id=f"p{i}", answered_model=answered, ended_at_s=i + 1.0)
        for i, answered in enumerate(["gpt-4o-2024-08-06", None, "llama-3-8b", "llama-3-8b"])
    ]
    real = TargetInfo(REAL, "https://api.example.com/v1")
    meta = make_meta(models=("gpt-4o",), levels=(1,), prompt_count=4, target=real)
    (warning,) = [w for w in sweep_warnings(levels_of(records), meta) if "answered" in w]
    assert warning == (
        "Asked for gpt-4o, the server answered as llama-3-8b: gpt-4o's prices may not apply to "
        "it; give the real prices with --price-in/--price-out (or --price-file)."
    )


def test_requests_resent_on_connections_the_server_closed_are_warned_of() -> None:
    records = [make_record(prompt_id=f"p{i}", stale_connection_resends=i % 2) for i in range(4)]
    (warning,) = [w for w in cell_warnings(summarize_cells(records)) if "closed pooled" in w]
    assert warning.startswith(
        "The server closed pooled connections under 2 request(s) in 1 cell(s) (4 prompts): "
        "each went out again at once on another connection (not a retry, no backoff)"
    )
    assert not [w for w in cell_warnings(summarize_cells(records[:1])) if "closed pooled" in w]


def test_an_interrupted_large_sweep_is_not_told_to_use_fewer_or_more_prompts() -> None:
    # 300 prompts planned, interrupted 3 prompts into level 1: every level is unfinished.
    records = make_cell("m", 1, prompts=3, wall_s=1.0)
    meta = make_meta(models=("m",), levels=(1, 2), prompt_count=300)
    text = " ".join(sweep_warnings(levels_of(records, planned_prompts=300), meta))
    assert "did not finish" in text and "prompts per cell" not in text and "--sample" not in text


def test_a_small_sample_is_told_to_raise_the_sample() -> None:
    levels = levels_of(make_cell("m", 1, prompts=5, wall_s=1.0))
    meta = make_meta(models=("m",), levels=(1,), prompt_count=5, sample=5)
    (warning,) = [w for w in sweep_warnings(levels, meta) if "prompts per cell" in w]
    assert warning.endswith("use at least 20 (raise --sample or drop it).")


def test_a_model_on_the_generic_simulator_profile_is_warned_of_with_what_to_do() -> None:
    levels = levels_of(make_cell("m", 1, prompts=20, wall_s=1.0))
    meta = replace(
        make_meta(models=("m",)),
        simulated_as={
            "claude-3-5-sonnet": SimulatedAs("claude-sonnet-4", "claude-*"),
            "tiny": SimulatedAs("demo", generic=True),
        },
    )
    (warning,) = [w for w in sweep_warnings(levels, meta) if "no profile for" in w]
    assert warning == (
        "The simulator has no profile for tiny nor for its family, so it answered with its "
        "generic 'demo' profile: those timings and answer lengths say nothing about the model; "
        "give a profile with --sim-profile (a built-in name or a .toml file)."
    )
    by_family = replace(meta, simulated_as={"c": SimulatedAs("claude-sonnet-4", "claude-*")})
    assert not [w for w in sweep_warnings(levels, by_family) if "no profile for" in w]
