"""A sweep's fixed cost per cell: what each extra cell adds to a whole run beyond its own traffic.

Two whole ``llmsweep sweep`` runs on the built-in simulator with near-zero latency
(``--latency-scale 0.001``, no rate limit): one with 1 repeat, one with ``--repeats N``, both at
concurrency 1, each timed from start to exit in a fresh process. The overhead per extra cell is
the difference of the two runs' wall times, less the extra cells' own measured wall time (from
``summary.json``), divided by the number of extra cells: start-up, tokenizer, simulator start
and report writing are paid by both runs and cancel out. Each pair runs ``--runs`` times; the
median is reported. Target (issue 14): under 0.3 s per cell. Run from the project root::

    .venv/bin/python bench/bench_cell_overhead.py --repeats 41 --runs 3
"""

from __future__ import annotations

import argparse
import json
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SCRIPT = str(Path(sys.executable).with_name("llmsweep"))  # the installed console script


def _sweep(out_dir: Path, repeats: int, client: str) -> tuple[float, float]:
    """(the whole run's wall time, the sum of its cells' measured wall times), in seconds."""
    command = [SCRIPT, "sweep", "synthetic:8:20:5", "--model", "gpt-4o", "--concurrency", "1"]
    command += ["--repeats", str(repeats), "--latency-scale", "0.001", "--sim-rpm", "0"]
    command += ["--client", client, "--out-dir", str(out_dir), "--force"]
    began = time.perf_counter()
    subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    wall_s = time.perf_counter() - began
    cells = json.loads((out_dir / "summary.json").read_text())["cells"]
    return wall_s, sum(cell["wall_s"] for cell in cells)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=11, help="cells in the longer run")
    parser.add_argument("--runs", type=int, default=3, help="pairs of runs; median reported")
    parser.add_argument("--client", default="http", help="--client of both runs")
    args = parser.parse_args()
    extra = args.repeats - 1
    overheads_s: list[float] = []
    rows: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        for run in range(args.runs):
            one_s, one_cells_s = _sweep(Path(tmp) / f"one-{run}", 1, args.client)
            many_s, many_cells_s = _sweep(Path(tmp) / f"many-{run}", args.repeats, args.client)
            per_cell_s = (many_s - one_s - (many_cells_s - one_cells_s)) / extra
            overheads_s.append(per_cell_s)
            rows.append(
                f"| {run + 1} | {one_s:.2f} | {many_s:.2f} | {many_cells_s - one_cells_s:.3f} "
                f"| {per_cell_s:.3f} |"
            )
    print(f"`{shlex.join(['.venv/bin/python', 'bench/bench_cell_overhead.py', *sys.argv[1:]])}`\n")
    print(
        f"| run | 1 cell: wall s | {args.repeats} cells: wall s | extra cells' own wall s "
        "| overhead s per extra cell |"
    )
    print("|--:|--:|--:|--:|--:|")
    print("\n".join(rows))
    print(f"\nmedian overhead per cell: {statistics.median(overheads_s):.3f} s")


if __name__ == "__main__":
    main()
