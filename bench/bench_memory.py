"""Does ``llmsweep run``'s peak memory grow with the number of prompts?

For each N it starts a fresh zero-latency simulator in its own process (``llmsweep simulate
--latency-scale 0 --profile fixed``), runs ``llmsweep run synthetic:N:20:5`` as a second child
process pointed at it with ``--base-url``, and measures that run process only:

* peak RSS: ``ru_maxrss`` from ``os.wait4`` on the run's own pid (``RUSAGE_CHILDREN`` would mix
  in the simulator, which is also our child);
* VmHWM when the first request reached the simulator: the peak of start-up plus the passes
  over the whole prompt set (``plan_run``'s validation, the cost estimate) before sending;
* VmRSS (sampled every 0.1 s) once 10% and once 90% of the prompts had reached the simulator:
  the difference per prompt is what the sending phase itself accumulates;
* the records file's size, i.e. what the records themselves weigh.

Run from the project root::

    .venv/bin/python bench/bench_memory.py                      # N = 10,000 and 100,000
    .venv/bin/python bench/bench_memory.py --n 1000000          # ~30 min here: SDK-bound
    .venv/bin/python bench/bench_memory.py --n 10000,100000,1000000 --client http
    .venv/bin/python bench/bench_memory.py --explain 200000     # attribute growth (tracemalloc)

``--explain N`` runs the suspects in this process under ``tracemalloc`` instead: the transient
memory of ``jobs.plan_run`` over N prompts; then a shorter run of ``llmsweep run``'s own path
(plan, Runner, progress bar, execute_run) against a simulator child, with snapshots at 20% and
90% of the records (what sending accumulates per record) and after it (what a finished run still
holds). It prints where the bytes were allocated. tracemalloc sees Python allocations only.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import os
import platform
import random
import re
import shlex
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from llmsweep.cli.progress import ProgressView
from llmsweep.engine.runner import Runner, RunSettings
from llmsweep.inputs.prompts import load_prompts
from llmsweep.inputs.tokens import tokenizer_for
from llmsweep.store.runfile import RunOutcome, execute_run, plan_run
from llmsweep.transport import make_transport

MODEL = "gpt-4o-mini"
IN_TOKENS = 20
OUT_TOKENS = 5
POLL_S = 0.1
READY = re.compile(r"serving (http://\S+/v1)")
MIB = 1024 * 1024


def machine() -> str:
    cpu = "unknown CPU"
    with contextlib.suppress(OSError), open("/proc/cpuinfo", encoding="utf-8") as handle:
        for line in handle:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    # nproc counts the CPUs this process may run on, which is what the children get too.
    cores = len(os.sched_getaffinity(0))
    return f"nproc {cores}, {cpu}, Python {platform.python_version()} ({sys.executable})"


def python_cmd() -> list[str]:
    # Same interpreter as this script: the venv's, so the children run the installed package.
    return [sys.executable, "-m", "llmsweep"]


def shown(cmd: list[str]) -> str:
    # Print commands as a user would type them, with the venv's binary, not an absolute path.
    parts = [".venv/bin/python" if part == sys.executable else part for part in cmd]
    return shlex.join(parts)


def _drain(stream: IO[str], tail: list[str]) -> None:
    # Keep reading the child's stderr so it can never block on a full pipe; keep the last lines
    # for an error message.
    for line in stream:
        tail.append(line)
        del tail[:-20]


@contextlib.contextmanager
def simulator(extra: list[str]) -> Iterator[tuple[str, list[str]]]:
    """A simulator in its own process (own core, own memory); yields its base URL and command."""
    cmd = [*python_cmd(), "simulate", "--port", "0", *extra]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stderr is not None
        tail: list[str] = []
        url = None
        for line in proc.stderr:
            tail.append(line)
            found = READY.search(line)
            if found:
                url = found.group(1)
                break
        if url is None:
            raise SystemExit("the simulator did not start:\n" + "".join(tail))
        threading.Thread(target=_drain, args=(proc.stderr, tail), daemon=True).start()
        yield url, cmd
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def sim_requests(base_url: str) -> int:
    """Chat requests the simulator has received; 0 if it cannot say (e.g. it was killed: the
    run then fails its prompts and the table still reports what was measured)."""
    root = base_url.removesuffix("/v1")
    try:
        with urllib.request.urlopen(f"{root}/stats", timeout=5) as response:
            body = response.read().decode()
    except OSError:
        return 0
    found = re.search(r'"requests":\s*(\d+)', body)
    return int(found.group(1)) if found else 0


def proc_status_kib(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM of ``pid`` in KiB (empty once the process is gone)."""
    values: dict[str, int] = {}
    with contextlib.suppress(OSError), open(f"/proc/{pid}/status", encoding="utf-8") as handle:
        for line in handle:
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                values[key] = int(rest.split()[0])
    return values


