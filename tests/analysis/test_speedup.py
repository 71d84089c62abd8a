"""Speedup like for like on hand-worked cells: finished cells only, over the same succeeded
prompts; a speedup above its level is a measurement error, never a result."""

from __future__ import annotations

from decimal import Decimal

import pytest

from factories import make_cell, make_meta, make_record, result_of
from llmsweep.analysis.speedup import same_prompt_speedup
from llmsweep.store.records import Record


def sequential(prompts: int = 20) -> list[Record]:
    """Model "m" at concurrency 1: ``prompts`` prompts of 1 s each, one after another."""
    return [
        make_record(prompt_id=f"p{i}", model="m", queued_at_s=float(i), ended_at_s=i + 1.0)
        for i in range(prompts)
    ]


def test_a_level_stopped_by_the_budget_is_unfinished_and_never_compared() -> None:
    # Level 4 did 4 of its 20 prompts in 1 s before the budget ran out: by wall time alone
    # that was 20x faster (500% efficiency) and the pick.
    records = [*sequential(), *make_cell("m", 4, prompts=4, wall_s=1.0)]
    result = result_of(records, make_meta(models=("m",), levels=(1, 4), prompt_count=20))
    one, four = result.levels
    assert [cell.unfinished for cell in result.cells] == [False, True]
    assert four.unfinished and four.excluded is not None and "unfinished" in four.excluded
    assert (four.speedup, four.efficiency, four.speedup_max) == (None, None, None)
    assert one.speedup == 1.0 and one.excluded is None
    assert result.recommended == {"m": 1}
    (rec,) = result.recommendations
    assert rec.explanation.endswith(" Not compared: concurrency 4 (see the table's notes).")


def test_a_missing_repeat_leaves_its_level_unfinished() -> None:
    records = [
        *sequential(4),
        *make_cell("m", 1, prompts=4, wall_s=4.0, repeat=1),
        *make_cell("m", 2, prompts=4, wall_s=2.0),
    ]
    result = result_of(records, make_meta(models=("m",), levels=(1, 2), prompt_count=4, repeats=2))
    assert [(level.concurrency, level.unfinished) for level in result.levels] == [
        (1, False),
        (2, True),
    ]


def test_prompts_that_failed_fast_neither_speed_the_level_up_nor_make_it_cheaper() -> None:
    # Level 8: 8 prompts succeed in 2 s each, all at once; 12 fail at once, costing nothing.
    # Wall time says 20 s / 2 s = 10x; over the 8 prompts that succeeded in both cells,
    # sequential took 8 s and level 8 took 2 s: 4x, the ratio of succeeded throughputs.
    level_8 = [
        make_record(prompt_id=f"p{i}", model="m", concurrency=8, ended_at_s=2.0) for i in range(8)
    ] + [
        make_record(
            prompt_id=f"p{i}",
            model="m",
            concurrency=8,
            status="server_error",
            ended_at_s=0.0,
            cost_usd=None,
        )
        for i in range(8, 20)
    ]
    result = result_of([*sequential(), *level_8], make_meta(models=("m",), levels=(1, 8)))
    eight = result.levels[1]
    assert eight.speedup == pytest.approx(4.0)
    assert eight.efficiency == pytest.approx(0.5)
    # $0.008 for 8 succeeded prompts: $1 per 1k of them, not $0.40 per 1k sent.
    assert eight.cost_per_1k_prompts_usd == Decimal("0.4")
    assert eight.cost_per_1k_succeeded_usd == Decimal("1")
    assert result.cells[1].cost_per_1k_succeeded_usd == Decimal("1")


def test_speedup_counts_only_the_prompts_that_succeeded_in_both_cells() -> None:
    # Sequential (10 s): p0 ok in 1 s, p1 ok in 3 s, p2 timed out after 6 s.
    # Level 2 (2 s, busy 0-2 s): p0 ok in 1 s, p1 failed after 0.5 s, p2 ok in 2 s.
    # Only p0 succeeded in both: 10 s x 1/10 = 1 s sequential, 2 s x 1/3.5 at level 2.
    one = [
        make_record(prompt_id="p0", ended_at_s=1.0),
        make_record(prompt_id="p1", queued_at_s=1.0, ended_at_s=4.0),
        make_record(prompt_id="p2", status="timeout", queued_at_s=4.0, ended_at_s=10.0),
    ]
    two = [
        make_record(prompt_id="p0", concurrency=2, ended_at_s=1.0),
        make_record(prompt_id="p1", concurrency=2, status="server_error", ended_at_s=0.5),
        make_record(prompt_id="p2", concurrency=2, ended_at_s=2.0),
    ]
    assert same_prompt_speedup(one, 10.0, two, 2.0) == pytest.approx(1 / (2 / 3.5))
    assert same_prompt_speedup(one[2:], 6.0, two, 2.0) is None  # nothing succeeded in both


def test_a_speedup_above_the_level_is_a_measurement_error_not_a_result() -> None:
    # 20 prompts took 20 s one at a time but 2 s two at a time: 10x at level 2.
    records = [*sequential(), *make_cell("m", 2, prompts=20, wall_s=2.0)]
    result = result_of(records, make_meta(models=("m",), levels=(1, 2)))
    two = result.levels[1]
    assert (two.speedup, two.efficiency) == (None, None)
    assert two.speedup_error == pytest.approx(10.0)
    assert two.excluded is not None and "measurement error" in two.excluded
    assert result.recommended == {"m": 1}
    # 1.1 x the level is still a result: 20 s against 9.1 s at level 2 is 2.2x.
    fine = [*sequential(), *make_cell("m", 2, prompts=20, wall_s=20 / 2.2)]
    assert result_of(fine, make_meta(models=("m",), levels=(1, 2))).levels[1].speedup == (
        pytest.approx(2.2)
    )
