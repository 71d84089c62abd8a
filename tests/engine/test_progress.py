"""Live counters: what a progress bar shows is counted from the records themselves."""

from __future__ import annotations

from decimal import Decimal

from factories import make_record
from llmsweep.engine.progress import RunProgress


def test_counts_and_the_ok_rate_over_the_records_own_span() -> None:
    progress = RunProgress()
    assert progress.ok_per_s == 0.0
    progress.add(make_record(prompt_id="a", queued_at_s=10.0, started_at_s=10.0, ended_at_s=11.0))
    failed = make_record(
        prompt_id="b", queued_at_s=10.5, started_at_s=10.5, ended_at_s=12.0, status="timeout",
        input_tokens=0, output_tokens=0, cost_usd=None,
    )  # fmt: skip
    progress.add(failed)
    assert (progress.done, progress.ok, progress.failed) == (2, 1, 1)
    assert (progress.input_tokens, progress.output_tokens) == (100, 50)
    assert progress.cost_usd == Decimal("0.001")
    # One ok prompt over the 2 s from the first queue time to the last end: start-up before the
    # first record is not counted, as in the report.
    assert progress.ok_per_s == 0.5
