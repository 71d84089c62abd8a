"""Running a sweep's cells in an open ``Session``: ``execute_sweep`` for the grid, and the
``CellRunner`` it shares with ``--search``.

Cells (model, level, repeat) run one after another so they never compete with each other.
Every record goes to ``records.jsonl`` as it completes.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import aclosing

from llmsweep.engine.runner import Engine, RunSettings
from llmsweep.inputs.prompts import Prompt
from llmsweep.session.session import OnEngine, Session
from llmsweep.session.sweep import SweepPlan, cell_prompts
from llmsweep.store.recordfile import RecordWriter
from llmsweep.store.records import CellKey, Record
from llmsweep.store.sweepdir import SweepState

OnCell = Callable[[Engine, CellKey, int], None]  # an engine about to run a cell's ``todo``
OnRecord = Callable[[Record], None]


def _cell_callback(on_cell: OnCell | None, cell: CellKey) -> OnEngine | None:
    if on_cell is None:
        return None
    return lambda engine, todo: on_cell(engine, cell, todo)


class CellRunner:
    """Runs a sweep's cells one at a time in the open session: every record to
    ``records.jsonl`` as it completes, the spend kept against ``--max-cost`` across cells, the
    harness measured per cell. Shared by the grid (``execute_sweep``) and ``--search``, and so
    is how a resume continues (``state``): a prompt already ok in a cell is not sent again."""

    def __init__(
        self,
        plan: SweepPlan,
        session: Session,
        writer: RecordWriter,
        state: SweepState,
        on_cell: OnCell | None,
        on_record: OnRecord | None,
    ) -> None:
        self.plan, self.session, self.writer = plan, session, writer
        self.spent_usd, self.done = state.spent_usd, state.ok_ids
        self.on_cell, self.on_record = on_cell, on_record

    async def run(self, cell: CellKey, prompts: list[Prompt]) -> int:
        """Send ``prompts`` as ``cell``, less those an earlier session already did (``--resume``);
        return how many those were."""
        config, session = self.plan.config, self.session
        model, level, repeat = cell
        done = self.done.get(cell, set())
        todo = cell_prompts(config, [p for p in prompts if p.id not in done], cell)
        skipped = len(prompts) - len(todo)
        if not todo or session.stopped is not None:
            return skipped
        cap = config.max_cost_usd
        if cap is not None and self.spent_usd >= cap:
            session.stop("budget")  # nothing fits any more: as an engine would have stopped
            return skipped
        settings = RunSettings.at_level(
            config,
            model,
            level,
            repeat=repeat,
            max_cost_usd=None if cap is None else cap - self.spent_usd,
            keep_text=False,
            keep_prompt_text=False,
            offered_rps=config.offered_rps(cell),
        )
        records = session.records(
            settings,
            todo,
            todo=len(todo),
            seed=f"{config.seed}:{model}:{level}:{repeat}",
            cost_fn=self.plan.pricer.cost_fn(model),
            on_engine=_cell_callback(self.on_cell, cell),
        )
        async with aclosing(records):  # closed in this task even when writing fails
            async for record in records:
                self.writer.write(record)
                self.spent_usd += record.spent
                if self.on_record is not None:
                    self.on_record(record)
        if session.harness is not None and session.harness.requests:
            self.plan.folder.append_harness(cell, session.harness)  # a session that sent nothing
        return skipped


async def execute_sweep(
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
    """Run every unfinished cell in the open ``session``; return why it stopped early
    ("budget", "interrupted", "auth") or None."""
    config, folder = plan.config, plan.folder
    state = folder.prepare(plan.meta(session.target, command), resume=resume, force=force)
    if on_state is not None:
        on_state(state)
    with RecordWriter(folder.records_path, include_text=False) as writer:
        cells = CellRunner(plan, session, writer, state, on_cell, on_record)
        for cell in config.cells():
            await cells.run(cell, plan.prompts)
    if session.stopped is not None:
        folder.note_stop(session.stopped)
    return session.stopped
