"""A canary API key goes through every command; it must appear in no file and no output."""

from __future__ import annotations

import re
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from cli_helpers import llmsweep_here, start
from conftest import StartSimulator
from engine_helpers import fixed_profile, prompts, run_all
from llmsweep.engine.runner import RunSettings

CANARY = "sk-canary-7c1f0e9b2d4a6853"
WRONG = "sk-wrong-canary-55aa0b1c9e"


@pytest.fixture(scope="module")
def keyed_simulator() -> Iterator[str]:
    """A standalone simulator (its own process) that only accepts the canary key; one for the
    module's tests, which only send to it."""
    process = start(
        "simulate",
        "--port",
        "0",
        "--latency-scale",
        "0.01",
        "--require-key-env",
        "SIM_KEY",
        env={"SIM_KEY": CANARY},
    )
    assert process.stderr is not None
    line = process.stderr.readline()
    match = re.search(r"serving (http://127\.0\.0\.1:\d+/v1)", line)
    assert match, line
    yield match.group(1)
    process.send_signal(signal.SIGINT)
    process.communicate(timeout=10)
    assert process.returncode == 0


def test_the_key_never_appears_in_files_or_output(keyed_simulator: str, tmp_path: Path) -> None:
    url = keyed_simulator
    env = {"OPENAI_API_KEY": CANARY}
    outputs: list[subprocess.CompletedProcess[str]] = [
        llmsweep_here(
            "run", "demo", "--base-url", url, "--out", str(tmp_path / "run.jsonl"), env=env
        ),
        llmsweep_here(
            "sweep",
            "demo",
            "--base-url",
            url,
            "--yes",
            "--concurrency",
            "1,4",
            "--out-dir",
            str(tmp_path / "sweep"),
            env=env,
        ),
        llmsweep_here("report", str(tmp_path / "sweep"), env=env),
        llmsweep_here("estimate", "demo", "--model", "gpt-4o", "--json", env=env),
        llmsweep_here("prices", "gpt-4o", env=env),
    ]
    for done in outputs:
        assert done.returncode == 0, done.stderr
    assert "local server" in outputs[0].stderr  # a loopback URL: not the simulator we started
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert len(written) > 10
    for path in written:
        assert CANARY.encode() not in path.read_bytes(), path
    for done in outputs:
        assert CANARY not in done.stdout + done.stderr


def test_a_rejected_key_stops_at_once_without_echoing_it(
    keyed_simulator: str, tmp_path: Path
) -> None:
    out = tmp_path / "run.jsonl"
    done = llmsweep_here(
        "run",
        "demo",
        "--base-url",
        keyed_simulator,
        "--out",
        str(out),
        env={"OPENAI_API_KEY": WRONG},
    )
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1].startswith("llmsweep: error: ")
    assert "rejected the API key" in done.stderr
    assert WRONG not in done.stderr + done.stdout
    assert not out.exists() or WRONG.encode() not in out.read_bytes()


async def test_a_401_stops_dispatching_and_the_error_is_redacted(
    start_simulator: StartSimulator,
) -> None:
    # No probe here: the engine itself must stop after the first 401 instead of failing every
    # remaining prompt one by one, and must not copy the echoed key into its records.
    sim = await start_simulator(profile=fixed_profile(ttft_s=0.01), api_key=CANARY)
    records, runner = await run_all(sim, RunSettings("gpt-4o", 4), prompts(200), api_key=WRONG)
    assert runner.progress.stopped == "auth"
    assert 1 <= len(records) <= 4 and sim.stats()["requests"] == len(records)
    assert {(r.status, r.http_status, r.attempts) for r in records} == {("auth", 401, 1)}
    assert all(r.error == "Incorrect API key provided: ***." for r in records)


def test_a_key_typed_as_the_variable_name_is_refused_and_not_echoed(tmp_path: Path) -> None:
    done = llmsweep_here("run", "demo", "--api-key-env", CANARY, "--out", str(tmp_path / "o.jsonl"))
    assert done.returncode == 2
    assert done.stderr.startswith("llmsweep: error: --api-key-env takes the NAME")
    assert len(done.stderr.splitlines()) == 1
    assert CANARY not in done.stderr + done.stdout
    assert not (tmp_path / "o.jsonl").exists()  # refused before anything was sent or written
