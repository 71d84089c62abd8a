"""Records on disk: round trip, torn last lines, appends after a crash, atomic writes."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from factories import make_record
from llmsweep.errors import InputError
from llmsweep.store.atomic import write_atomic, write_chunks_atomic
from llmsweep.store.recordfile import RecordWriter, read_records
from llmsweep.store.records import Record, same_model


def make(prompt_id: str, status: str = "ok") -> Record:
    return make_record(
        prompt_id=prompt_id,
        concurrency=2,
        status=status,
        queued_at_s=10.0,
        started_at_s=10.5,
        ended_at_s=11.25,
        input_tokens=12,
        output_tokens=30,
        cost_usd="0.00032",
        response_text="hé <b>",
    )


def test_round_trip_keeps_every_field(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    retried = replace(make("b", "timeout"), http_status=None, cost_usd=None, attempts=2)
    records = [make("a"), replace(retried, retry_causes=("timeout",), retry_errors=("no answer",))]
    with RecordWriter(path) as writer:
        for record in records:
            writer.write(record)
    assert read_records(path).records == records
    assert records[0].total_s == pytest.approx(1.25)


def test_without_text(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    with RecordWriter(path, include_text=False) as writer:
        writer.write(make("a"))
    assert "response_text" not in path.read_text()
    assert read_records(path).records[0].response_text is None


def test_torn_last_line_is_reported_then_cut_before_appending(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    full = make("a").to_json() + "\n"
    path.write_text(full + make("b").to_json()[:40])
    result = read_records(path)
    assert [r.prompt_id for r in result.records] == ["a"] and result.torn_lines == 1
    with RecordWriter(path) as writer:
        writer.write(make("c"))
    after = read_records(path)
    assert [r.prompt_id for r in after.records] == ["a", "c"] and after.torn_lines == 0


def test_damage_in_the_middle_is_an_error_naming_the_line(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    path.write_text(make("a").to_json() + "\n{oops\n" + make("b").to_json() + "\n")
    with pytest.raises(InputError, match=r"r\.jsonl:2: not a valid record line"):
        read_records(path)


def test_write_atomic_replaces_whole_file(tmp_path: Path) -> None:
    path = tmp_path / "summary.json"
    write_atomic(path, "old")
    write_atomic(path, "new")
    assert path.read_text() == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["summary.json"]


def test_write_chunks_atomic_keeps_the_old_file_when_its_source_fails(tmp_path: Path) -> None:
    path = tmp_path / "records.jsonl"
    write_atomic(path, "old\n")

    def chunks() -> Iterator[bytes]:
        yield b"new, half"
        raise InputError(str(path), "not a valid record line", 2)

    with pytest.raises(InputError):
        write_chunks_atomic(path, chunks())
    assert path.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["records.jsonl"]  # no temp file left


@pytest.mark.parametrize(
    ("asked", "answered", "same"),
    [
        ("gpt-4o-mini", "gpt-4o-mini", True),
        ("gpt-4o-mini", "gpt-4o-mini-2024-07-18", True),  # OpenAI's dated snapshot
        ("gpt-4", "gpt-4-0613", True),
        ("gpt-4o", "gpt-4o-mini", False),  # another model, though its name starts the same
        ("gpt-4o", "gpt-4o-mini-2024-07-18", False),
        ("gpt-4o-mini", "llama-3.2-1b-instruct-q4_k_m.gguf", False),  # llama-server's own name
        ("gpt-4o-mini-2024-07-18", "gpt-4o-mini", False),
    ],
)
def test_same_model_allows_only_a_dated_snapshot_of_the_name_asked(
    asked: str, answered: str, same: bool
) -> None:
    assert same_model(asked, answered) is same
    record = make_record(model=asked, answered_model=answered)
    assert record.other_model == (None if same else answered)
    assert make_record(model=asked).other_model is None  # no model named in the answer
