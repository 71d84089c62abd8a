"""The built-in simulator's own process, and the library used from a plain script."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import socket
import subprocess
import sys
import textwrap
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from llmsweep.errors import TargetError
from llmsweep.session import target
from llmsweep.simulator import SimulatorConfig
from proc_helpers import children, stat

README = Path(__file__).parents[2] / "README.md"
_CLEAN_ENV = {k: v for k, v in os.environ.items() if k not in ("OPENAI_API_KEY", "OPENAI_BASE_URL")}


def _models(base_url: str) -> list[str]:
    with urllib.request.urlopen(f"{base_url}/models", timeout=10) as answer:
        return [model["id"] for model in json.load(answer)["data"]]


def _simulator_children() -> list[int]:
    return children("llmsweep.session.serve")


def _refused(base_url: str) -> bool:
    try:
        _models(base_url)
    except urllib.error.URLError as error:
        return isinstance(error.reason, ConnectionRefusedError)
    return False


async def test_simulator_runs_in_its_own_process_group_and_stops_after() -> None:
    async with target.simulator_process(SimulatorConfig(latency_scale=0)) as base_url:
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+/v1", base_url)
        assert not base_url.endswith(":0/v1")  # port 0 asked the system for a free one
        assert "gpt-4o" in await asyncio.to_thread(_models, base_url)
        (child,) = _simulator_children()
        _, group = stat(child)
        assert group == child != os.getpgid(0)  # out of the terminal's Ctrl-C
    assert _simulator_children() == []  # stopped and reaped
    assert _refused(base_url)


async def test_a_simulator_that_cannot_start_is_an_error() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(TargetError, match="failed to start"):
            async with target.simulator_process(SimulatorConfig(port=port)):
                pass
    assert _simulator_children() == []


async def test_a_simulator_too_slow_to_start_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(target, "START_TIMEOUT_S", 0.0)
    with pytest.raises(TargetError, match="did not start within"):
        async with target.simulator_process(SimulatorConfig()):
            pass
    assert _simulator_children() == []


ORPHANING_PARENT = """
import asyncio, sys
from llmsweep.session.target import simulator_process
from llmsweep.simulator import SimulatorConfig

async def main() -> None:
    async with simulator_process(SimulatorConfig(latency_scale=0)) as base_url:
        print(base_url, flush=True)
        await asyncio.sleep(3600)

asyncio.run(main())
"""


async def test_the_simulator_stops_when_its_parent_is_killed() -> None:
    parent = subprocess.Popen(
        [sys.executable, "-c", ORPHANING_PARENT], stdout=subprocess.PIPE, text=True
    )
    assert parent.stdout is not None
    try:
        base_url = (await asyncio.to_thread(parent.stdout.readline)).strip()
        assert "gpt-4o" in await asyncio.to_thread(_models, base_url)
    finally:
        parent.send_signal(signal.SIGKILL)  # no cleanup runs: the child must notice alone
        parent.wait()
        parent.stdout.close()
    while not await asyncio.to_thread(_refused, base_url):  # the test's timeout bounds this
        await asyncio.sleep(0.2)


def _readme_library_snippet() -> str:
    text = README.read_text()
    section = text[text.index("### As a library") :]
    return textwrap.dedent(section.split("```python\n", 1)[1].split("```", 1)[0])


def test_readme_library_snippet_runs_as_a_plain_script(tmp_path: Path) -> None:
    """No ``if __name__ == "__main__"`` guard: the simulator must not re-import the script."""
    snippet = _readme_library_snippet()
    assert "__main__" not in snippet
    (tmp_path / "example.py").write_text(snippet)
    done = subprocess.run(
        [sys.executable, "example.py"],
        cwd=tmp_path,
        env=_CLEAN_ENV,
        capture_output=True,
        text=True,
        timeout=100,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 2, done.stdout  # one record per prompt, printed once
    assert sorted(line.split()[:2] for line in lines) == [["0", "ok"], ["1", "ok"]]
