"""Chart plumbing: reproducible bytes, model colours, error bars and log axes."""

from __future__ import annotations

import pytest

from factories import REPORT_META, make_meta, report_sweep, result_of
from llmsweep.report.charts.base import (
    figure_bytes,
    model_colors,
    new_figure,
    plain_log_axis,
    set_title,
    spread,
)
from llmsweep.report.charts.performance import wall_time_chart
from llmsweep.store.meta import REAL, TargetInfo


def test_svg_and_png_bytes_are_reproducible() -> None:
    levels = result_of(report_sweep(), REPORT_META).levels
    svg = figure_bytes(wall_time_chart(levels, [], REPORT_META), "svg")
    assert svg == figure_bytes(wall_time_chart(levels, [], REPORT_META), "svg")
    assert b"<dc:date>" not in svg
    png = figure_bytes(wall_time_chart(levels, [], REPORT_META), "png")
    assert png.startswith(b"\x89PNG")
    assert png == figure_bytes(wall_time_chart(levels, [], REPORT_META), "png")
    with pytest.raises(ValueError):
        figure_bytes(wall_time_chart(levels, [], REPORT_META), "pdf")


def test_model_colours_follow_sorted_names_whatever_the_order_given() -> None:
    assert model_colors(["b", "a", "b", "c"]) == {"a": "C0", "b": "C1", "c": "C2"}
    eleven = model_colors([f"m{i:02d}" for i in range(11)])
    assert eleven["m10"] == "C0"  # the default cycle has ten colours


def test_spread_is_the_distance_down_to_min_and_up_to_max() -> None:
    assert spread([2.0, 5.0], [1.5, 5.0], [3.0, 6.0]) == [[0.5, 0.0], [1.0, 1.0]]


def test_a_log_axis_only_for_values_spanning_five_times_or_more() -> None:
    _, (axes,) = new_figure()
    assert plain_log_axis(axes, axes.yaxis, [1.0, 4.9]) is False
    assert axes.get_yscale() == "linear"
    assert plain_log_axis(axes, axes.xaxis, [0.0, 1.0, 5.0], unit=" s") is True  # 0 is ignored
    assert axes.get_xscale() == "log"
    assert axes.xaxis.get_major_formatter()(0.5, 0) == "0.5 s"


def test_title_gains_a_second_line_for_a_simulated_target() -> None:
    figure, _ = new_figure()
    set_title(figure, "Speed", make_meta(target=TargetInfo(REAL, "https://api.example.com/v1")))
    assert figure.get_suptitle() == "Speed"
    set_title(figure, "Speed", REPORT_META)
    assert figure.get_suptitle() == ("Speed\nsimulated target (profile gpt-4o, latency scale 0.05)")
