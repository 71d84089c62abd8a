"""Write a sweep's report folder from its records and metadata, deterministically.

``write_report`` is a pure function of a ``SweepResult`` plus the files it writes: the same inputs
give the same bytes in every file, because nothing reads the clock or the environment at render
time (any "created at" comes from meta).

What it reads is one ``analysis.result.SweepResult``: records, harness and the typed
``store.meta.SweepMeta``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from html import escape
from pathlib import Path

from llmsweep.analysis.costs import ModelCost, model_costs
from llmsweep.analysis.levels import LevelSummary
from llmsweep.analysis.recommend import Recommendation, cost_comparison
from llmsweep.analysis.result import SweepResult, analyse
from llmsweep.analysis.stats import CellSummary, StatedLimits
from llmsweep.errors import OutputError
from llmsweep.report.about import about
from llmsweep.report.captions import chart_caption
from llmsweep.report.charts.performance import CHART_TITLES, build_charts, figure_bytes
from llmsweep.report.charts.rate import RATE_CHART_TITLE, build_rate_charts
from llmsweep.report.costs import cost_intro, cost_table
from llmsweep.report.harness import harness_intro, harness_table
from llmsweep.report.html import render_html as render_html
from llmsweep.report.html import render_rate_html
from llmsweep.report.rate import by_rate, rate_intro, rate_table, rate_title, rate_verdicts
from llmsweep.report.ratelimits import stated_limits_lines
from llmsweep.report.sections import (
    SEARCH_INTRO,
    Table,
    failure_examples,
    search_table,
    subtitle,
    summary_table,
    title,
    verdicts,
    warnings,
)
from llmsweep.report.summary import rates_to_csv, summary_to_csv, summary_to_json
from llmsweep.report.warnings import rate_warnings
from llmsweep.store.atomic import write_atomic, write_chunks_atomic
from llmsweep.store.meta import SweepMeta
from llmsweep.store.search import SearchStep
from llmsweep.store.sweepdir import SweepFolder

# Characters Markdown would read as markup; escaped so user text (model names, prompt ids,
# errors) renders as typed. HTML-special characters are escaped too, since many Markdown
# viewers pass raw HTML through.
_MD_SPECIAL = re.compile(r"([\\`*_\[\]|#])")
# The charts' folder inside a report folder; both reports link into it by this relative path.
_CHART_DIR = "charts"


def _md(text: str) -> str:
    return _MD_SPECIAL.sub(r"\\\1", escape(text, quote=False))


def _md_list(items: Sequence[str]) -> list[str]:
    return [f"- {_md(item)}" for item in items] or ["None."]


def _md_table(table: Table) -> list[str]:
    lines = [
        "| " + " | ".join(_md(header) for header in table.headers) + " |",
        "|" + "|".join("---" for _ in table.headers) + "|",
    ]
    for index, row in enumerate(table.rows):
        cells = [_md(cell) for cell in row]
        if index in table.marked:
            cells = [f"**{cell}**" for cell in cells]
        elif index in table.greyed:  # not compared: italics, as near to grey as Markdown gets
            cells = [f"*{cell}*" for cell in cells]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _md_costs(costs: Sequence[ModelCost], meta: SweepMeta) -> list[str]:
    """The Cost section, as both kinds of sweep show it."""
    lines = ["", "## Cost", ""]
    lines += [line for text in cost_intro(costs, meta) for line in (_md(text), "")]
    return lines + _md_table(cost_table(costs))


def render_markdown(
    levels: Sequence[LevelSummary],
    cells: Sequence[CellSummary],
    recommendations: Sequence[Recommendation],
    meta: SweepMeta,
    chart_files: Mapping[str, str],
    stated: Sequence[StatedLimits] = (),
    search: Sequence[SearchStep] = (),
) -> str:
    """The report as Markdown; ``chart_files`` maps chart name to its path relative to the file;
    ``stated``: the rate limits the API's headers stated (``SweepResult.stated_limits``)."""
    lines = [f"# {_md(title(levels))}", "", _md(subtitle(meta)), ""]
    if meta.command:
        lines += [f"Regenerate: `{meta.command}`", ""]
    lines += ["## Verdict", ""]
    lines += _md_list(verdicts(levels, recommendations, meta))
    lines += [line for rec in recommendations for line in ("", _md(rec.explanation))]
    costs = cost_comparison(levels)
    lines += ["", _md(costs)] if costs else []
    lines += [line for text in stated_limits_lines(stated) for line in ("", _md(text))]
    lines += ["", "## Warnings", "", *_md_list(warnings(levels, recommendations, meta, cells))]
    lines += ["", "## Charts"]
    for name, path in chart_files.items():
        caption = _md(CHART_TITLES.get(name, name))
        lines += ["", f"### {caption}", "", f"![{caption}]({path})"]
        lines += ["", _md(text)] if (text := chart_caption(name, levels)) else []
    if not chart_files:
        lines += ["", "No charts: there were no records."]
    lines += ["", "## Summary table", "", *_md_table(summary_table(levels, recommendations))]
    trace = search_table(search)
    if trace is not None:
        lines += ["", "## Search trace", "", _md(SEARCH_INTRO), "", *_md_table(trace)]
    lines += _md_costs(model_costs(levels, meta), meta)
    examples = failure_examples(cells)
    if examples is not None:
        lines += ["", "## Failure examples", "", *_md_table(examples)]
    harness = harness_table(cells)
    if harness is not None:
        lines += ["", "## Measurement harness", "", _md(harness_intro(meta)), ""]
        lines += _md_table(harness)
    lines += ["", "## About this report", ""]
    lines += [f"- **{_md(label)}**: {_md(text)}" for label, text in about(meta, levels)]
    return "\n".join(lines) + "\n"


