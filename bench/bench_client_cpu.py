"""Client CPU per request: a bare aiohttp loop, ``HttpTransport`` and ``OpenAITransport``.

A zero-latency simulator (``latency_scale`` 0) runs in a child process; this process sends the
same small non-streaming chat requests through each client from ``--concurrency`` workers and
reads ``time.process_time()`` around them, so the figure is the client's CPU alone. The bare
loop (encode the body, post, read, ``json.loads``) is the floor any Python client pays; the
target for ``HttpTransport`` is at most twice that. Run from the project root::

    .venv/bin/python bench/bench_client_cpu.py --requests 5000 --concurrency 32

It prints Markdown: the command and | client | requests | CPU ms / request | x bare aiohttp |.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shlex
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

import aiohttp

from llmsweep.inputs.tokens import tokenizer_for
from llmsweep.simulator import BUILTIN_PROFILES, SimulatorConfig, serve_forever
from llmsweep.transport import make_transport

MODEL = "gpt-4o-mini"
MESSAGES: list[dict[str, Any]] = [{"role": "user", "content": "Say hello to the visitor briefly."}]
MAX_TOKENS = 16
Send = Callable[[], Awaitable[object]]


def _serve() -> None:
    """The child process: a zero-latency simulator that prints its base URL when ready."""
    serve_forever(
        SimulatorConfig(profile=BUILTIN_PROFILES["fixed"], latency_scale=0.0),
        lambda messages, model: tokenizer_for(model).count_chat(messages),
        lambda url: print(url, flush=True),
    )


async def _drive(send: Send, total: int, concurrency: int) -> float:
    """CPU seconds this process spent sending ``total`` requests from ``concurrency`` workers."""
    remaining = total

    async def worker() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            await send()

    began = time.process_time()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.process_time() - began


async def _bare(base_url: str, total: int, concurrency: int) -> float:
    url = f"{base_url}/chat/completions"
    headers = {"Authorization": "Bearer sk-bench", "Content-Type": "application/json"}
    request = {"model": MODEL, "messages": MESSAGES, "max_tokens": MAX_TOKENS}
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector, headers=headers) as session:

        async def send() -> object:
            async with session.post(url, data=json.dumps(request).encode()) as response:
                answer = json.loads(await response.read())
            if response.status != 200:
                raise RuntimeError(f"unexpected status {response.status}")
            return answer

        await _drive(send, min(total, 500), concurrency)  # warm-up: connections, first use
        return await _drive(send, total, concurrency)


async def _transport(kind: str, base_url: str, total: int, concurrency: int) -> float:
    transport = make_transport(
        kind, base_url=base_url, api_key="sk-bench", concurrency=concurrency, timeout_s=30
    )

    async def send() -> object:
        attempt = await transport.send(MODEL, MESSAGES, MAX_TOKENS, False)
        if not attempt.ok:
            raise RuntimeError(f"attempt failed: {attempt.kind} {attempt.error}")
        return attempt

    try:
        await _drive(send, min(total, 500), concurrency)
        return await _drive(send, total, concurrency)
    finally:
        await transport.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--repeat", type=int, default=3, help="runs per client; median reported")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        _serve()
        return
    server = subprocess.Popen(
        [sys.executable, __file__, "--serve"], stdout=subprocess.PIPE, text=True
    )
    clients: dict[str, Callable[[str], Coroutine[object, object, float]]] = {
        "bare aiohttp": lambda url: _bare(url, args.requests, args.concurrency),
        "HttpTransport (--client http)": lambda url: _transport(
            "http", url, args.requests, args.concurrency
        ),
        "OpenAITransport (--client openai)": lambda url: _transport(
            "openai", url, args.requests, args.concurrency
        ),
    }
    cpu_s: dict[str, list[float]] = {name: [] for name in clients}
    try:
        assert server.stdout is not None
        base_url = server.stdout.readline().strip()
        if not base_url:
            raise SystemExit("the simulator did not start")
        for _ in range(args.repeat):  # clients take turns, so load from elsewhere hits all alike
            for name, run in clients.items():
                cpu_s[name].append(asyncio.run(run(base_url)))
    finally:
        server.terminate()
        server.wait(timeout=10)
    per_request_ms = {
        name: statistics.median(runs) / args.requests * 1000 for name, runs in cpu_s.items()
    }
    command = shlex.join([".venv/bin/python", "bench/bench_client_cpu.py", *sys.argv[1:]])
    bare = per_request_ms["bare aiohttp"]
    print(f"### Client CPU per request\n\n`{command}`\n")
    print(
        f"Zero-latency simulator in a child process; non-streaming, concurrency "
        f"{args.concurrency}; median of {args.repeat} runs of {args.requests} requests.\n"
    )
    print("| client | requests | CPU ms / request | x bare aiohttp |")
    print("|---|--:|--:|--:|")
    for name, ms in per_request_ms.items():
        print(f"| {name} | {args.requests} | {ms:.3f} | {ms / bare:.2f} |")


if __name__ == "__main__":
    main()
