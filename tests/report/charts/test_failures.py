"""The failures chart: words when nothing failed, and every model in sight where they coincide."""

from __future__ import annotations

import numpy as np

from factories import levels_of, make_cell, make_meta
from llmsweep.analysis.recommend import Recommendation
from llmsweep.report.charts.failures import NO_429S, NO_FAILURES, failure_chart
from llmsweep.store.records import Record

META = make_meta(models=("a", "b"), levels=(1, 2))


def _clean() -> list[Record]:
    """Models a and b, levels 1 and 2, 5 prompts each: nothing failed, nothing met a 429."""
    return [r for m in ("a", "b") for lv in (1, 2) for r in make_cell(m, lv, prompts=5, wall_s=1)]


def test_a_clean_run_says_so_in_words_over_a_single_zero_tick() -> None:
    records = [
        r for m in ("a", "b") for lv in (1, 2) for r in make_cell(m, lv, prompts=5, wall_s=1)
    ]
    left, right = failure_chart(levels_of(records), [], META).axes
    assert [text.get_text() for text in left.texts] == [
        f"{NO_FAILURES}\n0 of 20 prompts failed\nat any level"
    ]
    assert [text.get_text() for text in right.texts] == [
        f"{NO_429S}\n0 of 20 attempts answered 429\nat any level"
    ]
    for axes in (left, right):
        assert list(axes.get_yticks()) == [0.0]  # no 1-5% scale with nothing on it
        assert [label.get_text() for label in axes.get_yticklabels()] == ["0%"]


def test_models_at_the_same_rate_are_rings_of_different_sizes() -> None:
    # Both models at 0% at both levels: the larger ring (a) is drawn first, b's inside it.
    records = [
        r for m in ("a", "b") for lv in (1, 2) for r in make_cell(m, lv, prompts=5, wall_s=1)
    ]
    left, _ = failure_chart(levels_of(records), [], META).axes
    a, b = [line for line in left.get_lines() if line.get_label() in ("a", "b")]
    assert np.asarray(a.get_xydata()).tolist() == np.asarray(b.get_xydata()).tolist()
    assert a.get_markersize() > b.get_markersize()
    assert a.get_markerfacecolor() == b.get_markerfacecolor() == "none"  # hollow: b shows in a


def test_failures_keep_their_scale_and_no_words() -> None:
    # 1 of 5 prompts failed at level 2 of a, and 2 of 5 met a 429 before succeeding.
    records = [
        *make_cell("a", 1, prompts=5, wall_s=2),
        *make_cell("a", 2, prompts=5, wall_s=1, failed=1, rate_limited=2),
    ]
    meta = make_meta(models=("a",), levels=(1, 2))
    left, right = failure_chart(levels_of(records), [Recommendation("a", 1, "", ())], meta).axes
    assert len(left.texts) == len(right.texts) == 0
    (curve,) = [line for line in left.get_lines() if line.get_label() == "a"]
    assert np.asarray(curve.get_xydata()).tolist() == [[1.0, 0.0], [2.0, 0.2]]
    assert left.get_ylim()[0] == 0
    for axes in (left, right):  # the pick is starred on both panels, at its own rate
        (star,) = [line for line in axes.get_lines() if line.get_marker() == "*"]
        assert np.asarray(star.get_xydata()).tolist() == [[1.0, 0.0]]
