"""The whole job projected from hand-worked levels: time, cost, the Batch API's cost."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from factories import levels_of, make_cell, make_estimate, make_meta
from llmsweep.analysis.ceiling import RateLimits
from llmsweep.analysis.projection import (
    Projection,
    batch_share,
    project,
    project_level,
    projection_phrase,
)
from llmsweep.analysis.recommend import recommend


def two_levels() -> list[Projection]:
    """Model m, 10 prompts at $0.001 each: 10 s at concurrency 1 (1 req/s), 5 s at 2 (2 req/s);
    its estimate prices a pass at $0.02, or $0.01 at the batch price."""
    levels = levels_of(
        make_cell("m", 1, prompts=10, wall_s=10.0) + make_cell("m", 2, prompts=10, wall_s=5.0)
    )
    meta = make_meta(models=("m",), estimates={"m": make_estimate("m", "0.02", "0.01", 10)})
    return project(levels, recommend(levels), replace(meta, job_size=1000))


def test_the_recommended_level_is_scaled_to_the_job() -> None:
    # Concurrency 2 is recommended (2 req/s). 1000 prompts / 2 req/s = 500 s; $0.020 over 20
    # succeeded prompts = $1 per 1k, so $1 for 1000; the batch price is half the standard.
    assert two_levels() == [
        Projection("m", 2, 1000, 500.0, Decimal("1.000000"), Decimal("0.500000"))
    ]


def test_without_a_job_size_nothing_is_projected() -> None:
    levels = levels_of(make_cell("m", 1, prompts=4, wall_s=4.0))
    assert project(levels, recommend(levels), make_meta(models=("m",))) == []


def test_failed_prompts_cost_is_carried_by_the_succeeded_ones() -> None:
    # 10 prompts in 5 s, 2 failed: 8 / 5 s = 1.6 req/s; $0.010 / 8 succeeded = $1.25 per 1k.
    (level,) = levels_of(make_cell("m", 1, prompts=10, wall_s=5.0, failed=2))
    projected = project_level(level, 1000, make_estimate("m", "0.02", "0.01", 10))
    assert (projected.wall_s, projected.cost_usd, projected.batch_cost_usd) == (
        625.0,
        Decimal("1.250000"),
        Decimal("0.625000"),
    )


def test_time_is_never_faster_than_the_rate_limit_ceiling() -> None:
    # 2 req/s measured, but 60 requests a minute allow 1 req/s over a whole job: 1000 s.
    (level,) = levels_of(make_cell("m", 1, prompts=10, wall_s=5.0), RateLimits(rpm=60))
    assert project_level(level, 1000, None).wall_s == 1000.0


def test_no_batch_price_no_batch_cost_and_the_verdict_says_so() -> None:
    (level,) = levels_of(make_cell("m", 1, prompts=10, wall_s=5.0))
    projected = project_level(level, 100_000, make_estimate("m", "0.02", None, 10))
    assert batch_share(make_estimate("m", "0.02", None, 10)) is None
    assert projected.batch_cost_usd is None
    assert projection_phrase(projected) == (
        "projected for 100,000 prompts at concurrency 1: about 13.9 h and $100.00; "
        "no Batch API price known for it"
    )


def test_the_verdict_phrase_puts_the_batch_api_beside_it() -> None:
    (projected,) = two_levels()
    assert projection_phrase(projected) == (
        "projected for 1,000 prompts at concurrency 2: about 8 min and $1.00; "
        "via the Batch API $0.500 (results within 24 h)"
    )


def test_an_unpriced_level_has_no_cost_to_project() -> None:
    (level,) = levels_of(make_cell("m", 1, prompts=4, wall_s=4.0, cost_usd=None))
    projected = project_level(level, 100, make_estimate("m", "0.02", "0.01", 10))
    assert (projected.wall_s, projected.cost_usd, projected.batch_cost_usd) == (100.0, None, None)
