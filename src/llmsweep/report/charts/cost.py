"""Cost charts: estimate vs actual per model, and the time-vs-cost trade-off with its Pareto front.

Costs are shown per 1k prompts so estimates (made for one pass over the prompt set) and actuals
(summed over every level and repeat) compare in the same unit.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from decimal import Decimal

from matplotlib.figure import Figure
from matplotlib.patches import Patch

from llmsweep.analysis.costs import estimate_per_1k_usd
from llmsweep.analysis.levels import LevelSummary
from llmsweep.analysis.recommend import levels_by_model, model_cost_per_1k_usd
from llmsweep.cost.money import format_usd
from llmsweep.report.charts.base import (
    GREY,
    compared,
    excluded_handle,
    mark_excluded,
    model_colors,
    new_figure,
    plain_log_axis,
    set_title,
)
from llmsweep.store.meta import SweepMeta

_BAR_KINDS = (("estimate", 0.45, "//"), ("actual", 1.0, ""), ("batch estimate", 0.45, ".."))


def cost_chart(levels: Sequence[LevelSummary], meta: SweepMeta) -> Figure:
    """Per model: pre-run estimate, measured actual and batch-price estimate, per 1k prompts."""
    figure, (axes,) = new_figure()
    grouped = levels_by_model(levels)
    colors = model_colors(list(grouped))
    width = 0.27
    for index, (model, rows) in enumerate(grouped.items()):
        values = (
            estimate_per_1k_usd(meta, model),
            model_cost_per_1k_usd(rows),
            estimate_per_1k_usd(meta, model, batch=True),
        )
        for offset, ((_, alpha, hatch), value) in enumerate(zip(_BAR_KINDS, values, strict=True)):
            if value is None:
                continue
            bars = axes.bar(
                index + (offset - 1) * width,
                float(value),
                width,
                color=colors[model],
                alpha=alpha,
                hatch=hatch,
                edgecolor="black",
                lw=0.5,
            )
            axes.bar_label(bars, labels=[format_usd(value)], fontsize=7)
    axes.set_xticks(range(len(grouped)), list(grouped))
    axes.set_ylabel("USD per 1k prompts (actual: per 1k succeeded)")
    axes.legend(
        handles=[
            Patch(facecolor=GREY, alpha=alpha, hatch=hatch, edgecolor="black", label=name)
            for name, alpha, hatch in _BAR_KINDS
        ]
    )
    set_title(figure, "Cost per model: estimate before the run vs actual", meta)
    return figure


def pareto_front(points: Sequence[tuple[float, float]]) -> list[int]:
    """Indices of the points no other point beats on both coordinates (lower is better), by x."""
    front: list[int] = []
    for index in sorted(range(len(points)), key=lambda i: points[i]):
        if not front or points[index][1] < points[front[-1]][1]:
            front.append(index)
    return front


def label_groups(
    points: Sequence[tuple[float, float]], names: Sequence[str], *, within: float = 0.05
) -> list[tuple[tuple[float, float], list[str]]]:
    """Group points that lie within ``within`` (relative, on both log axes) of a group's first
    point, so that their labels print once; groups in first-seen order."""
    groups: list[tuple[tuple[float, float], list[str]]] = []
    for point, name in zip(points, names, strict=True):
        for anchor, members in groups:
            if all(_near(a, b, within) for a, b in zip(anchor, point, strict=True)):
                members.append(name)
                break
        else:
            groups.append((point, [name]))
    return groups


def _near(a: float, b: float, within: float) -> bool:
    if a <= 0 or b <= 0:
        return a == b
    return abs(math.log(a / b)) <= math.log1p(within)


def tradeoff_chart(levels: Sequence[LevelSummary], meta: SweepMeta) -> Figure:
    """Every compared (model, level) as wall time vs cost per 1k succeeded prompts; the Pareto
    front circled. Levels not compared (or with no success) are grey crosses off the front."""
    figure, (axes,) = new_figure()
    colors = model_colors([level.model for level in levels])
    everything = levels
    levels = [level for level in compared(levels) if level.cost_per_1k_succeeded_usd is not None]
    points = [(level.wall_s, float(_per_1k_ok(level))) for level in levels]
    others = [level for level in everything if level not in levels]
    mark_excluded(axes, [(level.wall_s, float(level.cost_per_1k_prompts_usd)) for level in others])
    for model, rows in levels_by_model(levels).items():
        axes.scatter(
            [row.wall_s for row in rows],
            [float(_per_1k_ok(row)) for row in rows],
            color=colors[model],
            label=model,
            zorder=3,
        )
    # Levels that land on (nearly) the same spot share one label ("4, 8") instead of overprinting.
    for point, names in label_groups(points, [str(level.concurrency) for level in levels]):
        text = ", ".join(dict.fromkeys(names))
        # A long shared label sits higher, clear of a single neighbour's label beside it.
        lift = 4 if len(names) == 1 else 10
        axes.annotate(text, point, textcoords="offset points", xytext=(4, lift), fontsize=7)
    front = [points[index] for index in pareto_front(points)]
    axes.plot(
        [wall_s for wall_s, _ in front],
        [cost for _, cost in front],
        color="black",
        ls="--",
        lw=1,
        marker="o",
        mfc="none",
        ms=11,
        drawstyle="steps-post",
        label="Pareto front (nothing is both faster and cheaper)",
    )
    plain_log_axis(axes, axes.xaxis, [wall_s for wall_s, _ in points])
    plain_log_axis(axes, axes.yaxis, [cost for _, cost in points])
    axes.set_xlabel("wall time for all prompts (s); point labels = concurrency")
    axes.set_ylabel("cost per 1k succeeded prompts (USD)")
    handles, _ = axes.get_legend_handles_labels()
    axes.legend(handles=handles + ([excluded_handle()] if others else []))
    set_title(figure, "Time vs cost across models and levels (lower left is better)", meta)
    return figure


def _per_1k_ok(level: LevelSummary) -> Decimal:
    return level.cost_per_1k_succeeded_usd or Decimal(0)
