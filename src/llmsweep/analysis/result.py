"""One result struct that feeds every exporter (summary files, Markdown, HTML, charts, the
library API): a pure function of what a sweep's folder holds."""

from __future__ import annotations

from dataclasses import dataclass, field

from llmsweep.analysis.ceiling import limits_of, stated_limits
from llmsweep.analysis.costs import ModelCost, model_costs
from llmsweep.analysis.levels import LevelSummary, summarize_levels
from llmsweep.analysis.projection import Projection, project
from llmsweep.analysis.rate import (
    RateRecommendation,
    RateSummary,
    judge_rates,
    recommend_rates,
    summarize_rates,
)
from llmsweep.analysis.recommend import Recommendation, recommend
from llmsweep.analysis.slo import judge_levels
from llmsweep.analysis.stats import CellSummary, StatedLimits, stated_ceilings, summarize_cells
from llmsweep.store.meta import SweepMeta
from llmsweep.store.search import SearchStep
from llmsweep.store.sweepdir import SweepData


@dataclass(frozen=True)
class SweepResult:
    meta: SweepMeta
    cells: list[CellSummary]
    levels: list[LevelSummary]
    recommendations: list[Recommendation]
    costs: list[ModelCost]  # per model, over all its levels (analysis.costs)
    # Per model, the rate limits the API's headers stated and the ceiling they imply.
    stated_limits: list[StatedLimits] = field(default_factory=list)
    search: tuple[SearchStep, ...] = ()  # a --search sweep's trace (store.search)
    # An open-loop sweep's (--rate; analysis.rate): its ``levels`` and ``recommendations``
    # are then empty, since its cells are rates, not concurrency levels.
    rates: list[RateSummary] = field(default_factory=list)
    rate_recommendations: list[RateRecommendation] = field(default_factory=list)

    @property
    def recommended(self) -> dict[str, int | None]:
        """The recommended concurrency per model (None where no level met the thresholds)."""
        return {rec.model: rec.level for rec in self.recommendations}

    @property
    def projections(self) -> list[Projection]:
        """The whole job (``meta.job_size`` prompts) at each recommended level; empty without
        a job size."""
        return project(self.levels, self.recommendations, self.meta)


def analyse(data: SweepData) -> SweepResult:
    meta = data.meta
    if data.search is None:
        planned: int | dict[tuple[str, int], int] = meta.prompt_count
        repeats: int | None = meta.config.repeats
    else:  # each probe's own prompts per round; its rounds are as many as it needed
        planned = {(step.model, step.level): step.prompts_per_round for step in data.search}
        repeats = None
    stated = stated_limits(data.records)
    cells = summarize_cells(data.records, limits_of(meta), data.harness, planned, stated=stated)
    targets = meta.config.slo
    if meta.config.rates:
        rates = judge_rates(summarize_rates(cells, data.records, meta), targets)
        return SweepResult(
            meta,
            cells,
            [],
            [],
            model_costs(cells, meta),  # its cells are rates: they sum as levels do
            stated_ceilings(cells, stated),
            rates=rates,
            rate_recommendations=recommend_rates(rates, targets),
        )
    levels = judge_levels(summarize_levels(cells, repeats), targets)
    recommendations = recommend(levels, client=meta.config.client, slo=targets)
    return SweepResult(
        meta,
        cells,
        levels,
        recommendations,
        model_costs(levels, meta),
        stated_ceilings(cells, stated),
        tuple(data.search or ()),
    )
