"""Start-up time: ``import llmsweep`` and the commands that should answer at once.

Each command runs ``--runs`` times in a fresh process, interleaved (one of each per round, so
that a burst of load on the machine touches every command alike), timed from start to exit.
Targets: ``import llmsweep`` under 0.3 s, ``llmsweep --help`` under 0.5 s and ``llmsweep
estimate`` of 20 prompts under 1.5 s (median; issue 14). Run from the project root::

    .venv/bin/python bench/bench_startup.py --runs 5

``--src DIR`` measures the llmsweep in DIR (another checkout's ``src``) with this environment's
libraries instead of the installed one: the "before" of a change. It prints Markdown: the
command and | command | runs | median s | min s | max s |.
"""

from __future__ import annotations

import argparse
import os
import shlex
import statistics
import subprocess
import sys
import time
from pathlib import Path

SCRIPT = str(Path(sys.executable).with_name("llmsweep"))  # the installed console script
COMMANDS: dict[str, list[str]] = {
    "llmsweep --help": [SCRIPT, "--help"],
    "llmsweep --version": [SCRIPT, "--version"],
    "python -c 'import llmsweep'": [sys.executable, "-c", "import llmsweep"],
    "llmsweep prices gpt-4o": [SCRIPT, "prices", "gpt-4o"],
    "llmsweep estimate (20 prompts)": [
        *(SCRIPT, "estimate", "synthetic:20:200:50", "--model", "gpt-4o-mini"),
    ],
}


def _run_s(command: list[str], env: dict[str, str]) -> float:
    began = time.perf_counter()
    subprocess.run(command, env=env, stdout=subprocess.DEVNULL, check=True)
    return time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs per command; median reported")
    parser.add_argument("--src", type=Path, help="measure the llmsweep package found in this dir")
    args = parser.parse_args()
    env = dict(os.environ)
    if args.src is not None:
        env["PYTHONPATH"] = str(args.src.resolve())
    for command in COMMANDS.values():  # once unmeasured: compiled bytecode, warm file cache
        _run_s(command, env)
    times: dict[str, list[float]] = {name: [] for name in COMMANDS}
    for _ in range(args.runs):
        for name, command in COMMANDS.items():
            times[name].append(_run_s(command, env))
    print(f"`{shlex.join(['.venv/bin/python', 'bench/bench_startup.py', *sys.argv[1:]])}`\n")
    print("| command | runs | median s | min s | max s |")
    print("|---|--:|--:|--:|--:|")
    for name, seconds in times.items():
        print(
            f"| `{name}` | {len(seconds)} | {statistics.median(seconds):.3f} "
            f"| {min(seconds):.3f} | {max(seconds):.3f} |"
        )


if __name__ == "__main__":
    main()
