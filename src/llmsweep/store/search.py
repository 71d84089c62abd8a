"""A ``--search`` sweep's trace, ``search.json``: every probe, in the order the search ran it.

Typed and versioned like ``meta.json``: a file of another schema is refused, never read wrongly.
The search writes it afresh after every round, so a stopped search leaves its last probe in it;
a resumed one writes it afresh from its first probe.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from llmsweep.errors import InputError
from llmsweep.store.atomic import write_atomic

SEARCH_SCHEMA_VERSION = 2  # 2: prompts_reused


@dataclass(frozen=True)
class SearchStep:
    """One probe: a level of one model, its rounds, what it measured and why the search moved
    on. Throughput and speedup are means over the rounds with their 95% interval's ends."""

    model: str
    level: int
    rounds: int
    prompts_per_round: int  # the first this many prompts of the set, every round
    throughput_rps: float
    throughput_rps_low: float | None  # None with fewer than two rounds
    throughput_rps_high: float | None
    speedup: float | None  # like for like vs concurrency 1; None: not comparable
    reason: str  # why the search moved on from here (or stopped)
    # Of the prompts sent, those an earlier session sent: --resume reused their records.
    prompts_reused: int = 0

    @property
    def prompts_sent(self) -> int:
        return self.rounds * self.prompts_per_round


def write_search(path: Path, steps: list[SearchStep]) -> None:
    data = {"schema_version": SEARCH_SCHEMA_VERSION, "steps": [asdict(step) for step in steps]}
    write_atomic(path, json.dumps(data, indent=2, sort_keys=True) + "\n")


def read_search(path: Path) -> list[SearchStep] | None:
    """The trace at ``path``; None when there is none (a grid sweep)."""
    try:
        data = json.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as error:
        raise InputError(str(path), f"unreadable ({error})") from None
    version = data.get("schema_version") if isinstance(data, dict) else None
    if version != SEARCH_SCHEMA_VERSION:
        raise InputError(
            str(path),
            f"written with search-trace schema {version}; this llmsweep reads schema "
            f"{SEARCH_SCHEMA_VERSION}: rerun the sweep into a new --out-dir",
        )
    try:
        return [SearchStep(**step) for step in data["steps"]]
    except (KeyError, TypeError, AttributeError) as error:
        raise InputError(str(path), f"not a valid search trace ({error!r})") from None
