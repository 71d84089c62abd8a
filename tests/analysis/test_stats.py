"""Stats and recommendations on hand-worked records: every expected number is worked out here."""

from __future__ import annotations

import csv
import io
import json
import math
import statistics
from dataclasses import replace
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from llmsweep.analysis.ceiling import NO_LIMITS, RateLimits, rate_limit_ceiling_rps
from llmsweep.analysis.levels import LevelSummary, summarize_levels
from llmsweep.analysis.recommend import cost_comparison, recommend
from llmsweep.analysis.stats import busy_s, summarize_cells
from llmsweep.cost.money import format_usd
from llmsweep.percentile import percentile
from llmsweep.report.summary import (
    CSV_COLUMNS,
    SUMMARY_SCHEMA_VERSION,
    summary_to_csv,
    summary_to_json,
)
from llmsweep.report.warnings import sweep_warnings
from llmsweep.store.harness import HarnessMeasurement, LoopLag
from llmsweep.store.records import CellKey, Record
from meta_helpers import make_meta, result_of


def rec(
    prompt_id: str,
    *,
    model: str = "m",
    concurrency: int = 1,
    repeat: int = 0,
    status: str = "ok",
    queued: float = 0.0,
    start: float | None = None,
    end: float = 1.0,
    attempts: int = 1,
    rate_limited: int = 0,
    cost_usd: str | None = "0.001",
    input_tokens: int = 100,
    output_tokens: int = 50,
    usage_reported: bool = True,
    ttft_s: float | None = None,
) -> Record:
    started = queued if start is None else start
    return Record(
        prompt_id=prompt_id,
        model=model,
        concurrency=concurrency,
        repeat=repeat,
        status=status,
        http_status=200 if status == "ok" else 429,
        attempts=attempts,
        rate_limited=rate_limited,
        error=None if status == "ok" else f"{status} error",
        queued_at_s=queued,
        started_at_s=started,
        first_token_at_s=None if ttft_s is None else started + ttft_s,
        ended_at_s=end,
        latency_s=end - started,
        ttft_s=ttft_s,
        retry_wait_s=0.0,
        queue_wait_s=started - queued,
        timed_attempt=attempts,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        cached_input_tokens=0,
        usage_reported=usage_reported,
        cost_usd=cost_usd,
    )


def cell(
    model: str,
    level: int,
    *,
    prompts: int,
    wall_s: float,
    repeat: int = 0,
    rate_limited: int = 0,
    failed: int = 0,
    cost_usd: str = "0.001",
) -> list[Record]:
    """A cell whose prompts all queue at 0 and end evenly up to ``wall_s``; the first
    ``rate_limited`` prompts each met one 429 and a retry, the last ``failed`` prompts failed."""
    return [
        rec(
            f"p{i}",
            model=model,
            concurrency=level,
            repeat=repeat,
            end=wall_s * (i + 1) / prompts,
            status="server_error" if i >= prompts - failed else "ok",
            attempts=2 if i < rate_limited else 1,
            rate_limited=1 if i < rate_limited else 0,
            cost_usd=cost_usd,
        )
        for i in range(prompts)
    ]


def levels_of(
    records: list[Record],
    limits: RateLimits = NO_LIMITS,
    busy: tuple[CellKey, ...] = (),
) -> list[LevelSummary]:
    """Levels of ``records``; the cells in ``busy`` had a client that used half a core."""
    return summarize_levels(summarize_cells(records, limits, {key: BUSY for key in busy}))


QUIET_LOOP = LoopLag(samples=100, p50_s=0.0, p95_s=0.0, max_s=0.0, mean_s=0.0)
BUSY = HarnessMeasurement(requests=10, cpu_s=0.5, cpu_s_per_request=0.05, wall_s=1.0,
                          loop_lag=QUIET_LOOP)  # fmt: skip


