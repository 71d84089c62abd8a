"""The failures chart: prompts that finally failed, and attempts answered 429, per level.

Models often fail alike (at 0% most of all), so each model's points are hollow rings of its own
size, the largest drawn first: where two models coincide, both rings show. A panel with nothing
to count says so in words over a single 0% tick, rather than drawing an empty 0-5% scale.
"""

from __future__ import annotations

from collections.abc import Sequence

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, PercentFormatter

from llmsweep.analysis.levels import LevelSummary
from llmsweep.analysis.recommend import Recommendation, levels_by_model
from llmsweep.report.charts.base import (
    compared,
    excluded_handle,
    level_axis,
    mark_excluded,
    model_colors,
    new_figure,
    recommended_rows,
    set_title,
    star,
    star_handle,
    star_sizes,
)
from llmsweep.store.meta import SweepMeta

# (rate attribute, y label, what is counted: attribute, total attribute, noun of the total)
_PANELS = (
    ("failure_rate", "prompts that finally failed", "failed", "requests", "prompts failed"),
    (
        "rate_limited_rate",
        "attempts answered 429 (rate limited)",
        "rate_limited",
        "attempts",
        "attempts answered 429",
    ),
)
NO_FAILURES = "no failures"
NO_429S = "no 429s"
_RING_MS = 5.0  # the smallest ring; each model before it is one step larger
_RING_STEP = 4.0


def ring_sizes(models: Sequence[str]) -> dict[str, float]:
    """Marker size per model, largest first in sorted order, so later (smaller) rings sit
    inside earlier ones."""
    ordered = sorted(set(models))
    return {m: _RING_MS + _RING_STEP * (len(ordered) - 1 - i) for i, m in enumerate(ordered)}


def failure_chart(
    levels: Sequence[LevelSummary], recommendations: Sequence[Recommendation], meta: SweepMeta
) -> Figure:
    figure, panels = new_figure(ncols=2)
    for axes, (rate, ylabel, counted, total, noun) in zip(panels, _PANELS, strict=True):
        _draw_rates(axes, levels, recommendations, rate)
        level_axis(axes, [level.concurrency for level in levels])
        axes.set_xlabel("concurrency (log\N{SUBSCRIPT TWO} scale)")
        axes.yaxis.set_major_formatter(PercentFormatter(xmax=1))
        axes.set_ylabel(ylabel)
        if sum(getattr(level, counted) for level in levels) == 0:
            of = sum(getattr(level, total) for level in levels)
            none = NO_FAILURES if rate == "failure_rate" else NO_429S
            _nothing_counted(axes, f"{none}\n0 of {of} {noun}\nat any level")
        else:
            # At least 0-5% so a few failures read as few, not as noise blown up.
            axes.set_ylim(bottom=0, top=max(0.05, axes.get_ylim()[1]))
    left = panels[0]
    handles, _ = left.get_legend_handles_labels()
    handles += [excluded_handle()] if any(level.excluded for level in levels) else []
    handles += [star_handle()] if recommended_rows(levels, recommendations) else []
    left.legend(handles=handles, loc="upper left")
    set_title(figure, "Failures and rate limiting vs concurrency", meta)
    return figure


def _draw_rates(
    axes: Axes,
    levels: Sequence[LevelSummary],
    recommendations: Sequence[Recommendation],
    rate: str,
) -> None:
    colors = model_colors([level.model for level in levels])
    sizes = ring_sizes([level.model for level in levels])
    picked = recommended_rows(levels, recommendations)
    stars = star_sizes([level.model for level in levels])
    for model, all_rows in levels_by_model(levels).items():
        rows = compared(all_rows)
        axes.plot(
            [row.concurrency for row in rows],
            [getattr(row, rate) for row in rows],
            color=colors[model],
            marker="o",
            ms=sizes[model],
            mfc="none",
            mew=1.5,
            label=model,
            clip_on=False,  # a ring at 0% sits on the axis, whole
        )
        if (chosen := picked.get(model)) is not None:
            star(axes, chosen.concurrency, getattr(chosen, rate), colors[model], stars[model])
    excluded = [level for level in levels if level.excluded]
    mark_excluded(axes, [(level.concurrency, getattr(level, rate)) for level in excluded])


def _nothing_counted(axes: Axes, text: str) -> None:
    """Only the 0% tick, the rings on it, and the words saying nothing was counted."""
    axes.yaxis.set_major_locator(FixedLocator([0.0]))
    axes.yaxis.set_major_formatter(PercentFormatter(xmax=1, decimals=0))
    axes.set_ylim(-0.01, 0.03)
    axes.text(0.5, 0.6, text, ha="center", va="center", transform=axes.transAxes, fontsize=10)
