"""One result struct that feeds every exporter (summary files, Markdown, HTML, charts, the
library API): a pure function of what a sweep's folder holds."""

from __future__ import annotations

from dataclasses import dataclass

from llmsweep.analysis.ceiling import limits_of
from llmsweep.analysis.levels import LevelSummary, summarize_levels
from llmsweep.analysis.recommend import Recommendation, recommend
from llmsweep.analysis.stats import CellSummary, summarize_cells
from llmsweep.store.meta import SweepMeta
from llmsweep.store.search import SearchStep
from llmsweep.store.sweepdir import SweepData


@dataclass(frozen=True)
class SweepResult:
    meta: SweepMeta
    cells: list[CellSummary]
    levels: list[LevelSummary]
    recommendations: list[Recommendation]
    search: tuple[SearchStep, ...] = ()  # a --search sweep's trace (store.search)

    @property
    def recommended(self) -> dict[str, int | None]:
        """The recommended concurrency per model (None where no level met the thresholds)."""
        return {rec.model: rec.level for rec in self.recommendations}


def analyse(data: SweepData) -> SweepResult:
    meta = data.meta
    if data.search is None:
        planned: int | dict[tuple[str, int], int] = meta.prompt_count
        repeats: int | None = meta.config.repeats
    else:  # each probe's own prompts per round; its rounds are as many as it needed
        planned = {(step.model, step.level): step.prompts_per_round for step in data.search}
        repeats = None
    cells = summarize_cells(data.records, limits_of(meta), data.harness, planned)
    levels = summarize_levels(cells, repeats)
    return SweepResult(
        data.meta,
        cells,
        levels,
        recommend(levels, client=data.meta.config.client),
        tuple(data.search or ()),
    )
