"""The trade-off chart: labels never overprint, the front ignores noise, the pick is starred."""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pytest
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.text import Annotation
from matplotlib.transforms import Bbox

from factories import levels_of, make_cell, make_meta
from llmsweep.analysis.levels import LevelSummary
from llmsweep.analysis.recommend import Recommendation
from llmsweep.report.charts.tradeoff import FRONT_LABEL, INTERVAL_LABEL, tradeoff_chart

DASH = "\N{EN DASH}"


def _levels(walls: dict[str, dict[int, list[float]]], costs: dict[str, str]) -> list[LevelSummary]:
    """Levels of cells of 4 prompts: per model, per level, one wall time per repeat."""
    return levels_of(
        [
            record
            for model, by_level in walls.items()
            for level, repeats in by_level.items()
            for repeat, wall_s in enumerate(repeats)
            for record in make_cell(
                model, level, prompts=4, wall_s=wall_s, repeat=repeat, cost_usd=costs[model]
            )
        ]
    )


def _chart(levels: list[LevelSummary], picks: dict[str, int]) -> tuple[Figure, Axes]:
    models = sorted({level.model for level in levels})
    meta = make_meta(models=models, levels=sorted({level.concurrency for level in levels}))
    recommendations = [Recommendation(model, level, "", ()) for model, level in picks.items()]
    figure = tradeoff_chart(levels, recommendations, meta)
    return figure, figure.axes[0]


def _label_boxes(figure: Figure, axes: Axes) -> dict[str, Bbox]:
    figure.draw_without_rendering()  # lays the figure out as saving it would
    return {
        f"{text.get_color()} {text.get_text()}": text.get_window_extent()
        for text in axes.texts
        if isinstance(text, Annotation)
    }


def test_labels_of_two_models_side_by_side_never_overprint() -> None:
    # Model b runs 3% slower and costs 4% more at every level: each of its points sits on a's,
    # too far to share a label (5%), close enough that labels at one fixed offset overprint.
    a_walls = {1: 8.0, 2: 4.3, 4: 2.4, 8: 2.25, 16: 2.12, 32: 2.0}
    levels = _levels(
        {
            "a": {level: [wall_s] for level, wall_s in a_walls.items()},
            "b": {level: [wall_s * 1.03] for level, wall_s in a_walls.items()},
        },
        {"a": "0.001", "b": "0.00104"},
    )
    figure, axes = _chart(levels, {"a": 4, "b": 4})
    boxes = _label_boxes(figure, axes)
    assert sorted(text.split()[1] for text in boxes) == sorted(["1", "2", "4", "8", "16", "32"] * 2)
    for (one, box), (other, other_box) in combinations(boxes.items(), 2):
        assert not box.overlaps(other_box), f"{one!r} overprints {other!r}"
    legend = axes.get_legend()
    assert legend is not None
    legend_box = legend.get_window_extent()
    assert not any(box.overlaps(legend_box) for box in boxes.values())
    assert all(axes.get_window_extent().contains(*box.p0) for box in boxes.values())


def test_levels_at_one_spot_share_one_label_and_the_pick_is_starred() -> None:
    # gpt-4o levels 4-32 all end in about 2.13 s: one label "4-32" by their first point.
    walls = {1: 4.95, 2: 2.68, 4: 2.14, 8: 2.13, 16: 2.13, 32: 2.15}
    levels = _levels({"gpt-4o": {level: [w] for level, w in walls.items()}}, {"gpt-4o": "0.002"})
    figure, axes = _chart(levels, {"gpt-4o": 4})
    assert sorted(text.split()[1] for text in _label_boxes(figure, axes)) == [
        "1",
        "2",
        f"4{DASH}32",
    ]
    (star,) = [line for line in axes.get_lines() if line.get_marker() == "*"]
    assert np.asarray(star.get_xydata()).tolist() == [[2.14, pytest.approx(2.0)]]


def test_the_front_ignores_a_wall_time_lead_within_the_noise() -> None:
    # gpt-4o leads by 0.06 s on each of 3 repeats, within the ± 0.0745 s of their intervals
    # (tests/analysis/test_pareto.py): only the far cheaper gpt-4o-mini is on the front.
    levels = _levels(
        {"gpt-4o": {8: [2.10, 2.13, 2.16]}, "gpt-4o-mini": {8: [2.16, 2.19, 2.22]}},
        {"gpt-4o": "0.00221", "gpt-4o-mini": "0.000135"},
    )
    _, axes = _chart(levels, {})
    (front,) = [line for line in axes.get_lines() if line.get_label() == FRONT_LABEL]
    assert np.asarray(front.get_xydata()).tolist() == [[2.19, pytest.approx(0.135)]]
    # Each level's interval is drawn, so the reader sees the noise the front ignored.
    bars = [line for line in axes.get_lines() if line.get_marker() in ("None", None, "")]
    spans = sorted(np.asarray(line.get_xdata()).tolist() for line in bars if line is not front)
    assert spans == [
        [pytest.approx(2.13 - 0.0745, abs=1e-4), pytest.approx(2.13 + 0.0745, abs=1e-4)],
        [pytest.approx(2.19 - 0.0745, abs=1e-4), pytest.approx(2.19 + 0.0745, abs=1e-4)],
    ]
    legend = axes.get_legend()
    assert legend is not None
    assert INTERVAL_LABEL in [text.get_text() for text in legend.get_texts()]
