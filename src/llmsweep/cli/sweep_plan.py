"""What ``llmsweep sweep`` says around the run: its plan before sending (prompts, estimated
cost, expected duration, asking first where it may bill), each cell's name on the progress line,
and how it stopped early."""

from __future__ import annotations

import sys

from llmsweep.analysis.formatting import format_duration
from llmsweep.analysis.search import top_level
from llmsweep.cli.app import err
from llmsweep.cli.options import CommonFlags
from llmsweep.cli.target import confirm_spending, say_profiles
from llmsweep.cost.estimate import cost_phrase
from llmsweep.errors import INTERRUPTED_EXIT, TargetError
from llmsweep.session.sweep import SweepPlan, expected_duration_s
from llmsweep.settings import SweepConfig
from llmsweep.store.records import CellKey


def cell_label(config: SweepConfig, cell: CellKey) -> str:
    model, level, repeat = cell
    offered_rps = config.offered_rps(cell)
    if offered_rps is not None:
        cells = config.cells()
        where = f"cell {cells.index(cell) + 1} of {len(cells)}"
        return f"{where}: {model} {offered_rps:g} req/s (at most {level} in flight)"
    if config.search:
        return f"search: {model} c={level} round {repeat + 1}"
    cells = config.cells()
    return f"cell {cells.index(cell) + 1} of {len(cells)}: {model} c={level} r{repeat + 1}"


_ARRIVALS = ", nor than each rate sends its prompts"


def _say_duration(plan: SweepPlan, common: CommonFlags) -> None:
    if plan.config.search:
        err("llmsweep: expected duration: unknown in advance (the search chooses its levels)")
        return
    if not common.target.simulated:
        err(
            "llmsweep: expected duration: unknown in advance for a real API (its latency is "
            "what the sweep measures); the progress line shows each cell's ETA, and the "
            "sweep's once its pace is measured"
        )
        return
    simulator = common.target.simulator
    say_profiles(common.target, plan.config.models)
    duration_s = expected_duration_s(plan, simulator)
    err(
        f"llmsweep: expected duration about {format_duration(duration_s)} (estimate: the simulator "
        f"profiles' median latency x latency scale {simulator.latency_scale:g}, requests "
        "in flight up to each level or the model's capacity, no faster than the rate-limit "
        f"ceiling{_ARRIVALS if plan.config.rates else ''}; no retries)"
    )


def confirm_sweep(plan: SweepPlan, common: CommonFlags, yes: bool) -> None:
    """Say what the sweep will send and cost; ask first when a target that may bill would
    (a local server too: it may be a proxy to a paid API)."""
    config = plan.config
    total = cost_phrase(plan.estimated_usd, bound=plan.estimate_bound)
    if config.rates:
        err(
            f"llmsweep: {len(plan.prompts)} prompts x {len(config.rates)} rates (open loop, at "
            f"most {config.max_concurrency} in flight) x {len(config.models)} model(s); "
            f"estimated cost {total}:"
        )
    elif config.search:
        err(
            f"llmsweep: search over {len(plan.prompts)} prompts x {len(config.models)} model(s), "
            f"at most {plan.search_requests} requests per model (up to concurrency "
            f"{top_level(config.max_concurrency, len(plan.prompts))}); estimated cost of that "
            f"most {total}:"
        )
    else:
        err(
            f"llmsweep: {len(plan.prompts)} prompts x {len(config.levels)} levels x "
            f"{config.repeats} repeat(s) x {len(config.models)} model(s); estimated cost {total}:"
        )
    for row in plan.estimates:
        usd = plan.model_usd(row)
        spending = cost_phrase(usd, bound=row.bound, basis=row.basis)
        err(f"llmsweep:   {row.model}: {spending}; prices: {row.price_source}")
    _say_duration(plan, common)
    if not common.target.simulated:
        confirm_spending(common.target, f"{total} (estimate)", yes)


def report_stop(stopped: str | None, resume_cmd: str) -> None:
    if stopped == "budget":
        err(
            "llmsweep: sweep stopped early (budget): --max-cost cannot cover one more prompt at "
            "its max tokens with every attempt it may make (1 + --max-retries) counted as "
            "billed; the report covers what finished. Raise --max-cost in:\n  "
            f"{resume_cmd}"
        )
    elif stopped is not None:
        err(
            f"llmsweep: sweep stopped early ({stopped}); the report covers what finished. "
            f"Continue with:\n  {resume_cmd}"
        )
        if stopped == "auth":
            raise TargetError("the server rejected the API key (HTTP 401/403)")
        if stopped == "interrupted":
            sys.exit(INTERRUPTED_EXIT)
