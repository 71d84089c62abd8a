"""How money is written: cents from $1 up, three significant digits below, rounded half-up."""

from __future__ import annotations

from decimal import Decimal

import pytest

from llmsweep.cost.money import format_usd


@pytest.mark.parametrize(
    ("usd", "text"),
    [("0", "$0"), ("12.345", "$12.35"), ("0.131", "$0.131"), ("0.00042", "$0.000420")],
)
def test_format_usd(usd: str, text: str) -> None:
    assert format_usd(Decimal(usd)) == text


def test_money_is_written_one_way_with_half_up_rounding() -> None:
    # One definition for the estimate table, the CLI and the report: $2.345 reads $2.35 in
    # each (it read $2.34 in one and $2.35 in the other when each had its own).
    assert format_usd(Decimal("2.345")) == "$2.35"
    assert format_usd(Decimal("1234.5")) == "$1,234.50"
    assert format_usd(Decimal("0.0625")) == "$0.0625"
    assert format_usd(Decimal("0.0000123456")) == "$0.0000123"
    assert format_usd(Decimal(0)) == "$0"
