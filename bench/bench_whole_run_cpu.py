"""Whole-run CPU per request: ``llmsweep run`` (both clients) against a bare aiohttp loop.

An independent loopback mock server (plain aiohttp, not llmsweep's simulator, so its cost is not
ours) runs in a child process and answers every chat completion with a fixed JSON body after a
fixed ``--latency``. Each client then runs in a fresh child process, and this process reads the
child's CPU (user + sys, ``resource.getrusage(RUSAGE_CHILDREN)``) and wall time around it:

- bare aiohttp: ``--requests`` posts from ``--concurrency`` workers, ``json.loads`` of each answer;
- ``python -m llmsweep run synthetic:N:20:8 --client http`` (records written to a temp file);
- the same with ``--client openai``.

Each is also run with one request, and that run's CPU is subtracted, so start-up (imports, the
tokenizer) is out of the per-request figure. The server reports its span (first request in to
last answer out) for every run. Targets (issue 14): ``--client http`` within 2x the bare loop's
CPU per request, ``--client openai`` within 4x, server-side span within 3% of the bare loop's.
Run from the project root::

    .venv/bin/python bench/bench_whole_run_cpu.py --requests 1024 --concurrency 256

It prints Markdown: the command, the load average before and after, and | client | CPU ms /
request | x bare | start-up CPU s | wall s | server span s | span x bare | of ideal |. With
``--repeat N`` the clients take turns N times; each figure is the median of the N runs', and each
"x bare" the median of the N turns' own ratios, with their range. "of ideal" is the ideal
span (requests / concurrency rounds of ``--latency`` each) over the measured one: the share of
the ideal throughput that client reached at that concurrency.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import resource
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import aiohttp
from aiohttp import web

MODEL = "gpt-4o-mini"
PROMPT_TOKENS_IN, PROMPT_TOKENS_OUT = 20, 8
ANSWER = {
    "id": "chatcmpl-bench",
    "object": "chat.completion",
    "created": 0,
    "model": MODEL,
    "choices": [
        {
            "index": 0,
            "message": {"role": "assistant", "content": "one two three four five six seven"},
            "finish_reason": "stop",
        }
    ],
    "usage": {"prompt_tokens": 20, "completion_tokens": 8, "total_tokens": 28},
}


def _raise_fd_limit() -> None:
    # Hundreds of connections need as many sockets on each side; 1024 is a common soft limit.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and (hard == resource.RLIM_INFINITY or soft < hard):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def _serve(latency_s: float) -> None:
    """The child process: the mock server; prints its base URL when ready."""
    body = json.dumps(ANSWER).encode()
    span: dict[str, float] = {}

    async def chat(request: web.Request) -> web.Response:
        span.setdefault("first_in", time.monotonic())
        await request.read()
        await asyncio.sleep(latency_s)
        span["last_out"] = time.monotonic()
        return web.Response(body=body, content_type="application/json")

    async def models(_: web.Request) -> web.Response:
        return web.json_response({"object": "list", "data": [{"id": MODEL, "object": "model"}]})

    async def stats(_: web.Request) -> web.Response:
        """The span since the last call, then reset: one run's figure per call."""
        measured = span.get("last_out", 0.0) - span.get("first_in", 0.0)
        span.clear()
        return web.json_response({"span_s": measured})

    async def main() -> None:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", chat)
        app.router.add_get("/v1/models", models)
        app.router.add_get("/stats", stats)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0, backlog=4096)
        await site.start()
        port = runner.addresses[0][1]
        print(f"http://127.0.0.1:{port}/v1", flush=True)
        await asyncio.Event().wait()

    asyncio.run(main())


async def _bare(base_url: str, total: int, concurrency: int) -> None:
    """The child process of the bare loop: the floor any Python client pays."""
    url = f"{base_url}/chat/completions"
    headers = {"Authorization": "Bearer sk-test", "Content-Type": "application/json"}
    words = " ".join(["hello"] * PROMPT_TOKENS_IN)
    request = {
        "model": MODEL,
        "messages": [{"role": "user", "content": words}],
        "max_tokens": PROMPT_TOKENS_OUT,
    }
    remaining = total
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector, headers=headers) as session:

        async def worker() -> None:
            nonlocal remaining
            while remaining > 0:
                remaining -= 1
                async with session.post(url, data=json.dumps(request).encode()) as response:
                    json.loads(await response.read())
                if response.status != 200:
                    raise RuntimeError(f"unexpected status {response.status}")

        await asyncio.gather(*(worker() for _ in range(concurrency)))


@dataclass(frozen=True)
class Measured:
    cpu_s: float
    wall_s: float
    span_s: float


def _command(client: str, base_url: str, total: int, concurrency: int, out: Path) -> list[str]:
    if client == "bare":
        return [sys.executable, __file__, "--bare", base_url, str(total), str(concurrency)]
    spec = f"synthetic:{total}:{PROMPT_TOKENS_IN}:{PROMPT_TOKENS_OUT}"
    return [
        *(sys.executable, "-m", "llmsweep", "run", spec, "--model", MODEL),
        *("--client", client, "--concurrency", str(concurrency), "--base-url", base_url),
        *("--price-in", "0", "--price-out", "0", "--out", str(out), "--force"),
        *("--max-tokens", str(PROMPT_TOKENS_OUT), "--max-retries", "0"),
    ]


