"""Chart captions: every legend term explained, with the numbers the data decide."""

from __future__ import annotations

from factories import levels_of, make_cell
from llmsweep.analysis.ceiling import RateLimits
from llmsweep.analysis.slo import judge_levels
from llmsweep.report.captions import chart_caption
from llmsweep.report.charts.performance import CHART_TITLES
from llmsweep.settings import LatencyTarget

TIMES = "\N{MULTIPLICATION SIGN}"


def test_every_chart_has_a_caption_and_others_none() -> None:
    levels = levels_of(make_cell("m", 1, prompts=2, wall_s=1.0))
    for name in CHART_TITLES:
        assert chart_caption(name, levels), name
    assert chart_caption("not a chart", levels) == ""


def test_the_speedup_caption_says_why_one_limit_gives_each_model_its_own_ceiling() -> None:
    # One 3000 rpm limit = 50 req/s. Model a answers 20 prompts in 1 s alone (20 req/s), so
    # 50 req/s is 2.5x its speedup; b takes 4/3 s (15 req/s), so the same limit is 3.3x.
    records = [
        *make_cell("a", 1, prompts=20, wall_s=1.0),
        *make_cell("a", 2, prompts=20, wall_s=0.6),
        *make_cell("b", 1, prompts=20, wall_s=4 / 3),
    ]
    caption = chart_caption("speedup", levels_of(records, RateLimits(rpm=3000)))
    assert (
        f"50 req/s is 2.5{TIMES} for a (20 req/s at concurrency 1); "
        f"50 req/s is 3.3{TIMES} for b (15 req/s at concurrency 1)."
    ) in caption
    assert "ceiling" not in chart_caption("speedup", levels_of(records))  # no limit, no line


def test_the_cost_caption_explains_the_batch_estimate() -> None:
    caption = chart_caption("cost", levels_of(make_cell("m", 1, prompts=2, wall_s=1.0)))
    assert "Batch estimate (dotted): the estimate at the provider's Batch API price" in caption
    assert "answered within 24 hours" in caption


def test_the_tradeoff_caption_says_whether_noise_was_measured() -> None:
    once = levels_of(make_cell("m", 1, prompts=2, wall_s=1.0))
    assert "Each level ran once, so the noise is unknown" in chart_caption("tradeoff", once)
    twice = levels_of(
        [
            *make_cell("m", 1, prompts=2, wall_s=1.0),
            *make_cell("m", 1, prompts=2, wall_s=1.1, repeat=1),
        ]
    )
    assert "95% wall-time interval over repeats" in chart_caption("tradeoff", twice)


def test_the_latency_caption_explains_the_target_lines_only_with_targets() -> None:
    levels = levels_of(make_cell("m", 1, prompts=2, wall_s=1.0))
    assert "latency target" not in chart_caption("latency", levels)
    judged = judge_levels(levels, (LatencyTarget("p95", 2.0),))
    assert "Black dash-dot, labelled: each latency target (--slo)" in chart_caption(
        "latency", judged
    )
