"""Our engine against the usual ``asyncio.gather`` + semaphore + retry-3-times code, under a
server-side rate limit that binds.

Three runs of the same prompt set at the same concurrency, each against a fresh simulator in
its own process (fresh rate-limit buckets and counters, and its own core):

1. ``naive``: ``bench/naive.py``, the anti-pattern (gather over everything, a semaphore, retry
   any exception up to 3 times after 1, 2, 4 s, ``openai.AsyncOpenAI`` with ``max_retries=0``);
2. ``engine, client rpm/tpm = server's``: ``Runner`` with its limiters set to the server limit;
3. ``engine, no client limits``: ``Runner`` with no limiters of its own: it honours the hints of
   each 429 and, from the first one on, paces to the limits the server advertises.

429s and attempts come from the simulator's ``/stats`` (the server's count, not the client's
opinion); the clients' own counts are shown next to them as a cross-check. Run from the project
root (defaults shown; about 90 s here)::

    .venv/bin/python bench/bench_engine_vs_naive.py --prompts synthetic:300:200:100 \\
        --concurrency 32 --rpm 600 --tpm 150000 --profile demo --latency-scale 1 --seed 1
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import time
import urllib.request
from collections import Counter
from dataclasses import dataclass

from bench_memory import machine, shown, simulator
from llmsweep.engine.runner import Runner, RunSettings
from llmsweep.inputs.prompts import Prompt, load_prompts
from llmsweep.inputs.tokens import tokenizer_for
from llmsweep.store.records import Record
from llmsweep.transport import make_transport
from naive import run_naive

API_KEY = "sk-bench"  # the simulator only uses it to pick a rate-limit bucket


@dataclass
class Outcome:
    name: str
    wall_s: float
    succeeded: int
    failed: int
    client_attempts: int
    server: dict[str, object]  # the simulator's /stats after the run
    note: str

    @property
    def server_attempts(self) -> int:
        return int(str(self.server["requests"]))

    @property
    def server_429s(self) -> int:
        by_status = self.server["by_status"]
        assert isinstance(by_status, dict)
        return int(by_status.get("429", 0))


def server_stats(base_url: str) -> dict[str, object]:
    root = base_url.removesuffix("/v1")
    with urllib.request.urlopen(f"{root}/stats", timeout=5) as response:
        stats: dict[str, object] = json.loads(response.read())
    return stats


async def run_engine(
    prompts: list[Prompt], base_url: str, settings: RunSettings, seed: int
) -> tuple[float, int, int, int, str]:
    transport = make_transport(
        "openai",
        base_url=base_url,
        api_key=API_KEY,
        concurrency=settings.concurrency,
        timeout_s=settings.timeout_s,
    )
    runner = Runner(settings, transport, tokenizer_for(settings.model), rng=random.Random(seed))
    statuses: Counter[str] = Counter()
    attempts = 0
    gave_up: list[Record] = []
    started = time.perf_counter()
    try:
        async for record in runner.run(prompts):
            statuses[record.status] += 1
            attempts += record.attempts
            if not record.ok:
                gave_up.append(record)
    finally:
        wall_s = time.perf_counter() - started
        await transport.aclose()
    failed = {k: v for k, v in statuses.items() if k != "ok"}
    note = ""
    if gave_up:
        # How quickly the engine gave up says whether its retry budget matched the limit.
        tries = Counter(r.attempts for r in gave_up)
        note = (
            f"final failures by kind: {dict(sorted(failed.items()))}, after attempts "
            f"{dict(sorted(tries.items()))}, with a median of "
            f"{statistics.median(r.retry_wait_s for r in gave_up):.2f} s of backoff and "
            f"{statistics.median(r.total_s for r in gave_up):.2f} s from first attempt to "
            "giving up"
        )
    if attempts != runner.progress.attempts:  # records and live counters must agree
        note += f" (records say {attempts} attempts, counters {runner.progress.attempts})"
    return wall_s, statuses["ok"], sum(failed.values()), attempts, note


def ideal_wall_s(prompts: list[Prompt], model: str, rpm: int, tpm: int) -> float:
    """Fastest any client could finish under the server's limits, ignoring latency: the
    simulator's buckets start full with one second's worth, then refill at the rate."""
    tokenizer = tokenizer_for(model)
    charge = sum(tokenizer.count_chat(p.messages) + (p.max_tokens or 0) for p in prompts)
    by_tokens = max(0.0, charge - tpm / 60) / (tpm / 60)
    by_requests = max(0.0, len(prompts) - rpm / 60) / (rpm / 60)
    return max(by_tokens, by_requests)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prompts", default="synthetic:300:200:100")
    parser.add_argument("--model", default="gpt-4o-mini")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--rpm", type=int, default=600, help="server RPM (and client's, run 2)")
    parser.add_argument("--tpm", type=int, default=150_000, help="server TPM (and client's)")
    parser.add_argument("--profile", default="demo", help="simulator latency profile")
    parser.add_argument("--latency-scale", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=1, help="simulator, prompts and jitter")
    args = parser.parse_args()

    prompts = list(load_prompts(args.prompts, seed=args.seed))
    sim_args = [
        *("--rpm", str(args.rpm), "--tpm", str(args.tpm), "--profile", args.profile),
        *("--latency-scale", f"{args.latency_scale:g}", "--seed", str(args.seed)),
    ]
    outcomes: list[Outcome] = []
    sim_cmd = ""

    # Each contender gets a fresh simulator: /stats/reset would clear the counters but not the
    # rate-limit buckets, so a run would inherit the previous run's debt.
    print("run 1/3: naive ...", file=sys.stderr, flush=True)
    with simulator(sim_args) as (url, cmd):
        sim_cmd = shown(cmd)
        naive = asyncio.run(
            run_naive(
                prompts,
                base_url=url,
                api_key=API_KEY,
                model=args.model,
                concurrency=args.concurrency,
            )
        )
        note = f"failed attempts by exception: {dict(naive.errors.most_common())}"
        if naive.final_errors:
            note += f"; prompts given up on: {dict(naive.final_errors.most_common())}"
        outcomes.append(
            Outcome(
                "naive: gather + Semaphore + retry 3x (1, 2, 4 s)",
                naive.wall_s,
                naive.succeeded,
                naive.failed,
                naive.attempts,
                server_stats(url),
                note,
            )
        )

    engines = (
        ("engine, client rpm/tpm = server's", float(args.rpm), float(args.tpm)),
        ("engine, no client limits (paces to the limits a 429 advertises)", None, None),
    )
    for number, (name, rpm, tpm) in enumerate(engines, start=2):
        print(f"run {number}/3: {name} ...", file=sys.stderr, flush=True)
        settings = RunSettings(
            model=args.model, concurrency=args.concurrency, rpm=rpm, tpm=tpm, keep_text=False
        )
        with simulator(sim_args) as (url, _):
            wall_s, ok, failed, attempts, note = asyncio.run(
                run_engine(prompts, url, settings, args.seed)
            )
            outcomes.append(Outcome(name, wall_s, ok, failed, attempts, server_stats(url), note))

    ideal = ideal_wall_s(prompts, args.model, args.rpm, args.tpm)
    print("## Engine vs naive gather + semaphore (bench/bench_engine_vs_naive.py)\n")
    print(f"Command: `{shown([sys.executable, *sys.argv])}`  \nMachine: {machine()}\n")
    print(
        f"Same for every run: {len(prompts)} prompts `{args.prompts}` (seed {args.seed}), "
        f"model {args.model}, concurrency {args.concurrency}, a fresh simulator per run in its "
        f"own process: `{sim_cmd}`. Server limits RPM {args.rpm:,} and TPM {args.tpm:,} "
        "(TPM charges prompt + max_tokens up front). Fastest any client could finish under "
        f"those limits, ignoring latency: ≈{ideal:.1f} s.\n"
    )
    print(
        "| run | wall s | succeeded | failed | 429s (server) | attempts (server) "
        "| wasted attempts | ok prompts/s |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for o in outcomes:
        sent = f"{o.server_attempts:,}"
        if o.client_attempts != o.server_attempts:
            sent += f" (client counted {o.client_attempts:,})"
        print(
            f"| {o.name} | {o.wall_s:.1f} | {o.succeeded} | {o.failed} | {o.server_429s:,} "
            f"| {sent} | {o.server_attempts - o.succeeded:,} "
            f"| {o.succeeded / o.wall_s:.2f} |"
        )
    print()
    print(
        "- wasted attempts = attempts - prompts succeeded (every request that did not yield an "
        "answer we kept); 429s and attempts are the simulator's own counts (`GET /stats`)."
    )
    print(
        "- The naive client runs `openai.AsyncOpenAI(max_retries=0)`: with the SDK's default of "
        "2 internal retries each of its attempts could be up to 3 HTTP requests that its retry "
        "loop never sees, so its attempt count would hide traffic (the server count would not)."
    )
    for o in outcomes:
        rate_limited = o.server["rate_limited"]
        assert isinstance(rate_limited, dict)
        kinds = {k: v for k, v in rate_limited.items() if v}
        detail = f"429s by limit: {kinds or 'none'}"
        print(f"- {o.name}: {detail}" + (f"; {o.note}" if o.note else ""))


if __name__ == "__main__":
    main()
