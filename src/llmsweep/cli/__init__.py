"""Command line: parse, call the library, print. The only package that prints or exits.

Commands are imported when used (see ``app.COMMANDS``), not here; nor is anything else before
``main`` has taken over Ctrl-C, so that an interrupt while the command line loads (click, a
tokenizer, the HTTP client) is one line and exit code 130, never a traceback.
"""

from __future__ import annotations

import os
import signal
from types import FrameType
from typing import TYPE_CHECKING, Any

from llmsweep.errors import INTERRUPTED_EXIT

if TYPE_CHECKING:
    from llmsweep.cli.app import cli

__all__ = ["STARTUP_INTERRUPTED", "cli", "main"]

STARTUP_INTERRUPTED = "llmsweep: interrupted during start-up; nothing was sent"


def main() -> None:
    """The ``llmsweep`` command. Until a command's event loop takes Ctrl-C over (``run_async``)
    nothing has been sent and no child process runs, so an interrupt ends the process at once."""
    previous = signal.signal(signal.SIGINT, _interrupted_at_startup)
    try:
        from llmsweep.cli.app import main as run_main

        run_main()
    finally:
        signal.signal(signal.SIGINT, previous)


def _interrupted_at_startup(signum: int, frame: FrameType | None) -> None:
    # Not an exception: one raised here could surface anywhere, mid-import or inside click
    # (which would call it an abort). Nothing is open that needs closing.
    os.write(2, f"{STARTUP_INTERRUPTED}\n".encode())
    os._exit(INTERRUPTED_EXIT)


def __getattr__(name: str) -> Any:
    if name == "cli":
        from llmsweep.cli import app

        return app.cli
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
