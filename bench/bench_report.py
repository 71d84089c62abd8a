"""What writing a sweep's report costs, phase by phase: `llmsweep report DIR` without start-up.

Each run is a fresh process (matplotlib's font and text caches start cold, as in a real run)
that re-renders a copy of DIR and times, in CPU seconds of that process: importing the report
writer (matplotlib with it), reading and analysing the records, building the chart figures,
saving each chart to PNG and to SVG, and everything else ``write_report`` writes (summary,
Markdown, HTML). CPU time rather than wall time, so other work on the machine inflates it
less. The median over ``--runs`` is reported. Run from the project root::

    .venv/bin/python bench/bench_report.py reports/example --runs 5
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matplotlib.figure import Figure

PHASES = ("import", "analyse", "build charts", "PNG", "SVG", "rest of the report", "total")


def _one_run(folder: Path) -> dict[str, float]:
    """The phases' CPU seconds for one re-render of ``folder`` (in this process)."""
    began = time.process_time()
    from llmsweep.analysis.result import analyse
    from llmsweep.report import writer
    from llmsweep.report.charts import base, performance
    from llmsweep.store.sweepdir import SweepFolder

    spent = dict.fromkeys(PHASES, 0.0)
    spent["import"] = time.process_time() - began
    build, save = performance.build_charts, base.figure_bytes

    def timed_build(*args: Any, **kwargs: Any) -> dict[str, Figure]:
        start = time.process_time()
        figures = build(*args, **kwargs)
        spent["build charts"] += time.process_time() - start
        return figures

    def timed_save(figure: Figure, fmt: str) -> bytes:
        start = time.process_time()
        data = save(figure, fmt)
        spent[fmt.upper()] += time.process_time() - start
        return data

    # The writer's own names for them, so write_report calls the timed ones.
    vars(writer).update(build_charts=timed_build, figure_bytes=timed_save)
    start = time.process_time()
    result = analyse(SweepFolder(folder).read())
    spent["analyse"] = time.process_time() - start
    start = time.process_time()
    writer.write_report(folder, result)
    charts = spent["build charts"] + spent["PNG"] + spent["SVG"]
    spent["rest of the report"] = time.process_time() - start - charts
    spent["total"] = time.process_time() - began
    return spent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, help="a sweep's folder, e.g. reports/example")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(_one_run(args.folder)))
        return
    runs: list[dict[str, float]] = []
    with tempfile.TemporaryDirectory(prefix="bench-report-") as work:
        copy = Path(work) / "sweep"
        shutil.copytree(args.folder, copy)
        for _ in range(args.runs):
            child = [sys.executable, __file__, str(copy), "--child"]
            out = subprocess.run(child, capture_output=True, text=True, check=True).stdout
            runs.append(json.loads(out))
    print(f"| phase | CPU s, median of {args.runs} runs | min | max |")
    print("|---|--:|--:|--:|")
    for phase in PHASES:
        values = [run[phase] for run in runs]
        median = statistics.median(values)
        print(f"| {phase} | {median:.2f} | {min(values):.2f} | {max(values):.2f} |")


if __name__ == "__main__":
    main()
