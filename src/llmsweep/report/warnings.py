"""Warnings about a whole sweep, not one model: simulated target, too few prompts or repeats,
estimated usage, missing prices, and a sweep that did not finish (pure)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from llmsweep.analysis.levels import LevelSummary
from llmsweep.store.meta import SweepMeta

MIN_PROMPTS_PER_CELL = 20


def sweep_warnings(levels: Sequence[LevelSummary], meta: SweepMeta) -> list[str]:
    """Warnings about the whole run: simulated target, too few prompts or repeats, estimates."""
    warnings = []
    if meta.target.simulated:
        warnings.append(
            f"This is a {meta.target.label()}: timings come from the simulator's model of the "
            f"API, not the API; rerun against the real endpoint before relying on them."
        )
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
    if not levels:
        return warnings
    fewest = min(level.prompts_per_cell for level in levels)
    if fewest < MIN_PROMPTS_PER_CELL:
        warnings.append(
            f"Only {fewest} prompts per cell: tail percentiles and throughput are noisy; use "
            f"--sample or more prompts (at least {MIN_PROMPTS_PER_CELL})."
        )
    if max(level.repeats for level in levels) == 1:
        warnings.append(
            "Each level ran once, so run-to-run noise is unknown; add --repeats 3 to measure it."
        )
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
    fewer records than prompts x repeats: a sweep stopped early."""
    wanted = meta.prompt_count * meta.config.repeats
    have = {(level.model, level.concurrency): level.requests for level in levels}
    return [
        (model, level, have.get((model, level), 0), wanted)
        for model in meta.config.models
        for level in meta.config.levels
        if have.get((model, level), 0) < wanted
    ]
