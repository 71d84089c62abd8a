"""What the harness cost during each sweep cell (CPU, event-loop lag), and its file.

``engine.harness`` measures it; the sweep folder keeps one line per cell session in
``harness.jsonl``; ``analysis.client_bound`` judges it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class LoopLag:
    """Summary of the loop-lag samples of one cell, in seconds."""

    samples: int
    p50_s: float
    p95_s: float
    max_s: float
    mean_s: float


@dataclass(frozen=True)
class HarnessMeasurement:
    """What the harness cost during one cell. ``cpu_s_per_request`` is None for no requests."""

    requests: int
    cpu_s: float
    cpu_s_per_request: float | None
    wall_s: float
    loop_lag: LoopLag

    @property
    def cpu_share(self) -> float:
        """Process CPU time over wall time: 1.0 is one core busy all the cell."""
        return self.cpu_s / self.wall_s if self.wall_s > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> HarnessMeasurement:
        lag = data["loop_lag"]
        per_request = data.get("cpu_s_per_request")
        return cls(
            requests=int(data["requests"]),
            cpu_s=float(data["cpu_s"]),
            cpu_s_per_request=None if per_request is None else float(per_request),
            wall_s=float(data["wall_s"]),
            loop_lag=LoopLag(
                samples=int(lag["samples"]),
                p50_s=float(lag["p50_s"]),
                p95_s=float(lag["p95_s"]),
                max_s=float(lag["max_s"]),
                mean_s=float(lag["mean_s"]),
            ),
        )


def combine(parts: Sequence[HarnessMeasurement]) -> HarnessMeasurement:
    """One cell measured over several sessions (a resumed sweep): times and counts add up; the
    lag percentiles are the worst session's, since those of separate samples cannot be merged
    exactly and the check should not lose a bad session in a good one."""
    requests = sum(part.requests for part in parts)
    cpu_s = math.fsum(part.cpu_s for part in parts)
    samples = sum(part.loop_lag.samples for part in parts)
    weighted = math.fsum(part.loop_lag.mean_s * part.loop_lag.samples for part in parts)
    return HarnessMeasurement(
        requests=requests,
        cpu_s=cpu_s,
        cpu_s_per_request=cpu_s / requests if requests else None,
        wall_s=math.fsum(part.wall_s for part in parts),
        loop_lag=LoopLag(
            samples=samples,
            p50_s=max(part.loop_lag.p50_s for part in parts),
            p95_s=max(part.loop_lag.p95_s for part in parts),
            max_s=max(part.loop_lag.max_s for part in parts),
            mean_s=weighted / samples if samples else 0.0,
        ),
    )
