"""A sweep's folder: ``meta.json``, ``records.jsonl``, ``harness.jsonl`` and, for a ``--search``
sweep, ``search.json``; nothing else.

Everything a report needs is read back from here (``SweepFolder.read``), so a report re-renders
without re-running; the report's own files are written by ``report.writer``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path

from llmsweep.errors import InputError, OutputError
from llmsweep.settings import CostFn, LatencyTarget, SweepConfig
from llmsweep.store.atomic import write_atomic
from llmsweep.store.harness import HarnessMeasurement, combine
from llmsweep.store.meta import SweepMeta, TargetInfo, config_changes, target_changes
from llmsweep.store.recordfile import RecordFile, read_records
from llmsweep.store.records import CellKey, Record, iter_latest, price_change
from llmsweep.store.search import SearchStep, read_search, write_search


@dataclass
class SweepState:
    """Which cells are done, read back from ``records.jsonl`` for ``--resume``."""

    ok_ids: dict[CellKey, set[str]] = field(default_factory=dict)
    spent_usd: Decimal = Decimal(0)
    torn_lines: int = 0


@dataclass(frozen=True)
class SweepData:
    """A sweep as read back: its metadata, each prompt's latest record, and the harness."""

    meta: SweepMeta
    records: list[Record]
    harness: dict[CellKey, HarnessMeasurement]
    search: list[SearchStep] | None = None  # a --search sweep's trace; None: a grid sweep


class SweepFolder:
    """One sweep's folder on disk."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.meta_path = path / "meta.json"
        self.records_path = path / "records.jsonl"
        self.harness_path = path / "harness.jsonl"
        self.search_path = path / "search.json"

    def check(
        self,
        config: SweepConfig,
        prompt_count: int,
        *,
        resume: bool,
        force: bool,
        target: TargetInfo | None = None,
    ) -> None:
        """Refuse a folder that holds a sweep this one would not continue (another
        configuration, or ``target``); cheap, so callers run it before estimating or sending
        anything."""
        if not self.meta_path.exists():
            if not force and self.path.is_dir() and any(self.path.iterdir()):
                raise OutputError(
                    f"{self.path} is not empty and holds no sweep: choose another --out-dir "
                    "(or --force to write the sweep's files into it)"
                )
            return
        if force:
            return
        if not resume:
            raise OutputError(
                f"{self.path} already holds a sweep: pass --resume to continue it "
                "or --force to overwrite it"
            )
        old = SweepMeta.load(self.meta_path)
        changed = config_changes(old.config, config)
        if old.prompt_count != prompt_count:
            changed.append(f"prompt_count {old.prompt_count!r} -> {prompt_count!r}")
        if target is not None:
            changed += target_changes(old.target, target)
        if changed:
            raise OutputError(
                f"{self.path} holds a sweep with another configuration ({', '.join(changed)}): "
                "--resume needs the same arguments (or use --force / another --out-dir)"
            )

    def spent_at_these_prices(self, cost_fn_of: Callable[[str], CostFn]) -> Decimal:
        """What the records already here cost; refuses them if priced otherwise now (streams
        them: a check before anything is sent)."""
        spent = Decimal(0)
        if not self.records_path.exists():
            return spent
        for record in RecordFile(self.records_path):
            spent += record.spent
            changed = price_change(record, cost_fn_of(record.model))
            if changed is not None:
                raise OutputError(
                    f"{self.path} holds a sweep priced otherwise ({changed}): --resume needs "
                    "the same prices (--price-in/--price-out/--price-file), or use --force"
                )
        return spent

    def prepare(self, meta: SweepMeta, *, resume: bool, force: bool) -> SweepState:
        """Create or reopen the folder for ``meta``; refuse one that holds a different sweep."""
        self.check(meta.config, meta.prompt_count, resume=resume, force=force, target=meta.target)
        state = SweepState()
        if self.meta_path.exists() and not force:
            meta = replace(meta, created_at=self.read_meta().created_at)
        elif force:
            self.records_path.unlink(missing_ok=True)
            self.harness_path.unlink(missing_ok=True)
            self.search_path.unlink(missing_ok=True)
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise OutputError(f"{self.path}: cannot create ({error.strerror})") from None
        if resume and self.records_path.exists():
            result = read_records(self.records_path)
            state.torn_lines = result.torn_lines
            for record in result.records:
                state.spent_usd += record.spent
                if record.ok:
                    key = (record.model, record.concurrency, record.repeat)
                    state.ok_ids.setdefault(key, set()).add(record.prompt_id)
        self.write_meta(meta)
        return state

    def read_meta(self) -> SweepMeta:
        return SweepMeta.load(self.meta_path)

    def write_meta(self, meta: SweepMeta) -> None:
        write_atomic(self.meta_path, meta.to_json())

    def note_stop(self, reason: str) -> None:
        """Record why the sweep stopped early, for the report's advice; a resume writes
        meta.json afresh, without it."""
        self.write_meta(self.read_meta().with_stop(reason))

    def hold_to(self, targets: tuple[LatencyTarget, ...]) -> None:
        """Judge the sweep by other latency targets (``report --slo``): they judge its
        records and change none, so the report re-renders with them without sending anything."""
        meta = self.read_meta()
        self.write_meta(replace(meta, config=replace(meta.config, slo=targets)))

    def write_search(self, steps: list[SearchStep]) -> None:
        write_search(self.search_path, steps)

    def append_harness(self, cell: CellKey, measured: HarnessMeasurement) -> None:
        model, level, repeat = cell
        line = {"model": model, "concurrency": level, "repeat": repeat} | measured.to_dict()
        append_line(self.harness_path, json.dumps(line, sort_keys=True))

    def read(self) -> SweepData:
        """Everything a report is a function of."""
        meta = self.read_meta()
        return SweepData(
            meta, self.latest_records(), self.read_harness(), read_search(self.search_path)
        )

    def latest_records(self) -> list[Record]:
        """Each prompt's latest record, per cell (a resume re-sends the failed ones)."""
        if not self.records_path.exists():
            return []
        return list(iter_latest(read_records(self.records_path).records))

    def read_harness(self) -> dict[CellKey, HarnessMeasurement]:
        """One measurement per cell; a cell resumed over several sessions gets them combined."""
        if not self.harness_path.exists():
            return {}
        sessions: dict[CellKey, list[HarnessMeasurement]] = {}
        lines = self.harness_path.read_text("utf-8").splitlines()
        for number, text in enumerate(lines, start=1):
            try:
                line = json.loads(text)
                key = (str(line["model"]), int(line["concurrency"]), int(line["repeat"]))
                sessions.setdefault(key, []).append(HarnessMeasurement.from_dict(line))
            except (ValueError, KeyError, TypeError):
                raise InputError(
                    str(self.harness_path), "not a valid harness line", number
                ) from None
        return {key: combine(parts) for key, parts in sorted(sessions.items())}


def append_line(path: Path, text: str) -> None:
    """Append one line to a small side file (not records: those go through RecordWriter)."""
    try:
        with path.open("a", encoding="utf-8") as handle:
            handle.write(text + "\n")
    except OSError as err:
        raise OutputError(f"{path}: write failed ({err.strerror})") from None
