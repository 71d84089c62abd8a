"""The whole sweep's ETA, on a hand-driven clock and counters."""

from __future__ import annotations

from pathlib import Path

import pytest

from llmsweep.cost.pricing import Pricer
from llmsweep.engine.progress import RunProgress
from llmsweep.session.eta import SweepEta, sweep_eta
from llmsweep.session.sweep import expected_cells_s, plan_sweep
from llmsweep.session.target import TargetSpec
from llmsweep.settings import SweepConfig
from llmsweep.simulator import SimulatorConfig

A, B = ("m", 1, 0), ("m", 2, 0)


class Clock:
    def __init__(self) -> None:
        self.now_s = 100.0

    def __call__(self) -> float:
        return self.now_s


def test_time_left_is_the_work_left_at_the_pace_measured_so_far() -> None:
    clock = Clock()
    eta = SweepEta({A: 10.0, B: 30.0}, prompts=10, in_seconds=True, clock=clock)
    assert eta.left_s() == 40.0  # nothing measured yet: as expected
    progress = RunProgress()
    eta.start(A, 10, progress)
    clock.now_s += 10
    progress.done = 5  # half of A (5 s expected) took 10 s: the sweep runs at half speed
    assert eta.left_s() == pytest.approx((5 + 30) * 2)
    progress.done = 10
    eta.start(B, 10, RunProgress())
    assert eta.left_s() == pytest.approx(30 * 1.0)  # all of A (10 s expected) in 10 s


def test_weights_that_are_not_seconds_give_no_eta_until_something_is_measured() -> None:
    clock = Clock()
    eta = SweepEta({A: 10.0, B: 5.0}, prompts=10, in_seconds=False, clock=clock)
    assert eta.left_s() is None
    progress = RunProgress()
    eta.start(A, 10, progress)
    clock.now_s += 4
    progress.done = 2  # 2 units of weight in 4 s
    assert eta.left_s() == pytest.approx((8 + 5) * 2)


def test_a_resumed_sweep_counts_only_the_prompts_left() -> None:
    eta = SweepEta({A: 10.0, B: 30.0}, prompts=10, in_seconds=True, clock=Clock())
    eta.skip_done({A: 10, B: 5})
    assert eta.left_s() == pytest.approx(15.0)


def test_the_sweep_eta_starts_from_the_expected_duration_on_the_simulator(
    tmp_path: Path,
) -> None:
    config = SweepConfig(prompts="synthetic:4:20:10", models=("gpt-4o",), levels=(1, 2))
    plan = plan_sweep(config, Pricer(), tmp_path / "r", resume=False, force=False)
    simulator = SimulatorConfig(latency_scale=0.5)
    simulated = sweep_eta(plan, TargetSpec(None, None, simulator))
    assert simulated.left_s() == pytest.approx(sum(expected_cells_s(plan, simulator).values()))
    assert (
        sweep_eta(plan, TargetSpec("https://api.example.com/v1", "k", simulator)).left_s() is None
    )
