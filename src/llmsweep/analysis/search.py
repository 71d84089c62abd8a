"""Adaptive search: which level to measure next, given what the levels so far measured (pure).

Per model the search starts at 1 and doubles the level while throughput rises by more than the
noise: the new level's 95% interval over its rounds (analysis.interval) lies wholly above the
last good level's, and by more than the knee's margin (a level within ``KNEE_FRACTION`` of a
higher one is what analysis.recommend picks anyway). It stops doubling at a level that did not
rise so, or that reached the rate-limit ceiling (analysis.ceiling.reached_ceiling), and then
bisects between the last good level and that one until they are within ``BISECT_UNTIL`` of each
other: the knee lies between them. The levels it measured are then recommended from as any
sweep's are (analysis.recommend).

Throughput, not the like-for-like speedup, is compared: a probe sends the first
``probe_prompts`` prompts of the set, more at higher levels, so the prompts two levels share are
the lower level's, which the higher level sends first; beyond the server's capacity those queue
least, and a speedup over them (analysis.speedup) reads high. Each probe runs in rounds: at least
``MIN_ROUNDS`` (an interval needs two), more while its throughput interval is wider than
``MAX_SPREAD`` of its mean, up to ``MAX_ROUNDS``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from llmsweep.analysis.ceiling import reached_ceiling
from llmsweep.analysis.interval import Interval
from llmsweep.analysis.levels import LevelSummary
from llmsweep.analysis.recommend import KNEE_FRACTION, format_rps

PROMPTS_PER_LEVEL = 3  # a probe sends this many times its level: each worker runs 3 times
MIN_PROMPTS = 8  # low levels need a few prompts for their throughput to mean anything
MIN_ROUNDS = 2
MAX_ROUNDS = 3
MAX_SPREAD = 0.15  # interval half-width / mean under which a probe's throughput is settled
BISECT_UNTIL = 1.5  # stop bisecting once the upper level is within this factor of the lower


@dataclass(frozen=True)
class Probe:
    """What one level measured, as the search compares it."""

    level: int
    throughput_rps: Interval | None  # over its rounds; None: not comparable (see probe_of)
    at_ceiling: bool  # its throughput reached the rate-limit ceiling (or passed it)


@dataclass(frozen=True)
class Move:
    """The next level to measure (None: the search is done for this model), and why."""

    level: int | None
    reason: str


def probe_prompts(level: int, available: int) -> int:
    """Prompts a probe at ``level`` sends per round: a few times the level, at most all."""
    return min(available, max(MIN_PROMPTS, PROMPTS_PER_LEVEL * level))


def top_level(max_concurrency: int, available: int) -> int:
    """The highest level the search may measure: no level above the prompts a round sends."""
    return max(1, min(max_concurrency, available))


def more_rounds(rounds: int, throughput_rps: Interval | None) -> bool:
    """Whether a probe needs another round before its throughput estimate is settled."""
    if rounds < MIN_ROUNDS or throughput_rps is None:
        return rounds < MAX_ROUNDS
    wide = throughput_rps.mean <= 0 or throughput_rps.half_width > MAX_SPREAD * throughput_rps.mean
    return wide and rounds < MAX_ROUNDS


def probe_of(level: LevelSummary) -> Probe:
    """A measured level as the search compares it: a level the report does not compare
    (unfinished, an impossible speedup) has no throughput to compare either."""
    if level.excluded is not None:
        throughput = None
    elif level.throughput_rps_ci is not None:
        throughput = level.throughput_rps_ci
    else:  # one round: its value, with no spread known
        throughput = Interval(level.throughput_rps, 0.0, level.repeats)
    return Probe(
        level.concurrency, throughput, reached_ceiling(level.throughput_rps, level.ceiling_rps)
    )


def _rose(base: Probe, probe: Probe) -> tuple[bool, str]:
    """Whether ``probe`` is still below the knee: its throughput interval wholly above
    ``base``'s, by more than the knee's margin, and not at the ceiling; and the words for it."""
    if probe.throughput_rps is None or base.throughput_rps is None:
        return False, f"{probe.level} has no throughput to compare (see the table's notes)"
    now, then = probe.throughput_rps, base.throughput_rps
    words = f"{_show(now)} req/s at {probe.level} vs {_show(then)} at {base.level}"
    if probe.at_ceiling:
        return False, f"{words}: {probe.level} reached the rate-limit ceiling"
    if now.low <= then.high:
        return False, f"{words}: no rise beyond the noise"
    if then.mean >= KNEE_FRACTION * now.mean:
        return False, f"{words}: within {1 - KNEE_FRACTION:.0%}, past the knee"
    return True, f"{words}: rose beyond the noise"


def _show(interval: Interval) -> str:
    if interval.half_width == 0:
        return format_rps(interval.mean)
    low, high = format_rps(interval.low), format_rps(interval.high)
    return f"{format_rps(interval.mean)} ({low}\N{EN DASH}{high})"


def next_move(probes: Sequence[Probe], top: int) -> Move:
    """The next level to measure after ``probes`` (in the order measured), up to ``top``."""
    if not probes:
        return Move(1, "start at the sequential baseline")
    good, upper, said = probes[0], None, ""
    if good.at_ceiling:
        return Move(None, "1 is already at the rate-limit ceiling: no level can go faster")
    for probe in probes[1:]:
        rose, said = _rose(good, probe)
        if rose:
            good = probe
        else:
            upper = probe.level if upper is None else min(upper, probe.level)
    if upper is None:
        if good.level >= top:
            return Move(None, f"{said}; {top} is the highest level allowed".lstrip("; "))
        step = min(2 * good.level, top)
        return Move(step, f"{said}; doubling to {step}".lstrip("; "))
    if upper <= good.level * BISECT_UNTIL or upper - good.level <= 1:
        return Move(None, f"{said}; the knee lies between {good.level} and {upper}")
    middle = (good.level + upper) // 2
    return Move(middle, f"{said}; bisecting {good.level}\N{EN DASH}{upper} at {middle}")


def most_probes(top: int, available: int) -> list[int]:
    """Prompts per round of the costliest search up to ``top``: every doubling, and one
    bisection (between a level and its double the first midpoint already leaves them within
    ``BISECT_UNTIL``), each for ``MAX_ROUNDS`` rounds. What a budget estimate adds up."""
    ladder = [1]
    while ladder[-1] < top:
        ladder.append(min(2 * ladder[-1], top))
    sizes = [probe_prompts(level, available) for level in ladder] + [probe_prompts(top, available)]
    return [size for size in sizes for _ in range(MAX_ROUNDS)]
