"""The cost chart: per-1k estimates, and the recommended level's own cost, starred."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from factories import make_estimate, make_meta
from llmsweep.analysis.costs import estimate_per_1k_usd


def test_estimates_per_1k_prompts_divide_by_the_estimates_own_prompt_count() -> None:
    meta = make_meta(
        estimates={
            "a": make_estimate("a", "0.04", None, 20),  # over its 20 prompts: $2 per 1k
            "b": make_estimate("b", "0.04", "0.02", 40),  # over its 40 prompts: $1 per 1k
        }
    )
    assert estimate_per_1k_usd(meta, "a") == Decimal("2")
    assert estimate_per_1k_usd(meta, "b") == Decimal("1")
    assert estimate_per_1k_usd(meta, "b", batch=True) == Decimal("0.5")
    assert estimate_per_1k_usd(meta, "c") is None  # no estimate for it
    assert estimate_per_1k_usd(meta, "a", batch=True) is None  # no batch price
    none_counted = replace(meta, estimates={"a": replace(meta.estimates["a"], prompts=0)})
    assert estimate_per_1k_usd(none_counted, "a") is None
