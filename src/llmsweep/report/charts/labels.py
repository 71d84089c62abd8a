"""Point labels that never overprint: levels at one spot share a label ("4-32"), and each label
takes the first place around its point that is clear of other labels, points and the legend.

Placement needs the drawn geometry, so it runs last, once the chart is otherwise complete: the
figure is laid out once, the legend pinned where it landed, and each label tried in turn at a
few offsets around its point. Labels are left out of the layout, so placing them cannot move
the axes they were placed in.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg, RendererAgg
from matplotlib.text import Annotation
from matplotlib.transforms import Bbox

from llmsweep.report.charts.base import LABEL_FONTSIZE

DASH = "\N{EN DASH}"
_Side = tuple[float, float, Literal["left", "center", "right"], Literal["bottom", "top"]]
# (dx, dy) in points from the point, and the alignment that keeps the text on that side.
_SIDES: tuple[_Side, ...] = (
    (10, 5, "left", "bottom"),
    (10, -5, "left", "top"),
    (-10, 5, "right", "bottom"),
    (-10, -5, "right", "top"),
    (0, 11, "center", "bottom"),
    (0, -11, "center", "top"),
)
_REACH = (1.0, 2.0, 3.0)  # each side tried at growing distances
SAME_SPOT = 0.05  # points within 5% of each other on both axes share one label
_POINT_BOX_PT = 16.0  # a point's footprint: as wide as the largest marker drawn on one (a star)


@dataclass(frozen=True)
class PointLabel:
    """One label: the point it names (data coordinates), its text and colour, and the points
    of the levels it names besides (they lie under it, so they do not push it away)."""

    xy: tuple[float, float]
    text: str
    color: str
    members: tuple[tuple[float, float], ...] = ()


def group_levels(
    points: Sequence[tuple[float, float]], levels: Sequence[int], *, within: float = SAME_SPOT
) -> list[tuple[tuple[float, float], list[int]]]:
    """One model's levels grouped where their points lie within ``within`` (relative, on both
    axes) of a group's first point, so each group prints one label; groups in first-seen order."""
    groups: list[tuple[tuple[float, float], list[int]]] = []
    for point, level in zip(points, levels, strict=True):
        for anchor, members in groups:
            if all(_near(a, b, within) for a, b in zip(anchor, point, strict=True)):
                members.append(level)
                break
        else:
            groups.append((point, [level]))
    return groups


def _near(a: float, b: float, within: float) -> bool:
    if a <= 0 or b <= 0:
        return a == b
    return abs(math.log(a / b)) <= math.log1p(within)


def level_text(levels: Sequence[int], swept: Sequence[int]) -> str:
    """Levels as runs of the swept ones: three or more swept levels in a row as a range ("4-32",
    with an en dash, for 4, 8, 16 and 32), the rest listed ("1, 2, 8")."""
    order = sorted(set(swept))
    runs: list[list[int]] = []
    for level in sorted(set(levels)):
        if runs and order.index(level) == order.index(runs[-1][-1]) + 1:
            runs[-1].append(level)
        else:
            runs.append([level])
    return ", ".join(
        f"{run[0]}{DASH}{run[-1]}" if len(run) > 2 else ", ".join(map(str, run)) for run in runs
    )


def place_labels(
    axes: Axes, labels: Sequence[PointLabel], points: Sequence[tuple[float, float]]
) -> list[Annotation]:
    """Annotate ``labels`` on the finished ``axes``, each clear of the labels placed before it,
    of every point in ``points`` but its own, and of the legend, inside the axes."""
    figure = axes.get_figure(root=True)
    assert figure is not None  # axes made by new_figure always have one
    renderer = FigureCanvasAgg(figure).get_renderer()  # type: ignore[no-untyped-call]
    engine = figure.get_layout_engine()
    if engine is not None:  # the layout alone: a whole (unrendered) draw would cost twice that
        engine.execute(figure)
    legend = axes.get_legend()
    taken: list[Bbox] = []
    if legend is not None:
        box = legend.get_window_extent(renderer)
        legend.set_loc(tuple(axes.transAxes.inverted().transform(box.p0)))  # stays where it is
        taken.append(box)
    inside = axes.get_window_extent(renderer)
    half = _POINT_BOX_PT / 2 * figure.dpi / 72
    annotations = []
    for label in labels:
        own = {label.xy, *label.members}
        others = [
            Bbox.from_extents(x - half, y - half, x + half, y + half)
            for x, y in (axes.transData.transform(point) for point in points if point not in own)
        ]
        annotation = axes.annotate(
            label.text,
            label.xy,
            xytext=(0, 0),
            textcoords="offset points",
            fontsize=LABEL_FONTSIZE,
            color=label.color,
        )
        annotation.set_in_layout(False)
        _settle(annotation, renderer, [*taken, *others], inside)
        taken.append(annotation.get_window_extent(renderer))
        annotations.append(annotation)
    return annotations


def _settle(annotation: Annotation, renderer: RendererAgg, taken: list[Bbox], inside: Bbox) -> None:
    """Move ``annotation`` to the first offset clear of ``taken`` and inside the axes, or to the
    least crowded one when none is clear."""
    best: tuple[float, _Side] | None = None
    for reach in _REACH:
        for dx, dy, ha, va in _SIDES:
            option: _Side = (dx * reach, dy * reach, ha, va)
            _move(annotation, option)
            box = annotation.get_window_extent(renderer)
            crowding = sum(_overlap(box, other) for other in taken) + _outside(box, inside)
            if crowding == 0:
                return
            if best is None or crowding < best[0]:
                best = (crowding, option)
    assert best is not None
    _move(annotation, best[1])


def _move(annotation: Annotation, option: _Side) -> None:
    dx, dy, ha, va = option
    annotation.xyann = (dx, dy)
    annotation.set_horizontalalignment(ha)
    annotation.set_verticalalignment(va)


def _overlap(a: Bbox, b: Bbox) -> float:
    width = min(a.x1, b.x1) - max(a.x0, b.x0)
    height = min(a.y1, b.y1) - max(a.y0, b.y0)
    return width * height if width > 0 and height > 0 else 0.0


def _outside(box: Bbox, inside: Bbox) -> float:
    """The area of ``box`` beyond ``inside``."""
    return box.width * box.height - _overlap(box, inside)
