"""``llmsweep sweep``: the same prompts at each concurrency level, per model, repeated.

Cells (model, level, repeat) run one after another so they never compete with each other.
Every record goes to ``records.jsonl`` as it completes; the report is a pure function of that
file and ``meta.json`` (see ``report.write_report``).
"""

from __future__ import annotations

import functools
import json
import random
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from llmsweep import __version__
from llmsweep.analysis.stats import summarize_cells
from llmsweep.engine.harness import (
    HarnessMeasurement,
    cell_client_bound_reasons,
    combine,
    measure_harness,
)
from llmsweep.engine.processes import EngineFactory, harness_of, refuse_split_budget
from llmsweep.engine.runner import Engine, RunSettings
from llmsweep.errors import InputError, OutputError, UsageError
from llmsweep.inputs.prompts import Prompt, load_prompts
from llmsweep.report.writer import write_report
from llmsweep.store.records import (
    Record,
    RecordWriter,
    append_line,
    iter_latest,
    read_records,
    write_atomic,
)

META_SCHEMA_VERSION = 1
HARNESS_FILE = "harness.jsonl"  # one line per cell: the client's own CPU and event-loop lag
CostFn = Callable[[str, int, int, int], Decimal]  # model, input, output, cached -> USD


@dataclass(frozen=True)
class SweepConfig:
    prompts: str
    models: tuple[str, ...]
    levels: tuple[int, ...]
    repeats: int = 1
    sample: int | None = None
    rpm: float | None = None
    tpm: float | None = None
    max_tokens: int | None = None
    stream: bool = False
    max_retries: int = 6
    timeout_s: float = 120.0
    max_cost_usd: str | None = None  # Decimal as a string, so the config stays JSON
    seed: int = 0
    client: str = "openai"
    processes: int = 1
    # Open each cell's connections before its clock starts (wire.open_connections); in the
    # config so that every report says whether its cells started warm.
    warm_up: bool = True

    def __post_init__(self) -> None:
        if not self.models:
            raise UsageError("--model: give at least one model")
        refuse_split_budget(self.processes, self.max_cost_usd)
        if not self.levels or min(self.levels) < 1:
            raise UsageError("--concurrency: levels must be positive integers")
        if self.repeats < 1:
            raise UsageError("--repeats must be at least 1")

    def cells(self) -> list[tuple[str, int, int]]:
        return [
            (m, lvl, r) for m in self.models for lvl in self.levels for r in range(self.repeats)
        ]


def parse_levels(text: str) -> tuple[int, ...]:
    """'1,2,4,8' -> (1, 2, 4, 8), sorted, with the sequential baseline 1 always included."""
    try:
        levels = {int(part) for part in text.split(",") if part.strip()}
    except ValueError:
        raise UsageError(f"--concurrency {text!r}: expected integers like 1,2,4,8") from None
    if not levels or min(levels) < 1:
        raise UsageError(f"--concurrency {text!r}: levels must be positive integers")
    return tuple(sorted(levels | {1}))


def select_prompts(config: SweepConfig) -> list[Prompt]:
    """The prompts every cell runs: the whole set, or a seeded random sample of it."""
    prompts = list(load_prompts(config.prompts, seed=config.seed))
    if config.sample is not None and config.sample < len(prompts):
        chosen = sorted(random.Random(config.seed).sample(range(len(prompts)), config.sample))
        prompts = [prompts[i] for i in chosen]
    return prompts


@dataclass
class SweepState:
    """Which cells are done, read back from ``records.jsonl`` for ``--resume``."""

    ok_ids: dict[tuple[str, int, int], set[str]] = field(default_factory=dict)
    spent_usd: Decimal = Decimal(0)
    torn_lines: int = 0


