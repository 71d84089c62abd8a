"""The whole sweep's time left, from measured progress: for a progress display, never a result.

Each cell has a weight: its expected seconds against the simulator (``expected_cells_s``), or
against a real API, whose latency is not known in advance, its prompts over its level (a closed
loop at one latency takes that long, in units of that latency). The time left is the weight of
the work left, scaled by how long the work done so far took per unit of its weight: so a
simulator that runs slower than expected, or an API's real latency, corrects it as cells finish.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

from llmsweep.engine.progress import RunProgress
from llmsweep.session.sweep import SweepPlan, expected_cells_s
from llmsweep.session.target import TargetSpec
from llmsweep.store.records import CellKey


class SweepEta:
    """``start(cell, todo, progress)`` as each cell starts; ``left_s()`` at any time."""

    def __init__(
        self,
        weights: Mapping[CellKey, float],
        prompts: int,
        *,
        in_seconds: bool,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._left = dict(weights)  # each cell's weight not yet started, for its prompts to do
        self._prompts = prompts  # in a whole cell
        self._in_seconds = in_seconds  # whether weights are already seconds (the simulator's)
        self._clock = clock
        self._started_s: float | None = None
        self._done = 0.0  # weight of the cells finished
        self._cell = 0.0  # the current cell's weight, and its progress
        self._todo = 0
        self._progress: RunProgress | None = None

    def skip_done(self, done: Mapping[CellKey, int]) -> None:
        """A resumed sweep: ``done[cell]`` of a cell's prompts are already ok, so only the rest
        of its weight is work left."""
        for cell, count in done.items():
            if cell in self._left and self._prompts:
                self._left[cell] *= max(0, self._prompts - count) / self._prompts

    def start(self, cell: CellKey, todo: int, progress: RunProgress) -> None:
        if self._started_s is None:
            self._started_s = self._clock()
        self._done += self._cell
        self._cell = self._left.pop(cell, 0.0)
        self._todo, self._progress = todo, progress

    def left_s(self) -> float | None:
        """Seconds the sweep should still take; None until something has been measured, when
        the weights are not seconds."""
        fraction = 0.0
        if self._progress is not None and self._todo:
            fraction = min(1.0, self._progress.done / self._todo)
        done = self._done + self._cell * fraction
        left = sum(self._left.values()) + self._cell * (1 - fraction)
        elapsed_s = self._clock() - self._started_s if self._started_s is not None else 0.0
        if done > 0 and elapsed_s > 0:
            return left * elapsed_s / done
        return left if self._in_seconds else None


def sweep_eta(plan: SweepPlan, target: TargetSpec) -> SweepEta:
    """The ETA of ``plan``'s sweep against ``target``: weighed in expected seconds against the
    simulator, else in prompts over level."""
    if target.simulated:
        weights = expected_cells_s(plan, target.simulator)
        return SweepEta(weights, len(plan.prompts), in_seconds=True)
    count = len(plan.prompts)
    weights = {cell: count / cell[1] for cell in plan.config.cells()}
    return SweepEta(weights, count, in_seconds=False)
