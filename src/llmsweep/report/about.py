"""The report's "About this report" section: what was run, on what, and how every number was
computed (plain text; each renderer escapes it)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict
from typing import Any
from urllib.parse import urlsplit

from llmsweep.analysis.interval import CI_METHOD
from llmsweep.analysis.levels import LevelSummary
from llmsweep.analysis.projection import BATCH_WITHIN_H, PROJECTION_BASIS
from llmsweep.analysis.rate import KEEP_UP_Z, NO_SPEEDUP
from llmsweep.analysis.slo import describe
from llmsweep.analysis.speedup import MAX_SPEEDUP_PER_LEVEL
from llmsweep.analysis.stats import CellSummary
from llmsweep.cost.estimate import cost_phrase
from llmsweep.percentile import PERCENTILE_METHOD
from llmsweep.report.summary import SUMMARY_SCHEMA_VERSION
from llmsweep.settings import ASSUMED_OUTPUT_TOKENS
from llmsweep.store.meta import SweepMeta


def _plain(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, list | tuple):
        return ", ".join(_plain(item) for item in value) or "none"
    if isinstance(value, Mapping):
        return "; ".join(f"{key}: {_plain(item)}" for key, item in sorted(value.items()))
    return str(value)


def _target_host(base_url: Any) -> str:
    """Host and port only: no scheme (no link), no path, never user info from the URL."""
    if not isinstance(base_url, str) or not base_url:
        return "the client's default endpoint"
    parts = urlsplit(base_url)
    try:
        port = parts.port
    except ValueError:
        port = None
    host = parts.hostname or "unknown host"
    return f"{host}:{port}" if port is not None else host


def _estimates(meta: SweepMeta) -> str:
    """Each model's pre-run estimate, in the words the command line used."""
    return (
        "; ".join(
            f"{e.model} {cost_phrase(e.total_cost_usd, bound=e.bound, basis=e.basis)}"
            for e in meta.estimates.values()
        )
        or "none"
    )


def _simulated_as(meta: SweepMeta) -> list[tuple[str, str]]:
    """Which simulator profile answered each model, when they were chosen per model."""
    if not meta.simulated_as:
        return []
    chosen = "; ".join(f"{model}: {how.describe()}" for model, how in meta.simulated_as.items())
    return [("Simulator profiles", chosen)]


def _projection_about(meta: SweepMeta) -> str:
    if meta.job_size is None:
        return "none: give --job-size N (or --sample, which projects to the prompt file's size)"
    return (
        f"{meta.job_size:,} prompts; {PROJECTION_BASIS}. The Batch API alternative: the same "
        f"cost at genai-prices' batch price, results within {BATCH_WITHIN_H} h."
    )


