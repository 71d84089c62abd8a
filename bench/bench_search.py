"""``sweep --search`` against the full grid 1..256, on the built-in simulator.

Three cases at ``--latency-scale 0.1``: a rate limit of 1,200 RPM the client is told
(``--rpm 1200 --sim-rpm 1200``), the same limit known only to the server (``--sim-rpm 1200``:
the client paces itself after the first 429), and a capacity limit (a profile of gpt-4o-mini
serving 16 requests at a time). Each runs the real CLI twice
into a fresh folder, the grid (``--concurrency 1,2,4,...,256``) and ``--search``, and reads back
what each recommends (summary.json), that level's measured throughput, and what each sent
(records.jsonl: prompts, and attempts including retries after 429s). A search's probe sends a
few prompts per worker, so its own throughput reads low near the knee (the last requests of a
round finish with fewer in flight); the search's pick is therefore also run as the grid runs a
level, every prompt at once (``llmsweep run``, not counted in the search's requests), and that
is what is compared with the grid's pick. The bar (issue 15): the search picks the grid's level
or an adjacent one (within one doubling), with throughput within 10% of the grid's pick,
sending at most 40% of the grid's requests. Run from the project root::

    .venv/bin/python bench/bench_search.py

It prints Markdown: the commands, then one row per case.
"""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from llmsweep.analysis.stats import summarize_cells
from llmsweep.store.recordfile import read_records

GRID = "1,2,4,8,16,32,64,128,256"
CAPACITY_PROFILE = 'base = "gpt-4o-mini"\nname = "gpt-4o-mini-capacity-16"\ncapacity = 16\n'


@dataclass(frozen=True)
class Outcome:
    level: int | None
    throughput_rps: float | None
    prompts: int
    attempts: int
    wall_s: float  # the whole command, this machine's


def _validate(args: list[str], level: int, out: Path) -> float:
    """The search's pick measured as the grid measures a level: every prompt at that level
    (``llmsweep run``, the same target flags); its req/s by the one definition (a cell's)."""
    run = [args[0], "run", *args[2:], "--concurrency", str(level), "--out", str(out)]
    subprocess.run(run, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return summarize_cells(read_records(out).records)[0].throughput_rps


def _run(args: list[str], out: Path) -> Outcome:
    started = time.monotonic()
    subprocess.run([*args, "--out-dir", str(out)], check=True, stdout=subprocess.DEVNULL)
    wall_s = time.monotonic() - started
    summary = json.loads((out / "summary.json").read_text())
    model = next(iter(summary["recommended_concurrency"]))
    level = summary["recommended_concurrency"][model]
    rps = next(
        (row["throughput_rps"] for row in summary["levels"] if row["concurrency"] == level), None
    )
    records = [json.loads(line) for line in (out / "records.jsonl").read_text().splitlines()]
    attempts = sum(record["attempts"] for record in records)
    return Outcome(level, rps, len(records), attempts, wall_s)


def _adjacent(search: int | None, grid: int | None) -> bool:
    return search is not None and grid is not None and grid / 2 <= search <= grid * 2


def _row(case: str, grid: Outcome, search: Outcome, validated_rps: float | None) -> str:
    share = search.attempts / grid.attempts
    within = (
        abs(validated_rps / grid.throughput_rps - 1)
        if validated_rps and grid.throughput_rps
        else None
    )
    bar = (
        _adjacent(search.level, grid.level)
        and within is not None
        and within <= 0.1
        and share <= 0.4
    )
    gap = f"{within:.1%}" if within is not None else "n/a"
    return (
        f"| {case} | {grid.level} | {search.level} | {grid.throughput_rps or 0:.1f} | "
        f"{search.throughput_rps or 0:.1f} | {validated_rps or 0:.1f} | {gap} | "
        f"{grid.prompts} / {grid.attempts} | "
        f"{search.prompts} / {search.attempts} | {share:.0%} | {grid.wall_s:.0f} / "
        f"{search.wall_s:.0f} | {'met' if bar else 'missed'} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prompts", default="synthetic:256:150:200", help="prompt set")
    parser.add_argument("--model", default="gpt-4o-mini")
    parser.add_argument("--cases", default="1,2,3", help="which cases to run (1-based)")
    args = parser.parse_args()
    chosen = {int(number) - 1 for number in args.cases.split(",")}
    llmsweep = str(Path(sys.executable).with_name("llmsweep"))
    with tempfile.TemporaryDirectory() as tmp:
        profile = Path(tmp) / "capacity16.toml"
        profile.write_text(CAPACITY_PROFILE)
        base = [llmsweep, "sweep", args.prompts, "--model", args.model, "--client", "http"]
        base += ["--latency-scale", "0.1", "--force"]
        cases = {
            "rate limit, the client told (--rpm 1200 --sim-rpm 1200)": [
                "--rpm",
                "1200",
                "--sim-rpm",
                "1200",
            ],
            "rate limit, the server's only (--sim-rpm 1200)": ["--sim-rpm", "1200"],
            # --sim-rpm 0: no rate limit, or the gpt-4o-mini base's tier-1 500 RPM would bind first.
            "capacity limit (16 at a time)": ["--sim-profile", str(profile), "--sim-rpm", "0"],
        }
        rows, commands = [], []
        for index, (case, extra) in enumerate(cases.items()):
            if index not in chosen:
                continue
            grid_args = [*base, *extra, "--concurrency", GRID]
            search_args = [*base, *extra, "--search"]
            commands += [shlex.join(grid_args), shlex.join(search_args)]
            grid = _run(grid_args, Path(tmp) / f"grid{index}")
            search = _run(search_args, Path(tmp) / f"search{index}")
            validated = None
            if search.level is not None:
                check = Path(tmp) / f"check{index}.jsonl"
                validated = _validate([*base, *extra], search.level, check)
            rows.append(_row(case, grid, search, validated))
    print("```sh\n.venv/bin/python bench/bench_search.py\n# which runs:")
    print("\n".join(commands).replace(str(profile), "capacity16.toml") + "\n```\n")
    print(f"capacity16.toml: `{CAPACITY_PROFILE.strip().replace(chr(10), '; ')}`\n")
    print(
        "| case | grid pick | search pick | grid pick req/s | search pick req/s, the search's "
        "own | search pick req/s, all prompts | gap | grid prompts / attempts | search prompts "
        "/ attempts | search / grid attempts | wall s grid / search | bar |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
