"""What the harness cost in a cell: sessions of a resumed cell combined, and its JSON line."""

from __future__ import annotations

import json

import pytest

from factories import make_measurement
from llmsweep.store.harness import HarnessMeasurement, LoopLag, combine


def test_sessions_of_a_resumed_cell_combine() -> None:
    # 100 requests over 10 s with 0.5 s of CPU, then 20 over 2 s with 0.7 s (a busier session):
    # 1.2 s over 12 s is 10% of a core; the worse session's lag stands for both.
    first = make_measurement(lag_p95_s=0.001, cpu_s=0.5)
    lag = LoopLag(samples=20, p50_s=0.002, p95_s=0.004, max_s=0.005, mean_s=0.003)
    second = HarnessMeasurement(
        requests=20, cpu_s=0.7, cpu_s_per_request=0.035, wall_s=2.0, loop_lag=lag
    )
    both = combine([first, second])
    assert (both.requests, both.wall_s) == (120, 12.0)
    assert both.cpu_s == pytest.approx(1.2)
    assert both.cpu_s_per_request == pytest.approx(0.01)
    assert both.cpu_share == pytest.approx(0.1)
    assert (both.loop_lag.samples, both.loop_lag.p95_s, both.loop_lag.max_s) == (120, 0.004, 0.005)
    assert both.loop_lag.mean_s == pytest.approx((100 * 0 + 20 * 0.003) / 120)
    assert combine([first]) == first


def test_measurement_round_trips_through_json() -> None:
    measurement = make_measurement(lag_p95_s=0.004, cpu_s=2.5)
    line = json.dumps(measurement.to_dict())
    assert HarnessMeasurement.from_dict(json.loads(line)) == measurement
    empty = HarnessMeasurement(0, 0.0, None, 0.0, LoopLag(0, 0.0, 0.0, 0.0, 0.0))
    assert HarnessMeasurement.from_dict(json.loads(json.dumps(empty.to_dict()))) == empty
    assert empty.cpu_share == 0.0