@dataclass
class Measured:
    n: int
    concurrency: int
    command: str
    wall_s: float
    exit_code: int
    peak_rss_kib: int  # ru_maxrss of the run process
    hwm_at_first_request_kib: int | None
    # (requests the simulator had received, VmRSS KiB) sampled while sending: RSS growth between
    # 10% and 90% sent is what the sending phase itself accumulates per prompt.
    sending: list[tuple[int, int]]
    out_bytes: int
    records: int
    summary: str


def measure(n: int, concurrency: int, client: str, workdir: Path) -> Measured:
    out = workdir / f"run-{n}.jsonl"
    sim_args = ["--latency-scale", "0", "--profile", "fixed", "--seed", "1"]
    with simulator(sim_args) as (url, _):
        cmd = [
            *python_cmd(),
            "run",
            f"synthetic:{n}:{IN_TOKENS}:{OUT_TOKENS}",
            "--model",
            MODEL,
            "--concurrency",
            str(concurrency),
            "--client",
            client,
            "--base-url",
            url,
            "--out",
            str(out),
            "--force",
        ]
        # The CLI refuses to send without some key when a base URL is given; any value does.
        env = {**os.environ, "OPENAI_API_KEY": "sk-bench-dummy"}
        err_path = workdir / f"run-{n}.stderr"
        started = time.perf_counter()
        with err_path.open("w") as err:
            proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=err)
            hwm_first: int | None = None
            sending: list[tuple[int, int]] = []
            while True:
                # wait4 on this pid alone: its rusage is the run process's, not the simulator's.
                pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
                if pid:
                    break
                sample = proc_status_kib(proc.pid)
                if sample:
                    # Read *before* asking the simulator, so at most one poll interval of
                    # sending is included in the "before sending" peak.
                    sent = sim_requests(url)
                    if sent > 0:
                        if hwm_first is None:
                            hwm_first = sample["VmHWM"]
                        sending.append((sent, sample["VmRSS"]))
                time.sleep(POLL_S)
        proc.returncode = os.waitstatus_to_exitcode(status)
        wall_s = time.perf_counter() - started
    lines = err_path.read_text(errors="replace").splitlines()
    summary = " / ".join(
        line.strip().removeprefix("llmsweep: ")
        for line in lines
        if line.strip().startswith(("llmsweep: ok", "wall"))
    )
    out_bytes = records = 0
    if out.exists():
        out_bytes = out.stat().st_size
        with out.open("rb") as handle:
            records = sum(1 for _ in handle)
    out.unlink(missing_ok=True)  # 1M records are ~500 MB: do not leave them behind
    return Measured(
        n=n,
        concurrency=concurrency,
        command=shown(cmd).replace(url, "http://127.0.0.1:PORT/v1").replace(str(out), "OUT"),
        wall_s=wall_s,
        exit_code=proc.returncode,
        peak_rss_kib=usage.ru_maxrss,
        hwm_at_first_request_kib=hwm_first,
        sending=sending,
        out_bytes=out_bytes,
        records=records,
        summary=summary,
    )


def mib(kib: int | None) -> str:
    return "n/a" if kib is None else f"{kib / 1024:,.1f}"


def rss_at(m: Measured, fraction: float) -> tuple[int, int] | None:
    """The first (requests, RSS) sample once ``fraction`` of the prompts had been sent."""
    return next(((r, rss) for r, rss in m.sending if r >= fraction * m.n), None)


