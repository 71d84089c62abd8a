"""Speedup like for like: finished cells only, over the prompts both cells got done (pure).

A cell's wall time covers whatever the cell did, so a cell stopped by the budget after a few
prompts, or one whose prompts failed fast, looks fast. Speedup therefore compares a cell with the
concurrency-1 cell of the same model and repeat over the prompts that succeeded in *both*, and
only when both cells finished every planned prompt.

A cell's time for some of its prompts is its wall time times the share of its prompts' summed
time (queued to ended) that those prompts took: for a sequential cell that is exactly their time;
at a higher level it splits the overlapped wall time in proportion to the work done. When every
prompt succeeded in both cells this is the plain ratio of wall times.
"""

from __future__ import annotations

from collections.abc import Sequence

from llmsweep.store.records import Record

# Above this multiple of its level a speedup is a measurement error (a slow concurrency-1 cell,
# a server that warmed up between levels), never a result: n requests at a time cannot be more
# than n times faster than one at a time on the same prompts.
MAX_SPEEDUP_PER_LEVEL = 1.1


def is_unfinished(recorded: int, planned: int | None) -> bool:
    """Whether a cell (or level) has fewer records than it was planned to have: a sweep stopped
    early. ``planned`` None: unknown, so treated as finished."""
    return planned is not None and recorded < planned


def is_implausible(speedup: float | None, level: int) -> bool:
    """A speedup above ``MAX_SPEEDUP_PER_LEVEL`` times its level: a measurement error."""
    return speedup is not None and speedup > MAX_SPEEDUP_PER_LEVEL * level


def same_prompt_speedup(
    sequential: Sequence[Record],
    sequential_wall_s: float,
    cell: Sequence[Record],
    cell_wall_s: float,
) -> float | None:
    """The concurrency-1 cell's time for the prompts that succeeded in both cells over this
    cell's time for the same prompts; None when no prompt succeeded in both."""
    common = {r.prompt_id for r in sequential if r.ok} & {r.prompt_id for r in cell if r.ok}
    if not common:
        return None
    cell_s = _time_for(cell, cell_wall_s, common)
    return _time_for(sequential, sequential_wall_s, common) / cell_s if cell_s > 0 else None


def _time_for(records: Sequence[Record], wall_s: float, prompt_ids: set[str]) -> float:
    total_s = sum(record.total_s for record in records)
    if total_s <= 0:
        return 0.0
    # Sorted by prompt id so the float sum does not depend on the order of the file.
    mine = sorted((r.prompt_id, r.total_s) for r in records if r.prompt_id in prompt_ids)
    return wall_s * sum(seconds for _, seconds in mine) / total_s
