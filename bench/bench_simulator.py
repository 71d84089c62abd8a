"""Throughput of the simulator: small non-streaming requests per second over loopback.

The simulator runs in a child process (zero latency: ``latency_scale`` 0) and this process
drives it with a lean aiohttp client (keep-alive, fixed concurrency), so client and server each
get a core, as in a real run. Run from the project root::

    .venv/bin/python bench/bench_simulator.py --requests 20000 --concurrency 64 --prompts 200

It prints the figures and a Markdown table row: | mode | requests | concurrency | req/s | p50 ms |
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import time

import aiohttp

from llmsweep.inputs.tokens import tokenizer_for
from llmsweep.simulator import BUILTIN_PROFILES, SimulatorConfig, serve_forever

MODEL = "gpt-4o-mini"


def _count_prompt_tokens(messages: list[dict[str, object]], model: str) -> int:
    return tokenizer_for(model).count_chat(messages)


def _serve() -> None:
    """The child process: a zero-latency simulator that prints its base URL when ready."""
    config = SimulatorConfig(profile=BUILTIN_PROFILES["fixed"], latency_scale=0.0)
    serve_forever(config, _count_prompt_tokens, lambda url: print(url, flush=True))


def _bodies(prompts: int, stream: bool) -> list[bytes]:
    """Small request bodies over ``prompts`` distinct prompts, as a sweep cycles a prompt set."""
    return [
        json.dumps(
            {
                "model": MODEL,
                "messages": [{"role": "user", "content": f"Say hello to visitor {i} briefly."}],
                "max_tokens": 16,
                "stream": stream,
            }
        ).encode()
        for i in range(prompts)
    ]


async def _drive(base_url: str, total: int, concurrency: int, bodies: list[bytes]) -> list[float]:
    """Send ``total`` requests from ``concurrency`` workers; returns each one's latency."""
    url = f"{base_url}/chat/completions"
    headers = {"Content-Type": "application/json", "Authorization": "Bearer sk-bench"}
    latencies_s: list[float] = []
    remaining = total

    async def worker(session: aiohttp.ClientSession) -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            body = bodies[remaining % len(bodies)]
            started = time.perf_counter()
            async with session.post(url, data=body, headers=headers) as response:
                await response.read()
                if response.status != 200:
                    raise RuntimeError(f"unexpected status {response.status}")
            latencies_s.append(time.perf_counter() - started)

    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        await asyncio.gather(*(worker(session) for _ in range(concurrency)))
    return latencies_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--prompts", type=int, default=200, help="distinct prompts to cycle")
    parser.add_argument("--stream", action="store_true", help="streaming requests instead")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        _serve()
        return
    server = subprocess.Popen(
        [sys.executable, __file__, "--serve"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert server.stdout is not None
        base_url = server.stdout.readline().strip()
        if not base_url:
            raise SystemExit("the simulator did not start")
        # A short warm-up, so connection set-up and first-use costs stay out of the figure.
        bodies = _bodies(args.prompts, args.stream)
        asyncio.run(_drive(base_url, 500, args.concurrency, bodies[:1]))
        started = time.perf_counter()
        latencies_s = asyncio.run(_drive(base_url, args.requests, args.concurrency, bodies))
        elapsed_s = time.perf_counter() - started
    finally:
        server.terminate()
        server.wait(timeout=10)
    rate = args.requests / elapsed_s
    p50_ms = statistics.median(latencies_s) * 1000
    mode = "streaming" if args.stream else "non-streaming"
    print(f"{args.requests} {mode} requests in {elapsed_s:.2f} s: {rate:,.0f} requests/s")
    print(f"| {mode} | {args.requests} | {args.concurrency} | {rate:,.0f} | {p50_ms:.1f} |")


if __name__ == "__main__":
    main()