def _measure(command: list[str], base_url: str) -> Measured:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    began = time.perf_counter()
    env = {**os.environ, "OPENAI_API_KEY": "sk-test"}
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    wall_s = time.perf_counter() - began
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{shlex.join(command)} exited {done.returncode}:\n{done.stderr}")
    root = base_url.removesuffix("/v1")
    with urllib.request.urlopen(f"{root}/stats") as response:
        span_s = float(json.loads(response.read())["span_s"])
    cpu_s = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return Measured(cpu_s, wall_s, span_s)


def _table(args: argparse.Namespace, runs: dict[str, dict[int, list[Measured]]]) -> list[str]:
    """Each figure is the median over the repeats; a ratio to the bare loop is the median of
    each repeat's own ratio (the clients of one repeat run back to back, so a change of load
    between repeats moves both sides of a ratio alike), with its range over the repeats."""

    def median(client: str, total: int, field: str) -> float:
        values: list[float] = [getattr(m, field) for m in runs[client][total]]
        return statistics.median(values)

    def per_request_ms(client: str) -> list[float]:
        """Each repeat's CPU per request, less the 1-request runs' median (start-up): one run's
        start-up CPU varies by a few tenths of a second, a third of the figure at 1024."""
        start_up_s = median(client, 1, "cpu_s")
        return [
            (big.cpu_s - start_up_s) / (args.requests - 1) * 1000
            for big in runs[client][args.requests]
        ]

    def ratios(client: str, values: Callable[[str], list[float]], digits: int = 2) -> str:
        each = [mine / bare for mine, bare in zip(values(client), values("bare"), strict=True)]
        spread = f" ({min(each):.{digits}f}-{max(each):.{digits}f})" if len(each) > 1 else ""
        return f"{statistics.median(each):.{digits}f}{spread}"

    def spans(client: str) -> list[float]:
        return [m.span_s for m in runs[client][args.requests]]

    # The span a client that adds nothing would give: each of its concurrent slots answered
    # back to back, ``latency`` each.
    ideal_span = math.ceil(args.requests / args.concurrency) * args.latency
    lines = [
        "| client | CPU ms / request | x bare | start-up CPU s | wall s | server span s "
        "| span x bare | of ideal |",
        "|---|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for client, name in NAMES.items():
        ms, span = statistics.median(per_request_ms(client)), statistics.median(spans(client))
        lines.append(
            f"| {name} | {ms:.3f} | {ratios(client, per_request_ms)} | "
            f"{median(client, 1, 'cpu_s'):.2f} | {median(client, args.requests, 'wall_s'):.2f} | "
            f"{span:.3f} | {ratios(client, spans, 3)} | {ideal_span / span:.2f} |"
        )
    return lines


def _load(load: tuple[float, float, float]) -> str:
    return " / ".join(f"{value:.2f}" for value in load)


NAMES = {
    "bare": "bare aiohttp loop",
    "http": "`llmsweep run --client http`",
    "openai": "`llmsweep run --client openai`",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1024)
    parser.add_argument("--concurrency", type=int, default=256)
    parser.add_argument("--latency", type=float, default=1.0, help="server seconds per answer")
    parser.add_argument("--repeat", type=int, default=1, help="runs per client; median reported")
    parser.add_argument("--clients", default="http,openai", help="llmsweep clients to measure")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--bare", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    _raise_fd_limit()
    if args.serve:
        _serve(args.latency)
        return
    if args.bare:
        asyncio.run(_bare(args.bare[0], int(args.bare[1]), int(args.bare[2])))
        return
    if args.requests < 2:
        raise SystemExit("--requests must be at least 2 (one run of 1 is subtracted)")
    for name in list(NAMES):
        if name != "bare" and name not in args.clients.split(","):
            del NAMES[name]
    server = subprocess.Popen(
        [sys.executable, __file__, "--serve", "--latency", str(args.latency)],
        stdout=subprocess.PIPE,
        text=True,
    )
    runs: dict[str, dict[int, list[Measured]]] = {c: {1: [], args.requests: []} for c in NAMES}
    load = os.getloadavg()
    try:
        assert server.stdout is not None
        base_url = server.stdout.readline().strip()
        if not base_url:
            raise SystemExit("the mock server did not start")
        with tempfile.TemporaryDirectory() as tmp:
            for _ in range(args.repeat):  # clients take turns: load from elsewhere hits all alike
                for client in NAMES:
                    for total in (1, args.requests):
                        out = Path(tmp) / f"{client}.jsonl"
                        command = _command(client, base_url, total, args.concurrency, out)
                        runs[client][total].append(_measure(command, base_url))
    finally:
        server.terminate()
        server.wait(timeout=10)
    shown = shlex.join([".venv/bin/python", "bench/bench_whole_run_cpu.py", *sys.argv[1:]])
    print(f"### Whole-run CPU per request\n\n`{shown}`\n")
    print(
        f"Mock server (plain aiohttp) in a child process, fixed {args.latency:g} s per answer; "
        f"{args.requests} requests at concurrency {args.concurrency}, each client in a fresh "
        f"process; CPU = the child's user + sys, minus the 1-request runs' median (start-up); "
        f"median of {args.repeat} run(s), taking turns; a ratio is the median of each turn's own "
        f"(its range in brackets). Load average (1 / 5 / 15 min) before: {_load(load)}, "
        f"after: {_load(os.getloadavg())}; {os.cpu_count()} cores.\n"
    )
    print("\n".join(_table(args, runs)))


if __name__ == "__main__":
    main()
