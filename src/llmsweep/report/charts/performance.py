"""Charts of a sweep, one ``matplotlib.figure.Figure`` per question the report answers.

Each model keeps one colour across every chart, and its recommended level (the one
Recommendation, never re-picked) is starred on each; the spread over repeats shows as min-max
error bars. Shared helpers live in :mod:`llmsweep.report.charts.base`; the failures, cost and
trade-off charts in their own modules, re-exported here. What each chart's legend terms mean is
captioned under it by :mod:`llmsweep.report.captions`.
"""

from __future__ import annotations

from collections.abc import Sequence

from matplotlib import rc_context
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, NullLocator

from llmsweep.analysis.levels import LevelSummary
from llmsweep.analysis.projection import project
from llmsweep.analysis.recommend import Recommendation, is_priced, levels_by_model
from llmsweep.report.charts.base import (
    GREY,
    LABEL_FONTSIZE,
    STYLE,
    compared,
    excluded_handle,
    level_axis,
    mark_excluded,
    new_figure,
    recommended_rows,
    set_title,
    spread,
    star,
    star_handle,
    star_sizes,
)
from llmsweep.report.charts.base import figure_bytes as figure_bytes
from llmsweep.report.charts.base import model_colors as model_colors
from llmsweep.report.charts.cost import cost_chart as cost_chart
from llmsweep.report.charts.failures import failure_chart as failure_chart
from llmsweep.report.charts.projection import projection_chart
from llmsweep.report.charts.search import search_chart
from llmsweep.report.charts.tradeoff import tradeoff_chart as tradeoff_chart
from llmsweep.settings import LatencyTarget
from llmsweep.store.meta import SweepMeta
from llmsweep.store.search import SearchStep

# Chart names (file stems) in report order, with the caption the report shows.
CHART_TITLES = {
    "wall_time": "Wall time vs concurrency",
    "speedup": "Speedup vs concurrency",
    "failures": "Failures and 429s vs concurrency",
    "latency": "Latency percentiles (and, when streamed, ITL and TPOT) vs concurrency",
    "cost": "Cost per 1k prompts: estimate vs actual",
    "tradeoff": "Time vs cost trade-off",
    "projection": "The whole job projected: time and cost, now vs the Batch API",
    "search": "Search trace: each probe in the order it ran",
}
_TIMES = "\N{MULTIPLICATION SIGN}"


def wall_time_chart(
    levels: Sequence[LevelSummary], recommendations: Sequence[Recommendation], meta: SweepMeta
) -> Figure:
    figure, (axes,) = new_figure()
    colors = model_colors([level.model for level in levels])
    picked = recommended_rows(levels, recommendations)
    stars = star_sizes([level.model for level in levels])
    for model, all_rows in levels_by_model(levels).items():
        rows = compared(all_rows)
        if not rows:
            continue
        if (chosen := picked.get(model)) is not None:
            star(axes, chosen.concurrency, chosen.wall_s, colors[model], stars[model])
        x = [row.concurrency for row in rows]
        walls = [row.wall_s for row in rows]
        yerr = spread(walls, [row.wall_s_min for row in rows], [row.wall_s_max for row in rows])
        axes.errorbar(x, walls, yerr=yerr, color=colors[model], marker="o", capsize=3, label=model)
        if rows[0].concurrency == 1:
            ideal = [rows[0].wall_s / level for level in x]
            axes.plot(x, ideal, color=colors[model], ls="--", alpha=0.6)
    excluded = [(row.concurrency, row.wall_s) for row in levels if row.excluded]
    mark_excluded(axes, excluded)
    level_axis(axes, [level.concurrency for level in levels])
    axes.set_ylabel("wall time for all prompts (s)")
    axes.set_ylim(bottom=0)
    handles, _ = axes.get_legend_handles_labels()
    ideal_handle = Line2D([], [], color=GREY, ls="--", label="ideal: sequential wall / level")
    handles += [ideal_handle] + ([excluded_handle()] if excluded else [])
    handles += [star_handle()] if picked else []
    axes.legend(handles=handles)
    set_title(figure, "Wall time vs concurrency (lower is better)", meta)
    return figure


