"""Pick a concurrency per model and say, with numbers, why and how far to trust it (pure).

The pick is the knee: the smallest level whose throughput is within ``fraction`` of the best
measured throughput while failures and 429s stay under their thresholds. Going further buys at
most the remaining ``1 - fraction`` of throughput and usually costs more retries and 429s.
Under latency targets (``--slo``, analysis.slo) the pick is instead the highest-throughput level
that met every target with failures and 429s under their thresholds (goodput).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from decimal import Decimal

from llmsweep.analysis.ceiling import at_ceiling
from llmsweep.analysis.client_bound import how_to_measure, remedy
from llmsweep.analysis.formatting import format_pct as format_pct
from llmsweep.analysis.formatting import format_rps as format_rps
from llmsweep.analysis.interval import Interval
from llmsweep.analysis.levels import LevelSummary
from llmsweep.analysis.slo import describe, no_target_warning, why_missed
from llmsweep.cost.money import format_usd, per_1k_prompts_usd
from llmsweep.settings import LatencyTarget

MAX_WALL_SPREAD = 0.2
# The knee: a level within this share of the best throughput is as good as the best.
KNEE_FRACTION = 0.9
MAX_FAILURE_RATE, MAX_429_RATE = 0.01, 0.05  # failed / prompts; 429 answers / attempts
_DASH = "\N{EN DASH}"


@dataclass(frozen=True)
class _Thresholds:
    fraction: float = KNEE_FRACTION  # of the best throughput among the levels compared
    max_failure_rate: float = MAX_FAILURE_RATE
    max_429_rate: float = MAX_429_RATE


@dataclass(frozen=True)
class Recommendation:
    model: str
    level: int | None  # None when no level met the thresholds
    explanation: str
    warnings: tuple[str, ...]  # about this model; run-wide: report_warnings.sweep_warnings
    target: str | None = None  # the latency targets it was held to (analysis.slo.describe)


def levels_by_model(levels: Sequence[LevelSummary]) -> dict[str, list[LevelSummary]]:
    """Levels grouped per model, models sorted, levels in ascending concurrency."""
    grouped: dict[str, list[LevelSummary]] = {}
    for level in sorted(levels, key=lambda item: (item.model, item.concurrency)):
        grouped.setdefault(level.model, []).append(level)
    return grouped


def is_priced(level: LevelSummary) -> bool:
    """Whether any price applied at this level (a level of only unpriced prompts shows $0)."""
    return level.cost_usd > 0 or level.unpriced < level.succeeded


def model_cost_per_1k_usd(levels: Sequence[LevelSummary]) -> Decimal | None:
    """Cost per 1k succeeded prompts over all of one model's levels (failed prompts' cost
    included); None when none of them was priced or none succeeded."""
    succeeded = sum(level.succeeded for level in levels)
    if succeeded == 0 or not any(is_priced(level) for level in levels):
        return None
    return per_1k_prompts_usd(sum((level.cost_usd for level in levels), Decimal(0)), succeeded)


def recommend(
    levels: Sequence[LevelSummary],
    *,
    fraction: float = KNEE_FRACTION,
    max_failure_rate: float = MAX_FAILURE_RATE,
    max_429_rate: float = MAX_429_RATE,
    client: str = "openai",
    slo: Sequence[LatencyTarget] = (),
) -> list[Recommendation]:
    """One recommendation per model, sorted by model name; ``client`` (the sweep's --client)
    tailors the remedy for client-bound levels. Excluded levels (unfinished, or a speedup that
    is a measurement error) are never picked nor the best. With latency targets ``slo`` the
    levels must have been judged against them (``analysis.slo.judge_levels``)."""
    limits = _Thresholds(fraction, max_failure_rate, max_429_rate)
    target = describe(slo) or None
    return [
        replace(_recommend_model(model, rows, limits, client, tuple(slo)), target=target)
        for model, rows in levels_by_model(levels).items()
    ]


def trusted(level: LevelSummary) -> bool:
    """Whether a level measured the API rather than this machine: none of its cells was
    client-bound (``analysis.client_bound``). A recommendation rests on trusted levels only."""
    return not level.client_bound


def _reliable(level: LevelSummary, limits: _Thresholds) -> bool:
    return (
        level.failure_rate <= limits.max_failure_rate
        and level.rate_limited_rate <= limits.max_429_rate
    )


def _recommend_model(
    model: str,
    all_rows: list[LevelSummary],
    limits: _Thresholds,
    client: str,
    targets: tuple[LatencyTarget, ...],
) -> Recommendation:
    warnings = _model_warnings(model, all_rows, client)
    compared = [row for row in all_rows if row.excluded is None]
    if not compared:
        text = f"No level of {model} can be compared (see the summary table's notes)."
        return Recommendation(model, None, text, tuple(warnings))
    rows = [row for row in compared if trusted(row)]
    if not rows:
        return Recommendation(
            model,
            None,
            f"No level of {model} measured the API: this machine was the bottleneck at every "
            f"level (see warnings); to measure them, {how_to_measure(client)}.",
            tuple(warnings),
        )
    if targets:
        return _recommend_for_targets(model, all_rows, rows, limits, client, targets, warnings)
    best = max(rows, key=lambda level: (level.throughput_rps, -level.concurrency))
    floor_rps = limits.fraction * best.throughput_rps
    chosen = next(
        (row for row in rows if row.throughput_rps >= floor_rps and _reliable(row, limits)), None
    )
    if chosen is None:
        warnings.append(_no_level_warning(model, rows, best, limits))
        return Recommendation(
            model, None, _fallback_explanation(model, rows, best, limits), tuple(warnings)
        )
    explanation = (
        _explain(chosen, rows, best, limits)
        + _overlap(chosen, rows)
        + _unmeasured(chosen, all_rows, client)
        + _not_compared(all_rows)
    )
    return Recommendation(model, chosen.concurrency, explanation, tuple(warnings))


def _not_compared(rows: list[LevelSummary]) -> str:
    if skipped := [row for row in rows if row.excluded]:
        return f" Not compared: concurrency {_join_levels(skipped)} (see the table's notes)."
    return ""


def _recommend_for_targets(
    model: str,
    all_rows: list[LevelSummary],
    rows: list[LevelSummary],
    limits: _Thresholds,
    client: str,
    targets: tuple[LatencyTarget, ...],
    warnings: list[str],
) -> Recommendation:
    """The highest-throughput level that met every latency target and the thresholds."""
    target = describe(targets)
    met = [row for row in rows if row.slo_met and _reliable(row, limits)]
    if not met:
        warnings.append(no_target_warning(model, rows, targets, _within(limits)))
        text = f"No level of {model} met the latency target {target} (see warnings)."
        return Recommendation(model, None, text, tuple(warnings))
    chosen = max(met, key=lambda row: (row.throughput_rps, -row.concurrency))
    missed = [
        f"{row.concurrency} ({why_missed(row, limits.max_failure_rate, limits.max_429_rate)})"
        for row in rows
        if row not in met
    ]
    explanation = (
        f"Use concurrency {chosen.concurrency} for {model}: {_gain(chosen)}, the highest "
        f"throughput among the levels that met the latency target {target} with "
        f"{_within(limits)} (concurrency {_join_levels(met)})"
        + (f"; missed by {', '.join(missed)}." if missed else ".")
        + _overlap(chosen, rows)
        + _unmeasured(chosen, all_rows, client)
        + _not_compared(all_rows)
    )
    return Recommendation(model, chosen.concurrency, explanation, tuple(warnings))


def _within(limits: _Thresholds) -> str:
    return (
        f"failures ≤ {format_pct(limits.max_failure_rate)} and 429s ≤ "
        f"{format_pct(limits.max_429_rate)}"
    )


def _overlap(chosen: LevelSummary, rows: list[LevelSummary]) -> str:
    """Whether the pick's throughput interval (analysis.interval) overlaps its neighbours'."""
    interval = chosen.throughput_rps_ci
    if interval is None:
        return ""
    index = rows.index(chosen)
    neighbours = [
        row
        for row in rows[max(0, index - 1) : index + 2]
        if row is not chosen and row.throughput_rps_ci is not None
    ]
    overlapping = [
        row
        for row in neighbours
        if row.throughput_rps_ci is not None and interval.overlaps(row.throughput_rps_ci)
    ]
    own = f" Over {interval.n} repeats its 95% throughput interval is {_span(interval)} req/s"
    if not overlapping:
        return f"{own}, apart from its neighbours'." if neighbours else f"{own}."
    others = " and ".join(
        f"concurrency {row.concurrency}'s ({_span(row.throughput_rps_ci)} req/s)"
        for row in overlapping
        if row.throughput_rps_ci is not None
    )
    return (
        f"{own}, which overlaps {others}: at this many repeats they cannot be told apart; "
        f"add --repeats to separate them."
    )


def _span(interval: Interval) -> str:
    return f"{format_rps(interval.low)}{_DASH}{format_rps(interval.high)}"


def _unmeasured(chosen: LevelSummary, rows: list[LevelSummary], client: str) -> str:
    """The client-bound levels above the pick: this machine could not measure them."""
    higher = [row for row in rows if row.concurrency > chosen.concurrency and not trusted(row)]
    if not higher:
        return ""
    those = "it" if len(higher) == 1 else "them"
    return (
        f" Concurrency {_join_levels(higher)} could not be measured on this machine (it, not "
        f"the API, was the bottleneck there), so the pick is among the levels it did measure; to "
        f"measure {those}, {how_to_measure(client)}."
    )


def _explain(
    chosen: LevelSummary, rows: list[LevelSummary], best: LevelSummary, limits: _Thresholds
) -> str:
    level = chosen.concurrency
    gain = _gain(chosen)
    if chosen is best:
        versus = "the best throughput among the levels compared"
    else:
        versus = (
            f"within {format_pct(1 - limits.fraction)} of the best compared "
            f"{format_rps(best.throughput_rps)} req/s at {best.concurrency}"
        )
    return f"Use concurrency {level} for {chosen.model}: {gain}, {versus}; {_beyond(chosen, rows)}."


def _gain(chosen: LevelSummary) -> str:
    rps = f"{format_rps(chosen.throughput_rps)} req/s"
    if chosen.speedup is not None and chosen.concurrency != 1:
        return f"{chosen.speedup:.1f}\N{MULTIPLICATION SIGN} faster than sequential ({rps})"
    return rps


def _beyond(chosen: LevelSummary, rows: list[LevelSummary]) -> str:
    """What going past the chosen level does: ceiling, small gains, rising 429s or failures."""
    level = chosen.concurrency
    higher = [row for row in rows if row.concurrency > level]
    if not higher:
        return f"{level} is the highest level compared, so higher levels may still help"
    ceiling = chosen.ceiling_rps
    if ceiling is not None and at_ceiling(chosen.throughput_rps, ceiling):
        clause = (
            f"beyond {level} the rate-limit ceiling of {format_rps(ceiling)} req/s caps throughput"
        )
    else:
        top_rps = max(row.throughput_rps for row in higher)
        extra = top_rps / chosen.throughput_rps - 1 if chosen.throughput_rps > 0 else 0.0
        clause = (
            f"beyond {level} throughput rises at most {format_pct(extra)}"
            if extra >= 0.005
            else f"beyond {level} throughput stops rising"
        )
    worst_429 = max(row.rate_limited_rate for row in higher)
    worst_failures = max(row.failure_rate for row in higher)
    if worst_429 > chosen.rate_limited_rate:
        clause += f" and 429s rise to {format_pct(worst_429)}"
    elif worst_failures > chosen.failure_rate:
        clause += f" and failures rise to {format_pct(worst_failures)}"
    return clause


def _fallback_explanation(
    model: str, rows: list[LevelSummary], best: LevelSummary, limits: _Thresholds
) -> str:
    text = f"No concurrency level for {model} met the thresholds (see warnings)."
    reliable = [row for row in rows if _reliable(row, limits)]
    if reliable:
        fastest = max(reliable, key=lambda row: row.throughput_rps)
        share = fastest.throughput_rps / best.throughput_rps if best.throughput_rps > 0 else 0.0
        text += (
            f" The fastest level within the failure and 429 limits was {fastest.concurrency} "
            f"({format_rps(fastest.throughput_rps)} req/s, {format_pct(share)} of the best "
            f"{format_rps(best.throughput_rps)} req/s at {best.concurrency})."
        )
    return text


def _no_level_warning(
    model: str, rows: list[LevelSummary], best: LevelSummary, limits: _Thresholds
) -> str:
    """Name the thresholds that blocked the first fast-enough level and what would admit it."""
    fast = next(row for row in rows if row.throughput_rps >= limits.fraction * best.throughput_rps)
    needs = []
    if fast.failure_rate > limits.max_failure_rate:
        needs.append(
            f"the failure-rate limit from {format_pct(limits.max_failure_rate)} "
            f"to {format_pct(fast.failure_rate)}"
        )
    if fast.rate_limited_rate > limits.max_429_rate:
        needs.append(
            f"the 429-rate limit from {format_pct(limits.max_429_rate)} "
            f"to {format_pct(fast.rate_limited_rate)}"
        )
    return (
        f"{model}: no level reached {format_pct(limits.fraction)} of the best "
        f"{format_rps(best.throughput_rps)} req/s with failures ≤ "
        f"{format_pct(limits.max_failure_rate)} and 429s ≤ {format_pct(limits.max_429_rate)}. "
        f"To accept concurrency {fast.concurrency}, loosen {' and '.join(needs)}; or lower the "
        f"required share of the best throughput, or raise the account's rate limits."
    )


def _model_warnings(model: str, rows: list[LevelSummary], client: str) -> list[str]:
    warnings = []
    noisy = [row for row in rows if row.repeats > 1 and row.wall_s_spread > MAX_WALL_SPREAD]
    if noisy:
        worst = max(row.wall_s_spread for row in noisy)
        warnings.append(
            f"{model}: wall time varied by up to {format_pct(worst)} between repeats at "
            f"concurrency {_join_levels(noisy)}; add --repeats so the medians settle."
        )
    bound = [row for row in rows if row.client_bound]
    if bound:
        those = "that level understates" if len(bound) == 1 else "those levels understate"
        warnings.append(
            f"{model}: at concurrency {_join_levels(bound)} this machine, not the API, was the "
            f"bottleneck (dispatch lag, event-loop lag or CPU), so {those} the API: "
            # The lowest level's remedy: none it lists may be impossible for any of them.
            f"{remedy(client, min(row.concurrency for row in bound))}."
        )
    return warnings


def _join_levels(rows: Sequence[LevelSummary]) -> str:
    return ", ".join(str(row.concurrency) for row in rows)


def cost_comparison(levels: Sequence[LevelSummary]) -> str | None:
    """Which model is cheapest per 1k succeeded prompts and by how much; None with fewer than
    two priced."""
    costs = {
        model: cost
        for model, rows in levels_by_model(levels).items()
        if (cost := model_cost_per_1k_usd(rows)) is not None
    }
    if len(costs) < 2:
        return None
    ranked = sorted(costs.items(), key=lambda item: (item[1], item[0]))
    cheapest_model, cheapest_usd = ranked[0]
    others = [
        f"{1 - cheapest_usd / cost:.0%} less than {model} ({format_usd(cost)})"
        if cost > 0
        else f"the same as {model} ({format_usd(cost)})"
        for model, cost in ranked[1:]
    ]
    return (
        f"{cheapest_model} is the cheapest at {format_usd(cheapest_usd)} per 1k succeeded prompts "
        "over all levels: "
        f"{', '.join(others)}."
    )
