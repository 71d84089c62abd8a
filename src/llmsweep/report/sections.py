"""What the report says, as plain text, shared by the Markdown and HTML renderers.

Everything here returns unescaped text; each renderer escapes all of it, so a model name or a
prompt id can never inject markup. The meta keys read are listed in :mod:`llmsweep.report.writer`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from llmsweep.analysis.explain import trusted
from llmsweep.analysis.interval import Interval
from llmsweep.analysis.levels import LevelSummary
from llmsweep.analysis.projection import (
    project,
    projection_phrase,
)
from llmsweep.analysis.recommend import (
    Recommendation,
    format_pct,
    format_rps,
    levels_by_model,
    model_cost_per_1k_usd,
)
from llmsweep.analysis.stats import CellSummary
from llmsweep.cost.money import format_usd
from llmsweep.report.warnings import cell_warnings, format_causes, sweep_warnings
from llmsweep.store.meta import SweepMeta
from llmsweep.store.search import SearchStep

_TIMES = "\N{MULTIPLICATION SIGN}"
DASH = "\N{EN DASH}"  # ranges, and "no value" in the table
_MAX_FAILURE_EXAMPLES = 12
_MAX_ERROR_CHARS = 160


@dataclass(frozen=True)
class Table:
    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    marked: frozenset[int] = frozenset()  # indices of rows to highlight (recommended levels)
    greyed: frozenset[int] = frozenset()  # indices of rows not compared (notes say why)


def title(levels: Sequence[LevelSummary]) -> str:
    models = ", ".join(levels_by_model(levels)) or "no records"
    return f"llmsweep concurrency report: {models}"


def subtitle(meta: SweepMeta) -> str:
    limits = "".join(
        f" {line[0].upper()}{line[1:]}."
        for line in meta.target.rate_limit_lines(meta.config.models)
    )
    return f"Run created {meta.created_at} against a {meta.target.label()}.{limits}"


def verdicts(
    levels: Sequence[LevelSummary],
    recommendations: Sequence[Recommendation],
    meta: SweepMeta | None = None,
) -> list[str]:
    """One line per model: recommended concurrency, its speedup, the model's cost per 1k
    prompts over all its levels (concurrency does not change what a request costs), and (with
    ``meta``'s job size) the whole job projected."""
    grouped = levels_by_model(levels)
    projected = (
        {
            p.model: projection_phrase(p, simulated=meta.target.simulated)
            for p in project(levels, recommendations, meta)
        }
        if meta is not None
        else {}
    )
    lines = []
    for rec in recommendations:
        rows = grouped.get(rec.model, [])
        chosen = next((row for row in rows if row.concurrency == rec.level), None)
        cost = model_cost_per_1k_usd(rows)
        cost_text = (
            f"{format_usd(cost)} per 1k succeeded prompts at any level"
            if cost is not None
            else "cost unknown"
        )
        if chosen is None:
            lines.append(f"{rec.model}: {_why_none(rec, rows)} (see warnings); {cost_text}.")
            continue
        speed = f"{chosen.speedup:.1f}{_TIMES} faster than sequential" if chosen.speedup else ""
        parts = [part for part in (speed, f"{format_rps(chosen.throughput_rps)} req/s") if part]
        parts += [f"meets the latency target {rec.target}"] if rec.target else []
        job = f"; {projected[rec.model]}" if rec.model in projected else ""
        lines.append(
            f"{rec.model}: use concurrency {rec.level} ({', '.join(parts)}); {cost_text}{job}."
        )
    return lines


def _why_none(rec: Recommendation, rows: Sequence[LevelSummary]) -> str:
    """Why no level was recommended, as ``analysis.recommend`` decided it."""
    compared = [row for row in rows if row.excluded is None]
    if rows and not any(trusted(row) for row in compared or rows):
        return "no level measured the API: this machine was the bottleneck at each"
    if rec.target and compared:
        return f"no concurrency met the latency target {rec.target}"
    return "no concurrency met the thresholds"


def warnings(
    levels: Sequence[LevelSummary],
    recommendations: Sequence[Recommendation],
    meta: SweepMeta,
    cells: Sequence[CellSummary],
) -> list[str]:
    """Run-wide warnings first, then those about cells, then each model's."""
    return [
        *sweep_warnings(levels, meta),
        *cell_warnings(cells),
        *(w for rec in recommendations for w in rec.warnings),
    ]


def seconds(value: float | None) -> str:
    if value is None:
        return DASH
    return f"{value:.1f}" if value >= 10 else f"{value:.2f}"


def _wall(level: LevelSummary) -> str:
    if level.repeats == 1:
        return seconds(level.wall_s)
    low, high = seconds(level.wall_s_min), seconds(level.wall_s_max)
    return f"{seconds(level.wall_s)} ({low}{DASH}{high})"


def _speedup(value: float) -> str:
    return f"{value:.2f}"


def _with_ci(
    interval: Interval | None, show: Callable[[float], str], value: float | None, unit: str = ""
) -> str:
    """``value`` alone after one repeat; mean ± 95% half-width (analysis.interval) after more."""
    if interval is None:
        return DASH if value is None else show(value) + unit
    return f"{show(interval.mean)}{unit} ± {show(interval.half_width)}"


_TOKEN_HEADERS = ("ITL p50 ms", "ITL p95 ms", "TPOT p50 ms")


def milliseconds(value: float | None) -> str:
    return DASH if value is None else f"{value * 1000:.1f}"


def _token_times(level: LevelSummary) -> list[str]:
    return [milliseconds(v) for v in (level.itl_p50_s, level.itl_p95_s, level.tpot_p50_s)]


def summary_table(
    levels: Sequence[LevelSummary], recommendations: Sequence[Recommendation]
) -> Table:
    """One row per model x level; TTFT, ITL and TPOT columns only when some request streamed."""
    chosen = {(rec.model, rec.level) for rec in recommendations}
    with_ttft = any(level.ttft_p50_s is not None for level in levels)
    headers = [
        "model",
        "concurrency",
        f"wall s (min{DASH}max)",
        "speedup",
        "efficiency",
        "req/s",
        "output tok/s",
        "p50 s",
        "p95 s",
        "p99 s",
    ]
    headers += ["TTFT p50 s", "TTFT p95 s", *_TOKEN_HEADERS] if with_ttft else []
    headers += ["failed", "429s / attempts", "retried prompts (causes)", "cached input"]
    headers += ["cost / 1k ok prompts"]
    with_target = any(level.slo_met is not None for level in levels)
    headers += ["latency target met"] if with_target else []
    headers += ["notes"]
    rows = []
    marked = set()
    for index, level in enumerate(levels):
        if (level.model, level.concurrency) in chosen:
            marked.add(index)
        notes = ["recommended"] if index in marked else []
        notes += ["client-bound"] if level.client_bound else []
        notes += [f"not compared, {level.excluded}"] if level.excluded else []
        row = [
            level.model,
            str(level.concurrency),
            _wall(level),
            _with_ci(level.speedup_ci, _speedup, level.speedup, _TIMES),
            format_pct(level.efficiency) if level.efficiency is not None else DASH,
            _with_ci(level.throughput_rps_ci, format_rps, level.throughput_rps),
            f"{level.output_tokens_per_s:.0f}",
            _with_ci(level.latency_p50_s_ci, seconds, level.latency_p50_s),
            _with_ci(level.latency_p95_s_ci, seconds, level.latency_p95_s),
            seconds(level.latency_p99_s),
        ]
        if with_ttft:
            row += [seconds(level.ttft_p50_s), seconds(level.ttft_p95_s), *_token_times(level)]
        row += [
            f"{level.failed} ({format_pct(level.failure_rate)})",
            f"{level.rate_limited} ({format_pct(level.rate_limited_rate)})",
            _retried(level),
            format_pct(level.cached_input_share) if level.cached_input_share is not None else DASH,
            format_usd(cost) if (cost := level.cost_per_1k_succeeded_usd) is not None else DASH,
        ]
        row += [_target_met(level)] if with_target else []
        row += [", ".join(notes)]
        rows.append(tuple(row))
    greyed = frozenset(index for index, level in enumerate(levels) if level.excluded)
    return Table(tuple(headers), tuple(rows), frozenset(marked), greyed)


SEARCH_INTRO = (
    "The levels --search measured, in the order it measured them (analysis.search): from 1 it "
    "doubled while throughput rose beyond the 95% intervals over each level's rounds (and by "
    "more than the knee's 10%), stopped at a level that did not or that reached the rate-limit "
    "ceiling, then bisected towards the knee. Each round sent the first prompts of the set; "
    "req/s is measured, the mean over the rounds with its 95% interval. The speedup is like for "
    "like over the prompts both levels sent, which are the few concurrency 1 sent: beyond the "
    "server's capacity those queue least, so there it reads high; compare req/s."
)


def _sent(step: SearchStep) -> str:
    if not step.prompts_reused:
        return str(step.prompts_sent)
    return f"{step.prompts_sent} ({step.prompts_reused} before a --resume)"


def search_table(steps: Sequence[SearchStep]) -> Table | None:
    """A --search sweep's trace, one row per probe; None for a grid sweep."""
    if not steps:
        return None
    headers: tuple[str, ...] = (
        "model",
        "step",
        "concurrency",
        "rounds x prompts",
        "prompts sent",
        "req/s",
    )
    headers += ("speedup (mean)", "why it moved on")
    rows = []
    for number, step in enumerate(steps, start=1):
        if step.throughput_rps_low is None or step.throughput_rps_high is None:
            rps = format_rps(step.throughput_rps)
        else:
            low, high = format_rps(step.throughput_rps_low), format_rps(step.throughput_rps_high)
            rps = f"{format_rps(step.throughput_rps)} ({low}{DASH}{high})"
        rows.append(
            (
                step.model,
                str(number),
                str(step.level),
                f"{step.rounds} {_TIMES} {step.prompts_per_round}",
                _sent(step),
                rps,
                _speedup(step.speedup) + _TIMES if step.speedup is not None else DASH,
                step.reason,
            )
        )
    return Table(headers, tuple(rows))


def _target_met(level: LevelSummary) -> str:
    """Whether the level met the latency targets (--slo), and how it missed them."""
    if level.slo_met is None:
        return DASH
    return "yes" if level.slo_met else f"no: {', '.join(level.slo_misses)}"


def _retried(level: LevelSummary) -> str:
    text = f"{level.retried} ({format_pct(level.retry_rate)})"
    return f"{text}: {format_causes(level.retry_causes)}" if level.retry_causes else text


def failure_examples(cells: Sequence[CellSummary]) -> Table | None:
    """A few failed prompts with their last error, to start debugging from."""
    rows = [
        (
            cell.model,
            str(cell.concurrency),
            str(cell.repeat + 1),
            prompt_id,
            status,
            error[:_MAX_ERROR_CHARS] + ("…" if len(error) > _MAX_ERROR_CHARS else ""),
        )
        for cell in cells
        for prompt_id, status, error in cell.failure_examples
    ]
    if not rows:
        return None
    headers = ("model", "concurrency", "repeat", "prompt id", "status", "last error")
    return Table(headers, tuple(rows[:_MAX_FAILURE_EXAMPLES]))
