"""Whole files written atomically: readers see the old content or the new, never a half."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from llmsweep.errors import OutputError


def write_atomic(path: Path, text: str) -> None:
    """Write a whole file so readers see the old or the new content, never a half."""
    write_chunks_atomic(path, [text.encode("utf-8")])


def write_chunks_atomic(path: Path, chunks: Iterable[bytes]) -> None:
    """``write_atomic`` from chunks made as they are written (a file larger than memory)."""
    partial = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with partial.open("wb") as handle:
            for chunk in chunks:
                handle.write(chunk)
        partial.replace(path)
    except OSError as err:
        partial.unlink(missing_ok=True)
        raise OutputError(f"{path}: write failed ({err.strerror})") from None
    except BaseException:  # the chunks' source failed: leave the old file as it was
        partial.unlink(missing_ok=True)
        raise
