"""An open-loop sweep's (``--rate``) chart: throughput against the rate offered, and latency
(from the send, from the due time) and client queueing as the rate rises; each model in its one
colour, its recommended rate starred, as the concurrency charts do."""

from __future__ import annotations

from collections.abc import Sequence

from matplotlib import rc_context
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FixedLocator

from llmsweep.analysis.rate import RateRecommendation, RateSummary
from llmsweep.report.charts.base import (
    GREY,
    STYLE,
    model_colors,
    new_figure,
    plain_log_axis,
    set_title,
    star,
    star_handle,
    star_sizes,
)
from llmsweep.store.meta import SweepMeta

RATE_CHART_TITLE = "Throughput, latency and client queueing vs offered rate"
# (label, RateSummary field, line style, marker): the server's share, the user's, the queue's.
_LATENCY_LINES = (
    ("p95 from send", "latency_p95_s", "-", "o"),
    ("p95 from due", "since_due_p95_s", "--", "s"),
    ("queueing p95", "client_queue_p95_s", ":", "^"),
)


def rate_chart(
    rates: Sequence[RateSummary], recommendations: Sequence[RateRecommendation], meta: SweepMeta
) -> Figure:
    """Left: achieved throughput against offered, with the line where they are equal; right:
    latency percentiles and the client queueing against offered."""
    figure, (served, waited) = new_figure(ncols=2)
    figure.set_size_inches(9.6, 4.4)
    colors = model_colors([row.model for row in rates])
    stars = star_sizes([row.model for row in rates])
    picked = {(rec.model, rec.rate_rps) for rec in recommendations}
    offered = sorted({row.offered_rps for row in rates})
    served.plot(offered, offered, color=GREY, ls="--")
    for model in dict.fromkeys(row.model for row in rates):
        rows = [row for row in rates if row.model == model]
        x = [row.offered_rps for row in rows]
        served.plot(x, [row.achieved_rps for row in rows], color=colors[model], marker="o")
        for _, field, line_style, marker in _LATENCY_LINES:
            points = [(r.offered_rps, v) for r in rows if (v := getattr(r, field)) is not None]
            waited.plot(
                [p[0] for p in points],
                [p[1] for p in points],
                color=colors[model],
                ls=line_style,
                marker=marker,
                ms=4,
            )
        for row in rows:
            if (model, row.offered_rps) in picked:
                star(served, row.offered_rps, row.achieved_rps, colors[model], stars[model])
    for axes in (served, waited):
        _rate_axis(axes, offered)
    served.set_ylabel("achieved throughput (succeeded/s)")
    served.set_ylim(bottom=0)
    waited.set_ylabel("seconds")
    waited.set_ylim(bottom=0)
    models = [Line2D([], [], color=colors[m], marker="o", label=m) for m in colors]
    ideal = Line2D([], [], color=GREY, ls="--", label="achieved = offered")
    chosen = [star_handle()] if picked else []
    for handle in chosen:
        handle.set_label("recommended rate")
    served.legend(handles=[*models, ideal, *chosen], fontsize=8)
    kinds = [Line2D([], [], color=GREY, ls=s, marker=m, label=lb) for lb, _, s, m in _LATENCY_LINES]
    waited.legend(handles=kinds, fontsize=8)
    set_title(figure, RATE_CHART_TITLE, meta)
    return figure


def _rate_axis(axes: Axes, offered: Sequence[float]) -> None:
    """Offered rates on the x axis, a labelled tick at each; log scale over a wide range."""
    if plain_log_axis(axes, axes.xaxis, offered):
        axes.xaxis.set_major_locator(FixedLocator(offered))
    axes.set_xlabel("offered rate (requests/s)")


def build_rate_charts(
    rates: Sequence[RateSummary], recommendations: Sequence[RateRecommendation], meta: SweepMeta
) -> dict[str, Figure]:
    """The rate sweep's charts by file stem; none without records."""
    if not rates:
        return {}
    with rc_context(STYLE):
        return {"rate": rate_chart(rates, recommendations, meta)}
