"""Warnings about a whole sweep, not one model: simulated target, too few prompts or repeats,
estimated usage, missing prices, a sweep that did not finish, speedups that are measurement
errors; about cost (report/cost_warnings.py): an estimate far off, attempts that may have been
billed, levels that cost differently; and about cells: many retries, a server prompt cache
that differs between cells (pure)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence

from llmsweep.analysis.levels import LevelSummary
from llmsweep.analysis.recommend import format_pct
from llmsweep.analysis.speedup import MAX_SPEEDUP_PER_LEVEL, is_unfinished
from llmsweep.analysis.stats import CellSummary
from llmsweep.report.cost_warnings import cost_warnings, rate_cost_warnings
from llmsweep.store.meta import SimulatedAs, SweepMeta

MIN_PROMPTS_PER_CELL = 20
MAX_RETRY_RATE = 0.1  # of a cell's prompts; more means the numbers include many second tries
MAX_CACHED_SHARE_GAP = 0.2  # between cells of one model: beyond it they are not comparable


def sweep_warnings(levels: Sequence[LevelSummary], meta: SweepMeta) -> list[str]:
    """Warnings about the whole run: simulated target, too few prompts or repeats, estimates."""
    warnings = []
    if meta.target.simulated:
        warnings.append(
            f"This is a {meta.target.label()}: timings come from the simulator's model of the "
            f"API, not the API; rerun against the real endpoint before relying on them."
        )
    if generic := generic_profile_warning(meta.simulated_as):
        warnings.append(generic)
    unfinished = unfinished_levels(levels, meta)
    if unfinished:
        how = _RESUME_ADVICE.get(str(meta.stopped), _RESUME_ADVICE["interrupted"])
        parts = [
            f"{model} @ {level} ({f'{have} of {want} prompts' if have else 'not run'})"
            for model, level, have, want in unfinished
        ]
        warnings.append(
            f"The sweep did not finish: {', '.join(parts)}. {how}; prompts already done are not "
            "sent again. Until then each verdict covers only the levels that ran."
        )
    warnings += _speedup_errors(levels)
    if not levels:
        return warnings
    # The prompts each cell was to run, not what ran: a level stopped early has few because
    # it stopped (the warning above covers it), and --sample could only make them fewer.
    planned = meta.prompt_count
    if planned < MIN_PROMPTS_PER_CELL:
        how = "raise --sample or drop it" if meta.config.sample == planned else "add prompts"
        warnings.append(
            f"Only {planned} prompts per cell: tail percentiles and throughput are noisy; use "
            f"at least {MIN_PROMPTS_PER_CELL} ({how})."
        )
    if max(level.repeats for level in levels) == 1:
        warnings.append(
            "Each level ran once, so run-to-run noise is unknown; add --repeats 3 to measure it."
        )
    return warnings + _price_warnings(levels) + cost_warnings(levels, meta)


def _price_warnings(levels: Sequence[LevelSummary | CellSummary]) -> list[str]:
    """Token usage the API did not report, another model answering, models with no price: over
    levels, or a rate sweep's cells."""
    warnings = []
    estimated = sum(level.usage_estimated for level in levels)
    if estimated:
        warnings.append(
            f"{estimated} prompts got no token usage from the API; their tokens and cost are "
            f"local estimates, so treat those costs as approximate."
        )
    answered: dict[str, set[str]] = {}
    for level in levels:
        answered.setdefault(level.model, set()).update(level.other_models)
    warnings += [other_model_warning(m, names) for m, names in answered.items() if names]
    unpriced = sorted({level.model for level in levels if level.unpriced})
    if unpriced:
        warnings.append(
            f"No price was known for {', '.join(unpriced)}; those prompts count as $0, so supply "
            f"a price to compare costs."
        )
    return warnings


def rate_warnings(meta: SweepMeta, cells: Sequence[CellSummary]) -> list[str]:
    """An open-loop sweep's (--rate): the run-wide and cell warnings, then its own."""
    warnings = sweep_warnings([], meta) + cell_warnings(cells, meta.config.rates)
    if meta.stopped is not None:
        warnings.append(
            f"The sweep stopped early ({meta.stopped}): a rate with fewer records than prompts "
            "is greyed and never recommended. A rate sweep is not resumable: run it again with "
            "--force."
        )
    rates = meta.config.rates
    bound = [f"{c.model} @ {rates[c.repeat]:g} req/s" for c in cells if c.client_bound.bound]
    if bound:
        warnings.append(
            f"The client could not keep up at {', '.join(bound)} (Measurement harness): there "
            "its queueing and latency include this machine's own delay. Use --client http, a "
            "less busy machine, or lower rates."
        )
    if meta.prompt_count < MIN_PROMPTS_PER_CELL:
        warnings.append(
            f"Only {meta.prompt_count} prompts per rate: so few arrivals let the keep-up test "
            f"see only a large shortfall; use at least {MIN_PROMPTS_PER_CELL} (add prompts)."
        )
    return warnings + _price_warnings(cells) + rate_cost_warnings(cells, meta)


def generic_profile_warning(simulated_as: Mapping[str, SimulatedAs]) -> str | None:
    """Models the simulator knows neither by name nor by family (``SweepMeta.simulated_as``);
    None when there are none."""
    generic = {model: how.profile for model, how in simulated_as.items() if how.generic}
    if not generic:
        return None
    profiles = ", ".join(f"'{name}'" for name in sorted(set(generic.values())))
    whose = "its" if len(generic) == 1 else "their"
    return (
        f"The simulator has no profile for {', '.join(generic)} nor for {whose} family, so it "
        f"answered with its generic {profiles} profile: those timings and answer lengths say "
        "nothing about the model; give a profile with --sim-profile (a built-in name or a "
        ".toml file)."
    )


