"""The SDK transport's own parts (warm connections) and the reachability probe.

How it classifies answers is held against the lean client in test_http.py.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from openai._base_client import BaseClient

from conftest import StartSimulator
from engine_helpers import fixed_profile
from llmsweep.errors import TargetError
from llmsweep.transport import probe
from llmsweep.transport.sdk import OpenAITransport

MESSAGES = [{"role": "user", "content": "Hello"}]


async def closed_port_url() -> str:
    server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()  # the port is now (almost certainly) closed
    return f"http://127.0.0.1:{port}/v1"


async def test_probe_passes_a_good_key_and_stops_a_bad_one_without_echoing_it(
    start_simulator: StartSimulator,
) -> None:
    sim = await start_simulator(profile=fixed_profile(), api_key="sk-right-key")
    await probe(sim.base_url, "sk-right-key")
    with pytest.raises(TargetError, match=r"rejected the API key \(HTTP 401\)") as caught:
        await probe(sim.base_url, "sk-wrong-key")
    assert "sk-wrong-key" not in str(caught.value)
    url = await closed_port_url()
    with pytest.raises(TargetError, match=f"cannot reach {url} "):
        await probe(url, "sk-right-key", timeout_s=2.0)


async def test_after_a_warm_up_a_request_pays_no_connect(start_simulator: StartSimulator) -> None:
    sim = await start_simulator(profile=fixed_profile(ttft_s=0.001, tokens=2))
    connects = []
    for warm in (False, True):
        transport = OpenAITransport(
            base_url=sim.base_url,
            api_key="sk-test",
            concurrency=1,
            timeout_s=5,
            clock=time.monotonic,
        )
        try:
            if warm:
                await transport.warm_up(1)
            attempt = await transport.send("gpt-4o", MESSAGES, 2, False)
        finally:
            await transport.aclose()
        assert attempt.ok and attempt.sent_at_s is not None
        connects.append(attempt.connect_s)
    assert connects[0] > 0 and connects[1] == 0.0


async def test_the_sdk_builds_a_clients_chat_request_once(
    start_simulator: StartSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its later requests are the first one with their own body (sdk_client.ChatClient; a test
    in test_http.py holds each one's bytes to create's): the SDK's builder runs once a client."""
    built: list[str] = []
    sdk_build = BaseClient._build_request

    def counted(self: BaseClient[Any, Any], options: Any, *, retries_taken: int = 0) -> Any:
        built.append(options.url)
        return sdk_build(self, options, retries_taken=retries_taken)

    monkeypatch.setattr(BaseClient, "_build_request", counted)
    sim = await start_simulator(profile=fixed_profile(ttft_s=0.001, tokens=2))
    transport = OpenAITransport(
        base_url=sim.base_url, api_key="sk-test", concurrency=2, timeout_s=5, clock=time.monotonic
    )
    try:
        for stream in (False, True, False):
            assert (await transport.send("gpt-4o", MESSAGES, 2, stream)).ok
    finally:
        await transport.aclose()
    assert built == ["/chat/completions"]
    assert sim.stats()["requests"] == 3
