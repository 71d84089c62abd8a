"""The performance charts: which are drawn, what they name, and what they mark."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.axes import Axes

from factories import (
    EVIL_MODEL,
    REPORT_META,
    levels_of,
    make_cell,
    make_estimate,
    make_meta,
    make_record,
    report_sweep,
    result_of,
)
from llmsweep.analysis.recommend import Recommendation, recommend
from llmsweep.report.charts.base import RECOMMENDED_LABEL
from llmsweep.report.charts.performance import (
    CHART_TITLES,
    build_charts,
    latency_chart,
    model_colors,
    speedup_chart,
    wall_time_chart,
)
from llmsweep.settings import LatencyTarget


def test_charts_name_the_simulated_target_and_keep_model_colours() -> None:
    levels = result_of(report_sweep(), REPORT_META).levels
    charts = build_charts(levels, recommend(levels), REPORT_META)
    assert list(charts) == [name for name in CHART_TITLES if name != "search"]  # not a search
    for figure in charts.values():
        assert "simulated target (profile gpt-4o, latency scale 0.05)" in figure.get_suptitle()
    colors = model_colors(["gpt-4o", EVIL_MODEL])
    lines = wall_time_chart(levels, [], REPORT_META).axes[0].get_lines()
    assert {line.get_color() for line in lines} == set(colors.values())


def test_cost_charts_only_with_prices_or_estimates() -> None:
    unpriced = levels_of(make_cell("m", 1, prompts=2, wall_s=1.0, cost_usd=None))
    meta = make_meta(models=("m",), levels=(1,))
    assert list(build_charts(unpriced, [], meta)) == ["wall_time", "speedup", "failures", "latency"]
    estimated = make_meta(
        models=("m",), levels=(1,), estimates={"m": make_estimate("m", "1", None, 2)}
    )
    assert "cost" in build_charts(unpriced, [], estimated)
    assert "tradeoff" not in build_charts(unpriced, [], estimated)  # nothing measured to trade
    assert build_charts([], [], REPORT_META) == {}


def test_speedup_chart_stars_the_recommended_level() -> None:
    records = [r for level in (1, 2, 4) for r in make_cell("m", level, prompts=4, wall_s=4 / level)]
    levels = levels_of(records)
    meta = make_meta(models=("m",), levels=(1, 2, 4))
    axes = speedup_chart(levels, [Recommendation("m", 2, "", ())], meta).axes[0]
    (star,) = [line for line in axes.get_lines() if line.get_marker() == "*"]
    assert np.asarray(star.get_xydata()).tolist() == [[2.0, 2.0]]  # at level 2, speedup 2


def test_speedup_chart_says_so_without_a_sequential_level() -> None:
    levels = levels_of(make_cell("m", 2, prompts=4, wall_s=2.0))
    axes = speedup_chart(levels, [], make_meta(models=("m",), levels=(2,))).axes[0]
    assert [text.get_text() for text in axes.texts] == ["no concurrency-1 level: speedup unknown"]


def test_latency_chart_adds_itl_and_tpot_in_ms_once_something_streamed() -> None:
    # Gaps of 20 ms; TPOT (1.0 - 0.02) s / (50 - 1) tokens = 20 ms. Unstreamed: one panel.
    streamed = [
        make_record(prompt_id=f"p{i}", ttft_s=0.02, chunk_gaps_ms=(20.0,) * 49) for i in range(3)
    ]
    meta = make_meta(models=("gpt-4o",), levels=(1,))
    assert (
        len(latency_chart(levels_of(make_cell("m", 1, prompts=2, wall_s=1.0)), [], meta).axes) == 1
    )
    _, tokens = latency_chart(levels_of(streamed), [], meta).axes
    assert [np.asarray(line.get_xydata()).tolist() for line in tokens.get_lines()] == [
        [[1.0, 20.0]]
    ] * 3  # ITL p50, ITL p95, TPOT p50
    assert "ms" in tokens.get_ylabel()


def test_latency_chart_draws_each_latency_target_on_the_seconds_panel() -> None:
    streamed = [
        make_record(prompt_id=f"p{i}", ttft_s=0.02, chunk_gaps_ms=(20.0,) * 49) for i in range(3)
    ]
    targets = (LatencyTarget("p95", 2.0), LatencyTarget("ttft_p95", 0.5))
    meta = make_meta(models=("gpt-4o",), levels=(1,), slo=targets, stream=True)
    seconds, tokens = latency_chart(levels_of(streamed), [], meta).axes

    def targets_on(axes: Axes) -> list[tuple[float, str]]:
        # An axhline spans the axes: x from 0 to 1 in axes coordinates.
        spans = [np.asarray(line.get_xydata()).tolist() for line in axes.get_lines()]
        heights = [span[0][1] for span in spans if [x for x, _ in span] == [0, 1]]
        labels = [text.get_text() for text in axes.texts if text.get_text().startswith("target")]
        return list(zip(heights, labels, strict=True))

    assert targets_on(seconds) == [
        (2.0, "target p95 \N{LESS-THAN OR EQUAL TO} 2 s"),
        (0.5, "target ttft_p95 \N{LESS-THAN OR EQUAL TO} 0.5 s"),
    ]
    assert seconds.get_ylim()[1] > 2.0  # the target is in sight even above every curve
    assert targets_on(tokens) == []  # per-token times are milliseconds: no seconds target there
    untargeted = latency_chart(levels_of(streamed), [], make_meta(models=("gpt-4o",), levels=(1,)))
    assert targets_on(untargeted.axes[0]) == []


def test_a_level_not_compared_is_a_grey_cross_off_the_curves() -> None:
    # Level 4 stopped after 4 of its 20 prompts (1 s): off the wall-time and speedup curves.
    records = [*make_cell("m", 1, prompts=20, wall_s=20.0), *make_cell("m", 4, prompts=4, wall_s=1)]
    levels = levels_of(records, planned_prompts=20)
    meta = make_meta(models=("m",), levels=(1, 4))
    wall = wall_time_chart(levels, [], meta).axes[0]
    (curve,) = [line for line in wall.get_lines() if line.get_marker() == "o"]
    assert np.asarray(curve.get_xydata()).tolist() == [[1.0, 20.0]]
    (crosses,) = wall.collections[-1:]
    assert np.asarray(crosses.get_offsets()).tolist() == [[4.0, 1.0]]
    legend = wall.get_legend()
    assert legend is not None
    assert "not compared" in " ".join(text.get_text() for text in legend.get_texts())
    speedup = speedup_chart(levels, [], meta).axes[0]
    (points,) = [line for line in speedup.get_lines() if line.get_marker() == "o"]
    assert np.asarray(points.get_xydata()).tolist() == [[1.0, 1.0]]


def test_a_speedup_above_its_level_is_a_grey_cross_not_a_point_of_the_curve() -> None:
    records = [
        *make_cell("m", 1, prompts=20, wall_s=20.0),
        *make_cell("m", 2, prompts=20, wall_s=2),
    ]
    levels = levels_of(records)
    axes = speedup_chart(levels, [], make_meta(models=("m",), levels=(1, 2))).axes[0]
    (points,) = [line for line in axes.get_lines() if line.get_marker() == "o"]
    assert np.asarray(points.get_xydata()).tolist() == [[1.0, 1.0]]
    (crosses,) = axes.collections[-1:]
    assert np.allclose(crosses.get_offsets(), [[2.0, 10.0]])  # measured 10x at level 2


def _stars(axes: Axes) -> list[list[float]]:
    return [
        xy
        for line in axes.get_lines()
        if line.get_marker() == "*"
        for xy in np.asarray(line.get_xydata()).tolist()
    ]


def test_every_chart_stars_the_level_the_recommendation_names() -> None:
    # Level 2, not the level recommend() would pick (4): the charts read the recommendation.
    result = result_of(report_sweep(), REPORT_META)
    assert set(result.recommended.values()) == {4}
    picks = [Recommendation(model, 2, "", ()) for model in result.recommended]
    at_2 = {level.model: level for level in result.levels if level.concurrency == 2}
    charts = build_charts(result.levels, picks, REPORT_META)
    for name in ("wall_time", "speedup", "latency"):
        assert [x for x, _ in _stars(charts[name].axes[0])] == [2.0, 2.0], name
    for panel in charts["failures"].axes:
        assert _stars(panel) == [[2.0, 0.0], [2.0, 0.0]]
    tradeoff = sorted(_stars(charts["tradeoff"].axes[0]))
    assert tradeoff == sorted(
        [[row.wall_s, float(row.cost_per_1k_succeeded_usd or 0)] for row in at_2.values()]
    )
    # Cost: a bar of each model's cost at its recommended level, starred and labelled with it.
    cost = charts["cost"].axes[0]
    assert sorted(y for _, y in _stars(cost)) == pytest.approx(
        sorted(float(row.cost_per_1k_succeeded_usd or 0) for row in at_2.values())
    )
    assert sum("\nat 2" in text.get_text() for text in cost.texts) == 2
    # The projection is of the recommended levels alone: each named under its bars, no star.
    assert [t.get_text() for t in charts["projection"].axes[0].get_xticklabels()] == [
        f"{model}\nat concurrency 2" for model in result.recommended
    ]
    for name, figure in charts.items():
        if name == "projection":
            continue
        legends = [axes.get_legend() for axes in figure.axes if axes.get_legend() is not None]
        legends += figure.legends  # the failures chart's sits below both panels
        assert any(
            RECOMMENDED_LABEL in [text.get_text() for text in legend.get_texts()]
            for legend in legends
            if legend is not None
        )
