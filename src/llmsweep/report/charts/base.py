"""Shared pieces of the charts: fixed style, model colours, axes helpers, and byte output.

Figures are built as ``matplotlib.figure.Figure`` objects, never through pyplot: pyplot keeps a
global registry of open figures, while a bare Figure is a plain value collected like any other.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from matplotlib import rc_context
from matplotlib.axes import Axes
from matplotlib.axis import Axis
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FixedLocator, FuncFormatter, LogLocator, NullLocator

from llmsweep.analysis.levels import LevelSummary
from llmsweep.analysis.recommend import Recommendation
from llmsweep.store.meta import SweepMeta

if TYPE_CHECKING:
    from matplotlib.typing import RcKeyType

# Fixed style so charts look the same whatever matplotlibrc the user has. Sized for a phone too:
# a 768 px chart shown 400 px wide keeps 11 pt text (18 px at 120 dpi) near 10 px.
STYLE: dict[RcKeyType, Any] = {
    "font.size": 11,
    "axes.titlesize": 12,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "legend.fontsize": 10,
    "svg.hashsalt": "llmsweep",  # fixed ids in SVG output, so the bytes are reproducible
    # Each chart sets its own layout (new_figure), and drops it once laid out (figure_bytes).
    "figure.autolayout": False,
    "figure.constrained_layout.use": False,
}
GREY = "0.45"
_FIGSIZE_IN = (6.4, 4.4)
LABEL_FONTSIZE = 9  # point labels and bar labels
_PNG_DPI = 120
# Beyond this max/min ratio a linear axis squashes the small values into a line.
_LOG_AXIS_RATIO = 5.0


def model_colors(models: Sequence[str]) -> dict[str, str]:
    """One colour per model from matplotlib's default cycle, by sorted name."""
    return {model: f"C{index % 10}" for index, model in enumerate(sorted(set(models)))}


def new_figure(ncols: int = 1) -> tuple[Figure, list[Axes]]:
    # At the PNG's resolution from the start, so the text measured while placing point labels
    # is the text the PNG draws (matplotlib caches it per renderer) and never measured twice.
    figure = Figure(figsize=_FIGSIZE_IN, dpi=_PNG_DPI, layout="constrained")
    return figure, [figure.add_subplot(1, ncols, column + 1) for column in range(ncols)]


def set_title(figure: Figure, text: str, meta: SweepMeta) -> None:
    """The chart title, with a second line saying so when the target was simulated."""
    if meta.target.simulated:
        text = f"{text}\n{meta.target.label()}"
    figure.suptitle(text, fontsize=12)


def level_axis(axes: Axes, concurrencies: Sequence[int]) -> None:
    """Concurrency on a log2 x axis with a labelled tick at every level swept."""
    axes.set_xscale("log", base=2)
    axes.xaxis.set_major_locator(FixedLocator(sorted(set(concurrencies))))
    axes.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    axes.xaxis.set_minor_locator(NullLocator())
    axes.set_xlabel("concurrency (requests in flight, log\N{SUBSCRIPT TWO} scale)")


def plain_log_axis(axes: Axes, axis: Axis, values: Sequence[float], unit: str = "") -> bool:
    """Log scale with 1-2-5 ticks in plain numbers, when the values span a wide range."""
    positive = [value for value in values if value > 0]
    if not positive or max(positive) / min(positive) < _LOG_AXIS_RATIO:
        return False
    if axis is axes.xaxis:
        axes.set_xscale("log")
    else:
        axes.set_yscale("log")
    axis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    axis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}{unit}"))
    axis.set_minor_locator(NullLocator())
    return True


def spread(
    values: Sequence[float], lows: Sequence[float], highs: Sequence[float]
) -> list[list[float]]:
    """matplotlib's yerr: distances from each value down to its min and up to its max."""
    return [
        [value - low for value, low in zip(values, lows, strict=True)],
        [high - value for value, high in zip(values, highs, strict=True)],
    ]


# Levels not compared (unfinished, or a speedup that is a measurement error) are drawn as grey
# crosses off the curves, so they are seen but never read as a result.
EXCLUDED_LABEL = "not compared: unfinished or measurement error (see table notes)"


def compared(rows: Sequence[LevelSummary]) -> list[LevelSummary]:
    """The levels that belong on a chart's curves."""
    return [row for row in rows if row.excluded is None]


def mark_excluded(axes: Axes, points: Sequence[tuple[float, float]]) -> None:
    if points:
        axes.scatter(*zip(*points, strict=True), marker="x", color=GREY, zorder=3)


def excluded_handle() -> Line2D:
    return Line2D([], [], color=GREY, marker="x", ls="none", label=EXCLUDED_LABEL)


RECOMMENDED_LABEL = "recommended level"
_STAR_MS = 14.0  # the smallest star; each model before it in sorted order one step larger
_STAR_STEP = 9.0


def recommended_rows(
    levels: Sequence[LevelSummary], recommendations: Sequence[Recommendation]
) -> dict[str, LevelSummary]:
    """Each model's recommended level as its one Recommendation names it (never re-picked);
    models with no recommended level are left out."""
    picked = {(rec.model, rec.level) for rec in recommendations if rec.level is not None}
    return {level.model: level for level in levels if (level.model, level.concurrency) in picked}


def star_sizes(models: Sequence[str]) -> dict[str, float]:
    """A star size per model, largest first in sorted order: models often share a recommended
    level at nearly one spot, and the smaller stars drawn after the larger keep each in sight."""
    ordered = sorted(set(models))
    return {m: _STAR_MS + _STAR_STEP * (len(ordered) - 1 - i) for i, m in enumerate(ordered)}


def star(axes: Axes, x: float, y: float, color: str, ms: float = _STAR_MS) -> None:
    """The recommended level, over everything else drawn at that spot."""
    axes.plot(x, y, marker="*", ms=ms, color=color, mec="black", ls="none", zorder=5, clip_on=False)


def star_handle() -> Line2D:
    return Line2D(
        [], [], color=GREY, marker="*", ms=12, mec="black", ls="none", label=RECOMMENDED_LABEL
    )


def figure_bytes(figure: Figure, fmt: str) -> bytes:
    """PNG or SVG bytes; identical for identical figures (no dates, fixed SVG ids).

    The first call lays the figure out for good; later ones (the SVG after the PNG) reuse it.
    """
    if fmt not in ("png", "svg"):
        raise ValueError(f"unsupported chart format {fmt!r}; use 'png' or 'svg'")
    if not isinstance(figure.canvas, FigureCanvasAgg):
        FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    # No dates (SVG) and no software banner (PNG): bytes depend on the figure alone, and the
    # embedded images carry no URL.
    metadata = {"Date": None} if fmt == "svg" else {"Software": None}
    with rc_context(STYLE):
        engine = figure.get_layout_engine()
        if engine is not None:
            # Saving a figure that has a layout engine measures and draws it all once more
            # before the real draw; laid out once here, with the engine then dropped, each
            # format is drawn just once.
            engine.execute(figure)
            figure.set_layout_engine(None)
        figure.savefig(buffer, format=fmt, dpi=_PNG_DPI, metadata=metadata)
    return buffer.getvalue()
