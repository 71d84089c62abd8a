"""Serialise sweep summaries: ``summary.json`` and ``summary.csv``, byte-stable for equal input.

Floats are written with 9 significant digits so the text does not depend on how a value was
summed; Decimals (money) are written as plain strings so no cent is lost to binary floats.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from llmsweep.analysis.interval import CI_METHOD
from llmsweep.analysis.projection import BATCH_WITHIN_H, PROJECTION_BASIS
from llmsweep.cost.money import sum_usd
from llmsweep.percentile import PERCENTILE_METHOD

if TYPE_CHECKING:
    from llmsweep.analysis.levels import LevelSummary
    from llmsweep.analysis.rate import RateSummary
    from llmsweep.analysis.result import SweepResult

# 2: like-for-like speedup, excluded levels, retries, cache. 3: stated_limits (the API's
# headers); per level slo_met and slo_misses (latency targets); possibly billed attempts per
# cell and level; "models": cost per model against the estimate; projection. 4: "mode",
# "rates" and "recommended_rate" (an open-loop sweep, --rate; empty and none otherwise). 5: per
# rate departure_span_s and departure_rps, keeps_up and keep_up_floor_rps judged on them
SUMMARY_SCHEMA_VERSION = 5


def _jsonable(value: Any) -> Any:
    """Plain JSON values: floats to 9 significant digits (stable text), Decimals as strings."""
    if isinstance(value, bool) or value is None or isinstance(value, int | str):
        return value
    if isinstance(value, float):
        return float(f"{value:.9g}") if math.isfinite(value) else None
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, Mapping):
        return {str(key): _jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(item) for item in value]
    return str(value)


def summary_to_json(result: SweepResult) -> str:
    """The whole summary as JSON text, byte-stable for the same input."""
    document = {
        "schema_version": SUMMARY_SCHEMA_VERSION,
        "percentile_method": PERCENTILE_METHOD,
        "confidence_interval_method": CI_METHOD,
        "meta": json.loads(result.meta.to_json()),
        "mode": result.meta.mode,
        "recommended_concurrency": result.recommended,
        # An open-loop sweep's: the highest offered rate sustained per model (None: none).
        "recommended_rate": {rec.model: rec.rate_rps for rec in result.rate_recommendations},
        "rates": [asdict(row) | {"keeps_up": row.keeps_up} for row in result.rates],
        # Per model: the rate limits the API's headers stated, and the ceiling they imply.
        "stated_limits": [asdict(limits) for limits in result.stated_limits],
        "projection": _projection(result),
        "levels": [asdict(level) for level in result.levels],
        "cells": [asdict(cell) for cell in result.cells],
        "models": [asdict(cost) for cost in result.costs],
        # The whole run: actual spend and, apart from it, what may have been billed.
        "spent": {
            "cost_usd": sum_usd(cost.cost_usd for cost in result.costs),
            "possibly_billed_usd": sum_usd(cost.possibly_billed_usd for cost in result.costs),
            "possibly_billed_attempts": sum(c.possibly_billed_attempts for c in result.costs),
        },
    }
    text = json.dumps(_jsonable(document), sort_keys=True, indent=2, ensure_ascii=False)
    return text + "\n"


def _projection(result: SweepResult) -> dict[str, Any]:
    """Per model, the whole job at its recommended level, labelled a projection."""
    return {
        p.model: {
            "kind": "projection",
            "basis": PROJECTION_BASIS,
            "concurrency": p.concurrency,
            "prompts": p.prompts,
            "wall_s": p.wall_s,
            "cost_usd": p.cost_usd,
            "batch_cost_usd": p.batch_cost_usd,
            "batch_results_within_h": BATCH_WITHIN_H,
        }
        for p in result.projections
    }


CSV_COLUMNS = (
    "model", "concurrency", "wall_s", "speedup", "efficiency", "throughput_rps",
    "output_tokens_per_s", "latency_p50_s", "latency_p95_s", "latency_p99_s", "ttft_p50_s",
    "ttft_p95_s", "requests", "succeeded", "failed", "failure_rate", "rate_limited",
    "rate_limited_rate", "retries", "attempts", "cost_usd", "failed_cost_usd",
    "cost_per_1k_prompts_usd", "input_tokens", "output_tokens", "usage_estimated",
    "queue_wait_mean_s", "wall_s_min", "wall_s_max", "wall_s_spread", "repeats",
    "ceiling_rps", "speedup_ceiling", "client_bound", "dispatch_lag_p95_s", "itl_p50_s",
    "itl_p95_s", "tpot_p50_s", "unfinished", "speedup_error", "excluded",
    "cost_per_1k_succeeded_usd", "retried", "retry_rate", "cached_input_share", "slo_met",
    "possibly_billed_usd", "possibly_billed_attempts",
)  # fmt: skip


def summary_to_csv(levels: Sequence[LevelSummary]) -> str:
    """One row per model x level; empty cells where a number does not exist."""
    return _to_csv(CSV_COLUMNS, levels)


def _to_csv(columns: Sequence[str], rows: Sequence[object]) -> str:
    """A header of ``columns``, then each row's attributes of those names, JSON-ready."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for item in rows:
        row = _jsonable({name: getattr(item, name) for name in columns})
        writer.writerow(["" if row[name] is None else row[name] for name in columns])
    return out.getvalue()


RATE_CSV_COLUMNS = (
    "model", "offered_rps", "cap", "achieved_rps", "departure_rps", "departure_span_s",
    "keep_up_floor_rps", "keeps_up", "wall_s",
    "requests", "succeeded", "failure_rate", "rate_limited", "rate_limited_rate",
    "latency_p50_s", "latency_p95_s", "latency_p99_s", "since_due_p50_s", "since_due_p95_s",
    "since_due_p99_s", "client_queue_p50_s", "client_queue_p95_s", "unfinished",
)  # fmt: skip


def rates_to_csv(rates: Sequence[RateSummary]) -> str:
    """An open-loop sweep's ``summary.csv``: one row per model x offered rate."""
    return _to_csv(RATE_CSV_COLUMNS, rates)
