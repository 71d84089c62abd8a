"""Fixtures for the simulator tests: real servers on 127.0.0.1 (port 0) and SDK clients."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import openai
import pytest

from llmsweep.inputs.tokens import tokenizer_for
from llmsweep.simulator import Simulator, SimulatorConfig

StartSimulator = Callable[..., Awaitable[Simulator]]
MakeClient = Callable[..., openai.AsyncOpenAI]


def count_prompt_tokens(messages: list[dict[str, object]], model: str) -> int:
    """The counter the project injects into the simulator."""
    return tokenizer_for(model).count_chat(messages)


@pytest.fixture
async def start_simulator() -> AsyncIterator[StartSimulator]:
    """``await start_simulator(**SimulatorConfig fields)``; every server stops at teardown."""
    running: list[Simulator] = []

    async def start(**config: Any) -> Simulator:
        simulator = Simulator(SimulatorConfig(**config), count_prompt_tokens=count_prompt_tokens)
        await simulator.start()
        running.append(simulator)
        return simulator

    yield start
    for simulator in running:
        await simulator.stop()


@pytest.fixture
async def make_client() -> AsyncIterator[MakeClient]:
    """``make_client(simulator, **AsyncOpenAI options)``: an SDK client without retries."""
    clients: list[openai.AsyncOpenAI] = []

    def make(simulator: Simulator, **options: Any) -> openai.AsyncOpenAI:
        options.setdefault("api_key", "sk-test")
        options.setdefault("max_retries", 0)
        client = openai.AsyncOpenAI(base_url=simulator.base_url, **options)
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.close()
