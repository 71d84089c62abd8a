"""Both client paths against a server nobody here wrote: do they measure the same curve?

Runs ``llmsweep sweep`` twice against one OpenAI-compatible ``--base-url`` (e.g. llama.cpp's
``llama-server`` on loopback), once with ``--client http`` and once with ``--client openai``,
both streaming, over the same prompts and levels, interleaving ``--repeats`` rounds so that both
see the same server state. It reads each report's ``summary.json`` and prints Markdown: per
level the throughput of each client (median over rounds), their difference, the prompts each
needed to retry and the lean client's stale-connection re-sends, and how many cells each
client-bound self-check flagged. Never run from tests or CI (it needs a real server)::

    .venv/bin/python bench/bench_real_server.py --base-url http://127.0.0.1:8080/v1 \\
        --model tiny --levels 1,2,4,8,16 --slots 4

``--slots`` is the server's parallel slot count: beyond it the server, plainly, is the limit,
so a cell flagged client-bound there is a false positive of the self-check.
"""

from __future__ import annotations

import argparse
import json
import shlex
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

CLIENTS = ("http", "openai")


def sweep(args: argparse.Namespace, client: str, out_dir: Path) -> dict[str, Any]:
    """One sweep with ``client``; its summary.json."""
    command = [
        sys.executable, "-m", "llmsweep", "sweep", args.prompts,
        "--model", args.model, "--concurrency", args.levels, "--base-url", args.base_url,
        "--client", client, "--stream", "--max-tokens", str(args.max_tokens),
        "--price-in", "0", "--price-out", "0", "--yes", "--out-dir", str(out_dir),
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{shlex.join(command)} failed:\n{done.stderr}")
    summary: dict[str, Any] = json.loads((out_dir / "summary.json").read_text())
    return summary


def cells_by_level(summary: dict[str, Any]) -> dict[int, dict[str, Any]]:
    return {int(cell["concurrency"]): cell for cell in summary["cells"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--levels", default="1,2,4,8,16")
    parser.add_argument("--prompts", default="synthetic:32:120:48")
    parser.add_argument("--max-tokens", type=int, default=48)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--slots", type=int, required=True)
    args = parser.parse_args()
    rounds: dict[str, list[dict[int, dict[str, Any]]]] = {client: [] for client in CLIENTS}
    with tempfile.TemporaryDirectory() as scratch:
        for round_number in range(args.repeats):
            for client in CLIENTS:
                out_dir = Path(scratch) / f"{client}-{round_number}"
                rounds[client].append(cells_by_level(sweep(args, client, out_dir)))
    print(f"`{shlex.join(['.venv/bin/python', 'bench/bench_real_server.py', *sys.argv[1:]])}`\n")
    print(
        "| level | http req/s | openai req/s | difference | prompts retried http / openai "
        "| stale re-sends http | client-bound http / openai (of rounds) |"
    )
    print("|--:|--:|--:|--:|--:|--:|--:|")
    levels = sorted(rounds["http"][0])
    flagged = {client: 0 for client in CLIENTS}
    beyond_slots = 0
    for level in levels:
        rps = {c: statistics.median(r[level]["throughput_rps"] for r in rounds[c]) for c in CLIENTS}
        retried = {c: sum(r[level]["retried"] for r in rounds[c]) for c in CLIENTS}
        resends = sum(r[level]["stale_connection_resends"] for r in rounds["http"])
        bound = {c: sum(r[level]["client_bound"]["bound"] for r in rounds[c]) for c in CLIENTS}
        if level > args.slots:
            beyond_slots += args.repeats
            for client in CLIENTS:
                flagged[client] += bound[client]
        difference = (rps["openai"] - rps["http"]) / rps["http"]
        print(
            f"| {level} | {rps['http']:.2f} | {rps['openai']:.2f} | {difference:+.1%} "
            f"| {retried['http']} / {retried['openai']} | {resends} "
            f"| {bound['http']} / {bound['openai']} |"
        )
    for client in CLIENTS:
        share = flagged[client] / beyond_slots if beyond_slots else 0.0
        print(
            f"\n{client}: {flagged[client]} of {beyond_slots} cells beyond the server's "
            f"{args.slots} slots flagged client-bound (false-positive rate {share:.0%})."
        )


if __name__ == "__main__":
    main()
