"""``run``'s job: one prompt file at one setting, in a ``Session``, records to a JSONL file.

Each record is appended and flushed as it completes. A resume skips prompts whose latest record
is ``ok``; at the end the file is rewritten (atomically) so that each prompt appears exactly
once, with its latest outcome (``store.runfile``).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import aclosing
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

from llmsweep.cost.money import format_usd
from llmsweep.engine.runner import RunSettings
from llmsweep.errors import UsageError
from llmsweep.session.session import OnEngine, Session
from llmsweep.settings import CostFn
from llmsweep.store.recordfile import RecordWriter
from llmsweep.store.records import Record
from llmsweep.store.runfile import RunOutcome, RunPlan, compact, write_target


def budget_left(settings: RunSettings, plan: RunPlan) -> RunSettings:
    """The cap covers what the records already in the output cost, not just this session."""
    cap = settings.max_cost_usd
    if cap is None or not plan.spent_usd:
        return settings
    refuse_spent_budget(cap, plan.spent_usd, plan.out_path)
    return replace(settings, max_cost_usd=cap - plan.spent_usd)


def refuse_spent_budget(cap: Decimal | None, spent_usd: Decimal, where: Path) -> None:
    """A resume whose records already cost the whole ``--max-cost`` could send nothing."""
    if cap is not None and spent_usd >= cap:
        raise UsageError(
            f"--max-cost {cap}: {format_usd(spent_usd)} already spent by the records in "
            f"{where}; raise it to continue"
        )


async def execute_run(
    plan: RunPlan,
    settings: RunSettings,
    session: Session,
    *,
    cost_fn: CostFn | None,
    on_engine: OnEngine | None = None,
    on_record: Callable[[Record], None] | None = None,
) -> RunOutcome:
    """Send the plan's prompts, appending each record as it completes."""
    outcome = RunOutcome(plan)
    write_target(plan.out_path, session.target)  # what a --resume must be sent to
    try:
        with RecordWriter(plan.out_path) as writer:
            records = session.records(
                settings,
                plan.prompts(),
                todo=plan.todo,
                seed=session.client.seed,
                cost_fn=cost_fn,
                on_engine=on_engine,
            )
            # Closed here, in this task, even when writing fails: not later by the collector.
            async with aclosing(records):
                async for record in records:
                    writer.write(record)
                    outcome.add(record)
                    if on_record is not None:
                        on_record(record)
    finally:
        outcome.stopped = session.stopped
        outcome.harness = session.harness
        if plan.had_records:
            compact(plan.out_path)
    return outcome
