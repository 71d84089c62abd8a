"""Run the installed ``llmsweep`` command in a real subprocess, as a user would; or, for a test
about what a command does with its files rather than about the process, in this one."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner, Result

from llmsweep.cli import cli

# The simulator is the target whenever no key and no base URL are set: make sure none leak in.
_CLEAN_ENV = {k: v for k, v in os.environ.items() if k not in ("OPENAI_API_KEY", "OPENAI_BASE_URL")}


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


def llmsweep_in_process(*args: str) -> Result:
    """The command run by click's test runner in this process: none of a new process's start-up
    (a second or more of imports), for tests that are not about the process itself."""
    return CliRunner().invoke(cli, list(args))


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
