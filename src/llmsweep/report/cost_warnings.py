"""The warnings about cost: an estimate far off, attempts that may have been billed, levels
(or a rate sweep's rates) that cost differently; report/warnings.py lists them with the rest
(pure)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from llmsweep.analysis.costs import (
    MAX_ESTIMATE_ERROR,
    MAX_LEVEL_COST_GAP,
    ModelCost,
    level_cost_gaps,
    model_costs,
)
from llmsweep.analysis.levels import LevelSummary
from llmsweep.analysis.recommend import Spend, SpendT, format_pct
from llmsweep.analysis.stats import CellSummary
from llmsweep.cost.money import format_usd, sum_usd
from llmsweep.store.meta import SweepMeta


def cost_warnings(levels: Sequence[LevelSummary], meta: SweepMeta) -> list[str]:
    """An estimate off by more than ``MAX_ESTIMATE_ERROR``, attempts that may have been
    billed, and (on a real target) levels whose cost per prompt is off their model's."""
    return _cost_warnings(levels, meta, lambda level: f"{level.model} @ {level.concurrency}")


def rate_cost_warnings(cells: Sequence[CellSummary], meta: SweepMeta) -> list[str]:
    """``cost_warnings`` of an open-loop sweep (--rate), over its cells, each one rate."""
    rates = meta.config.rates
    return _cost_warnings(cells, meta, lambda cell: f"{cell.model} @ {rates[cell.repeat]:g} req/s")


def _cost_warnings(
    levels: Sequence[SpendT], meta: SweepMeta, name: Callable[[SpendT], str]
) -> list[str]:
    """``cost_warnings`` over levels or a rate sweep's cells; ``name`` says where one is."""
    costs = model_costs(levels, meta)
    warnings = [
        _estimate_off(cost, levels, meta)
        for cost in costs
        if cost.estimate_error is not None and abs(cost.estimate_error) > MAX_ESTIMATE_ERROR
    ]
    attempts = sum(cost.possibly_billed_attempts for cost in costs)
    level = "rate" if meta.config.rates else "level"
    if attempts:
        billed = format_usd(sum_usd(cost.possibly_billed_usd for cost in costs))
        warnings.append(
            f"{attempts} attempt(s) timed out or were cut after the request went out, so they "
            f"may have been billed ({billed}, apart from the actual spend): check the "
            "provider's usage page; if answers ran out of time, raise --timeout or lower the "
            f"{level}."
        )
    gaps = level_cost_gaps(levels) if not meta.target.simulated else []
    if gaps:
        parts = ", ".join(
            f"{name(level)} {format_usd(level_usd)} against "
            f"{format_usd(model_usd)} ({format_pct(float(level_usd / model_usd - 1))} off)"
            for level, level_usd, model_usd in gaps
        )
        load, more = (
            ("The offered rate", "prompts")
            if meta.config.rates
            else ("Concurrency", "--repeats or prompts")
        )
        warnings.append(
            f"Cost per 1k succeeded prompts differs by more than "
            f"{format_pct(MAX_LEVEL_COST_GAP)} from the model's at {parts}. {load} does "
            "not change what a request costs: the answers differed in length (or other "
            f"prompts succeeded). Compare models on their cost over all {level}s (Cost "
            f"section); add {more} to average answers out."
        )
    return warnings


def _estimate_off(cost: ModelCost, levels: Sequence[Spend], meta: SweepMeta) -> str:
    """The estimate missed by more than ``MAX_ESTIMATE_ERROR``: by how much, and what to do."""
    actual, planned = cost.cost_per_1k_succeeded_usd, cost.estimate_per_1k_usd
    assert cost.estimate_error is not None and actual is not None and planned is not None
    estimate = meta.estimates[cost.model]
    rows = [level for level in levels if level.model == cost.model]
    output = sum(level.output_tokens for level in rows) / max(1, cost.succeeded)
    if estimate.bound:
        advice = (
            "The estimate is a maximum (each answer at its max_tokens) and answers were "
            f"shorter: plan with `llmsweep estimate --output-tokens {output:.0f}` (this run's "
            "mean output a succeeded prompt)"
        )
    else:
        advice = (
            "Answers were not capped, so the estimate assumed their length: set --max-tokens "
            "to make it a maximum, or plan with `llmsweep estimate --output-tokens "
            f"{output:.0f}` (this run's mean output a succeeded prompt)"
        )
    ratio = cost.input_token_ratio
    if ratio is not None and abs(ratio - 1) > MAX_ESTIMATE_ERROR:
        advice += (
            f"; the API counted {ratio:.2f}\N{MULTIPLICATION SIGN} the input tokens counted "
            "before the run, so scale input costs by that"
        )
    return (
        f"{cost.model}: the actual cost, {format_usd(actual)} per 1k succeeded prompts, is "
        f"{cost.estimate_error:+.0%} off the pre-run estimate of {format_usd(planned)} "
        f"({estimate.basis}). {advice}."
    )
