"""What a recommendation says (pure): why a level was picked, what going past it does, what
blocked every level, and each model's warnings (``analysis.recommend`` picks the level). With
them the thresholds a pick is held to and the tests a level passes, which both halves use.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from llmsweep.analysis.ceiling import at_ceiling
from llmsweep.analysis.client_bound import how_to_measure, remedy
from llmsweep.analysis.formatting import format_pct, format_rps
from llmsweep.analysis.interval import Interval
from llmsweep.analysis.levels import LevelSummary

MAX_WALL_SPREAD = 0.2  # wall time's spread over repeats past which a warning asks for more
_DASH = "\N{EN DASH}"


@dataclass(frozen=True)
class Thresholds:
    """What a pick is held to (``analysis.recommend.recommend``'s arguments)."""

    fraction: float  # of the best throughput among the levels compared
    max_failure_rate: float
    max_429_rate: float  # 429 answers / attempts


def trusted(level: LevelSummary) -> bool:
    """Whether a level measured the API rather than this machine: none of its cells was
    client-bound (``analysis.client_bound``). A recommendation rests on trusted levels only."""
    return not level.client_bound


def reliable(level: LevelSummary, limits: Thresholds) -> bool:
    return (
        level.failure_rate <= limits.max_failure_rate
        and level.rate_limited_rate <= limits.max_429_rate
    )


def not_compared(rows: list[LevelSummary]) -> str:
    if skipped := [row for row in rows if row.excluded]:
        return f" Not compared: concurrency {join_levels(skipped)} (see the table's notes)."
    return ""


def within(limits: Thresholds) -> str:
    return (
        f"failures ≤ {format_pct(limits.max_failure_rate)} and 429s ≤ "
        f"{format_pct(limits.max_429_rate)}"
    )


def overlap(chosen: LevelSummary, rows: list[LevelSummary]) -> str:
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


def unmeasured(chosen: LevelSummary, rows: list[LevelSummary], client: str) -> str:
    """The client-bound levels above the pick: this machine could not measure them."""
    higher = [row for row in rows if row.concurrency > chosen.concurrency and not trusted(row)]
    if not higher:
        return ""
    those = "it" if len(higher) == 1 else "them"
    return (
        f" Concurrency {join_levels(higher)} could not be measured on this machine (it, not "
        f"the API, was the bottleneck there), so the pick is among the levels it did measure; to "
        f"measure {those}, {how_to_measure(client)}."
    )


def explain_pick(
    chosen: LevelSummary, rows: list[LevelSummary], best: LevelSummary, limits: Thresholds
) -> str:
    level = chosen.concurrency
    gained = gain(chosen)
    if chosen is best:
        versus = "the best throughput among the levels compared"
    else:
        versus = (
            f"within {format_pct(1 - limits.fraction)} of the best compared "
            f"{format_rps(best.throughput_rps)} req/s at {best.concurrency}"
        )
    beyond = _beyond(chosen, rows)
    return f"Use concurrency {level} for {chosen.model}: {gained}, {versus}; {beyond}."


def gain(chosen: LevelSummary) -> str:
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


def fallback_explanation(
    model: str, rows: list[LevelSummary], best: LevelSummary, limits: Thresholds
) -> str:
    text = f"No concurrency level for {model} met the thresholds (see warnings)."
    passing = [row for row in rows if reliable(row, limits)]
    if passing:
        fastest = max(passing, key=lambda row: row.throughput_rps)
        share = fastest.throughput_rps / best.throughput_rps if best.throughput_rps > 0 else 0.0
        text += (
            f" The fastest level within the failure and 429 limits was {fastest.concurrency} "
            f"({format_rps(fastest.throughput_rps)} req/s, {format_pct(share)} of the best "
            f"{format_rps(best.throughput_rps)} req/s at {best.concurrency})."
        )
    return text


def no_level_warning(
    model: str, rows: list[LevelSummary], best: LevelSummary, limits: Thresholds
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


def model_warnings(model: str, rows: list[LevelSummary], client: str) -> list[str]:
    warnings = []
    noisy = [row for row in rows if row.repeats > 1 and row.wall_s_spread > MAX_WALL_SPREAD]
    if noisy:
        worst = max(row.wall_s_spread for row in noisy)
        warnings.append(
            f"{model}: wall time varied by up to {format_pct(worst)} between repeats at "
            f"concurrency {join_levels(noisy)}; add --repeats so the medians settle."
        )
    bound = [row for row in rows if row.client_bound]
    if bound:
        those = "that level understates" if len(bound) == 1 else "those levels understate"
        warnings.append(
            f"{model}: at concurrency {join_levels(bound)} this machine, not the API, was the "
            f"bottleneck (dispatch lag, event-loop lag or CPU), so {those} the API: "
            # The lowest level's remedy: none it lists may be impossible for any of them.
            f"{remedy(client, min(row.concurrency for row in bound))}."
        )
    return warnings


def join_levels(rows: Sequence[LevelSummary]) -> str:
    return ", ".join(str(row.concurrency) for row in rows)
