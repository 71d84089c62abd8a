"""Ctrl-C and SIGTERM: the first winds a command down, the second stops it; then it says how to
continue (the command line as typed, which reports also show)."""

from __future__ import annotations

import asyncio
import shlex
import signal
import sys
from collections.abc import Callable, Coroutine, Sequence
from pathlib import Path
from typing import Any, NoReturn, TypeVar

from llmsweep.cli import STARTUP_INTERRUPTED
from llmsweep.cli.app import err
from llmsweep.errors import INTERRUPTED_EXIT
from llmsweep.session.target import public_url

T = TypeVar("T")
GRACE_S = 5.0  # after a first Ctrl-C, how long in-flight requests get to finish


def run_async(
    main: Callable[[], Coroutine[Any, Any, T]],
    on_first_signal: Callable[[], None],
    started: Callable[[], bool],
) -> T:
    """Run ``main`` with SIGINT/SIGTERM handled: the first winds down, the second cancels.
    Before anything was ``started`` (the target starting) there is nothing to wind down: the
    first cancels, and the caller says so in one line (``interrupted``)."""

    async def wrapper() -> T:
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        assert task is not None
        signals = 0

        def handle() -> None:
            nonlocal signals
            signals += 1
            if signals == 1 and started():
                err(
                    "llmsweep: stopping: finishing requests in flight "
                    f"(up to {GRACE_S:g} s; signal again to stop now)"
                )
                on_first_signal()
                loop.call_later(GRACE_S, task.cancel)
            else:
                task.cancel()

        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, handle)
        return await main()

    return asyncio.run(wrapper())


def interrupted(started: bool, records: Path, resume_cmd: str) -> NoReturn:
    """After ``run_async`` was cancelled: one line before anything was sent, else where the
    records are and how to continue; exit code 130."""
    if started:
        err(
            f"llmsweep: interrupted; records so far are in {records}. "
            f"Continue with:\n  {resume_cmd}"
        )
    else:
        err(STARTUP_INTERRUPTED)
    sys.exit(INTERRUPTED_EXIT)


def command_line(extra: Sequence[str] = (), *, drop: Sequence[str] = ()) -> str:
    """This command as typed, for reports and resume hints; URLs lose any user:password."""
    args = [public_url(a) if "://" in a else a for a in sys.argv[1:] if a not in drop]
    return shlex.join(["llmsweep", *args, *extra])


def resume_command(out: Path, out_flag: str = "--out") -> str:
    extra = [] if "--resume" in sys.argv else ["--resume"]
    if out_flag not in sys.argv:
        extra += [out_flag, str(out)]
    return command_line(extra, drop=["--force"])  # --force would throw the records away
