"""The one percentile method used everywhere: loop lag, latencies, summaries, the CLI."""

from __future__ import annotations

import math
from collections.abc import Sequence

PERCENTILE_METHOD = (
    "linear interpolation between closest ranks (Hyndman-Fan type 7, NumPy's default)"
)


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0 <= q <= 100) by Hyndman-Fan type 7.

    With the values sorted as x[0..n-1], h = (n - 1) * q / 100 and the result is
    x[floor h] + (h - floor h) * (x[floor h + 1] - x[floor h]). One value is its own percentile.
    """
    if not values:
        raise ValueError("percentile of no values")
    if not 0 <= q <= 100:
        raise ValueError(f"percentile q must be within [0, 100], got {q}")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low = math.floor(rank)
    lower, upper = ordered[low], ordered[min(low + 1, len(ordered) - 1)]
    # Clamping keeps float rounding from stepping past the neighbours, so the result stays
    # monotone in q and inside [min, max].
    return min(max(lower + (rank - low) * (upper - lower), lower), upper)
