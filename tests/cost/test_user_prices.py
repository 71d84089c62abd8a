"""Prices the user gives: --price-in/--price-out for one model, checked before anything is sent."""

from __future__ import annotations

from decimal import Decimal

import pytest

from llmsweep.cost.user_prices import pricer_from_flags
from llmsweep.errors import PricingError, UsageError


def test_command_line_prices_go_to_the_one_model() -> None:
    pricer = pricer_from_flags(["my-llama"], None, 1.0, 2.0)  # USD per million tokens
    # 1,000 input tokens at $1/M and 500 output tokens at $2/M: $0.001 + $0.001.
    assert pricer.cost_usd("my-llama", input_tokens=1000, output_tokens=500) == Decimal("0.002")
    assert pricer.cost_fn("my-llama")(1000, 500, 0) == Decimal("0.002")  # what the engine calls
    with pytest.raises(UsageError, match="--price-in and --price-out go together"):
        pricer_from_flags(["my-llama"], None, 1.0, None)
    with pytest.raises(UsageError, match="need exactly one --model"):
        pricer_from_flags(["a", "b"], None, 1.0, 2.0)
    with pytest.raises(PricingError, match="did you mean"):
        pricer_from_flags(["gpt-4oo"], None, None, None)  # fails before anything is sent