def table(results: list[Measured]) -> str:
    rows = [
        "| N prompts | wall s | exit | records | peak RSS MiB (ru_maxrss) "
        "| VmHWM at 1st request MiB | RSS at 10% sent MiB | RSS at 90% sent MiB "
        "| RSS growth while sending, bytes/prompt | output MiB | output bytes/record "
        "| peak RSS growth vs previous row, bytes/extra prompt |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    previous: Measured | None = None
    for m in results:
        growth = "—"
        if previous is not None and m.n > previous.n:
            extra = (m.peak_rss_kib - previous.peak_rss_kib) * 1024 / (m.n - previous.n)
            growth = f"{extra:,.0f}"
        per_record = m.out_bytes / m.records if m.records else 0.0
        early, late = rss_at(m, 0.1), rss_at(m, 0.9)
        slope = "n/a"
        if early is not None and late is not None and late[0] > early[0]:
            slope = f"{(late[1] - early[1]) * 1024 / (late[0] - early[0]):,.0f}"
        rows.append(
            f"| {m.n:,} | {m.wall_s:,.1f} | {m.exit_code} | {m.records:,} "
            f"| {mib(m.peak_rss_kib)} | {mib(m.hwm_at_first_request_kib)} "
            f"| {mib(early and early[1])} | {mib(late and late[1])} | {slope} "
            f"| {m.out_bytes / MIB:,.1f} | {per_record:,.0f} | {growth} |"
        )
        previous = m
    return "\n".join(rows)


# --- --explain: attribute the growth with tracemalloc, in this process ----------------------


def _without_tracemalloc(snapshot: tracemalloc.Snapshot) -> tracemalloc.Snapshot:
    # An earlier snapshot's own objects are traced too; they are the bench's, not the engine's.
    return snapshot.filter_traces([tracemalloc.Filter(False, tracemalloc.__file__)])


def _top(snapshot: tracemalloc.Snapshot, limit: int = 6) -> list[str]:
    lines = []
    for stat in _without_tracemalloc(snapshot).statistics("lineno")[:limit]:
        frame = stat.traceback[0]
        where = frame.filename.split("/src/")[-1].split("site-packages/")[-1]
        lines.append(
            f"  {stat.size / MIB:8.2f} MiB in {stat.count:>9,} blocks  {where}:{frame.lineno}"
        )
    return lines


def explain_plan(n: int, workdir: Path) -> list[str]:
    """Transient memory of ``plan_run``: everything it allocates and frees before returning."""
    spec = f"synthetic:{n}:{IN_TOKENS}:{OUT_TOKENS}"
    # plan_run may load the model's tokenizer (~23 MiB, cached for the process): load it first
    # so the figures below are the prompt set's, not a one-time cost.
    tokenizer_for(MODEL).count_text("warm up")
    gc.collect()
    tracemalloc.start()
    before, _ = tracemalloc.get_traced_memory()
    tracemalloc.reset_peak()
    started = time.perf_counter()
    plan = plan_run(spec, workdir / "plan.jsonl", model=MODEL, seed=0, resume=False, force=True)
    elapsed = time.perf_counter() - started
    after, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    # What the one structure plan_run builds over the whole set weighs, measured the same way:
    # the set of every prompt id, built here exactly as jobs.py builds it in plan_run.
    tracemalloc.start()
    base, _ = tracemalloc.get_traced_memory()
    ids = {prompt.id for prompt in load_prompts(spec, seed=0)}
    held, _ = tracemalloc.get_traced_memory()
    snapshot = tracemalloc.take_snapshot()
    tracemalloc.stop()
    lines = [
        f"plan_run over {n:,} prompts ({elapsed:.1f} s): traced peak {(peak - before) / MIB:,.1f} "
        f"MiB above start, {(after - before) / MIB:,.2f} MiB still held after it returned "
        f"(total={plan.total:,}).",
        f"jobs.plan_run's `ids = {{prompt.id for prompt in load_prompts(...)}}`, rebuilt here: "
        f"a set of all {len(ids):,} prompt ids alone holds {(held - base) / MIB:,.1f} MiB "
        f"({(held - base) / n:,.0f} bytes/prompt); allocated at:",
        *_top(snapshot, 3),
    ]
    del ids
    return lines


@dataclass
class _Checkpoint:
    records: int
    snapshot: tracemalloc.Snapshot


async def _run_in_process(
    base_url: str, n: int, concurrency: int, workdir: Path, checkpoints: list[_Checkpoint]
) -> RunOutcome:
    """``llmsweep run``'s path (plan, runner, progress bar, execute_run) in this process;
    with tracemalloc on, a snapshot is taken once 20% and once 90% of the records are in."""
    spec = f"synthetic:{n}:{IN_TOKENS}:{OUT_TOKENS}"
    out = workdir / "explain.jsonl"
    plan = plan_run(spec, out, model=MODEL, seed=0, resume=False, force=True)
    transport = make_transport(
        "openai",
        base_url=base_url,
        api_key="sk-bench-dummy",
        concurrency=concurrency,
        timeout_s=120.0,
    )
    runner = Runner(
        RunSettings(model=MODEL, concurrency=concurrency),
        transport,
        tokenizer_for(MODEL),
        rng=random.Random(0),
    )
    marks = {n // 5, n * 9 // 10}
    done = 0

    def on_record(view: ProgressView) -> None:
        nonlocal done
        view.update()
        done += 1
        if done in marks and tracemalloc.is_tracing():
            checkpoints.append(_Checkpoint(done, _without_tracemalloc(tracemalloc.take_snapshot())))

    try:
        # With the progress bar, as ``llmsweep run`` does, so nothing the CLI keeps is missed.
        with ProgressView() as view:
            view.track(f"{MODEL} c={concurrency}", plan.todo, runner.progress)
            return await execute_run(plan, runner, on_record=lambda _: on_record(view))
    finally:
        await transport.aclose()
        out.unlink(missing_ok=True)


def explain_run(n: int, concurrency: int, workdir: Path) -> list[str]:
    """What the sending phase accumulates per record, and what a finished run still holds."""
    sim_args = ["--latency-scale", "0", "--profile", "fixed", "--seed", "1"]
    checkpoints: list[_Checkpoint] = []
    with simulator(sim_args) as (url, _):
        # Warm up first (SDK imports, tokenizer, connection pool) so one-time allocations are
        # not charged to the records.
        asyncio.run(_run_in_process(url, 200, concurrency, workdir, []))
        gc.collect()
        tracemalloc.start()
        outcome = asyncio.run(_run_in_process(url, n, concurrency, workdir, checkpoints))
        lines = _growth(checkpoints)
        checkpoints.clear()  # the snapshots are ours: not part of what the run holds
        gc.collect()
        held, _ = tracemalloc.get_traced_memory()
        snapshot = tracemalloc.take_snapshot()
        tracemalloc.stop()
    lines += [
        f"After execute_run over {n:,} prompts, with only its RunOutcome alive "
        f"({outcome.done:,} records, {len(outcome.latencies_s):,} latencies kept): "
        f"{held / MIB:,.2f} MiB still traced = {held / n:,.1f} bytes/prompt; allocated at:",
        *_top(snapshot),
    ]
    return lines


def _growth(checkpoints: list[_Checkpoint]) -> list[str]:
    lines: list[str] = []
    if len(checkpoints) == 2:
        early, late = checkpoints
        between = late.records - early.records
        diffs = late.snapshot.compare_to(early.snapshot, "lineno")
        grown = sum(stat.size_diff for stat in diffs)
        lines += [
            f"While sending, from record {early.records:,} to {late.records:,}: traced Python "
            f"memory grew {grown / between:,.1f} bytes/record. Largest changes, by line:",
        ]
        for stat in diffs[:6]:
            frame = stat.traceback[0]
            where = frame.filename.split("/src/")[-1].split("site-packages/")[-1]
            lines.append(
                f"  {stat.size_diff / between:+8.1f} B/record ({stat.count_diff:+,} blocks)  "
                f"{where}:{frame.lineno}"
            )
        lines.append("")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--n",
        default="10000,100000",
        help="comma-separated prompt counts (default 10000,100000; 1000000 takes ~30 min)",
    )
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument(
        "--client", default="openai", help="llmsweep run --client (http: about 3x faster here)"
    )
    parser.add_argument(
        "--explain",
        type=int,
        metavar="N",
        help="instead: attribute memory growth with tracemalloc (plan_run at N prompts, "
        "a finished run at N/20 prompts, 1,000 to 20,000: tracemalloc makes it slow)",
    )
    args = parser.parse_args()
    command = shown([sys.executable, *sys.argv])
    with tempfile.TemporaryDirectory(prefix="llmsweep-bench-memory-") as tmp:
        workdir = Path(tmp)
        if args.explain:
            print("## Memory: where it grows (bench/bench_memory.py --explain)\n")
            print(f"Command: `{command}`  \nMachine: {machine()}\n")
            print("```")
            print("\n".join(explain_plan(args.explain, workdir)))
            print()
            # What a run retains is linear in N, so a fraction of N shows it at a fraction of
            # the time (tracemalloc slows every allocation).
            run_n = min(20_000, max(1_000, args.explain // 20))
            print("\n".join(explain_run(run_n, args.concurrency, workdir)))
            print("```")
            return
        sizes = [int(part.replace("_", "")) for part in args.n.split(",") if part.strip()]
        results = []
        for n in sizes:
            print(f"running N={n:,} ...", file=sys.stderr, flush=True)
            results.append(measure(n, args.concurrency, args.client, workdir))
            # A long series can be interrupted: keep what is measured so far on stderr.
            print(table(results).splitlines()[-1], file=sys.stderr, flush=True)
    print("## Memory: `llmsweep run` peak RSS against N (bench/bench_memory.py)\n")
    print(f"Command: `{command}`  \nMachine: {machine()}\n")
    sim = shown([*python_cmd(), "simulate", "--port", "0", "--latency-scale", "0"])
    print(
        f"Simulator (a fresh separate process per N): `{sim} --profile fixed --seed 1`; "
        f"prompts `synthetic:N:{IN_TOKENS}:{OUT_TOKENS}`, model {MODEL}, concurrency "
        f"{args.concurrency}, --client {args.client}, OPENAI_API_KEY=sk-bench-dummy. Only the "
        "run process is measured."
        "\n"
    )
    print(table(results))
    print()
    for m in results:
        print(f"- N={m.n:,}: `{m.command}` — {m.summary or 'no summary (see exit code)'}")


if __name__ == "__main__":
    main()
