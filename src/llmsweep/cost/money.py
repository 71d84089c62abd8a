"""How money is written everywhere: the CLI, the estimate table, the report and its charts."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal


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