def check_out_dir(out_dir: Path, config: Mapping[str, Any], *, resume: bool, force: bool) -> None:
    """Refuse a folder that holds a sweep this one would not continue; cheap, so callers run
    it before estimating or sending anything."""
    meta_path = out_dir / "meta.json"
    if force or not meta_path.exists():
        return
    if not resume:
        raise OutputError(
            f"{out_dir} already holds a sweep: pass --resume to continue it "
            "or --force to overwrite it"
        )
    try:
        old = json.loads(meta_path.read_text("utf-8"))
    except (OSError, ValueError) as error:
        raise InputError(str(meta_path), f"unreadable ({error})") from None
    before, now = _measured(old.get("config") or {}), _measured(config)
    if before != now:
        changed = ", ".join(
            f"{key} {before.get(key)!r} -> {now.get(key)!r}"
            for key in sorted(before.keys() | now.keys())
            if before.get(key) != now.get(key)
        )
        raise OutputError(
            f"{out_dir} holds a sweep with another configuration ({changed}): --resume "
            "needs the same arguments (or use --force / another --out-dir)"
        )


def prepare_out_dir(
    out_dir: Path, meta: dict[str, Any], *, resume: bool, force: bool
) -> SweepState:
    """Create or reopen the report folder; refuse one that holds a different sweep."""
    check_out_dir(out_dir, meta["config"], resume=resume, force=force)
    meta_path = out_dir / "meta.json"
    records_path = out_dir / "records.jsonl"
    state = SweepState()
    if meta_path.exists() and not force:
        old = json.loads(meta_path.read_text("utf-8"))
        meta = {**meta, "created_at": old.get("created_at", meta.get("created_at"))}
    elif force:
        records_path.unlink(missing_ok=True)
        (out_dir / HARNESS_FILE).unlink(missing_ok=True)
    out_dir.mkdir(parents=True, exist_ok=True)
    if resume and records_path.exists():
        result = read_records(records_path)
        state.torn_lines = result.torn_lines
        for record in result.records:
            state.spent_usd += record.cost
            if record.ok:
                key = (record.model, record.concurrency, record.repeat)
                state.ok_ids.setdefault(key, set()).add(record.prompt_id)
    _write_meta(out_dir, meta)
    return state


def _measured(config: Mapping[str, Any]) -> dict[str, Any]:
    """The config as JSON (tuples -> lists), less what a resume may change: the budget, which
    after a budget stop is exactly what must be raised to finish."""
    plain: dict[str, Any] = json.loads(json.dumps(config))
    plain.pop("max_cost_usd", None)
    return plain


def build_meta(
    config: SweepConfig,
    *,
    target: dict[str, object],
    pricing: dict[str, object],
    estimates: dict[str, object],
    prompt_count: int,
    created_at: str,
    command: str | None = None,
) -> dict[str, Any]:
    """What the report says about itself. ``target`` must already be free of secrets."""
    return {
        "schema_version": META_SCHEMA_VERSION,
        "tool_version": __version__,
        "created_at": created_at,
        "config": {**asdict(config), "prompt_count": prompt_count},
        "target": target,
        "pricing": pricing,
        "estimates": estimates,
        "command": command,
    }


async def run_sweep(
    config: SweepConfig,
    prompts: list[Prompt],
    out_dir: Path,
    state: SweepState,
    *,
    engines: EngineFactory,
    cost_fn: CostFn,
    on_runner: Callable[[Engine, tuple[str, int, int], int], None] | None = None,
    on_record: Callable[[Record], None] | None = None,
) -> str | None:
    """Run every unfinished cell; return why it stopped early ("budget", ...) or None."""
    cap = Decimal(config.max_cost_usd) if config.max_cost_usd is not None else None
    spent = state.spent_usd
    harness_path = out_dir / HARNESS_FILE
    with RecordWriter(out_dir / "records.jsonl", include_text=False) as writer:
        for cell in config.cells():
            model, level, repeat = cell
            done = state.ok_ids.get(cell, set())
            todo = [p for p in prompts if p.id not in done]
            if not todo:
                continue
            settings = RunSettings(
                model=model,
                concurrency=level,
                rpm=config.rpm,
                tpm=config.tpm,
                max_retries=config.max_retries,
                timeout_s=config.timeout_s,
                max_tokens=config.max_tokens,
                stream=config.stream,
                repeat=repeat,
                max_cost_usd=None if cap is None else cap - spent,
                keep_text=False,
            )
            async with engines.open(
                settings,
                seed=f"{config.seed}:{model}:{level}:{repeat}",
                cost_fn=functools.partial(cost_fn, model),
            ) as runner:
                if on_runner is not None:
                    on_runner(runner, cell, len(todo))
                if config.warm_up:
                    await runner.warm_up()
                async with measure_harness() as probe:
                    async for record in runner.run(todo):
                        writer.write(record)
                        spent += record.cost
                        if on_record is not None:
                            on_record(record)
            measured = harness_of(runner, probe)
            if measured.requests:  # a session that sent nothing measured nothing
                line = {"model": model, "concurrency": level, "repeat": repeat}
                line |= measured.to_dict()
                append_line(harness_path, json.dumps(line, sort_keys=True))
            if runner.progress.stopped is not None:
                _note_stop(out_dir, runner.progress.stopped)
                return runner.progress.stopped
    return None