# --- percentile -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "q", "expected"),
    [
        ([1.0, 2.0, 3.0, 4.0], 50, 2.5),  # h = 1.5: halfway between 2 and 3
        ([1.0, 2.0, 3.0, 4.0], 25, 1.75),  # h = 0.75
        ([4.0, 1.0, 3.0, 2.0], 75, 3.25),  # unsorted input, h = 2.25
        ([10.0, 20.0, 30.0, 40.0, 50.0], 90, 46.0),  # h = 3.6
        ([10.0, 20.0, 30.0, 40.0, 50.0], 0, 10.0),
        ([10.0, 20.0, 30.0, 40.0, 50.0], 100, 50.0),
        ([7.0], 99, 7.0),
    ],
)
def test_percentile_hand_worked(values: list[float], q: float, expected: float) -> None:
    assert percentile(values, q) == pytest.approx(expected)


def test_percentile_rejects_empty_and_bad_q() -> None:
    with pytest.raises(ValueError):
        percentile([], 50)
    with pytest.raises(ValueError):
        percentile([1.0], 101)
    with pytest.raises(ValueError):
        percentile([1.0], math.nan)


finite = st.floats(min_value=-1e9, max_value=1e9, allow_nan=False)
quantile = st.floats(min_value=0, max_value=100)


@given(st.lists(finite, min_size=1, max_size=40), quantile, quantile)
def test_percentile_is_monotone_in_q(values: list[float], q1: float, q2: float) -> None:
    low, high = sorted((q1, q2))
    assert percentile(values, low) <= percentile(values, high)


@given(st.lists(finite, min_size=1, max_size=40), quantile)
def test_percentile_stays_within_min_and_max(values: list[float], q: float) -> None:
    assert min(values) <= percentile(values, q) <= max(values)


@given(finite, quantile)
def test_percentile_of_one_sample_is_that_sample(value: float, q: float) -> None:
    assert percentile([value], q) == value


@given(
    st.lists(finite, min_size=2, max_size=40),
    st.integers(2, 100).flatmap(lambda parts: st.tuples(st.just(parts), st.integers(1, parts - 1))),
)
def test_percentile_matches_type_7(values: list[float], cut: tuple[int, int]) -> None:
    # statistics.quantiles(method="inclusive") is an independent type-7 implementation.
    parts, index = cut
    expected = statistics.quantiles(values, n=parts, method="inclusive")[index - 1]
    scale = 1 + max(abs(value) for value in values)
    assert math.isclose(percentile(values, 100 * index / parts), expected, abs_tol=1e-9 * scale)


# --- cells and levels -------------------------------------------------------------------------


