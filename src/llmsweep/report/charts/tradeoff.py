"""The time-vs-cost trade-off: every compared (model, level) at its wall time and cost per 1k
succeeded prompts, the Pareto front (analysis.pareto, blind to differences within the noise)
circled, the recommended levels starred, and labels that never overprint (charts.labels)."""

from __future__ import annotations

from collections.abc import Sequence

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from llmsweep.analysis.levels import LevelSummary
from llmsweep.analysis.pareto import TradeoffPoint, pareto_front, tradeoff_point
from llmsweep.analysis.recommend import Recommendation, levels_by_model
from llmsweep.report.charts.base import (
    GREY,
    compared,
    excluded_handle,
    mark_excluded,
    model_colors,
    new_figure,
    plain_log_axis,
    recommended_rows,
    set_title,
    star,
    star_handle,
    star_sizes,
)
from llmsweep.report.charts.labels import PointLabel, group_levels, level_text, place_labels
from llmsweep.store.meta import SweepMeta

FRONT_LABEL = "Pareto front (nothing is both faster and cheaper, beyond the noise)"
INTERVAL_LABEL = "95% interval of the wall time over repeats"

_Placed = list[tuple[LevelSummary, TradeoffPoint]]


def _xy(point: TradeoffPoint) -> tuple[float, float]:
    return (point.wall_s, float(point.cost_per_1k_usd))


def tradeoff_chart(
    levels: Sequence[LevelSummary], recommendations: Sequence[Recommendation], meta: SweepMeta
) -> Figure:
    """Levels not compared, or with no success, are grey crosses off the front."""
    figure, (axes,) = new_figure()
    colors = model_colors([level.model for level in levels])
    placed = [(lv, point) for lv in compared(levels) if (point := tradeoff_point(lv)) is not None]
    shown = [level for level, _ in placed]
    others = [level for level in levels if level not in shown]
    mark_excluded(axes, [(level.wall_s, float(level.cost_per_1k_prompts_usd)) for level in others])
    for model, rows in levels_by_model(shown).items():
        model_spots = [_xy(point) for level, point in placed if level in rows]
        axes.scatter(*zip(*model_spots, strict=True), color=colors[model], label=model, zorder=3)
    with_intervals = _draw_intervals(axes, placed, colors)
    front = [_xy(placed[index][1]) for index in pareto_front([point for _, point in placed])]
    axes.plot(
        *zip(*front, strict=True),
        color="black", ls="--", lw=1, marker="o", mfc="none", ms=11, drawstyle="steps-post",
        label=FRONT_LABEL,
    )  # fmt: skip
    chosen = list(recommended_rows(levels, recommendations).values())
    picked = [(level, point) for level, point in placed if level in chosen]
    stars = star_sizes([level.model for level in levels])
    for level, point in picked:
        star(axes, *_xy(point), colors[level.model], stars[level.model])
    spots = [_xy(point) for _, point in placed]
    plain_log_axis(axes, axes.xaxis, [wall_s for wall_s, _ in spots])
    plain_log_axis(axes, axes.yaxis, [cost for _, cost in spots])
    axes.set_xlabel("wall time for all prompts (s); point labels = concurrency")
    axes.set_ylabel("cost per 1k succeeded prompts (USD)")
    handles, _ = axes.get_legend_handles_labels()
    handles += [Line2D([], [], color=GREY, lw=1, label=INTERVAL_LABEL)] if with_intervals else []
    handles += [excluded_handle()] if others else []
    handles += [star_handle()] if picked else []
    axes.legend(handles=handles)
    set_title(figure, "Time vs cost across models and levels (lower left is better)", meta)
    place_labels(axes, _labels(placed, colors), spots)
    return figure


def _draw_intervals(axes: Axes, placed: _Placed, colors: dict[str, str]) -> bool:
    """Each point's wall-time interval as a thin horizontal bar: the noise the front ignores."""
    drawn = False
    for level, point in placed:
        if point.wall_s_ci is not None:
            low, high = point.wall_span_s
            y = float(point.cost_per_1k_usd)
            axes.plot([low, high], [y, y], color=colors[level.model], lw=1, alpha=0.7)
            drawn = True
    return drawn


def _labels(placed: _Placed, colors: dict[str, str]) -> list[PointLabel]:
    """Per model, one label for the levels at (nearly) one spot, naming them as a range."""
    labels = []
    for model, rows in levels_by_model([level for level, _ in placed]).items():
        spots = {level.concurrency: _xy(point) for level, point in placed if level in rows}
        swept = list(spots)
        for anchor, members in group_levels(list(spots.values()), swept):
            labels.append(
                PointLabel(
                    anchor,
                    level_text(members, swept),
                    colors[model],
                    tuple(spots[level] for level in members),
                )
            )
    return labels
