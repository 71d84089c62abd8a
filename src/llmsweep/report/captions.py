"""What each chart's legend terms mean, as one caption per chart under it in report.md and
report.html (both read them here). A caption states a chart's definitions and, where the data
decide it, the numbers behind them (each model's speedup ceiling, whether noise was measured)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from llmsweep.analysis.levels import LevelSummary
from llmsweep.analysis.pareto import FRONT_RULE
from llmsweep.analysis.projection import BATCH_WITHIN_H
from llmsweep.analysis.recommend import format_rps, levels_by_model
from llmsweep.report.charts.base import EXCLUDED_LABEL
from llmsweep.report.charts.labels import DASH, SAME_SPOT

_TIMES = "\N{MULTIPLICATION SIGN}"
_STAR = "\N{BLACK STAR}: the recommended level (the verdict's)."
_CROSS = f"Grey \N{MULTIPLICATION SIGN}: {EXCLUDED_LABEL}."


def _wall_time(levels: Sequence[LevelSummary]) -> str:
    return (
        "Each model's wall time for all its prompts at each level: from the first prompt queued "
        f"to the last answered, median over repeats (bars: min{DASH}max). Dashed, in the "
        "model's colour: the ideal, its concurrency-1 wall time divided by the level. "
        f"{_STAR} {_CROSS}"
    )


def _speedup(levels: Sequence[LevelSummary]) -> str:
    text = (
        "Speedup = the concurrency-1 cell's time for the prompts that succeeded in both cells / "
        f"this level's time for the same prompts, median over repeats (bars: min{DASH}max). "
        "Grey dashed: the ideal, speedup = level. "
    )
    return text + _ceilings(levels) + f"{_STAR} {_CROSS}"


def _ceilings(levels: Sequence[LevelSummary]) -> str:
    """Why there is one ceiling line per model: each model's own level-1 throughput."""
    parts = []
    for model, rows in levels_by_model(levels).items():
        first = rows[0]
        if first.concurrency != 1 or first.speedup_ceiling is None or first.ceiling_rps is None:
            continue
        parts.append(
            f"{format_rps(first.ceiling_rps)} req/s is {first.speedup_ceiling:.1f}{_TIMES} for "
            f"{model} ({format_rps(first.throughput_rps)} req/s at concurrency 1)"
        )
    if not parts:
        return ""
    return (
        "Dotted, one per model: the rate-limit ceiling in speedup units, the ceiling in "
        "requests/s divided by that model's own concurrency-1 throughput, so one ceiling in "
        f"req/s is a different speedup for each model: {'; '.join(parts)}. "
    )


def _failures(levels: Sequence[LevelSummary]) -> str:
    return (
        "Left: prompts that failed after all their retries, as a share of the prompts; right: "
        "attempts answered 429 (rate limited), as a share of all attempts, retries included. "
        "Each model's points are hollow rings of its own size, so models at the same rate "
        "(often 0%) show one inside the other; a panel where nothing was counted says so in "
        f"words. {_STAR} {_CROSS}"
    )


def _latency(levels: Sequence[LevelSummary]) -> str:
    return (
        "p50, p95, p99: percentiles of succeeded requests' latency (their last attempt, from "
        "the request going out to the answer's end), medians over repeats; the line style "
        "tells the percentile, the colour the model. When answers streamed, the right panel: "
        "ITL, the gap between successive content chunks, and TPOT, the time per output token "
        f"after the first, in milliseconds. {_STAR[:-1]}, on its p50. {_CROSS}"
    ) + _targets(levels)


def _targets(levels: Sequence[LevelSummary]) -> str:
    """The target lines, when the levels were judged against latency targets (--slo)."""
    if all(level.slo_met is None for level in levels):
        return ""
    return (
        " Black dash-dot, labelled: each latency target (--slo), the most that measure may be "
        "at a level for it to be recommended; a ttft_p95 target is drawn though TTFT has no "
        "curve here (the summary table has it)."
    )


def _cost(levels: Sequence[LevelSummary]) -> str:
    return (
        "Per model, in USD per 1k prompts. Estimate (hatched): the estimate made before the "
        "run, of one pass over the prompts at listed prices. Actual (all levels): every cost "
        "measured over all levels and repeats, failed prompts' included, per 1k succeeded "
        "prompts. Actual at the recommended level (\N{BLACK STAR}, labelled with the level): "
        "the same at that level alone, the verdict's figure. Batch estimate (dotted): the "
        "estimate at the provider's Batch API price, for prompts submitted as one batch job "
        "and answered within 24 hours rather than at once (half the listed price at OpenAI and "
        "Anthropic); no bar where the model has no batch price."
    )


def _tradeoff(levels: Sequence[LevelSummary]) -> str:
    noise = (
        "Thin bars: each level's 95% wall-time interval over repeats; a lead inside them is "
        "noise and earns no place on the front."
        if any(level.wall_s_ci is not None for level in levels)
        else "Each level ran once, so the noise is unknown and the front compares wall times "
        "as measured; with --repeats 3 or more it ignores differences within the noise."
    )
    return (
        "Each compared level of each model at its wall time and its cost per 1k succeeded "
        "prompts; the label is its concurrency, and levels at nearly one spot (within "
        f"{SAME_SPOT:.0%} on both axes) share one label, three or more levels in a row as a "
        f"range such as 4{DASH}32. Pareto front (dashed, circled): {FRONT_RULE}. {noise} "
        f"{_STAR[:-1]}, chosen for throughput rather than cost, so it need not be on the "
        f"front. {_CROSS[:-1]}, or no prompt of it succeeded."
    )


def _projection(levels: Sequence[LevelSummary]) -> str:
    return (
        "A projection, not a measurement: per model, the whole job (--job-size prompts, or the "
        "prompt file's under --sample) at its recommended level. Left: hours until every "
        "result is in, the prompts / that level's measured throughput (never above the "
        "rate-limit ceiling); right: USD, the prompts x its cost per 1k succeeded prompts / "
        "1000. Hatched: the Batch API alternative, the same work at genai-prices' batch price "
        f"with results within {BATCH_WITHIN_H} hours (the bar's height is that bound); no "
        "hatched bar where the model has no batch price."
    )


def _search(levels: Sequence[LevelSummary]) -> str:
    return (
        "The --search sweep's probes, per model in the order the search ran them (numbered, "
        "arrows from each to the next): it starts at concurrency 1 and doubles while "
        "throughput rises beyond the noise, then bisects between the last level that rose and "
        "the first that did not. Each point: the probe's throughput, the mean over its rounds "
        "of the first prompts of the set (bars: its 95% interval; none with one round). "
        f"{_STAR} Why the search moved on from each probe: the search trace table."
    )


_CAPTIONS: dict[str, Callable[[Sequence[LevelSummary]], str]] = {
    "wall_time": _wall_time,
    "speedup": _speedup,
    "failures": _failures,
    "latency": _latency,
    "cost": _cost,
    "tradeoff": _tradeoff,
    "projection": _projection,
    "search": _search,
}


def chart_caption(name: str, levels: Sequence[LevelSummary]) -> str:
    """What the chart ``name`` shows and what its legend terms mean ("" for a chart without)."""
    caption = _CAPTIONS.get(name)
    return "" if caption is None else caption(levels)
