"""This test process's children, read from /proc: what a pool or a simulator does not expose."""

from __future__ import annotations

import os
from pathlib import Path


def stat(pid: int) -> tuple[int, int]:
    """(parent pid, process group) of a live process."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[1]), int(fields[2])


def children(module: str) -> list[int]:
    """Pids of this process's children that run ``python -m module``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes()
            parent, _ = stat(int(entry.name))
        except (FileNotFoundError, ProcessLookupError, IndexError):
            continue  # gone meanwhile
        if parent == os.getpid() and module.encode() in command.split(b"\0"):
            found.append(int(entry.name))
    return found
