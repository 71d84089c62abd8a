"""Ctrl-C while a command starts up (loading, tokenizing, starting the simulator): one line and
exit code 130, never a traceback. Signals are sent at a few moments; which phase each lands in
depends on the machine, so only what must hold in every phase is asserted."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest

from cli_helpers import start
from llmsweep.cli import STARTUP_INTERRUPTED

SWEEP = ("sweep", "demo", "--model", "gpt-4o", "--concurrency", "1,2", "--latency-scale", "0.02")


def assert_interrupted_cleanly(stderr: str, returncode: int) -> None:
    assert "Traceback" not in stderr and "KeyboardInterrupt" not in stderr, stderr
    assert returncode == 130, stderr


@pytest.mark.parametrize("after_s", [0.5, 1.0, 2.0])
def test_ctrl_c_while_a_sweep_starts_is_one_line_and_130(tmp_path: Path, after_s: float) -> None:
    process = start(*SWEEP, "--out-dir", str(tmp_path / "r"))
    time.sleep(after_s)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert_interrupted_cleanly(stderr, process.returncode)
    if STARTUP_INTERRUPTED in stderr:  # before the first request: that line and nothing after
        assert stderr.splitlines()[-1] == STARTUP_INTERRUPTED


@pytest.mark.parametrize(
    ("command", "first_line"),
    [
        # Printed once the prompts are tokenized, just before the simulator process starts.
        (SWEEP, "expected duration"),
        (("run", "demo", "--model", "gpt-4o", "--latency-scale", "0.02"), "prompt(s) to send"),
    ],
)
def test_ctrl_c_while_the_simulator_starts_is_one_line_and_130(
    tmp_path: Path, command: tuple[str, ...], first_line: str
) -> None:
    out = ("--out-dir", str(tmp_path / "r")) if command[0] == "sweep" else ("--out", "o.jsonl")
    process = start(*command, *out, cwd=tmp_path)
    assert process.stderr is not None
    seen = []
    for line in process.stderr:
        seen.append(line)
        if first_line in line:
            break
    process.send_signal(signal.SIGINT)
    _, rest = process.communicate(timeout=60)
    stderr = "".join(seen) + rest
    assert_interrupted_cleanly(stderr, process.returncode)
    if STARTUP_INTERRUPTED in stderr:
        assert rest.splitlines()[-1] == STARTUP_INTERRUPTED
        assert not (tmp_path / "o.jsonl").exists() or not (tmp_path / "o.jsonl").read_text()
