"""A sweep's typed metadata and analysed result, for tests of analysis and report."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from decimal import Decimal
from typing import Any

from llmsweep.analysis.result import SweepResult, analyse
from llmsweep.settings import SweepConfig
from llmsweep.store.harness import HarnessMeasurement
from llmsweep.store.meta import SIMULATOR, ModelEstimate, SweepMeta, TargetInfo
from llmsweep.store.records import CellKey, Record
from llmsweep.store.sweepdir import SweepData


def make_estimate(model: str, total_usd: str, batch_usd: str | None, prompts: int) -> ModelEstimate:
    total = Decimal(total_usd)
    return ModelEstimate(
        model=model,
        prompts=prompts,
        input_tokens=100 * prompts,
        output_tokens=50 * prompts,
        input_cost_usd=total / 2,
        output_cost_usd=total / 2,
        total_cost_usd=total,
        cost_per_1k_prompts_usd=total * 1000 / prompts,
        batch_total_cost_usd=None if batch_usd is None else Decimal(batch_usd),
        tokens_exact=True,
        price_source="built-in table",
    )


def make_meta(
    *,
    models: Iterable[str] = ("gpt-4o",),
    levels: Iterable[int] = (1, 2, 4, 8),
    prompt_count: int = 20,
    target: TargetInfo | None = None,
    estimates: Mapping[str, ModelEstimate] | None = None,
    **config: Any,
) -> SweepMeta:
    """Metadata of a simulated sweep; ``config`` overrides SweepConfig fields."""
    return SweepMeta(
        config=SweepConfig(prompts="demo", models=tuple(models), levels=tuple(levels), **config),
        prompt_count=prompt_count,
        target=target or TargetInfo(SIMULATOR, "http://127.0.0.1:8123/v1", "gpt-4o", 0.05),
        price_source="built-in table",
        price_date="2025-01-01",
        estimates=dict(estimates or {}),
        created_at="2025-01-02T03:04:05Z",
        tool_version="0.1.0",
    )


def result_of(
    records: Iterable[Record],
    meta: SweepMeta | None = None,
    harness: Mapping[CellKey, HarnessMeasurement] | None = None,
) -> SweepResult:
    """What a report is rendered from, for these records."""
    return analyse(SweepData(meta or make_meta(), list(records), dict(harness or {})))


def with_config(meta: SweepMeta, **config: Any) -> SweepMeta:
    return replace(meta, config=replace(meta.config, **config))
