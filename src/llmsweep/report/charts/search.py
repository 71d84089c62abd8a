"""A ``--search`` sweep's trace as a chart: per model, each probe in the order the search ran it.

The points are the trace's own (store.search): a probe's mean throughput over its rounds with
its 95% interval as the error bar, numbered in probe order and joined by arrows from each probe
to the next, so the doubling and then the bisection read off the chart. The recommended level
is starred where its probe measured, from the one Recommendation (never re-picked).
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from llmsweep.analysis.recommend import Recommendation
from llmsweep.report.charts.base import (
    GREY,
    LABEL_FONTSIZE,
    level_axis,
    model_colors,
    new_figure,
    set_title,
    spread,
    star,
    star_handle,
    star_sizes,
)
from llmsweep.store.meta import SweepMeta
from llmsweep.store.search import SearchStep

INTERVAL_LABEL = "95% interval over the probe's rounds"


def search_chart(
    steps: Sequence[SearchStep], recommendations: Sequence[Recommendation], meta: SweepMeta
) -> Figure:
    """Throughput of every probe against its level, in probe order per model."""
    figure, (axes,) = new_figure()
    models = [step.model for step in steps]
    colors, stars = model_colors(models), star_sizes(models)
    picked = {rec.model: rec.level for rec in recommendations if rec.level is not None}
    starred = False
    for model in dict.fromkeys(models):  # in the order the search measured them
        probes = [step for step in steps if step.model == model]
        _probes(axes, probes, colors[model])
        # The search probes a level once; were one probed twice, the later probe is the last word.
        at_pick = [step for step in probes if step.level == picked.get(model)]
        if at_pick:
            star(axes, at_pick[-1].level, at_pick[-1].throughput_rps, colors[model], stars[model])
            starred = True
    level_axis(axes, [step.level for step in steps])
    axes.set_ylim(bottom=0)
    axes.set_ylabel("throughput (requests/s, mean over rounds)")
    handles = [Line2D([], [], color=colors[m], marker="o", label=m) for m in dict.fromkeys(models)]
    handles.append(Line2D([], [], color=GREY, marker="|", ms=10, ls="none", label=INTERVAL_LABEL))
    handles += [star_handle()] if starred else []
    axes.legend(handles=handles, loc="upper left")
    set_title(figure, "Search trace: each probe in the order it ran (numbered)", meta)
    return figure


def _probes(axes: Axes, probes: Sequence[SearchStep], color: str) -> None:
    """One model's probes: points with their intervals, numbers, and arrows in probe order."""
    points = [(step.level, step.throughput_rps) for step in probes]
    # A probe of one round has no interval: a bar of no length.
    lows = [
        step.throughput_rps if (low := step.throughput_rps_low) is None else low for step in probes
    ]
    highs = [
        step.throughput_rps if (high := step.throughput_rps_high) is None else high
        for step in probes
    ]
    x, y = [level for level, _ in points], [rps for _, rps in points]
    axes.errorbar(x, y, yerr=spread(y, lows, highs), color=color, marker="o", ls="none", capsize=3)
    for order, (level, rps) in enumerate(points, start=1):
        axes.annotate(
            str(order),
            (level, rps),
            xytext=(5, 5),
            textcoords="offset points",
            color=color,
            fontsize=LABEL_FONTSIZE,
            fontweight="bold",
        )
    for start, end in pairwise(points):
        axes.annotate(
            "",
            xy=end,
            xytext=start,
            arrowprops={
                "arrowstyle": "->",
                "color": color,
                "alpha": 0.6,
                "shrinkA": 5,
                "shrinkB": 5,
            },
        )
