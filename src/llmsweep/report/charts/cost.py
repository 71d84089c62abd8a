"""The cost chart: per model, the estimate before the run, the actual cost, and the batch estimate.

Costs are shown per 1k prompts so estimates (made for one pass over the prompt set) and actuals
(summed over every level and repeat) compare in the same unit.
"""

from __future__ import annotations

from collections.abc import Sequence

from matplotlib.figure import Figure
from matplotlib.patches import Patch

from llmsweep.analysis.costs import estimate_per_1k_usd
from llmsweep.analysis.levels import LevelSummary
from llmsweep.analysis.recommend import Recommendation, levels_by_model, model_cost_per_1k_usd
from llmsweep.cost.money import format_usd
from llmsweep.report.charts.base import (
    GREY,
    LABEL_FONTSIZE,
    model_colors,
    new_figure,
    recommended_rows,
    set_title,
    star,
    star_handle,
)
from llmsweep.store.meta import SweepMeta

# (legend label, alpha, hatch) of each bar, in order; the report's caption explains each term.
ESTIMATE, ACTUAL, AT_PICK, BATCH = (
    "estimate",
    "actual (all levels)",
    "actual at the recommended level",
    "batch estimate",
)
_BAR_KINDS = ((ESTIMATE, 0.45, "//"), (ACTUAL, 1.0, ""), (AT_PICK, 0.7, ""), (BATCH, 0.45, ".."))
_WIDTH = 0.2


def cost_chart(
    levels: Sequence[LevelSummary], recommendations: Sequence[Recommendation], meta: SweepMeta
) -> Figure:
    """Per model: pre-run estimate, measured actual over all levels and at the recommended level
    (starred), and batch-price estimate, per 1k prompts."""
    figure, (axes,) = new_figure()
    grouped = levels_by_model(levels)
    colors = model_colors(list(grouped))
    picked = recommended_rows(levels, recommendations)
    for index, (model, rows) in enumerate(grouped.items()):
        chosen = picked.get(model)
        values = (
            estimate_per_1k_usd(meta, model),
            model_cost_per_1k_usd(rows),
            None if chosen is None else model_cost_per_1k_usd([chosen]),
            estimate_per_1k_usd(meta, model, batch=True),
        )
        for offset, (kind, value) in enumerate(zip(_BAR_KINDS, values, strict=True)):
            if value is None:
                continue
            x = index + (offset - 1.5) * _WIDTH
            name, alpha, hatch = kind
            bars = axes.bar(
                x, float(value), _WIDTH, color=colors[model], alpha=alpha, hatch=hatch,
                edgecolor="black", lw=0.5,
            )  # fmt: skip
            if name == AT_PICK and chosen is not None:
                star(axes, x, float(value), colors[model], ms=12)
                label = f"{format_usd(value)}\nat {chosen.concurrency}"
            else:
                label = format_usd(value)
            axes.bar_label(
                bars, labels=[label], fontsize=LABEL_FONTSIZE, padding=7 if name == AT_PICK else 3
            )
    axes.set_xticks(range(len(grouped)), list(grouped))
    axes.set_ylabel("USD per 1k prompts (actual: per 1k succeeded)")
    shown = [kind for kind in _BAR_KINDS if kind[0] != AT_PICK or picked]
    handles = [
        Patch(facecolor=GREY, alpha=alpha, hatch=hatch, edgecolor="black", label=name)
        for name, alpha, hatch in shown
    ]
    axes.legend(handles=handles + ([star_handle()] if picked else []))
    set_title(figure, "Cost per model: estimate before the run vs actual", meta)
    return figure