def _note_stop(out_dir: Path, reason: str) -> None:
    """Record in meta.json why the sweep stopped early, for the report's advice; a resume
    writes meta.json afresh, without it."""
    meta = json.loads((out_dir / "meta.json").read_text("utf-8"))
    _write_meta(out_dir, {**meta, "stopped": reason})


def _write_meta(out_dir: Path, meta: Mapping[str, Any]) -> None:
    write_atomic(out_dir / "meta.json", json.dumps(meta, indent=2, sort_keys=True) + "\n")


def client_bound_levels(
    records: list[Record], harness_lines: list[dict[str, Any]]
) -> list[dict[str, object]]:
    """Levels where a cell's harness measurement says the client set the numbers (pure)."""
    cells = {(c.model, c.concurrency, c.repeat): c for c in summarize_cells(records)}
    flagged: dict[tuple[str, int], list[str]] = {}
    for line in harness_lines:
        key = (str(line["model"]), int(line["concurrency"]), int(line["repeat"]))
        cell = cells.get(key)
        if cell is None:
            continue
        reasons = cell_client_bound_reasons(cell, HarnessMeasurement.from_dict(line))
        if reasons:
            flagged.setdefault(key[:2], []).extend(f"repeat {key[2] + 1}: {r}" for r in reasons)
    return [
        {"model": model, "concurrency": level, "reasons": reasons}
        for (model, level), reasons in sorted(flagged.items())
    ]


def render_report(out_dir: Path) -> list[Path]:
    """Re-render every report file from ``records.jsonl``, ``harness.jsonl`` and ``meta.json``;
    sends nothing."""
    meta_path = out_dir / "meta.json"
    try:
        meta = json.loads(meta_path.read_text("utf-8"))
    except FileNotFoundError:
        raise InputError(str(meta_path), "missing: not a sweep folder") from None
    except (OSError, ValueError) as error:
        raise InputError(str(meta_path), f"unreadable ({error})") from None
    records_path = out_dir / "records.jsonl"
    records = read_records(records_path).records if records_path.exists() else []
    latest = list(iter_latest(records))
    harness = _read_harness(out_dir / HARNESS_FILE)
    meta["harness"] = harness
    meta["client_bound"] = client_bound_levels(latest, harness)
    return write_report(out_dir, latest, meta)


def _read_harness(path: Path) -> list[dict[str, Any]]:
    """One harness line per cell; a cell resumed over several sessions gets them combined."""
    if not path.exists():
        return []
    sessions: dict[tuple[str, int, int], list[HarnessMeasurement]] = {}
    for number, text in enumerate(path.read_text("utf-8").splitlines(), start=1):
        try:
            line = json.loads(text)
            key = (str(line["model"]), int(line["concurrency"]), int(line["repeat"]))
            sessions.setdefault(key, []).append(HarnessMeasurement.from_dict(line))
        except (ValueError, KeyError, TypeError):
            raise InputError(str(path), "not a valid harness line", number) from None
    return [
        {"model": key[0], "concurrency": key[1], "repeat": key[2], **combine(parts).to_dict()}
        for key, parts in sorted(sessions.items())
    ]
