"""``llmsweep run``'s file: the plan checks what is there, the outcome counts, the end compacts."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from factories import make_record, write_records
from llmsweep.errors import InputError, OutputError
from llmsweep.store.recordfile import read_records
from llmsweep.store.runfile import RunOutcome, RunPlan, compact, plan_run


def fresh_plan(spec: str, out: Path, *, context_window: int | None = None) -> RunPlan:
    """A plan for gpt-4o without --resume or --force."""
    return plan_run(
        spec, out, model="gpt-4o", seed=0, resume=False, force=False, context_window=context_window
    )


def test_compact_keeps_each_prompts_latest_line_in_completion_order(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    lines = [
        make_record(prompt_id="a", status="timeout"),
        make_record(prompt_id="b"),
        make_record(prompt_id="a"),
        make_record(prompt_id="c", latency_s=0.1),
    ]
    write_records(path, lines)
    compact(path)
    assert read_records(path).records == lines[1:]  # a's retry replaced its failure, in place
    before = path.stat().st_mtime_ns
    compact(path)  # already one line per prompt: not rewritten
    assert path.stat().st_mtime_ns == before


def test_plan_streams_both_files_and_still_checks_them(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    write_records(
        out,
        [
            make_record(prompt_id="s3", cost_usd="0.00032"),
            make_record(prompt_id="s4", status="timeout", cost_usd="0.00032"),
        ],
    )
    plan = plan_run("synthetic:5:10:5", out, model="gpt-4o", seed=0, resume=True, force=False)
    assert (plan.total, plan.todo, plan.done_ids) == (5, 4, frozenset({"s3"}))
    assert plan.spent_usd == Decimal("0.00064")  # what both records already cost
    with pytest.raises(OutputError, match="holds prompts that are not in synthetic:1:10:5"):
        plan_run("synthetic:1:10:5", out, model="gpt-4o", seed=0, resume=True, force=False)
    for resume in (True, False):  # without --resume too: resuming would not help
        with pytest.raises(OutputError, match="holds a run of gpt-4o, not gpt-4o-mini"):
            plan_run(
                "synthetic:5:10:5", out, model="gpt-4o-mini", seed=0, resume=resume, force=False
            )


def test_an_existing_output_needs_resume_and_force_starts_afresh(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    write_records(out, [make_record(prompt_id="s0")])
    with pytest.raises(OutputError, match="already holds records: pass --resume"):
        fresh_plan("synthetic:2:10:5", out)
    plan = plan_run("synthetic:2:10:5", out, model="gpt-4o", seed=0, resume=False, force=True)
    assert (plan.todo, plan.had_records, out.exists()) == (2, False, False)


def test_a_prompt_over_the_context_window_fails_the_plan_naming_its_line(tmp_path: Path) -> None:
    prompts = tmp_path / "p.jsonl"
    big = "word " * 60  # some 60 tokens
    prompts.write_text(f'{{"id": "small", "prompt": "hi"}}\n{{"id": "big", "prompt": "{big}"}}\n')
    message = r"p\.jsonl:2: prompt 'big' has \d+ input tokens, more than gpt-4o's context window"
    with pytest.raises(InputError, match=message + " of 50"):
        fresh_plan(str(prompts), tmp_path / "o.jsonl", context_window=50)
    assert fresh_plan(str(prompts), tmp_path / "o.jsonl", context_window=500).total == 2


def test_outcome_counts_statuses_costs_and_ok_latencies(tmp_path: Path) -> None:
    outcome = RunOutcome(fresh_plan("synthetic:4:10:5", tmp_path / "o.jsonl"))
    outcome.add(make_record(prompt_id="s0", ended_at_s=1.0, dispatch_lag_s=0.01))
    outcome.add(make_record(prompt_id="s1", status="timeout", cost_usd="0.0005", ended_at_s=2.5))
    outcome.add(make_record(prompt_id="s2", queued_at_s=0.5, ended_at_s=2.5))
    assert dict(outcome.statuses) == {"ok": 2, "timeout": 1}
    assert (outcome.done, outcome.remaining) == (3, 2)  # 4 prompts, 2 of them ok
    assert (outcome.cost_usd, outcome.failed_cost_usd) == (Decimal("0.0025"), Decimal("0.0005"))
    assert list(outcome.latencies_s) == [1.0, 2.0]  # the failure's time is not a latency
    assert list(outcome.dispatch_lags_s) == [0.01]  # a record without one adds none
    assert outcome.wall_s == 2.5
