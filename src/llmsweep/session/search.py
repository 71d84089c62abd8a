"""``sweep --search``: the sweep chooses its levels, per model, as analysis.search decides.

Every probe runs as ordinary sweep cells (``session.cells.CellRunner``: (model, level, round),
the round in the record's ``repeat``), so ``records.jsonl`` holds ordinary records and the
report is a grid sweep's over the levels measured, plus the trace in ``search.json``. Each
probe's measurements come from its records by the same analysis the report uses.

``--resume`` continues a search as it continues a grid (``CellRunner``: a prompt already ok in
a cell is not sent again). The search starts over from level 1, and each cell an earlier
session recorded joins the probe's records as the search reaches it, so ``next_move``, a pure
function of those measurements, takes the same path as before and goes on where it stopped.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace

from llmsweep.analysis.ceiling import limits_of, stated_limits
from llmsweep.analysis.levels import LevelSummary, summarize_levels
from llmsweep.analysis.search import (
    Probe,
    more_rounds,
    next_move,
    probe_of,
    probe_prompts,
    top_level,
)
from llmsweep.analysis.stats import summarize_cells
from llmsweep.session.cells import CellRunner, OnCell, OnRecord
from llmsweep.session.session import Session
from llmsweep.session.sweep import SweepPlan
from llmsweep.store.recordfile import RecordWriter
from llmsweep.store.records import CellKey, Record, iter_latest
from llmsweep.store.search import SearchStep
from llmsweep.store.sweepdir import SweepState


class _ModelSearch:
    """One model's probes: their records so far, and those an earlier session recorded for
    cells the search has not reached again yet (``--resume``)."""

    def __init__(self, model: str, runner: CellRunner, earlier: Iterable[Record]) -> None:
        self.model, self.runner = model, runner
        self.records: list[Record] = []
        self.earlier: dict[CellKey, list[Record]] = {}
        for record in earlier:
            if record.model == model:
                cell = (record.model, record.concurrency, record.repeat)
                self.earlier.setdefault(cell, []).append(record)
        self.limits = limits_of(runner.plan.meta(runner.session.target, None))

    def record(self, record: Record) -> None:
        if record.model == self.model:
            self.records.append(record)

    def measured(self, level: int) -> LevelSummary | None:
        """``level`` as the report will see it: every round, against level 1's."""
        # The limits the API's headers stated so far bound it too, as they will in the report.
        records = list(iter_latest(self.records))  # a resume re-sent the failed ones
        stated = stated_limits(records)
        harness = self.runner.plan.folder.read_harness()  # every session's, as the report's
        cells = summarize_cells(records, self.limits, harness, stated=stated)
        return next((row for row in summarize_levels(cells) if row.concurrency == level), None)

    async def run(self, top: int, steps: list[SearchStep]) -> None:
        """Probe level after level as ``next_move`` says, each probe's step added to ``steps``
        (and ``search.json``) after each of its rounds."""
        probes: list[Probe] = []
        move = next_move(probes, top)
        while move.level is not None and self.runner.session.stopped is None:
            first = len(steps)

            def trace(step: SearchStep, first: int = first) -> None:
                del steps[first:]
                steps.append(step)
                self.runner.plan.folder.write_search(steps)

            probe = await self.probe(move.level, trace)
            if probe is None:
                return
            probes.append(probe)
            move = next_move(probes, top)
            trace(replace(steps[-1], reason=move.reason))

    async def probe(self, level: int, trace: Callable[[SearchStep], None]) -> Probe | None:
        """Run rounds at ``level`` until its throughput is settled; None if it recorded
        nothing (the session stopped)."""
        plan, session = self.runner.plan, self.runner.session
        count = probe_prompts(level, len(plan.prompts))
        rounds, reused, summary = 0, 0, None
        while session.stopped is None:
            cell = (self.model, level, rounds)
            self.records += self.earlier.pop(cell, [])
            reused += await self.runner.run(cell, plan.prompts[:count])
            summary = self.measured(level)
            if summary is None or summary.repeats <= rounds:
                break  # the round recorded nothing: stopped before it sent
            rounds = summary.repeats
            # Replaced by why it moved on once the level is done; kept if the process dies.
            trace(_step(summary, count, reused, "the search stopped here"))
            if not more_rounds(rounds, summary.throughput_rps_ci):
                break
        if summary is None:
            return None
        if session.stopped is not None:
            trace(_step(summary, count, reused, f"the search stopped here ({session.stopped})"))
            return None
        return probe_of(summary)


def _step(level: LevelSummary, prompts_per_round: int, reused: int, reason: str) -> SearchStep:
    interval = level.throughput_rps_ci
    return SearchStep(
        model=level.model,
        level=level.concurrency,
        rounds=level.repeats,
        prompts_per_round=prompts_per_round,
        throughput_rps=interval.mean if interval is not None else level.throughput_rps,
        throughput_rps_low=interval.low if interval is not None else None,
        throughput_rps_high=interval.high if interval is not None else None,
        speedup=level.speedup_ci.mean if level.speedup_ci is not None else level.speedup,
        reason=reason,
        prompts_reused=reused,
    )


async def execute_search(
    plan: SweepPlan,
    session: Session,
    *,
    resume: bool,
    force: bool,
    command: str | None = None,
    on_state: Callable[[SweepState], None] | None = None,
    on_cell: OnCell | None = None,
    on_record: OnRecord | None = None,
) -> str | None:
    """Search every model's levels in the open ``session``; return why it stopped early
    ("budget", "interrupted", "auth") or None."""
    folder = plan.folder
    state = folder.prepare(plan.meta(session.target, command), resume=resume, force=force)
    earlier = folder.latest_records() if resume else []
    if on_state is not None:
        on_state(state)
    steps: list[SearchStep] = []
    top = top_level(plan.config.max_concurrency, len(plan.prompts))
    with RecordWriter(folder.records_path, include_text=False) as writer:
        searches: list[_ModelSearch] = []

        def each_record(record: Record) -> None:
            searches[-1].record(record)
            if on_record is not None:
                on_record(record)

        runner = CellRunner(plan, session, writer, state, on_cell, each_record)
        for model in plan.config.models:
            searches.append(search := _ModelSearch(model, runner, earlier))
            await search.run(top, steps)
    if session.stopped is not None:
        folder.note_stop(session.stopped)
    return session.stopped
