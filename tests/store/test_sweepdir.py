"""A sweep's folder: refused when it holds another sweep, read back for --resume and reports."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest

from factories import make_measurement, make_meta, make_record, with_config, write_records
from llmsweep.errors import InputError, OutputError
from llmsweep.store.harness import combine
from llmsweep.store.sweepdir import SweepFolder


def test_a_folder_holding_a_sweep_needs_resume_and_the_same_configuration(tmp_path: Path) -> None:
    folder = SweepFolder(tmp_path / "r")
    meta = make_meta()
    folder.prepare(meta, resume=False, force=False)
    with pytest.raises(OutputError, match="already holds a sweep: pass --resume"):
        folder.prepare(meta, resume=False, force=False)
    other = with_config(meta, levels=(1, 8))
    with pytest.raises(
        OutputError, match=r"another configuration \(levels \[1, 2, 4, 8\] -> \[1, 8\]\)"
    ):
        folder.prepare(other, resume=True, force=False)
    with pytest.raises(OutputError, match="prompt_count 20 -> 10"):
        folder.check(meta.config, 10, resume=True, force=False)
    folder.check(other.config, 10, resume=False, force=True)  # --force: whatever is there


def test_a_folder_with_other_files_and_no_sweep_is_not_written_into(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    folder = SweepFolder(tmp_path)
    for resume in (False, True):
        with pytest.raises(OutputError, match="is not empty and holds no sweep"):
            folder.prepare(make_meta(), resume=resume, force=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]
    folder.prepare(make_meta(), resume=False, force=True)  # --force: the user said so
    assert (tmp_path / "meta.json").exists() and (tmp_path / "notes.txt").exists()
    SweepFolder(tmp_path / "new").prepare(make_meta(), resume=False, force=False)  # created


def test_a_resume_reads_what_is_done_and_keeps_the_creation_time(tmp_path: Path) -> None:
    folder = SweepFolder(tmp_path)
    folder.prepare(make_meta(), resume=False, force=False)
    write_records(
        folder.records_path,
        [
            make_record(prompt_id="a"),
            make_record(prompt_id="b", status="timeout"),  # billed, yet not done
            make_record(prompt_id="a", concurrency=2, cost_usd="0.002"),
        ],
    )
    later = replace(make_meta(), created_at="2030-01-01T00:00:00Z")
    state = folder.prepare(later, resume=True, force=False)
    assert state.ok_ids == {("gpt-4o", 1, 0): {"a"}, ("gpt-4o", 2, 0): {"a"}}
    assert state.spent_usd == Decimal("0.004")
    assert folder.read_meta().created_at == "2025-01-02T03:04:05Z"
    folder.prepare(later, resume=False, force=True)
    assert not folder.records_path.exists()
    assert folder.read_meta().created_at == "2030-01-01T00:00:00Z"


def test_records_and_harness_are_read_back_latest_and_combined(tmp_path: Path) -> None:
    folder = SweepFolder(tmp_path)
    folder.prepare(make_meta(), resume=False, force=False)
    first = make_measurement(lag_p95_s=0.001, cpu_s=0.5)
    second = make_measurement(lag_p95_s=0.004, cpu_s=0.7, wall_s=2.0)
    folder.append_harness(("gpt-4o", 1, 0), first)
    folder.append_harness(("gpt-4o", 2, 0), second)
    folder.append_harness(("gpt-4o", 1, 0), second)  # the cell resumed in a second session
    write_records(
        folder.records_path,
        [
            make_record(prompt_id="b", status="timeout"),
            make_record(prompt_id="a"),
            make_record(prompt_id="b"),
        ],
    )
    data = folder.read()
    assert data.meta == make_meta()
    assert [(r.prompt_id, r.status) for r in data.records] == [("b", "ok"), ("a", "ok")]
    assert data.harness == {("gpt-4o", 1, 0): combine([first, second]), ("gpt-4o", 2, 0): second}
    with folder.harness_path.open("a", encoding="utf-8") as harness:
        harness.write("not json\n")
    with pytest.raises(InputError, match=r"harness\.jsonl:4: not a valid harness line"):
        folder.read()
