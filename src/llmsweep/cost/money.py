"""How money is written everywhere: the CLI, the estimate table, the report and its charts."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal, localcontext

_MICRO_USD = Decimal("0.000001")


def format_usd(value: Decimal) -> str:
    """Dollars: cents from $1 up, three significant digits below (so $0.000420 stays legible).

    Rounding is half-up and explicit: Decimal formatting would otherwise follow the caller's
    context, and $2.345 must read $2.35 wherever it is printed.
    """
    if value == 0:
        return "$0"
    decimals = 2 if abs(value) >= 1 else 2 - value.adjusted()
    rounded = value.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
    return f"${rounded:,f}"


def sum_usd(values: Iterable[Decimal]) -> Decimal:
    # A fixed, generous precision keeps sums exact whatever the caller's decimal context says.
    with localcontext(prec=60):
        return sum(values, Decimal(0))


def per_1k_prompts_usd(cost_usd: Decimal, requests: int) -> Decimal:
    """Cost per 1000 prompts, to the micro-dollar (exact input, one explicit rounding)."""
    if requests == 0:
        return Decimal(0)
    with localcontext(prec=60):
        return (cost_usd * 1000 / requests).quantize(_MICRO_USD, rounding=ROUND_HALF_EVEN)


def usd_for_prompts(per_1k_usd: Decimal, prompts: int, share: Decimal = Decimal(1)) -> Decimal:
    """What ``prompts`` cost at ``per_1k_usd`` per 1000 (times a price ``share``, such as a
    batch discount), to the micro-dollar: the inverse of ``per_1k_prompts_usd``."""
    with localcontext(prec=60):
        total = per_1k_usd * share * prompts / 1000
        return total.quantize(_MICRO_USD, rounding=ROUND_HALF_EVEN)
