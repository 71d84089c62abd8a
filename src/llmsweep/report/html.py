"""The report as one self-contained HTML file: inline CSS, charts as base64 PNG data URIs.

Nothing is fetched when the file is opened (no fonts, scripts or images from elsewhere), so it
works offline and leaks nothing; the only links are each chart's to its full-size SVG beside the
file. Every piece of text goes through ``html.escape``.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping, Sequence
from html import escape

from llmsweep.analysis.costs import ModelCost, model_costs
from llmsweep.analysis.levels import LevelSummary
from llmsweep.analysis.recommend import Recommendation, cost_comparison
from llmsweep.analysis.result import SweepResult
from llmsweep.analysis.stats import CellSummary, StatedLimits
from llmsweep.report.about import about
from llmsweep.report.captions import chart_caption
from llmsweep.report.charts.performance import CHART_TITLES
from llmsweep.report.charts.rate import RATE_CHART_TITLE
from llmsweep.report.costs import cost_intro, cost_table
from llmsweep.report.harness import harness_intro, harness_table
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
from llmsweep.report.style import MANY_COLUMNS, REPORT_CSS
from llmsweep.report.warnings import rate_warnings
from llmsweep.store.meta import SweepMeta
from llmsweep.store.search import SearchStep

# A cell with a letter in it is text (notes, reasons, errors, names); a column of cells without
# one holds numbers, shown right-aligned and broken only at spaces.
_LETTER = re.compile(r"[^\W\d_]")


def _list(items: Sequence[str], css_class: str) -> str:
    if not items:
        return "<p>None.</p>"
    lines = "\n".join(f"<li>{escape(item)}</li>" for item in items)
    return f'<ul class="{css_class}">\n{lines}\n</ul>'


def _text_columns(table: Table) -> frozenset[int]:
    return frozenset(
        column
        for column in range(len(table.headers))
        if any(_LETTER.search(row[column]) for row in table.rows)
    )


def _row_opening(table: Table, index: int) -> str:
    if index in table.marked:
        return '<tr class="recommended">'
    return '<tr class="excluded">' if index in table.greyed else "<tr>"


def _cell(value: str) -> str:
    # "0.80 ± 0.01" may wrap before the "±", never after it.
    return escape(value).replace(" \N{PLUS-MINUS SIGN} ", " \N{PLUS-MINUS SIGN}\N{NO-BREAK SPACE}")


def _table(table: Table) -> str:
    """Rows grouped by their first column (the model, in every report table), named once in a
    row across the table instead of in a column of its own: a summary with streaming columns
    has 21, and 1280 px holds about 20. Every cell carries its header as ``data-label``: on a
    narrow screen each row is shown as a card of label-value lines (see report/style.py)."""
    text = _text_columns(table)
    kinds = [' class="text"' if column in text else "" for column in range(len(table.headers))]
    head = "".join(
        f'<th scope="col"{kinds[column]}><span>{escape(table.headers[column])}</span></th>'
        for column in range(1, len(table.headers))
    )
    body: list[str] = []
    group: str | None = None
    for index, row in enumerate(table.rows):
        if row[0] != group:
            group = row[0]
            name = f"{table.headers[0]}: {group}"
            body.append(
                f'<tr class="group"><th colspan="{len(table.headers) - 1}" scope="colgroup">'
                f"{escape(name)}</th></tr>"
            )
        cells = "".join(
            f'<td{kinds[column]} data-label="{escape(table.headers[column])}">'
            f"{_cell(row[column])}</td>"
            for column in range(1, len(row))
        )
        body.append(f"{_row_opening(table, index)}{cells}</tr>")
    rows = "\n".join(body)
    size = " many" if len(table.headers) - 1 > MANY_COLUMNS else ""  # cards up to a wider screen
    return (
        f'<div class="table{size}"><table>\n<thead><tr>{head}</tr></thead>\n'
        f"<tbody>\n{rows}\n</tbody>\n</table></div>"
    )


def _figure(
    name: str, png: bytes, svg_link: str, levels: Sequence[LevelSummary], caption: str = ""
) -> str:
    """The chart inlined, as a link to its full-size SVG (zoomable on a phone)."""
    caption = caption or CHART_TITLES.get(name, name)
    data = base64.b64encode(png).decode("ascii")
    terms = f"<br>{escape(text)}" if (text := chart_caption(name, levels)) else ""
    return (
        f'<figure id="chart-{escape(name)}"><a href="{escape(svg_link)}">'
        f'<img alt="{escape(caption)}" src="data:image/png;base64,{data}"></a>\n'
        f'<figcaption>{escape(caption)} \N{MIDDLE DOT} <a href="{escape(svg_link)}">full-size SVG'
        f"</a>{terms}</figcaption></figure>"
    )


def _head(heading: str, meta: SweepMeta) -> list[str]:
    return [
        "<!DOCTYPE html>",
        '<html lang="en">',
        '<head>\n<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(heading)}</title>",
        f"<style>{REPORT_CSS}</style>\n</head>\n<body>",
        f"<h1>{escape(heading)}</h1>",
        f'<p class="sub">{escape(subtitle(meta))}</p>',
        f'<p class="sub">Regenerate: <code>{escape(meta.command)}</code></p>'
        if meta.command
        else "",
    ]


def _costs(costs: Sequence[ModelCost], meta: SweepMeta) -> list[str]:
    """The Cost section, as both kinds of sweep show it (closing the section before it)."""
    return [
        '</section>\n<section id="cost">\n<h2>Cost</h2>',
        *(f"<p>{escape(text)}</p>" for text in cost_intro(costs, meta)),
        _table(cost_table(costs)),
        "</section>",
    ]


def _tail(
    cells: Sequence[CellSummary],
    meta: SweepMeta,
    levels: Sequence[LevelSummary | CellSummary],
) -> list[str]:
    """Failure examples, the harness and "About this report", as both kinds of sweep end (a
    rate sweep's cells named by their rate)."""
    parts: list[str] = []
    rated = by_rate if meta.config.rates else lambda table, _: table
    examples = rated(failure_examples(cells), meta)
    if examples is not None:
        parts += ['<section id="failures">\n<h2>Failure examples</h2>', _table(examples)]
        parts += ["</section>"]
    harness = rated(harness_table(cells), meta)
    if harness is not None:
        parts += ['<section id="harness">\n<h2>Measurement harness</h2>']
        parts += [f"<p>{escape(harness_intro(meta))}</p>", _table(harness), "</section>"]
    details = "\n".join(
        f"<dt>{escape(label)}</dt><dd>{escape(text)}</dd>" for label, text in about(meta, levels)
    )
    return [
        *parts,
        '<section id="about">\n<h2>About this report</h2>',
        f"<dl>\n{details}\n</dl>",
        "</section>\n</body>\n</html>\n",
    ]


def render_rate_html(
    result: SweepResult, chart_png_bytes: Mapping[str, bytes], chart_svg_links: Mapping[str, str]
) -> str:
    """An open-loop sweep's (``--rate``) report page, saying so first."""
    meta, recommendations = result.meta, result.rate_recommendations
    charts = "\n".join(
        _figure(name, png, chart_svg_links[name], [], RATE_CHART_TITLE)
        for name, png in chart_png_bytes.items()
    )
    parts = [
        *_head(rate_title(result.rates), meta),
        *(f"<p>{escape(text)}</p>" for text in rate_intro(meta)),
        '<section id="verdict">\n<h2>Verdict</h2>',
        _list(rate_verdicts(recommendations), "verdict"),
        *(f"<p>{escape(rec.explanation)}</p>" for rec in recommendations),
        '</section>\n<section id="warnings">\n<h2>Warnings</h2>',
        _list(rate_warnings(meta, result.cells), "warnings"),
        '</section>\n<section id="charts">\n<h2>Charts</h2>',
        charts or "<p>No charts: there were no records.</p>",
        '</section>\n<section id="summary">\n<h2>Per-rate table</h2>',
        _table(rate_table(result.rates, recommendations)),
        *_costs(result.costs, meta),
        *_tail(result.cells, meta, result.cells),
    ]
    return "\n".join(part for part in parts if part)


def render_html(
    levels: Sequence[LevelSummary],
    cells: Sequence[CellSummary],
    recommendations: Sequence[Recommendation],
    meta: SweepMeta,
    chart_png_bytes: Mapping[str, bytes],
    chart_svg_links: Mapping[str, str],
    stated: Sequence[StatedLimits] = (),
    search: Sequence[SearchStep] = (),
) -> str:
    """The full report page; ``chart_svg_links`` maps chart name to its SVG's path relative to
    the page; ``stated``: the rate limits the API's headers stated
    (``SweepResult.stated_limits``). Same inputs give the same text, byte for byte."""
    heading = title(levels)
    why = "\n".join(f"<p>{escape(rec.explanation)}</p>" for rec in recommendations)
    costs = cost_comparison(levels)
    spent = model_costs(levels, meta)
    charts = "\n".join(
        _figure(name, png, chart_svg_links[name], levels) for name, png in chart_png_bytes.items()
    )
    parts = [
        *_head(heading, meta),
        '<section id="verdict">\n<h2>Verdict</h2>',
        _list(verdicts(levels, recommendations, meta), "verdict"),
        why,
        f"<p>{escape(costs)}</p>" if costs else "",
        *(f"<p>{escape(text)}</p>" for text in stated_limits_lines(stated)),
        '</section>\n<section id="warnings">\n<h2>Warnings</h2>',
        _list(warnings(levels, recommendations, meta, cells), "warnings"),
        '</section>\n<section id="charts">\n<h2>Charts</h2>',
        charts or "<p>No charts: there were no records.</p>",
        '</section>\n<section id="summary">\n<h2>Summary table</h2>',
        _table(summary_table(levels, recommendations)),
        *_costs(spent, meta),
    ]
    trace = search_table(search)
    if trace is not None:
        parts += ['<section id="search">\n<h2>Search trace</h2>']
        parts += [f"<p>{escape(SEARCH_INTRO)}</p>", _table(trace), "</section>"]
    parts += _tail(cells, meta, levels)
    return "\n".join(part for part in parts if part)
