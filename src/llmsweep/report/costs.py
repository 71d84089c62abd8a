"""The report's cost section: spend per model, what may have been billed besides, and how the
pre-run estimate and token count held (plain text; the renderers escape it)."""

from __future__ import annotations

from collections.abc import Sequence

from llmsweep.analysis.costs import MAX_LEVEL_COST_GAP, ModelCost
from llmsweep.analysis.recommend import format_pct
from llmsweep.cost.estimate import tokens_label
from llmsweep.cost.money import format_usd, sum_usd
from llmsweep.report.sections import DASH, Table
from llmsweep.store.meta import SweepMeta

_TIMES = "\N{MULTIPLICATION SIGN}"


def cost_intro(costs: Sequence[ModelCost], meta: SweepMeta) -> list[str]:
    """Why cost is per model, and the run's actual and possibly billed spend, kept apart."""
    # A rate sweep's cells are rates; a concurrency sweep's, levels: the same argument holds.
    level, load = ("rate", "the offered rate") if meta.config.rates else ("level", "concurrency")
    levels = (
        f"The simulator answers each prompt alike at every {level}, so every {level} of a model "
        "costs the same per prompt."
        if meta.target.simulated
        else f"{level.capitalize()}s of one model differ only as answers vary (a warning names "
        f"any {level} more than {format_pct(MAX_LEVEL_COST_GAP)} off its model's cost per "
        "prompt)."
    )
    actual = sum_usd(cost.cost_usd for cost in costs)
    billed = sum_usd(cost.possibly_billed_usd for cost in costs)
    attempts = sum(cost.possibly_billed_attempts for cost in costs)
    spend = f"Actual spend (from the usage the API reported): {format_usd(actual)}."
    if attempts:
        spend += (
            f" Possibly billed, apart from it: {format_usd(billed)} for {attempts} attempt(s) "
            "that timed out or were cut after the request went out, each priced at the pre-run "
            "input count plus the output that had arrived; whether they are charged is up to "
            "the provider (its usage page says)."
        )
    else:
        spend += " No attempt timed out or was cut after its request went out: nothing else "
        spend += "may have been billed."
    return [
        f"Cost per prompt does not depend on {load}: a request is billed for its own "
        "prompt and answer, however many run beside it, so cost is given per model, over all "
        f"its {level}s. {levels}",
        spend,
    ]


def cost_table(costs: Sequence[ModelCost]) -> Table:
    """Per model: spend, possibly billed, cost per 1k against the estimate, token counts."""
    headers = (
        "model",
        "succeeded prompts",
        "actual spend",
        "possibly billed (attempts)",
        "actual / 1k ok prompts",
        "estimate / 1k prompts",
        "estimate error",
        "pre-run input tokens",
        "input tokens: API / pre-run",
    )
    rows = []
    for cost in costs:
        actual, planned = cost.cost_per_1k_succeeded_usd, cost.estimate_per_1k_usd
        rows.append(
            (
                cost.model,
                str(cost.succeeded),
                format_usd(cost.cost_usd),
                f"{format_usd(cost.possibly_billed_usd)} ({cost.possibly_billed_attempts})",
                DASH if actual is None else format_usd(actual),
                DASH if planned is None else format_usd(planned),
                DASH if cost.estimate_error is None else f"{cost.estimate_error:+.0%}",
                DASH if cost.tokens_exact is None else tokens_label(cost.tokens_exact),
                DASH if cost.input_token_ratio is None else f"{cost.input_token_ratio:.2f}{_TIMES}",
            )
        )
    return Table(headers, tuple(rows))
