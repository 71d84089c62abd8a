"""How money is written: cents from $1 up, three significant digits below."""

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
