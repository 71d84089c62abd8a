"""Run the installed ``llmsweep`` command in a real subprocess, as a user would."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

# The simulator is the target whenever no key and no base URL are set: make sure none leak in.
_CLEAN_ENV = {k: v for k, v in os.environ.items() if k not in ("OPENAI_API_KEY", "OPENAI_BASE_URL")}


def llmsweep(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None, timeout_s: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "llmsweep", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**_CLEAN_ENV, **(env or {})},
        timeout=timeout_s,
        check=False,
    )


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
