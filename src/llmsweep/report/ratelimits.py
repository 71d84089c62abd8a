"""What the report says of the rate limits the API's own headers stated (plain text)."""

from __future__ import annotations

from collections.abc import Sequence

from llmsweep.analysis.recommend import format_rps
from llmsweep.analysis.stats import StatedLimits

FROM_HEADERS = "from the API's headers"


def stated_limits_lines(stated: Sequence[StatedLimits]) -> list[str]:
    """One line per model whose answers stated its account's limits; none when none did."""
    lines = []
    for limits in stated:
        parts = [
            f"{value:,.0f} {unit}/min"
            for value, unit in ((limits.rpm, "requests"), (limits.tpm, "tokens"))
            if value is not None
        ]
        ceiling = (
            f"a ceiling of {format_rps(limits.ceiling_rps)} req/s at the tokens a request was "
            "charged"
            if limits.ceiling_rps is not None
            else "no ceiling known (no request succeeded to charge)"
        )
        lines.append(
            f"Rate limits of {limits.model} ({FROM_HEADERS}): {' and '.join(parts)}, {ceiling}."
        )
    return lines