def tiny_sweep() -> list[Record]:
    """4 prompts of 1 s each: sequential takes 4 s, 2 at a time 2.5 s, 4 at a time 1 s."""
    sequential = [rec(f"p{i}", queued=i, end=i + 1.0) for i in range(4)]
    pairs = [
        rec(f"p{i}", concurrency=2, queued=10 + i // 2, end=11 + i // 2 + 0.5 * (i == 3))
        for i in range(4)
    ]
    burst = [rec(f"p{i}", concurrency=4, queued=20, end=21) for i in range(4)]
    return sequential + pairs + burst


def test_speedup_efficiency_and_throughput_on_a_tiny_sweep() -> None:
    by_level = {level.concurrency: level for level in levels_of(tiny_sweep())}
    assert [by_level[c].wall_s for c in (1, 2, 4)] == [4.0, 2.5, 1.0]
    assert by_level[1].speedup == 1.0
    assert by_level[2].speedup == pytest.approx(1.6)
    assert by_level[2].efficiency == pytest.approx(0.8)
    assert by_level[4].speedup == pytest.approx(4.0)
    assert by_level[4].efficiency == pytest.approx(1.0)
    assert by_level[1].throughput_rps == pytest.approx(1.0)
    assert by_level[4].throughput_rps == pytest.approx(4.0)
    assert by_level[4].output_tokens_per_s == pytest.approx(200.0)  # 4 x 50 tokens in 1 s


def test_cell_counts_failures_retries_and_exact_costs() -> None:
    records = [
        rec("a", end=1.0, cost_usd="0.1", attempts=3, rate_limited=2),
        rec("b", end=2.0, cost_usd="0.2", usage_reported=False),
        rec("c", end=3.0, status="timeout", cost_usd="0.05", output_tokens=0),
        rec("d", end=4.0, status="rate_limited", cost_usd=None, attempts=4, rate_limited=4),
    ]
    (summary,) = summarize_cells(records)
    assert (summary.requests, summary.succeeded, summary.failed) == (4, 2, 2)
    assert summary.failure_rate == 0.5
    assert (summary.attempts, summary.retries, summary.rate_limited) == (9, 5, 6)
    assert summary.cost_usd == Decimal("0.35")  # exact: 0.1 + 0.2 is not 0.30000000000000004
    assert summary.failed_cost_usd == Decimal("0.05")
    assert summary.cost_per_1k_prompts_usd == Decimal("87.5")
    assert summary.usage_estimated == 1
    assert summary.failures == {"rate_limited": 1, "timeout": 1}
    assert summary.latency_p50_s == pytest.approx(1.5)  # ok records only: 1 s and 2 s
    assert summary.ttft_p50_s is None
    assert summary.failure_examples[0][:2] == ("c", "timeout")


def test_rerun_prompt_keeps_the_latest_record() -> None:
    records = [rec("a", status="timeout"), rec("a", end=2.0), rec("b", end=1.0)]
    (summary,) = summarize_cells(records)
    assert (summary.requests, summary.failed) == (2, 0)


def test_level_takes_medians_and_spread_over_repeats() -> None:
    records = [
        *cell("m", 1, prompts=4, wall_s=8.0),
        *cell("m", 1, prompts=4, wall_s=10.0, repeat=1),
        *cell("m", 1, prompts=4, wall_s=12.0, repeat=2),
    ]
    (level,) = levels_of(records)
    assert (level.wall_s, level.wall_s_min, level.wall_s_max) == (10.0, 8.0, 12.0)
    assert level.wall_s_spread == pytest.approx(0.4)
    assert level.repeats == 3 and level.requests == 12
    assert level.cost_usd == Decimal("0.012")


def test_rate_limit_ceiling_from_rpm_and_tpm() -> None:
    assert rate_limit_ceiling_rps(RateLimits(120, None), 150) == 2.0
    assert rate_limit_ceiling_rps(RateLimits(None, 6000), 150) == pytest.approx(6000 / 60 / 150)
    assert rate_limit_ceiling_rps(RateLimits(120, 6000), 150) == pytest.approx(2 / 3)  # tpm
    assert rate_limit_ceiling_rps(NO_LIMITS, 150) is None


def test_level_ceiling_charges_input_plus_max_tokens_as_the_limiter_does() -> None:
    records = cell("m", 1, prompts=4, wall_s=4.0) + cell("m", 4, prompts=4, wall_s=2.0)
    asked = [replace(record, max_tokens=50) for record in records]
    sequential, burst = levels_of(asked, RateLimits(rpm=600, tpm=12000))
    # 100 input + 50 max_tokens = 150 tokens a request: 12000 / 60 / 150 = 1.333 req/s < 10 req/s
    assert burst.ceiling_rps == pytest.approx(12000 / 60 / 150)
    assert burst.speedup_ceiling == pytest.approx((12000 / 60 / 150) / sequential.throughput_rps)
    # Without max_tokens the limiter charges 256 assumed output tokens, not the measured 50.
    unasked = levels_of(records, RateLimits(tpm=12000))[1]
    assert unasked.ceiling_rps == pytest.approx(12000 / 60 / (100 + 256))
    assert levels_of(records)[0].ceiling_rps is None

    meta = make_meta(models=("m",), rpm=900.0)  # the simulator's own limit is 600: it binds
    limits_meta = replace(meta, target=replace(meta.target, rpm=600))
    assert result_of(asked, limits_meta).levels[1].ceiling_rps == pytest.approx(10.0)


def test_dispatch_lag_p95_per_cell_and_median_per_level() -> None:
    def lagged(prompt_id: str, repeat: int, lag_s: float | None) -> Record:
        return replace(rec(prompt_id, repeat=repeat), dispatch_lag_s=lag_s)

    # Type 7 p95 of 0, 10, 20, 30, 40 ms: rank 0.95 * 4 = 3.8, so 30 + 0.8 * 10 = 38 ms. A
    # record that never went out (None) is left out, not counted as 0.
    first = [lagged(f"p{i}", 0, i / 100) for i in range(5)] + [lagged("x", 0, None)]
    second = [lagged(f"p{i}", 1, 0.002) for i in range(5)]
    cells = summarize_cells(first + second)
    assert [cell.dispatch_lag_p95_s for cell in cells] == [pytest.approx(0.038), 0.002]
    (level,) = summarize_levels(cells)
    assert level.dispatch_lag_p95_s == pytest.approx(0.020)  # median of 38 and 2 ms
    assert summarize_cells([rec("old")])[0].dispatch_lag_p95_s is None  # an older record


def test_client_bound_is_judged_once_per_cell_and_carried_to_its_level() -> None:
    records = cell("m", 1, prompts=2, wall_s=1.0) + cell("m", 8, prompts=2, wall_s=1)
    cells = summarize_cells(records, NO_LIMITS, {("m", 8, 0): BUSY})
    assert [cell.client_bound.bound for cell in cells] == [False, True]
    assert cells[0].client_bound.text() == "no: no harness measurement"
    assert cells[1].client_bound.text() == "yes: the client process used 50% of a CPU core"
    levels = summarize_levels(cells)
    assert [level.client_bound for level in levels] == [False, True]


def test_summary_json_is_stable_and_keeps_money_exact() -> None:
    result = result_of(tiny_sweep(), make_meta(models=("m",), levels=(1, 2, 4)))
    text = summary_to_json(result)
    assert text == summary_to_json(result_of(reversed(tiny_sweep()), result.meta))
    data = json.loads(text)
    assert data["schema_version"] == SUMMARY_SCHEMA_VERSION
    assert data["recommended_concurrency"] == {"m": 4}
    assert data["meta"]["tool_version"] == "0.1.0"
    assert data["levels"][0]["cost_usd"] == "0.004"
    assert data["cells"][0]["wall_s"] == 4.0
    assert list(data) == sorted(data)


def test_summary_csv_has_one_row_per_level_with_unit_columns() -> None:
    rows = list(csv.DictReader(io.StringIO(summary_to_csv(levels_of(tiny_sweep())))))
    assert len(rows) == 3
    assert tuple(rows[0]) == CSV_COLUMNS
    assert rows[2]["speedup"] == "4.0" and rows[2]["cost_usd"] == "0.004"
    assert rows[0]["ttft_p50_s"] == "" and rows[0]["client_bound"] == "False"


# --- recommendations --------------------------------------------------------------------------


def knee_sweep(prompts: int = 40, repeats: int = 1) -> list[Record]:
    """Throughput 1, 2, 2.8, 3.0, 2.96 req/s at 1..16 under a 3 req/s (180 rpm) ceiling;
    past 4 the 429s climb to 10% and 25% of attempts."""
    shape = {1: (40.0, 0), 2: (20.0, 0), 4: (40 / 2.8, 0), 8: (40 / 3.0, 4), 16: (40 / 2.96, 10)}
    return [
        record
        for repeat in range(repeats)
        for level, (wall_s, limited) in shape.items()
        for record in cell(
            "gpt-x",
            level,
            prompts=prompts,
            wall_s=wall_s * prompts / 40,
            repeat=repeat,
            rate_limited=limited,
        )
    ]


def test_recommendation_lands_at_the_knee_with_numbers() -> None:
    levels = levels_of(knee_sweep(), RateLimits(rpm=180))
    (choice,) = recommend(levels)
    assert choice.level == 4
    assert choice.explanation == (
        "Use concurrency 4 for gpt-x: 2.8\N{MULTIPLICATION SIGN} faster than sequential "
        "(2.8 req/s), within 10% of the best measured 3.0 req/s at 8; beyond 4 the rate-limit "
        "ceiling of 3.0 req/s caps throughput and 429s rise to 20%."
    )  # 10 of 50 attempts at 16 were 429s


def test_stricter_fraction_moves_the_pick_past_the_429s() -> None:
    levels = levels_of(knee_sweep(), RateLimits(rpm=180))
    (choice,) = recommend(levels, fraction=0.99, max_429_rate=0.2)
    assert choice.level == 8


def test_no_level_meets_thresholds_says_what_to_loosen() -> None:
    records = [
        r for level in (1, 2) for r in cell("m", level, prompts=20, wall_s=20 / level, failed=2)
    ]
    (choice,) = recommend(levels_of(records))
    assert choice.level is None
    assert "No concurrency level for m met the thresholds" in choice.explanation
    (warning,) = choice.warnings
    assert "loosen the failure-rate limit from 1.0% to 10%" in warning


def test_warnings_fire_for_few_prompts_one_repeat_spread_client_bound_and_simulation() -> None:
    records = cell("m", 1, prompts=5, wall_s=10.0) + cell("m", 1, prompts=5, wall_s=14.0, repeat=1)
    levels = levels_of(records, busy=(("m", 1, 0),))
    meta = make_meta(models=("m",), levels=(1,), prompt_count=5, repeats=2)
    run_wide = " ".join(sweep_warnings(levels, meta))
    assert "simulated target (profile gpt-4o, latency scale 0.05)" in run_wide
    assert "Only 5 prompts per cell" in run_wide and "--sample" in run_wide
    (choice,) = recommend(levels)
    spread, bound = choice.warnings
    assert "varied by up to 33%" in spread and "--repeats" in spread
    assert "concurrency 1" in bound and "bottleneck" in bound
    meta = make_meta(models=("m",), levels=(1,), prompt_count=30)
    single = " ".join(sweep_warnings(levels_of(cell("m", 1, prompts=30, wall_s=3.0)), meta))
    assert "ran once" in single and "--repeats 3" in single


def test_cost_comparison_names_the_cheapest_model_and_the_gap() -> None:
    records = cell("big", 1, prompts=20, wall_s=5.0, cost_usd="0.01") + cell(
        "small", 1, prompts=20, wall_s=5.0, cost_usd="0.001"
    )
    assert cost_comparison(levels_of(records)) == (
        "small is the cheapest at $1.00 per 1k prompts over all levels: 90% less than big ($10.00)."
    )
    assert cost_comparison(levels_of(cell("only", 1, prompts=2, wall_s=1.0))) is None


@pytest.mark.parametrize(
    ("usd", "text"),
    [("0", "$0"), ("12.345", "$12.35"), ("0.131", "$0.131"), ("0.00042", "$0.000420")],
)
def test_format_usd(usd: str, text: str) -> None:
    assert format_usd(Decimal(usd)) == text


def test_busy_time_leaves_out_the_gap_of_a_resumed_cell() -> None:
    records = [
        rec("a", queued=0.0, end=1.0),
        rec("b", queued=0.5, end=2.0),
        rec("c", queued=3600.0, end=3601.5),  # resumed an hour later in another process
    ]
    assert busy_s(records) == 2.0 + 1.5
    assert busy_s(records[:2]) == 2.0
    assert summarize_cells(records)[0].wall_s == 3.5


@pytest.mark.parametrize(("rpm", "bound"), [(1200, False), (6000, True)])
def test_a_level_at_the_rate_ceiling_is_not_blamed_on_the_client(rpm: int, bound: bool) -> None:
    sequential = [rec(f"s{i}", queued=i * 0.1, end=(i + 1) * 0.1) for i in range(10)]
    parallel = [
        rec(f"p{i}", concurrency=4, queued=i * 0.05, end=i * 0.05 + 0.05) for i in range(10)
    ]  # 10 prompts in 0.5 s: 20 req/s, the ceiling of 1,200 RPM
    levels = levels_of(sequential + parallel, RateLimits(rpm=rpm), busy=(("m", 4, 0),))
    assert [level.client_bound for level in levels] == [False, bound]
