"""This test process's children, read from /proc (what a pool or a simulator does not expose),
and scripts run as a user would run them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

# No key and no base URL from the developer's environment: the library's default target.
CLEAN_ENV = {k: v for k, v in os.environ.items() if k not in ("OPENAI_API_KEY", "OPENAI_BASE_URL")}


def run_script(directory: Path, name: str, text: str) -> subprocess.CompletedProcess[str]:
    """Write ``text`` to ``directory/name`` and run it with ``python name`` there."""
    (directory / name).write_text(text)
    return subprocess.run(
        [sys.executable, name],
        cwd=directory,
        env=CLEAN_ENV,
        capture_output=True,
        text=True,
        timeout=100,
        check=False,
    )


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