def about(meta: SweepMeta, levels: Sequence[LevelSummary | CellSummary]) -> list[tuple[str, str]]:
    """(label, text) pairs for "About this report"; a rate sweep passes its cells."""
    config = meta.config
    rated = bool(config.rates)  # an open loop: no speedup, projection or repeats
    where = "Cost section" if rated else "cost chart"
    estimated = sum(level.usage_estimated for level in levels)
    usage = (
        f"{estimated} prompts had no usage from the API, so their tokens were counted locally"
        if estimated
        else "every prompt's tokens came from the API's usage"
    )
    return [
        (
            "Schema versions",
            f"summary {SUMMARY_SCHEMA_VERSION}, run metadata {meta.schema_version}",
        ),
        ("Tool version", f"llmsweep {meta.tool_version}"),
        ("Created at", meta.created_at),
        ("Target", f"{meta.target.label()} at {_target_host(meta.target.base_url)}"),
        *_simulated_as(meta),
        ("Seed", str(config.seed)),
        (
            "Config",
            _plain(
                {k: v for k, v in asdict(config).items() if k != "seed"}
                | {"slo": describe(config.slo) or None}
            ),
        ),
        (
            "Prices",
            f"{meta.price_source}; {meta.price_date}",
        ),
        (
            "Measured",
            "per prompt: monotonic timestamps (queued, allowed out, written to the socket, "
            "first token, ended), final status, attempts, 429 answers, and token usage as the "
            "API reported it.",
        ),
        (
            "Connections",
            "opened before each cell's clock started (one GET /models per connection, no "
            "tokens), as load generators do, so no cell pays for a burst of connects"
            if config.warm_up
            else "opened by each cell's first requests, inside the measured time",
        ),
        ("Computed", _computed(meta)),
        (
            "Streamed answers",
            "TTFT = first content chunk - request out; ITL (inter-token latency) = the gaps "
            "between successive content chunks, pooled over a cell's succeeded requests (kept "
            "to 0.1 ms); TPOT (time per output token) = (latency - TTFT) / (output tokens - 1) "
            "per request, as vLLM's benchmark defines them. A chunk may carry several tokens, "
            "so ITL is per chunk; TPOT is per token.",
        ),
        (
            "Rate-limit ceiling",
            "min(rpm / 60, tpm / 60 / mean charged tokens) requests/s from the tightest of the "
            "client's limits, the simulator's and those the API's headers stated "
            "(x-ratelimit-limit-requests/-tokens); a request is charged its input tokens + "
            f"max_tokens ({ASSUMED_OUTPUT_TOKENS} when none was set), as the client's limiter "
            "charges it.",
        ),
        (
            "Cost",
            f"actual = tokens the API reported x listed price; {usage}. Pre-run estimate of "
            f"one pass over the prompts ({where}): {_estimates(meta)}.",
        ),
        *([] if rated else [("Whole-job projection", _projection_about(meta))]),
        ("Percentiles", PERCENTILE_METHOD),
        *([] if rated else [("Confidence intervals", _CONFIDENCE)]),
    ]


# A concurrency sweep's: a rate sweep runs each rate once, and has no speedup.
_CONFIDENCE = (
    f"{CI_METHOD}; the table shows speedup, req/s and latency p50/p95 as mean ± "
    "half-width when a level ran more than once (one repeat: the value alone), and the "
    "verdict says when the recommended level's interval overlaps a neighbour's. A "
    "repeat's speedup is its like-for-like speedup against the same repeat's "
    "concurrency-1 cell."
)
_WALL = (
    "wall time = the time at least one of a cell's prompts was under way (first queue time to "
    "last end, less any idle gap between resumed sessions; an open loop's from its first due "
    "time); throughput = succeeded / wall time"
)
_SHARED = (
    "Cost per 1k ok prompts = all cost (failed prompts' included) / succeeded prompts. Retried "
    "prompts needed more than one attempt; their causes count the earlier attempts by kind. "
    "Cached input = cached input tokens / input tokens of succeeded prompts. Latency "
    "percentiles over succeeded requests' last attempt."
)


def _computed(meta: SweepMeta) -> str:
    """How the table's numbers were computed, for the kind of sweep this is."""
    if meta.config.rates:
        return (
            f"{_WALL}. {NO_SPEEDUP} Latency from the send starts when the request went out; "
            "from the due time, at the prompt's scheduled arrival (client queueing included); "
            "client queueing = the wait for a free slot under --max-concurrency. Keeping up is "
            "judged on the departure rate (succeeded / 2 / seconds between the median ends of "
            "the earlier- and the later-due half of succeeded requests), not on the throughput, "
            f"and allows {KEEP_UP_Z:g} standard deviations of a Poisson count over those "
            f"seconds. {_SHARED} Each "
            "rate ran once per model: its counts, costs and timings are its cell's."
        )
    return (
        f"{_WALL}; speedup compares like with like: per repeat, the concurrency-1 cell's time "
        "for the prompts that succeeded in both cells / this cell's time for the same prompts "
        "(a cell's time for some prompts = its wall time x their share of its prompts' summed "
        "queued-to-ended time; with no failures, the ratio of wall times), the level's speedup "
        "the median over repeats; efficiency = speedup / concurrency. A level that did not "
        f"finish its prompts, or whose speedup exceeds {MAX_SPEEDUP_PER_LEVEL:g} x its "
        "concurrency (a measurement error), is not compared: no speedup, off the charts' "
        f"curves, never recommended. {_SHARED} Per level, timings are medians over repeats and "
        "counts and costs are totals."
    )