def speedup_chart(
    levels: Sequence[LevelSummary],
    recommendations: Sequence[Recommendation],
    meta: SweepMeta,
) -> Figure:
    figure, (axes,) = new_figure()
    colors = model_colors([level.model for level in levels])
    picked = recommended_rows(levels, recommendations)
    stars = star_sizes([level.model for level in levels])
    concurrencies = sorted({level.concurrency for level in levels})
    extra_handles = [Line2D([], [], color=GREY, ls="--", label="ideal: speedup = level")]
    axes.plot(concurrencies, concurrencies, color=GREY, ls="--")
    ceilings: list[float] = []
    for model, all_rows in levels_by_model(levels).items():
        rows = [row for row in all_rows if row.speedup is not None]
        if not rows:
            continue
        speedups = [row.speedup or 0.0 for row in rows]
        yerr = spread(
            speedups, [row.speedup_min or 0.0 for row in rows], [r.speedup_max or 0.0 for r in rows]
        )
        x = [row.concurrency for row in rows]
        axes.errorbar(
            x, speedups, yerr=yerr, color=colors[model], marker="o", capsize=3, label=model
        )
        ceiling = rows[0].speedup_ceiling
        if ceiling is not None:
            _draw_ceiling(axes, model, ceiling, colors[model], ceilings)
        if (chosen := picked.get(model)) is not None and chosen.speedup is not None:
            star(axes, chosen.concurrency, chosen.speedup, colors[model], stars[model])
    if any(level.speedup_ceiling is not None for level in levels):
        extra_handles.append(Line2D([], [], color=GREY, ls=":", label="rate-limit ceiling"))
    # A speedup above its level is shown where it was measured, as an error, never on a curve.
    errors = [(row.concurrency, row.speedup_error) for row in levels if row.speedup_error]
    mark_excluded(axes, [(level, speedup) for level, speedup in errors if speedup is not None])
    extra_handles += [excluded_handle()] if errors else []
    extra_handles += [star_handle()] if picked else []
    level_axis(axes, concurrencies)
    axes.set_yscale("log", base=2)
    axes.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}{_TIMES}"))
    axes.yaxis.set_minor_locator(NullLocator())
    axes.set_ylabel("speedup over concurrency 1 (log\N{SUBSCRIPT TWO} scale)")
    if not any(level.speedup is not None for level in levels):
        axes.text(
            0.5,
            0.5,
            "no concurrency-1 level: speedup unknown",
            ha="center",
            transform=axes.transAxes,
        )
    handles, _ = axes.get_legend_handles_labels()
    axes.legend(handles=[*handles, *extra_handles], loc="upper left")
    set_title(figure, "Speedup vs concurrency (higher is better)", meta)
    return figure


def _draw_ceiling(axes: Axes, model: str, ceiling: float, color: str, drawn: list[float]) -> None:
    """A model's rate-limit ceiling as a dotted line with its label. Models often share one
    account limit: labels of nearly equal ceilings stack instead of overprinting."""
    stacked = sum(1 for other in drawn if abs(other / ceiling - 1) < 0.1)
    drawn.append(ceiling)
    axes.axhline(ceiling, color=color, ls=":", lw=1.5)
    axes.annotate(
        f"{model} rate-limit ceiling {ceiling:.1f}{_TIMES}",
        (1, ceiling),
        xycoords=("axes fraction", "data"),
        xytext=(-2, 2 + 10 * stacked),
        textcoords="offset points",
        ha="right",
        va="bottom",
        color=color,
        fontsize=LABEL_FONTSIZE,
    )


_LATENCY_STYLES = (("p50", "-", "o"), ("p95", "--", "s"), ("p99", ":", "^"))
# Streams: per-token times on a panel of their own (milliseconds, not seconds).
_TOKEN_STYLES = (
    ("ITL p50", "itl_p50_s", "-", "o"),
    ("ITL p95", "itl_p95_s", "--", "s"),
    ("TPOT p50", "tpot_p50_s", "-.", "D"),
)


def _lines(
    axes: Axes, rows: Sequence[LevelSummary], attr: str, scale: float, style: tuple[str, str, str]
) -> None:
    """One line (colour, line style, marker) through the levels that have ``attr``, x ``scale``."""
    color, line_style, marker = style
    points = [(row.concurrency, value) for row in rows if (value := getattr(row, attr)) is not None]
    axes.plot(
        [x for x, _ in points],
        [y * scale for _, y in points],
        color=color,
        ls=line_style,
        marker=marker,
        ms=4,
    )


