"""``run``'s closing summary, on hand-made records."""

from __future__ import annotations

from pathlib import Path

from factories import make_record
from llmsweep.cli.run import run_summary
from llmsweep.store.runfile import RunOutcome, RunPlan


def outcome_of(*resends: int) -> RunOutcome:
    plan = RunPlan("demo", Path("out.jsonl"), 0, len(resends), frozenset(), 0, False)
    outcome = RunOutcome(plan)
    for index, count in enumerate(resends):
        outcome.add(make_record(prompt_id=f"p{index}", stale_connection_resends=count))
    return outcome


def test_the_summary_counts_stale_connection_resends_apart_from_retries() -> None:
    resent = outcome_of(2, 0, 1)
    lines = run_summary(resent, resent).splitlines()
    assert (
        "  resent 3 request(s) of 2 prompt(s) at once on another connection, the server having "
        "closed theirs (not retries)"
    ) in lines
    assert not any("retried" in line for line in lines)
    quiet = outcome_of(0, 0)
    assert "resent" not in run_summary(quiet, quiet)
