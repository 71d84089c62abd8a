"""``llmsweep run``'s job: one prompt file, one setting, records to a JSONL file, resumable.

Each record is appended and flushed as it completes. ``--resume`` skips prompts whose latest
record is ``ok`` and sends the rest; at the end the file is rewritten (atomically) so that each
prompt appears exactly once, with its latest outcome.
"""

from __future__ import annotations

import json
from array import array
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, replace
from decimal import Decimal
from pathlib import Path

from llmsweep.errors import InputError, OutputError
from llmsweep.inputs.prompts import Prompt, load_prompts
from llmsweep.inputs.tokens import tokenizer_for
from llmsweep.settings import CostFn, RequestOptions, refuse_unbounded_budget
from llmsweep.store.atomic import write_atomic, write_chunks_atomic
from llmsweep.store.harness import HarnessMeasurement
from llmsweep.store.meta import TargetInfo, target_changes, target_info
from llmsweep.store.recordfile import RecordFile
from llmsweep.store.records import Record, Span, price_change


@dataclass(frozen=True)
class RunPlan:
    prompts_spec: str
    out_path: Path
    seed: int
    total: int  # prompts in the set
    done_ids: frozenset[str]  # prompts already ok in the output (resume)
    torn_lines: int  # torn last lines found in the output and dropped
    had_records: bool
    spent_usd: Decimal = Decimal(0)  # what the records already in the output spent (Record.spent)

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
    request: RequestOptions | None = None,
    target: TargetInfo | None = None,
    cost_fn: CostFn | None = None,
) -> RunPlan:
    """Validate the whole prompt set (before anything is sent) and read what is already done.

    With ``context_window``, a prompt whose input alone exceeds it fails the plan: the API
    would refuse it anyway, and it is better to learn that before paying for the others; with
    ``request``, so does a prompt a ``--max-cost`` budget cannot bound. A resume is refused when
    ``target`` or the prices (``cost_fn``) differ from those the records were made with.
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
    if force and not resume:
        target_path(out_path).unlink(missing_ok=True)
        if had_records:
            out_path.unlink()
            had_records = False
    if had_records and target is not None:
        _refuse_another_target(out_path, target)
    existing = _existing(out_path, model, cost_fn) if had_records else ({}, Decimal(0), 0)
    latest_ok, spent, torn = existing
    strangers = set(latest_ok)  # recorded ids not (yet) found among the prompts
    total = 0
    tokenizer = tokenizer_for(model)
    for prompt in load_prompts(prompts_spec, seed=seed):
        total += 1
        strangers.discard(prompt.id)
        if request is not None:
            refuse_unbounded_budget(
                request.max_cost_usd, request.max_tokens, prompt.id, prompt.max_tokens
            )
        if context_window is not None:
            size = tokenizer.count_chat(prompt.messages)
            _refuse_oversized(prompts_spec, prompt, size, model, context_window)
    if strangers:
        raise OutputError(
            f"{out_path} holds prompts that are not in {prompts_spec} "
            f"(e.g. {sorted(strangers)[0]!r}): use another --out or --force"
        )
    done = frozenset(pid for pid, ok in latest_ok.items() if ok)
    return RunPlan(prompts_spec, out_path, seed, total, done, torn, had_records, spent)


def _refuse_oversized(
    prompts_spec: str, prompt: Prompt, size: int, model: str, context_window: int
) -> None:
    """A prompt of ``size`` input tokens above ``model``'s context window fails, naming its
    line where the file has lines."""
    if size > context_window:
        line = (prompt.metadata or {}).get("_line")
        raise InputError(
            prompts_spec,
            f"prompt {prompt.id!r} has {size:,} input tokens, more than {model}'s "
            f"context window of {context_window:,}",
            line if isinstance(line, int) else None,
        )


def target_path(out_path: Path) -> Path:
    """Where a run says which target its records were made against (for ``--resume``)."""
    return out_path.with_name(out_path.name + ".target.json")


def write_target(out_path: Path, target: TargetInfo) -> None:
    write_atomic(target_path(out_path), json.dumps(asdict(target), sort_keys=True) + "\n")


def _refuse_another_target(out_path: Path, target: TargetInfo) -> None:
    path = target_path(out_path)
    if not path.exists():
        return  # written by an llmsweep that did not say: nothing to compare
    try:
        before = target_info(json.loads(path.read_text("utf-8")))
    except (OSError, ValueError, TypeError, KeyError, AttributeError) as error:
        raise InputError(str(path), f"not a valid target description ({error})") from None
    changed = target_changes(before, target)
    if changed:
        raise OutputError(
            f"{out_path} holds a run against another target ({', '.join(changed)}): "
            "--resume needs the same target (or use another --out or --force)"
        )


def _existing(
    out_path: Path, model: str, cost_fn: CostFn | None
) -> tuple[dict[str, bool], Decimal, int]:
    """Each prompt's latest success in an output, what it cost, and its torn lines."""
    latest_ok: dict[str, bool] = {}  # prompt id -> its latest record's success
    spent = Decimal(0)
    existing = RecordFile(out_path)
    models: set[str] = set()
    for record in existing:
        latest_ok[record.prompt_id] = record.ok
        models.add(record.model)
        spent += record.spent
        changed = (
            None if cost_fn is None or record.model != model else price_change(record, cost_fn)
        )
        if changed is not None:
            raise OutputError(
                f"{out_path} holds a run priced otherwise ({changed}): --resume needs the same "
                "prices (--price-in/--price-out/--price-file), or use another --out or --force"
            )
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
    possibly_billed_usd: Decimal = Decimal(0)  # Record.possibly_billed: apart from cost_usd
    possibly_billed_attempts: int = 0
    harness: HarnessMeasurement | None = None  # what the client cost during the run
    retried: int = 0  # prompts that needed more than one attempt
    retry_causes: Counter[str] = field(default_factory=Counter)  # earlier attempts by kind
    # Sends repeated at once on another connection, the server having closed theirs (Record).
    stale_connection_resends: int = 0
    resent_prompts: int = 0  # prompts with at least one such resend

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
        if record.stale_connection_resends:
            self.stale_connection_resends += record.stale_connection_resends
            self.resent_prompts += 1
        self.cost_usd += record.cost
        self.possibly_billed_usd += record.possibly_billed
        self.possibly_billed_attempts += record.possibly_billed_attempts
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


def file_outcome(plan: RunPlan) -> RunOutcome:
    """What the whole output file holds (each prompt's latest record, once ``compact`` ran),
    across every session that wrote to it: the run as a resumed ``run`` finishes it."""
    outcome = RunOutcome(replace(plan, done_ids=frozenset()))  # counted here, not skipped
    for _, record in RecordFile(plan.out_path).lines():
        outcome.add(record)
    return outcome


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