def latency_chart(
    levels: Sequence[LevelSummary], recommendations: Sequence[Recommendation], meta: SweepMeta
) -> Figure:
    streamed = any(level.itl_p50_s is not None or level.tpot_p50_s is not None for level in levels)
    figure, panels = new_figure(ncols=2 if streamed else 1)
    axes = panels[0]
    colors = model_colors([level.model for level in levels])
    picked = recommended_rows(levels, recommendations)
    stars = star_sizes([level.model for level in levels])
    for model, all_rows in levels_by_model(levels).items():
        rows = compared(all_rows)
        for name, line_style, marker in _LATENCY_STYLES:
            _lines(axes, rows, f"latency_{name}_s", 1.0, (colors[model], line_style, marker))
        for _, attr, line_style, marker in _TOKEN_STYLES if streamed else ():
            _lines(panels[1], rows, attr, 1000.0, (colors[model], line_style, marker))
        chosen = picked.get(model)
        if chosen is not None and chosen.latency_p50_s is not None:
            star(axes, chosen.concurrency, chosen.latency_p50_s, colors[model], stars[model])
    _draw_targets(axes, meta.config.slo)  # before the limits are fixed: each target in sight
    concurrencies = [level.concurrency for level in levels]
    for panel in panels:
        level_axis(panel, concurrencies)
        panel.set_ylim(bottom=0)
    axes.set_ylabel("latency of succeeded requests, last attempt (s)")
    handles = [Patch(color=colors[model], label=model) for model in sorted(colors)] + [
        Line2D([], [], color="black", ls=line_style, marker=marker, ms=4, label=name)
        for name, line_style, marker in _LATENCY_STYLES
    ]
    excluded = [(row.concurrency, row.latency_p50_s) for row in levels if row.excluded]
    mark_excluded(axes, [(x, p50) for x, p50 in excluded if p50 is not None])
    handles += [excluded_handle()] if excluded else []
    handles += [star_handle()] if picked else []
    if streamed:
        panels[1].set_ylabel("per-token time of succeeded streams (ms)")
        panels[1].legend(
            handles=[
                Line2D([], [], color="black", ls=line_style, marker=marker, ms=4, label=name)
                for name, _, line_style, marker in _TOKEN_STYLES
            ]
        )
        axes.legend(handles=handles)
    else:
        # Outside the axes: percentile lines fan out across the whole plot area.
        axes.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1))
    set_title(figure, "Latency percentiles vs concurrency (medians over repeats)", meta)
    return figure


def _draw_targets(axes: Axes, targets: Sequence[LatencyTarget]) -> None:
    """Each latency target (--slo) as a line at its seconds, labelled with the target. All are
    in seconds, so all go on the seconds panel, TTFT's too though it has no curve there."""
    for target in targets:
        axes.axhline(target.max_s, color="black", ls=(0, (6, 2, 1, 2)), lw=1)
        axes.annotate(
            f"target {target}",
            (0, target.max_s),
            xycoords=("axes fraction", "data"),
            # Under its line: a target at the top of the axes keeps its label inside them.
            xytext=(2, -2),
            textcoords="offset points",
            va="top",
            fontsize=LABEL_FONTSIZE,
        )


def build_charts(
    levels: Sequence[LevelSummary],
    recommendations: Sequence[Recommendation],
    meta: SweepMeta,
    search: Sequence[SearchStep] = (),
) -> dict[str, Figure]:
    """Every chart that has data, keyed by the names in :data:`CHART_TITLES`, in that order;
    ``search``: a --search sweep's trace, charted when there is one."""
    if not levels:
        return {}
    priced = any(is_priced(level) for level in levels)
    with rc_context(STYLE):
        charts = {
            "wall_time": wall_time_chart(levels, recommendations, meta),
            "speedup": speedup_chart(levels, recommendations, meta),
            "failures": failure_chart(levels, recommendations, meta),
            "latency": latency_chart(levels, recommendations, meta),
        }
        if priced or meta.estimates:
            charts["cost"] = cost_chart(levels, recommendations, meta)
        if priced:
            charts["tradeoff"] = tradeoff_chart(levels, recommendations, meta)
        if projections := project(levels, recommendations, meta):
            charts["projection"] = projection_chart(projections, meta)
        if search:
            charts["search"] = search_chart(search, recommendations, meta)
    return charts