def other_model_warning(model: str, answered: Iterable[str]) -> str:
    """The server answered ``model``'s requests as another model (``Record.other_model``)."""
    return (
        f"Asked for {model}, the server answered as {', '.join(sorted(answered))}: {model}'s "
        "prices may not apply to it; give the real prices with --price-in/--price-out (or "
        "--price-file)."
    )


_RESUME_ADVICE = {
    "budget": "The --max-cost budget ran out: raise --max-cost and rerun the same command with "
    "--resume",
    "interrupted": "Rerun the same command with --resume to complete it",
    "auth": "The server rejected the API key: fix the key, then rerun the same command with "
    "--resume",
}


def unfinished_levels(
    levels: Sequence[LevelSummary], meta: SweepMeta
) -> list[tuple[str, int, int, int]]:
    """(model, level, prompts recorded, prompts wanted) for each configured level that has
    fewer records than prompts x repeats (analysis.speedup.is_unfinished): a sweep stopped
    early. A --search sweep plans no levels up front (its levels' own flags say it), and a
    --rate sweep's cells are rates, not levels (rate_warnings says when it stopped)."""
    if meta.config.search or meta.config.rates:
        return []
    wanted = meta.prompt_count * meta.config.repeats
    have = {(level.model, level.concurrency): level.requests for level in levels}
    return [
        (model, level, have.get((model, level), 0), wanted)
        for model in meta.config.models
        for level in meta.config.levels
        if is_unfinished(have.get((model, level), 0), wanted)
    ]


def _speedup_errors(levels: Sequence[LevelSummary]) -> list[str]:
    wrong = [level for level in levels if level.speedup_error is not None]
    if not wrong:
        return []
    parts = ", ".join(
        f"{level.model} @ {level.concurrency} ({level.speedup_error:.1f}\N{MULTIPLICATION SIGN})"
        for level in wrong
    )
    return [
        f"Speedup above {MAX_SPEEDUP_PER_LEVEL:g} x the level is a measurement error, not a "
        f"result: {parts}. Those levels are not compared or recommended. The concurrency-1 "
        "cell was probably slowed (a cold server or cache, other load): rerun with --repeats 3, "
        "and --unique-prompts if the server caches prompts."
    ]


def format_causes(causes: Mapping[str, int]) -> str:
    """Retry causes by count, most first: "connection 29, timeout 1"."""
    ranked = sorted(causes.items(), key=lambda item: (-item[1], item[0]))
    return ", ".join(f"{kind} {count}" for kind, count in ranked)


def cell_warnings(cells: Sequence[CellSummary], rates: Sequence[float] = ()) -> list[str]:
    """Warnings about cells: many retries, and a prompt cache that differs between cells.
    ``rates``: an open-loop sweep's (``config.rates``), whose cells are named by their rate."""
    warnings = []
    retried = [cell for cell in cells if cell.retry_rate > MAX_RETRY_RATE]
    if retried:
        causes: Counter[str] = Counter()
        for cell in retried:
            causes.update(cell.retry_causes)
        parts = ", ".join(
            f"{cell.model} @ {_cell_name(cell, rates, short=True)} ({format_pct(cell.retry_rate)})"
            for cell in retried
        )
        why = f", caused by {format_causes(causes)}" if causes else ""
        warnings.append(
            f"More than {format_pct(MAX_RETRY_RATE)} of prompts needed a retry at {parts}{why}: "
            "their timings include failed attempts and backoff. Lower the "
            f"{'rate' if rates else 'level'}; for rate_limited check the account's rate limits "
            "(--rpm/--tpm), for connection, timeout or server_error check the server and the "
            "network."
        )
    return warnings + _resends(cells) + _cache_gaps(cells, rates)


def _resends(cells: Sequence[CellSummary]) -> list[str]:
    """Requests sent again at once because the server had closed their pooled connection."""
    resent = [cell for cell in cells if cell.stale_connection_resends > 0]
    if not resent:
        return []
    total = sum(cell.stale_connection_resends for cell in resent)
    prompts = sum(cell.requests for cell in resent)
    return [
        f"The server closed pooled connections under {total} request(s) in {len(resent)} "
        f"cell(s) ({prompts} prompts): each went out again at once on another connection "
        "(not a retry, no backoff), so those timings include a reconnect. Servers that close "
        "every connection after an answer (llama.cpp's llama-server does) cost a connect per "
        "request; dropped connections also count here."
    ]


def _cache_gaps(cells: Sequence[CellSummary], rates: Sequence[float]) -> list[str]:
    warnings = []
    for model in sorted({cell.model for cell in cells}):
        shares = [
            (cell.cached_input_share, cell)
            for cell in cells
            if cell.model == model and cell.cached_input_share is not None
        ]
        if not shares:
            continue
        low, high = min(shares, key=lambda s: s[0]), max(shares, key=lambda s: s[0])
        if high[0] - low[0] > MAX_CACHED_SHARE_GAP:
            warnings.append(
                f"{model}: the server served {format_pct(high[0])} of input tokens from its "
                f"prompt cache at {_cell_name(high[1], rates)} but {format_pct(low[0])} at "
                f"{_cell_name(low[1], rates)}: the server's prompt cache makes these cells "
                "incomparable; rerun with --unique-prompts so no cell reuses another's prompts."
            )
    return warnings


def _cell_name(cell: CellSummary, rates: Sequence[float], *, short: bool = False) -> str:
    """A rate sweep's cell by its rate (its repeat is the rate's place in ``rates``, as
    ``report.rate.by_rate`` reads it); else by concurrency and repeat (``short``: "4 repeat 1")."""
    if rates:
        return f"{rates[cell.repeat]:g} req/s"
    return f"{'' if short else 'concurrency '}{cell.concurrency} repeat {cell.repeat + 1}"
