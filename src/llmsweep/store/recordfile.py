"""``records.jsonl``: records read back one line at a time, and appended as they complete.

A line torn by a kill mid-write (only ever the last) is counted and skipped when read, and cut
off before the next append.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from llmsweep.errors import InputError, OutputError
from llmsweep.store.records import Record, record_from_dict


@dataclass(frozen=True)
class ReadResult:
    records: list[Record]
    torn_lines: int  # a last line cut by a crash or a second signal, ignored


class RecordFile:
    """A records file read one line at a time, so that a million records never have to be in
    memory at once. A torn *last* line is skipped and counted in ``torn_lines`` (known once the
    file has been read to its end); any other bad line fails."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.torn_lines = 0

    def lines(self) -> Iterator[tuple[bytes, Record]]:
        """Each complete line (newline-terminated) with its record."""
        self.torn_lines = 0
        try:
            handle = self.path.open("rb")
        except OSError as err:
            raise InputError(str(self.path), f"cannot be read ({err.strerror})") from None
        with handle:
            for number, raw in enumerate(handle, start=1):
                if not raw.strip():
                    continue
                try:
                    record = record_from_dict(json.loads(raw))
                except (ValueError, TypeError):
                    # Only the last line can lack its newline: that is what a kill mid-write
                    # leaves. Anything else is damage we should not paper over.
                    if not raw.endswith(b"\n"):
                        self.torn_lines += 1
                        continue
                    raise InputError(str(self.path), "not a valid record line", number) from None
                yield (raw if raw.endswith(b"\n") else raw + b"\n"), record

    def __iter__(self) -> Iterator[Record]:
        return (record for _, record in self.lines())


def read_records(path: Path) -> ReadResult:
    """Read a whole records file into memory (see ``RecordFile`` to stream one)."""
    file = RecordFile(path)
    records = list(file)
    return ReadResult(records, file.torn_lines)


class RecordWriter:
    """Appends records as JSON lines, each written through to the OS as it completes."""

    def __init__(self, path: Path, *, include_text: bool = True) -> None:
        self.path = path
        self._include_text = include_text
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            # Unbuffered: each record is one write() call, so nothing waits in a buffer that a
            # crash (or a full disk, at close) could lose or tear later.
            self._file: BinaryIO = path.open("ab", buffering=0)
        except OSError as err:
            raise OutputError(f"{path}: cannot open for writing ({err.strerror})") from None
        self._drop_torn_tail()

    def _drop_torn_tail(self) -> None:
        # A line cut by a kill has no newline; appending after it would glue two records
        # together, so cut the file back to its last complete line (read_records reported it).
        size = self._file.tell()
        if size == 0:
            return
        with self.path.open("r+b") as handle:
            handle.seek(max(0, size - 65536))
            tail = handle.read()
            if tail.endswith(b"\n"):
                return
            cut = tail.rfind(b"\n")
            if cut < 0 and size > 65536:
                raise OutputError(f"{self.path}: last line is torn and longer than 64 KiB")
            handle.truncate(size - len(tail) + cut + 1)
        self._file.seek(0, os.SEEK_END)

    def write(self, record: Record) -> None:
        try:
            self._file.write((record.to_json(include_text=self._include_text) + "\n").encode())
        except OSError as err:
            raise OutputError(f"{self.path}: write failed ({err.strerror})") from None

    def close(self) -> None:
        try:
            self._file.close()
        except OSError as err:
            raise OutputError(f"{self.path}: close failed ({err.strerror})") from None

    def __enter__(self) -> RecordWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
