"""The one confidence interval over repeats: Student-t on the mean, 95% (pure).

Why Student-t: a level runs a handful of times (``--repeats``, usually 2-5), so the normal
approximation (1.96) would claim far too narrow an interval (the t quantile is 4.30 at three
repeats); the t interval is what guidellm and AIPerf report across trials too. It assumes the
repeats are independent draws around the level's true value, which is what a repeat is for.
scipy is not a dependency: the quantile comes from a table up to 30 degrees of freedom, and past
that from the Cornish-Fisher expansion of t about the normal quantile, which agrees with the
table at 30 to four significant digits and only gets closer as the degrees of freedom grow.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

CI_LEVEL = 0.95
CI_METHOD = (
    "Student-t 95% interval on the mean over repeats: mean ± t(0.975, n - 1) x s / √n, s the "
    "sample standard deviation of the n repeats' values (n >= 2)"
)

# t(0.975, df) for df = 1..30 (two-sided 95%), from the standard table.
_T975 = (
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
    2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
    2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
)  # fmt: skip
_Z975 = statistics.NormalDist().inv_cdf(0.975)


def t_975(df: int) -> float:
    """The 97.5th percentile of Student's t with ``df`` >= 1 degrees of freedom."""
    if df < 1:
        raise ValueError(f"degrees of freedom must be >= 1, got {df}")
    if df <= len(_T975):
        return _T975[df - 1]
    z = _Z975
    return (
        z
        + (z**3 + z) / (4 * df)
        + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * df**2)
        + (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / (384 * df**3)
    )


@dataclass(frozen=True)
class Interval:
    """A 95% confidence interval: ``mean`` ± ``half_width``."""

    mean: float
    half_width: float
    n: int  # the repeats it rests on

    @property
    def low(self) -> float:
        return self.mean - self.half_width

    @property
    def high(self) -> float:
        return self.mean + self.half_width

    def overlaps(self, other: Interval) -> bool:
        return self.low <= other.high and other.low <= self.high


def mean_interval(values: Sequence[float]) -> Interval | None:
    """The Student-t interval of ``values`` (one per repeat); None with fewer than two."""
    if len(values) < 2:
        return None
    spread = statistics.stdev(values)
    half_width = t_975(len(values) - 1) * spread / math.sqrt(len(values))
    return Interval(statistics.fmean(values), half_width, len(values))
