"""``llmsweep run``'s job: one prompt file, one setting, records to a JSONL file, resumable.

Each record is appended and flushed as it completes. ``--resume`` skips prompts whose latest
record is ``ok`` and sends the rest; at the end the file is rewritten (atomically) so that each
prompt appears exactly once, with its latest outcome.
"""

from __future__ import annotations

from array import array
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from llmsweep.errors import InputError, OutputError
from llmsweep.inputs.prompts import Prompt, load_prompts
from llmsweep.inputs.tokens import tokenizer_for
from llmsweep.store.harness import HarnessMeasurement
from llmsweep.store.records import Record, RecordFile, Span, write_chunks_atomic


@dataclass(frozen=True)
class RunPlan:
    prompts_spec: str
    out_path: Path
    seed: int
    total: int  # prompts in the set
    done_ids: frozenset[str]  # prompts already ok in the output (resume)
    torn_lines: int  # torn last lines found in the output and dropped
    had_records: bool
    spent_usd: Decimal = Decimal(0)  # what the records already in the output cost

    @property
    def todo(self) -> int:
        return self.total - len(self.done_ids)

    def prompts(self) -> Iterator[Prompt]:
        return (
            p for p in load_prompts(self.prompts_spec, seed=self.seed) if p.id not in self.done_ids
        )


def plan_run(
    prompts_spec: str,
    out_path: Path,
    *,
    model: str,
    seed: int,
    resume: bool,
    force: bool,
    context_window: int | None = None,
) -> RunPlan:
    """Validate the whole prompt set (before anything is sent) and read what is already done.

    With ``context_window``, a prompt whose input alone exceeds it fails the plan: the API
    would refuse it anyway, and it is better to learn that before paying for the others.
    Both files are streamed: what is kept is the ids of the records already in ``out_path``
    (and, for a prompt file, the ids its duplicate check has seen), never the prompts.
    """
    had_records = out_path.exists() and out_path.stat().st_size > 0
    if had_records and not (resume or force):
        _refuse_another_model(out_path, model)
        raise OutputError(
            f"{out_path} already holds records: pass --resume to continue that run "
            "or --force to overwrite it"
        )
    if had_records and force and not resume:
        out_path.unlink()
        had_records = False
    latest_ok, spent, torn = _existing(out_path, model) if had_records else ({}, Decimal(0), 0)
    strangers = set(latest_ok)  # recorded ids not (yet) found among the prompts
    total = 0
    tokenizer = tokenizer_for(model)
    for prompt in load_prompts(prompts_spec, seed=seed):
        total += 1
        strangers.discard(prompt.id)
        if context_window is not None:
            size = tokenizer.count_chat(prompt.messages)
            if size > context_window:
                line = (prompt.metadata or {}).get("_line")
                raise InputError(
                    prompts_spec,
                    f"prompt {prompt.id!r} has {size:,} input tokens, more than {model}'s "
                    f"context window of {context_window:,}",
                    line if isinstance(line, int) else None,
                )
    if strangers:
        raise OutputError(
            f"{out_path} holds prompts that are not in {prompts_spec} "
            f"(e.g. {sorted(strangers)[0]!r}): use another --out or --force"
        )
    done = frozenset(pid for pid, ok in latest_ok.items() if ok)
    return RunPlan(prompts_spec, out_path, seed, total, done, torn, had_records, spent)


def _existing(out_path: Path, model: str) -> tuple[dict[str, bool], Decimal, int]:
    """Each prompt's latest success in an output, what it cost, and its torn lines."""
    latest_ok: dict[str, bool] = {}  # prompt id -> its latest record's success
    spent = Decimal(0)
    existing = RecordFile(out_path)
    models: set[str] = set()
    for record in existing:
        latest_ok[record.prompt_id] = record.ok
        models.add(record.model)
        spent += record.cost
    if models - {model}:
        raise OutputError(
            f"{out_path} holds a run of {', '.join(sorted(models))}, not "
            f"{model}: use another --out or --force"
        )
    return latest_ok, spent, existing.torn_lines


def _refuse_another_model(out_path: Path, model: str) -> None:
    """Say at once when an output holds another model's run: --resume could not continue it."""
    try:
        first = next(iter(RecordFile(out_path)), None)
    except InputError:  # not records at all: the caller's "already holds records" says enough
        return
    if first is not None and first.model != model:
        raise OutputError(
            f"{out_path} holds a run of {first.model}, not {model}: use another --out or --force"
        )


@dataclass
class RunOutcome:
    """What a finished (or stopped) run did; the records file remains the truth."""

    plan: RunPlan
    statuses: Counter[str] = field(default_factory=Counter)
    # 8 bytes a prompt, not a list's ~32: a million-prompt run keeps its latencies cheaply.
    latencies_s: array[float] = field(default_factory=lambda: array("d"))
    dispatch_lags_s: array[float] = field(default_factory=lambda: array("d"))
    ttfts_s: array[float] = field(default_factory=lambda: array("d"))  # ok streams only
    tpots_s: array[float] = field(default_factory=lambda: array("d"))  # Record.tpot_s, ok
    span: Span = field(default_factory=Span)
    stopped: str | None = None
    cost_usd: Decimal = Decimal(0)
    failed_cost_usd: Decimal = Decimal(0)  # billed (the API reported usage) yet failed
    harness: HarnessMeasurement | None = None  # what the client cost during the run
    retried: int = 0  # prompts that needed more than one attempt
    retry_causes: Counter[str] = field(default_factory=Counter)  # earlier attempts by kind

    @property
    def done(self) -> int:
        return sum(self.statuses.values())

    @property
    def remaining(self) -> int:
        """Prompts still without an ``ok`` record: what ``--resume`` would send."""
        return self.plan.todo - self.statuses["ok"]

    @property
    def wall_s(self) -> float:
        return self.span.seconds

    def add(self, record: Record) -> None:
        self.statuses[record.status] += 1
        self.retried += record.retried
        self.retry_causes.update(record.retry_causes)
        self.cost_usd += record.cost
        if record.dispatch_lag_s is not None:
            self.dispatch_lags_s.append(record.dispatch_lag_s)
        if record.ok:
            self.latencies_s.append(record.latency_s)
            if record.ttft_s is not None:
                self.ttfts_s.append(record.ttft_s)
            if (tpot_s := record.tpot_s) is not None:
                self.tpots_s.append(tpot_s)
        else:
            self.failed_cost_usd += record.cost
        self.span.add(record)


def compact(path: Path) -> None:
    """Keep each prompt's latest record only, atomically; streams the file twice."""
    if not path.exists():
        return
    last_line: dict[str, int] = {}
    lines = 0
    for lines, (_, record) in enumerate(RecordFile(path).lines(), start=1):
        last_line[record.prompt_id] = lines
    if len(last_line) == lines:
        return
    # Each prompt's line stays where its latest record was: the file ends in completion order.
    kept = (
        raw
        for number, (raw, record) in enumerate(RecordFile(path).lines(), start=1)
        if last_line[record.prompt_id] == number
    )
    write_chunks_atomic(path, kept)
