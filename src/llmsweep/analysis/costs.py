"""What each model cost, against what was estimated (pure; issue 13).

A request's cost depends on its prompt and its answer, never on how many others ran beside it,
so cost is a per-model quantity: the levels of one model should cost the same per prompt, and
differ only as answers vary. Every figure here is per 1k succeeded prompts, as the verdict and
the cost chart show it (``analysis.recommend.model_cost_per_1k_usd``), and the pre-run estimate
per 1k prompts (``estimate_per_1k_usd``), which prices each prompt as if it succeeded.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from llmsweep.analysis.recommend import Spend, SpendT, levels_by_model, model_cost_per_1k_usd
from llmsweep.cost.money import per_1k_prompts_usd, sum_usd
from llmsweep.store.meta import SweepMeta

MAX_ESTIMATE_ERROR = 0.25  # actual vs estimate per prompt; past it the estimate misled
MAX_LEVEL_COST_GAP = 0.10  # a level's cost per prompt vs its model's, on a real target


@dataclass(frozen=True)
class ModelCost:
    """One model's spend over every level and repeat, and how its estimate held."""

    model: str
    prompts: int  # records over all its cells
    succeeded: int
    cost_usd: Decimal  # actual: from the usage the API reported (failed prompts' included)
    possibly_billed_usd: Decimal  # attempts that may have been billed, apart from cost_usd
    possibly_billed_attempts: int
    cost_per_1k_succeeded_usd: Decimal | None  # analysis.recommend.model_cost_per_1k_usd
    estimate_per_1k_usd: Decimal | None  # estimate_per_1k_usd
    estimate_error: float | None  # cost_per_1k_succeeded_usd / estimate_per_1k_usd - 1
    tokens_exact: bool | None  # whether the pre-run count used the model's own encoding
    # Server-reported input tokens / pre-run count, per prompt: the mean over succeeded
    # prompts with usage, over the estimate's mean over the prompt set.
    input_token_ratio: float | None


def estimate_per_1k_usd(meta: SweepMeta, model: str, batch: bool = False) -> Decimal | None:
    """The pre-run estimate per 1k prompts (at batch prices with ``batch``), if there is one."""
    estimate = meta.estimates.get(model)
    if estimate is None or estimate.prompts <= 0:
        return None
    total_usd = estimate.batch_total_cost_usd if batch else estimate.total_cost_usd
    return None if total_usd is None else per_1k_prompts_usd(total_usd, estimate.prompts)


def model_costs(levels: Sequence[Spend], meta: SweepMeta) -> list[ModelCost]:
    """One ``ModelCost`` per model with levels, in ``levels_by_model`` order. A rate sweep
    passes its cells: a level's counts and costs are its cells' totals, so either sums alike."""
    return [_model_cost(model, rows, meta) for model, rows in levels_by_model(levels).items()]


def _model_cost(model: str, rows: Sequence[Spend], meta: SweepMeta) -> ModelCost:
    actual = model_cost_per_1k_usd(rows)
    planned = estimate_per_1k_usd(meta, model)
    error = float(actual / planned) - 1.0 if actual is not None and planned else None
    estimate = meta.estimates.get(model)
    reported = sum(level.reported_prompts for level in rows)
    ratio = None
    if estimate is not None and estimate.input_tokens and reported:
        measured = sum(level.reported_input_tokens for level in rows) / reported
        ratio = measured / (estimate.input_tokens / estimate.prompts)
    return ModelCost(
        model=model,
        prompts=sum(level.requests for level in rows),
        succeeded=sum(level.succeeded for level in rows),
        cost_usd=sum_usd(level.cost_usd for level in rows),
        possibly_billed_usd=sum_usd(level.possibly_billed_usd for level in rows),
        possibly_billed_attempts=sum(level.possibly_billed_attempts for level in rows),
        cost_per_1k_succeeded_usd=actual,
        estimate_per_1k_usd=planned,
        estimate_error=error,
        tokens_exact=estimate.tokens_exact if estimate is not None else None,
        input_token_ratio=ratio,
    )


def level_cost_gaps(levels: Sequence[SpendT]) -> list[tuple[SpendT, Decimal, Decimal]]:
    """(level or a rate sweep's cell, its cost per 1k succeeded prompts, its model's) where the
    two differ by more than ``MAX_LEVEL_COST_GAP`` of the model's."""
    gaps = []
    for rows in levels_by_model(levels).values():
        model_usd = model_cost_per_1k_usd(rows)
        if not model_usd:
            continue
        for level in rows:
            level_usd = model_cost_per_1k_usd([level])
            if level_usd is not None and abs(level_usd / model_usd - 1) > MAX_LEVEL_COST_GAP:
                gaps.append((level, level_usd, model_usd))
    return gaps