def render_rate_markdown(result: SweepResult, chart_files: Mapping[str, str]) -> str:
    """An open-loop sweep's (``--rate``) report as Markdown, saying so first."""
    meta, recommendations = result.meta, result.rate_recommendations
    lines = [f"# {_md(rate_title(result.rates))}", "", _md(subtitle(meta)), ""]
    lines += [line for text in rate_intro(meta) for line in (_md(text), "")]
    if meta.command:
        lines += [f"Regenerate: `{meta.command}`", ""]
    lines += ["## Verdict", "", *_md_list(rate_verdicts(recommendations))]
    lines += [line for rec in recommendations for line in ("", _md(rec.explanation))]
    lines += ["", "## Warnings", "", *_md_list(rate_warnings(meta, result.cells)), ""]
    lines += ["## Charts"]
    for path in chart_files.values():
        lines += ["", f"### {_md(RATE_CHART_TITLE)}", "", f"![{_md(RATE_CHART_TITLE)}]({path})"]
    if not chart_files:
        lines += ["", "No charts: there were no records."]
    lines += ["", "## Per-rate table", "", *_md_table(rate_table(result.rates, recommendations))]
    lines += _md_costs(result.costs, meta)
    examples = by_rate(failure_examples(result.cells), meta)
    if examples is not None:
        lines += ["", "## Failure examples", "", *_md_table(examples)]
    harness = by_rate(harness_table(result.cells), meta)
    if harness is not None:
        lines += ["", "## Measurement harness", "", _md(harness_intro(meta)), ""]
        lines += _md_table(harness)
    lines += ["", "## About this report", ""]
    lines += [f"- **{_md(label)}**: {_md(text)}" for label, text in about(meta, result.cells)]
    return "\n".join(lines) + "\n"


def render_folder(out_dir: Path) -> list[Path]:
    """Re-render every report file from the sweep folder's records, harness and meta; sends
    nothing."""
    return write_report(out_dir, analyse(SweepFolder(out_dir).read()))


def write_report(out_dir: Path, result: SweepResult) -> list[Path]:
    """Write summary.json, summary.csv, charts/*.png and *.svg, report.md and report.html.

    Returns the paths written, in that order. Re-running on the same result rewrites every
    file with identical bytes.
    """
    meta, cells, levels, recommendations = (
        result.meta,
        result.cells,
        result.levels,
        result.recommendations,
    )
    rated = bool(meta.config.rates)  # an open-loop sweep: its cells are rates, not levels
    if rated:
        figures = build_rate_charts(result.rates, result.rate_recommendations, meta)
    else:
        figures = build_charts(levels, recommendations, meta, result.search)
    chart_dir = out_dir / _CHART_DIR
    try:
        chart_dir.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise OutputError(f"{chart_dir}: cannot create ({err.strerror})") from None
    written: list[Path] = []

    def write_text(path: Path, text: str) -> None:
        write_atomic(path, text)
        written.append(path)

    write_text(out_dir / "summary.json", summary_to_json(result))
    write_text(
        out_dir / "summary.csv", rates_to_csv(result.rates) if rated else summary_to_csv(levels)
    )
    png_bytes: dict[str, bytes] = {}
    for name, figure in figures.items():
        png_bytes[name] = figure_bytes(figure, "png")
        write_chunks_atomic(chart_dir / f"{name}.png", [png_bytes[name]])
        written.append(chart_dir / f"{name}.png")
        write_text(chart_dir / f"{name}.svg", figure_bytes(figure, "svg").decode("utf-8"))
    chart_files = {name: f"{_CHART_DIR}/{name}.png" for name in figures}
    stated, search = result.stated_limits, result.search
    svg_links = {name: f"{_CHART_DIR}/{name}.svg" for name in figures}
    if rated:
        write_text(out_dir / "report.md", render_rate_markdown(result, chart_files))
        write_text(out_dir / "report.html", render_rate_html(result, png_bytes, svg_links))
        return written
    markdown = render_markdown(levels, cells, recommendations, meta, chart_files, stated, search)
    write_text(out_dir / "report.md", markdown)
    html = render_html(levels, cells, recommendations, meta, png_bytes, svg_links, stated, search)
    write_text(out_dir / "report.html", html)
    return written
