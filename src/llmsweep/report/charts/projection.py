"""The whole job projected: time to results and cost per model, now vs through the Batch API.

Both bars of a model come from ``analysis.projection``: the real-time bar is the recommended
level's projection, the batch bar the same cost at the batch price with results within a day.
Hatched bars are the batch alternative; a model with no batch price has no batch bar.
"""

from __future__ import annotations

from collections.abc import Sequence

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from llmsweep.analysis.formatting import format_duration
from llmsweep.analysis.projection import BATCH_WITHIN_H, Projection
from llmsweep.cost.money import format_usd
from llmsweep.report.charts.base import GREY, LABEL_FONTSIZE, model_colors, new_figure, set_title
from llmsweep.store.meta import SweepMeta

_WIDTH = 0.38
_REAL_TIME = "at the recommended concurrency"
_BATCH = f"Batch API (results within {BATCH_WITHIN_H} h)"


def projection_chart(projections: Sequence[Projection], meta: SweepMeta) -> Figure:
    """Per model: projected hours to results and projected USD, real time beside batch."""
    figure, (time_axes, cost_axes) = new_figure(ncols=2)
    colors = model_colors([p.model for p in projections])
    for index, p in enumerate(projections):
        color = colors[p.model]
        now, batch = index - _WIDTH / 2, index + _WIDTH / 2
        if p.wall_s is not None:
            _bar(time_axes, now, p.wall_s / 3600, color, format_duration(p.wall_s))
        if p.cost_usd is not None:
            _bar(cost_axes, now, float(p.cost_usd), color, format_usd(p.cost_usd))
        if p.batch_cost_usd is not None:
            _bar(
                time_axes,
                batch,
                BATCH_WITHIN_H,
                color,
                f"\N{LESS-THAN OR EQUAL TO} {BATCH_WITHIN_H} h",
                "//",
            )
            _bar(
                cost_axes, batch, float(p.batch_cost_usd), color, format_usd(p.batch_cost_usd), "//"
            )
    names = [f"{p.model}\nat concurrency {p.concurrency}" for p in projections]
    for axes in (time_axes, cost_axes):
        axes.set_xticks(range(len(names)), names)
    time_axes.set_ylabel("hours until every result is in (projected)")
    cost_axes.set_ylabel("USD for the whole job (projected)")
    figure.legend(
        loc="outside lower center",
        ncols=2,
        handles=[
            Patch(facecolor=GREY, edgecolor="black", label=_REAL_TIME),
            Patch(facecolor=GREY, alpha=0.45, hatch="//", edgecolor="black", label=_BATCH),
        ],
    )
    prompts = projections[0].prompts if projections else 0
    set_title(
        figure, f"The whole job projected: {prompts:,} prompts (projection, not measured)", meta
    )
    return figure


def _bar(axes: Axes, x: float, value: float, color: str, label: str, hatch: str = "") -> None:
    bars = axes.bar(
        x,
        value,
        _WIDTH,
        color=color,
        alpha=0.45 if hatch else 1.0,
        hatch=hatch,
        edgecolor="black",
        lw=0.5,
    )
    axes.bar_label(bars, labels=[label], fontsize=LABEL_FONTSIZE)
