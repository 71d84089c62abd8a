"""Fidelity of the measurement: does the client, not the server, set the speedup curve?

A fixed-latency simulator (every request takes ``--ttft`` seconds plus a few tokens, unlimited
capacity, no rate limits) runs in a child process, so an ideal client would scale perfectly:
speedup = level. For each client path (the SDK, ``openai``; the lean aiohttp one, ``http``) the
real engine runs ``--rounds`` x level prompts at each level inside ``measure_harness()``, after
opening its connections as the sweep does (``--cold`` skips that), and the table shows measured
speedup (throughput over the first level's), speedup / ideal, client CPU per request, loop-lag
and dispatch-lag p95, and how many runs the self-check flagged client-bound. Every cell runs
``--repeats`` times, interleaved; the table gives the median speedup / ideal and its range.
Run from the project root::

    .venv/bin/python bench/bench_fidelity.py --levels 1,8,64,256,1024

It prints Markdown: the command, the table, and the level where each client saturates (the
first level where the median speedup / ideal < 0.95).
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import shlex
import statistics
import subprocess
import sys
from dataclasses import dataclass, replace

from llmsweep.analysis.client_bound import client_bound
from llmsweep.analysis.stats import busy_s
from llmsweep.engine.factory import EngineFactory, harness_of
from llmsweep.engine.harness import measure_harness
from llmsweep.engine.runner import RunSettings
from llmsweep.inputs.prompts import load_prompts
from llmsweep.inputs.tokens import tokenizer_for
from llmsweep.percentile import percentile
from llmsweep.simulator import BUILTIN_PROFILES, SimulatorConfig, serve_forever
from llmsweep.store.harness import HarnessMeasurement

MODEL = "gpt-4o-mini"
SATURATED = 0.95  # speedup / ideal below this: the client no longer scales


def _raise_fd_limit() -> None:
    # A thousand connections need a thousand sockets on each side; 1024 is a common soft limit.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and (hard == resource.RLIM_INFINITY or soft < hard):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def _serve(ttft_s: float, tokens: int) -> None:
    """The child process: a fixed-latency simulator that prints its base URL when ready."""
    profile = replace(
        BUILTIN_PROFILES["fixed"],
        name="fidelity",
        ttft_median_s=ttft_s,
        ttft_p95_s=ttft_s,
        output_tokens_median=tokens,
        output_tokens_p95=tokens,
        output_tokens_per_s=1000.0,
        capacity=1_000_000,  # never the server's queue: only latency, which parallelism hides
    )
    serve_forever(
        SimulatorConfig(profile=profile),
        lambda messages, model: tokenizer_for(model).count_chat(messages),
        lambda url: print(url, flush=True),
    )


@dataclass(frozen=True)
class Cell:
    client: str
    level: int
    prompts: int
    ok: int
    latency_p50_s: float
    dispatch_lag_p95_s: float
    wall_s: float  # as the tool measures it: time with a request under way (stats.busy_s)
    harness: HarnessMeasurement  # this process's, or the worst worker's with --processes

    @property
    def throughput(self) -> float:
        return self.prompts / self.wall_s


async def _run_cell(
    base_url: str,
    client: str,
    level: int,
    count: int,
    tokens: int,
    processes: int,
    warm_up: bool = True,
) -> Cell:
    settings = RunSettings(MODEL, level, max_tokens=tokens, keep_text=False, timeout_s=60)
    engines = EngineFactory(client, base_url, "sk-bench", processes)
    items = list(load_prompts(f"synthetic:{count}:20:{tokens}", seed=level))
    async with engines.open(settings, seed=0, cost_fn=None) as engine:
        if warm_up:
            await engine.warm_up()  # as the sweep does before each cell
        async with measure_harness() as probe:
            records = [record async for record in engine.run(items)]
    measured = harness_of(engine, probe)
    return Cell(
        client=client,
        level=level,
        prompts=len(records),
        ok=sum(record.ok for record in records),
        latency_p50_s=percentile([record.latency_s for record in records], 50),
        dispatch_lag_p95_s=percentile([record.dispatch_lag_s or 0.0 for record in records], 95),
        wall_s=busy_s(records),
        harness=measured,
    )


Runs = dict[tuple[str, int], list[Cell]]  # (client, level) -> one cell per repeat


def _ratios(runs: Runs, client: str, level: int) -> list[float]:
    """Speedup / ideal of each repeat, against the median throughput of the client's first
    level."""
    first = min(lvl for c, lvl in runs if c == client)
    base = statistics.median(cell.throughput for cell in runs[(client, first)])
    return [cell.throughput / base / (level / first) for cell in runs[(client, level)]]


def _table(runs: Runs) -> list[str]:
    lines = [
        "| client | level | prompts | ok | wall s | speedup / ideal (min-max) | "
        "CPU ms / request | CPU share | loop-lag p95 ms | dispatch-lag p95 ms | latency p50 ms "
        "| client-bound |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|",
    ]
    for (client, level), cells in runs.items():
        ratios = _ratios(runs, client, level)
        # The figures of the median run (by wall time), so one row comes from one run.
        cell = sorted(cells, key=lambda c: c.wall_s)[len(cells) // 2]
        h = cell.harness
        flagged = sum(
            client_bound(c.harness, c.latency_p50_s, dispatch_lag_p95_s=c.dispatch_lag_p95_s)
            for c in cells
        )
        bound = f"{flagged}/{len(cells)}"
        lines.append(
            f"| {client} | {level} | {cell.prompts} | {cell.ok} | {cell.wall_s:.2f} | "
            f"{statistics.median(ratios):.3f} ({min(ratios):.2f}-{max(ratios):.2f}) | "
            f"{(h.cpu_s_per_request or 0) * 1000:.2f} | {h.cpu_share:.0%} | "
            f"{h.loop_lag.p95_s * 1000:.1f} | {cell.dispatch_lag_p95_s * 1000:.1f} | "
            f"{cell.latency_p50_s * 1000:.0f} | {f'**{bound}**' if flagged else bound} |"
        )
    return lines


def _saturation(runs: Runs, client: str) -> str:
    levels = sorted(level for c, level in runs if c == client)
    for level in levels:
        if statistics.median(_ratios(runs, client, level)) < SATURATED:
            return f"`{client}` saturates at level {level} (median speedup / ideal < {SATURATED})"
    return f"`{client}` does not saturate up to level {levels[-1]}"


async def _sweep(base_url: str, args: argparse.Namespace) -> Runs:
    clients = args.clients.split(",")
    for client in clients:  # first-use costs (imports, tokenizer) stay out of the first cell
        await _run_cell(base_url, client, 2, 4, args.tokens, 1)
    levels = sorted(int(text) for text in args.levels.split(","))
    runs: Runs = {(client, level): [] for client in clients for level in levels}
    for repeat in range(args.repeats):  # repeats interleaved: slow drifts hit every cell alike
        for client in clients:
            for level in levels:
                cell = await _run_cell(
                    base_url,
                    client,
                    level,
                    args.rounds * level,
                    args.tokens,
                    args.processes,
                    args.warm_up,
                )
                runs[(client, level)].append(cell)
                print(f"  {repeat + 1}: {client} @ {level}: {cell.wall_s:.2f} s", file=sys.stderr)
    return runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--levels", default="1,8,64,256,1024", help="concurrency levels")
    parser.add_argument("--rounds", type=int, default=4, help="prompts per level = rounds x level")
    parser.add_argument("--ttft", type=float, default=0.2, help="server seconds to first token")
    parser.add_argument("--tokens", type=int, default=5, help="output tokens per answer")
    parser.add_argument("--clients", default="openai,http", help="client paths to compare")
    parser.add_argument("--processes", type=int, default=1, help="worker processes per level")
    parser.add_argument("--repeats", type=int, default=3, help="runs of every cell")
    parser.add_argument(
        "--cold",
        dest="warm_up",
        action="store_false",
        help="do not open each cell's connections before timing (the sweep does)",
    )
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    _raise_fd_limit()
    if args.serve:
        _serve(args.ttft, args.tokens)
        return
    server = subprocess.Popen(
        [
            sys.executable,
            __file__,
            "--serve",
            "--ttft",
            str(args.ttft),
            "--tokens",
            str(args.tokens),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        base_url = server.stdout.readline().strip()
        if not base_url:
            raise SystemExit("the simulator did not start")
        runs = asyncio.run(_sweep(base_url, args))
    finally:
        server.terminate()
        server.wait(timeout=10)
    command = shlex.join([".venv/bin/python", "bench/bench_fidelity.py", *sys.argv[1:]])
    print(f"### Harness fidelity\n\n`{command}`\n")
    print(
        f"Simulator in a child process: fixed {args.ttft:g} s to first token + {args.tokens} "
        "tokens at 1000 tokens/s, unlimited capacity, no rate limits. Speedup = throughput over "
        "the first level's; ideal = level ratio; median of "
        f"{args.repeats} interleaved runs, with the range; other columns from the median run. "
        + ("Connections opened before each cell's clock.\n" if args.warm_up else "Cold starts.\n")
    )
    print("\n".join(_table(runs)))
    print()
    for client in args.clients.split(","):
        print(f"- {_saturation(runs, client)}")


if __name__ == "__main__":
    main()
