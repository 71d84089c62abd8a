"""Where requests go: flags and environment, URLs without credentials, the built-in simulator's
own process, and the library used from a plain script."""

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

import aiohttp
import pytest

from llmsweep.errors import TargetError, UsageError
from llmsweep.session import target
from llmsweep.session.target import (
    SIMULATOR_KEY,
    TargetSpec,
    describe,
    open_target,
    public_url,
    spec_from_env,
)
from llmsweep.simulator import BUILTIN_PROFILES, SimulatorConfig
from proc_helpers import children, run_script, stat

README = Path(__file__).parents[2] / "README.md"
SIM = SimulatorConfig(latency_scale=0.01)


def test_no_url_and_no_key_means_the_simulator() -> None:
    assert spec_from_env(None, "OPENAI_API_KEY", SIM, environ={}).simulated
    empty = {"OPENAI_BASE_URL": "", "OPENAI_API_KEY": ""}  # set but empty: not given
    assert spec_from_env(None, "OPENAI_API_KEY", SIM, environ=empty).simulated


def test_the_flag_beats_the_environment_and_the_key_comes_from_the_named_variable() -> None:
    env = {"OPENAI_BASE_URL": "http://env:1/v1", "OPENAI_API_KEY": "sk-default", "MINE": "sk-mine"}
    spec = spec_from_env("http://flag:2/v1", "MINE", SIM, environ=env)
    assert (spec.base_url, spec.api_key, spec.simulated) == ("http://flag:2/v1", "sk-mine", False)
    from_env = spec_from_env(None, "OPENAI_API_KEY", SIM, environ=env)
    assert (from_env.base_url, from_env.api_key) == ("http://env:1/v1", "sk-default")
    with pytest.raises(UsageError, match="--base-url 'ftp://x/v1' is not an http"):
        spec_from_env("ftp://x/v1", "OPENAI_API_KEY", SIM, environ={})


def test_a_named_key_variable_must_be_set_and_a_key_given_instead_is_never_echoed() -> None:
    # Falling back to the simulator would measure something else without a word.
    with pytest.raises(UsageError, match="--api-key-env MY_KEY: no such environment variable"):
        spec_from_env(None, "MY_KEY", SIM, environ={"OPENAI_API_KEY": "sk-default"})
    key = "sk-proj-abc123"  # typed where the variable's name goes
    with pytest.raises(UsageError, match="the NAME of an environment variable") as refused:
        spec_from_env(None, key, SIM, environ={})
    assert key not in str(refused.value)
    for key in ("AIzaSyA1b2C3d4E5", "gsk_abc123def456"):  # keys that look like identifiers
        with pytest.raises(UsageError, match=r"^--api-key-env: no such environment") as refused:
            spec_from_env(None, key, SIM, environ={})
        assert key not in str(refused.value)


def test_public_url_drops_credentials_query_and_fragment() -> None:
    assert public_url("https://me:pw@api.example.com:8443/v1?key=sk-1#x") == (
        "https://api.example.com:8443/v1"
    )
    assert public_url("http://localhost/v1") == "http://localhost/v1"


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("http://127.0.0.1:8080/v1", "local"),
        ("http://127.3.4.5/v1", "local"),
        ("http://[::1]:8000/v1", "local"),
        ("http://localhost:11434/v1", "local"),
        ("https://api.openai.com/v1", "real"),
        # Private networks are self-hosted servers too.
        ("http://192.168.1.20:8000/v1", "local"),
        ("http://10.1.2.3/v1", "local"),
        ("http://172.31.0.9:8000/v1", "local"),
        ("http://[fd12::5]:8000/v1", "local"),
        ("http://172.32.0.9/v1", "real"),
        ("http://8.8.8.8/v1", "real"),
    ],
)
def test_a_loopback_or_private_base_url_is_a_local_server(url: str, kind: str) -> None:
    info = describe(TargetSpec(url, None, SIM))
    assert (info.kind, info.simulated) == (kind, False)
    assert info.label() == ("local server" if kind == "local" else "real API")


async def test_a_real_target_is_described_without_its_credentials() -> None:
    spec = TargetSpec("http://me:pw@127.0.0.1:9/v1", None, SIM)
    async with open_target(spec) as (info, key):
        assert (info.base_url, info.simulated, key) == ("http://127.0.0.1:9/v1", False, "none")


async def test_the_simulator_runs_in_its_own_process_until_the_block_ends() -> None:
    spec = TargetSpec(None, None, SimulatorConfig(profile=BUILTIN_PROFILES["fixed"], rpm=600))
    headers = {"Authorization": f"Bearer {SIMULATOR_KEY}"}
    async with aiohttp.ClientSession(headers=headers) as session:
        async with open_target(spec) as (info, key):
            assert (info.simulated, info.profile, info.rpm, key) == (
                True,
                "fixed",
                600,
                SIMULATOR_KEY,
            )
            async with session.get(f"{info.base_url}/models") as response:
                assert response.status == 200
        with pytest.raises(aiohttp.ClientConnectionError):  # stopped with the block
            async with session.get(f"{info.base_url}/models"):
                pass


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
    done = run_script(tmp_path, "example.py", snippet)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 2, done.stdout  # one record per prompt, printed once
    assert sorted(line.split()[:2] for line in lines) == [["0", "ok"], ["1", "ok"]]
