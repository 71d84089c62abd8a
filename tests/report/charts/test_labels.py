"""Point labels: levels at one spot share a label, named as a range of the levels swept."""

from __future__ import annotations

from llmsweep.report.charts.labels import group_levels, level_text


def test_levels_at_nearly_one_spot_share_a_label() -> None:
    # The example sweep's gpt-4o levels 4-32: 2.13-2.14 s, $2.22-2.26 (a rounding key split
    # them into two overprinted labels); level 2, and a far cheaper point, stay apart.
    points = [(2.13, 2.22), (2.14, 2.26), (2.12, 2.25), (2.54, 2.24), (2.13, 0.134)]
    groups = group_levels(points, [4, 8, 16, 2, 1])
    assert [levels for _, levels in groups] == [[4, 8, 16], [2], [1]]
    assert groups[0][0] == (2.13, 2.22)  # labelled at the group's first point


def test_free_points_share_a_label_only_with_other_free_points() -> None:
    # A cost of $0 has no logarithm: it is near another $0 only.
    points = [(1.0, 0.0), (1.01, 0.0), (1.0, 0.001)]
    assert [levels for _, levels in group_levels(points, [1, 2, 4])] == [[1, 2], [4]]


def test_three_or_more_swept_levels_in_a_row_read_as_a_range() -> None:
    swept = [1, 2, 4, 8, 16, 32]
    assert level_text([4, 8, 16, 32], swept) == "4\N{EN DASH}32"
    assert level_text([32, 4, 16, 8], swept) == "4\N{EN DASH}32"  # whatever the order given
    assert level_text([1, 2, 8], swept) == "1, 2, 8"  # two in a row are listed
    assert level_text([1, 4, 8, 16], swept) == "1, 4\N{EN DASH}16"  # 2 lies between 1 and 4
    assert level_text([4, 16], [4, 16]) == "4, 16"  # in a row among the levels swept
    assert level_text([4, 8, 16], [4, 8, 16]) == "4\N{EN DASH}16"
