"""Run the ``llmsweep`` command as a user would: in a real subprocess, for tests about the
process (signals, a terminal, start-up); or through the same entry point in this process, for
tests about what a command does and says (a second or more of start-up saved each time)."""

from __future__ import annotations

import asyncio
import os
import pty
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from conftest import count_prompt_tokens
from llmsweep.cli import app
from llmsweep.simulator import Simulator, SimulatorConfig

# The simulator is the target whenever no key and no base URL are set: make sure none leak in.
_TARGET_VARIABLES = ("OPENAI_API_KEY", "OPENAI_BASE_URL")
_CLEAN_ENV = {k: v for k, v in os.environ.items() if k not in _TARGET_VARIABLES}


def llmsweep(
    *args: str,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    timeout_s: float = 120,
    stdin_text: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """``stdin_text``, when given, is piped in (a pipe: not a terminal)."""
    return subprocess.run(
        [sys.executable, "-m", "llmsweep", *args],
        capture_output=True,
        input=stdin_text,
        text=True,
        cwd=cwd,
        env={**_CLEAN_ENV, **(env or {})},
        timeout=timeout_s,
        check=False,
    )


def llmsweep_here(
    *args: str,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    stdin_text: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """As ``llmsweep``, but ``app.main`` (the installed command's error mapping: one-line
    errors, exit codes, crash log) called in this process, from the main thread.

    For the call only: ``sys.argv``, stdin (a pipe holding ``stdin_text``: never a terminal),
    stdout and stderr, the environment without a key or base URL, the working directory and
    the signal handlers; all restored after. What child processes (the simulator, engine
    workers) write to file descriptor 2 is captured too and follows stderr, as it would in the
    command's own stderr."""
    variables: dict[str, str | None] = {name: None for name in _TARGET_VARIABLES}
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    argv, working_dir = sys.argv, os.getcwd()
    with (
        CliRunner().isolation(input=stdin_text, env={**variables, **(env or {})}) as streams,
        _descriptor_2_captured() as children,
    ):
        sys.argv = ["llmsweep", *args]
        try:
            if cwd is not None:
                os.chdir(cwd)
            app.main()
            code = 0  # main returns when the command succeeds, as the process then exits 0
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else 0 if exit_.code is None else 1
        finally:
            sys.argv = argv
            os.chdir(working_dir)
            for sig, handler in handlers.items():
                signal.signal(sig, handler)
            sys.stdout.flush()
            sys.stderr.flush()
        stdout, stderr = (stream.getvalue().decode() for stream in streams[:2])
        stderr += children()
    return subprocess.CompletedProcess(["llmsweep", *args], code, stdout, stderr)


@contextmanager
def _descriptor_2_captured() -> Iterator[Callable[[], str]]:
    """File descriptor 2 into a file for the block; yields a function reading what it got."""
    saved = os.dup(2)
    with tempfile.TemporaryFile() as file:

        def written() -> str:
            file.seek(0)
            return file.read().decode(errors="backslashreplace")

        os.dup2(file.fileno(), 2)
        try:
            yield written
        finally:
            os.dup2(saved, 2)
            os.close(saved)


@contextmanager
def simulator_in_a_thread(**config: Any) -> Iterator[Simulator]:
    """A simulator (``SimulatorConfig`` fields) serving from its own event loop in a thread, so
    that a synchronous test can run the command in this process against it; stopped after."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    simulator = Simulator(SimulatorConfig(**config), count_prompt_tokens=count_prompt_tokens)
    try:
        asyncio.run_coroutine_threadsafe(simulator.start(), loop).result(timeout=30)
        try:
            yield simulator
        finally:
            asyncio.run_coroutine_threadsafe(simulator.stop(), loop).result(timeout=30)
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=30)
        loop.close()


def start(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "llmsweep", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=cwd,
        env={**_CLEAN_ENV, **(env or {})},
    )


def llmsweep_at_a_terminal(
    *args: str, typed: str, env: dict[str, str] | None = None, timeout_s: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run with stdin a pseudo-terminal on which ``typed`` has been typed, as a person would
    answer a question; stdout and stderr are captured as by ``llmsweep``."""
    terminal, stdin = pty.openpty()
    try:
        os.write(terminal, typed.encode())
        process = subprocess.Popen(
            [sys.executable, "-m", "llmsweep", *args],
            stdin=stdin,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**_CLEAN_ENV, **(env or {})},
        )
        os.close(stdin)
        stdout, stderr = process.communicate(timeout=timeout_s)
    finally:
        os.close(terminal)
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)
