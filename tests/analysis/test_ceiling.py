"""The rate-limit ceiling: rpm and tpm, tokens charged as the limiter does, what it explains."""

from __future__ import annotations

from dataclasses import astuple, replace

import pytest

from factories import levels_of, make_cell, make_meta, make_record, result_of, with_config
from llmsweep.analysis.ceiling import (
    NO_LIMITS,
    RateLimits,
    at_ceiling,
    rate_limit_ceiling_rps,
    reached_ceiling,
)
from llmsweep.store.meta import REAL, TargetInfo


def test_rate_limit_ceiling_from_rpm_and_tpm() -> None:
    assert rate_limit_ceiling_rps(RateLimits(120, None), 150) == 2.0
    assert rate_limit_ceiling_rps(RateLimits(None, 6000), 150) == pytest.approx(6000 / 60 / 150)
    assert rate_limit_ceiling_rps(RateLimits(120, 6000), 150) == pytest.approx(2 / 3)  # tpm
    assert rate_limit_ceiling_rps(NO_LIMITS, 150) is None


def test_level_ceiling_charges_input_plus_max_tokens_as_the_limiter_does() -> None:
    records = make_cell("m", 1, prompts=4, wall_s=4.0) + make_cell("m", 4, prompts=4, wall_s=2.0)
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


@pytest.mark.parametrize(("rpm", "bound"), [(1200, False), (6000, True)])
def test_a_level_at_the_rate_ceiling_is_not_blamed_on_the_client(rpm: int, bound: bool) -> None:
    sequential = [
        make_record(prompt_id=f"s{i}", model="m", queued_at_s=i * 0.1, ended_at_s=(i + 1) * 0.1)
        for i in range(10)
    ]
    parallel = [
        make_record(
            prompt_id=f"p{i}",
            model="m",
            concurrency=4,
            queued_at_s=i * 0.05,
            ended_at_s=i * 0.05 + 0.05,
        )
        for i in range(10)
    ]  # 10 prompts in 0.5 s: 20 req/s, the ceiling of 1,200 RPM
    levels = levels_of(sequential + parallel, RateLimits(rpm=rpm), busy=(("m", 4, 0),))
    assert [level.client_bound for level in levels] == [False, bound]


def test_the_limits_the_api_stated_set_a_real_targets_ceiling() -> None:
    records = make_cell("m", 1, prompts=4, wall_s=4.0) + make_cell("m", 4, prompts=4, wall_s=2.0)
    # The headers state 600 rpm and 12000 tpm; a later answer states a raised rpm: the last
    # stated wins. Model "n"'s answers state nothing.
    stated = [
        replace(r, max_tokens=50, limit_rpm=600 if i < 6 else 900, limit_tpm=12000)
        for i, r in enumerate(records)
    ]
    unstated = make_cell("n", 1, prompts=2, wall_s=2.0)
    meta = make_meta(models=("m", "n"), target=TargetInfo(REAL, "https://api.example.com/v1"))
    result = result_of(stated + unstated, meta)
    # 100 input + 50 max_tokens = 150 tokens a request: 12000 / 60 / 150 = 1.333 req/s < 15 req/s
    ((model, rpm, tpm, ceiling_rps),) = [astuple(limits) for limits in result.stated_limits]
    assert (model, rpm, tpm, ceiling_rps) == ("m", 900, 12000, pytest.approx(12000 / 60 / 150))
    assert [level.ceiling_rps for level in result.levels if level.model == "m"] == [
        pytest.approx(12000 / 60 / 150)
    ] * 2
    assert [level.ceiling_rps for level in result.levels if level.model == "n"] == [None]
    # The client's own, tighter limit still binds.
    tight = with_config(meta, rpm=30.0)
    assert result_of(stated + unstated, tight).levels[0].ceiling_rps == pytest.approx(0.5)


def test_a_level_reached_the_ceiling_at_it_or_past_it() -> None:
    # Ceiling 20 req/s: 90% of it (18) is at it; 30 is past it (a burst), 17 is short of it.
    assert [reached_ceiling(rps, 20.0) for rps in (17.0, 18.0, 20.0, 30.0)] == [
        False,
        True,
        True,
        True,
    ]
    assert not at_ceiling(30.0, 20.0)  # past it, the ceiling does not explain a throughput
    assert not reached_ceiling(30.0, None)
