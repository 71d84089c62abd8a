"""Cost charts' arithmetic: per-1k estimates, the Pareto front, and merged point labels."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from factories import make_estimate, make_meta
from llmsweep.analysis.costs import estimate_per_1k_usd
from llmsweep.report.charts.cost import label_groups, pareto_front


def test_labels_of_nearly_coincident_points_are_merged() -> None:
    # The example sweep's gpt-4o levels 4-32: 2.13-2.14 s, $2.22-2.26 (a rounding key split
    # them into two overprinted labels); level 2 and the other model stay apart.
    points = [(2.13, 2.22), (2.14, 2.26), (2.12, 2.25), (2.54, 2.24), (2.13, 0.134)]
    groups = label_groups(points, ["4", "8", "16", "2", "mini-4"])
    assert [names for _, names in groups] == [["4", "8", "16"], ["2"], ["mini-4"]]
    assert groups[0][0] == (2.13, 2.22)  # labelled at the group's first point


def test_free_points_merge_only_with_other_free_points() -> None:
    # A cost of $0 has no logarithm: it is near another $0 only.
    points = [(1.0, 0.0), (1.01, 0.0), (1.0, 0.001)]
    assert [names for _, names in label_groups(points, ["1", "2", "4"])] == [["1", "2"], ["4"]]


def test_pareto_front_keeps_points_nothing_beats_on_both_axes() -> None:
    points = [(10.0, 1.0), (5.0, 2.0), (6.0, 3.0), (20.0, 0.5), (21.0, 0.5)]
    assert pareto_front(points) == [1, 0, 3]


def test_estimates_per_1k_prompts_divide_by_the_estimates_own_prompt_count() -> None:
    meta = make_meta(
        estimates={
            "a": make_estimate("a", "0.04", None, 20),  # over its 20 prompts: $2 per 1k
            "b": make_estimate("b", "0.04", "0.02", 40),  # over its 40 prompts: $1 per 1k
        }
    )
    assert estimate_per_1k_usd(meta, "a") == Decimal("2")
    assert estimate_per_1k_usd(meta, "b") == Decimal("1")
    assert estimate_per_1k_usd(meta, "b", batch=True) == Decimal("0.5")
    assert estimate_per_1k_usd(meta, "c") is None  # no estimate for it
    assert estimate_per_1k_usd(meta, "a", batch=True) is None  # no batch price
    none_counted = replace(meta, estimates={"a": replace(meta.estimates["a"], prompts=0)})
    assert estimate_per_1k_usd(none_counted, "a") is None
