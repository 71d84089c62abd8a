"""The report as one self-contained HTML file: inline CSS, charts as base64 PNG data URIs.

Nothing is fetched when the file is opened (no links, fonts or scripts from elsewhere), so it
works offline and leaks nothing. Every piece of text goes through ``html.escape``.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from html import escape

from llmsweep.analysis.levels import LevelSummary
from llmsweep.analysis.recommend import Recommendation, cost_comparison
from llmsweep.analysis.stats import CellSummary
from llmsweep.report.charts.performance import CHART_TITLES
from llmsweep.report.harness import harness_intro, harness_table
from llmsweep.report.sections import (
    SEARCH_INTRO,
    Table,
    about,
    failure_examples,
    search_table,
    subtitle,
    summary_table,
    title,
    verdicts,
    warnings,
)
from llmsweep.store.meta import SweepMeta
from llmsweep.store.search import SearchStep

_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem auto;
       max-width: 72rem; padding: 0 1rem; color: #1d1d1f; line-height: 1.45; }
h1 { font-size: 1.6rem; margin-bottom: 0.2rem; }
h2 { border-bottom: 1px solid #ddd; padding-bottom: 0.2rem; margin-top: 2rem; }
.sub { color: #555; margin-top: 0; }
.verdict li { font-size: 1.05rem; margin: 0.3rem 0; }
.warnings li { background: #fff6e0; border-left: 4px solid #e0a800; padding: 0.4rem 0.6rem;
               margin: 0.4rem 0; list-style: none; }
.warnings { padding-left: 0; }
figure { margin: 1.5rem 0; }
figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { color: #555; font-size: 0.9rem; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; font-size: 0.85rem; font-variant-numeric: tabular-nums; }
th, td { border: 1px solid #ddd; padding: 0.25rem 0.5rem; text-align: right; white-space: nowrap; }
th { background: #f4f4f6; }
td:first-child, th:first-child { text-align: left; }
tr.recommended td { background: #eaf6ea; font-weight: 600; }
tr.excluded td { color: #888; }
dt { font-weight: 600; margin-top: 0.6rem; }
dd { margin-left: 1rem; }
"""


def _list(items: Sequence[str], css_class: str) -> str:
    if not items:
        return "<p>None.</p>"
    lines = "\n".join(f"<li>{escape(item)}</li>" for item in items)
    return f'<ul class="{css_class}">\n{lines}\n</ul>'


def _table(table: Table) -> str:
    head = "".join(f"<th>{escape(header)}</th>" for header in table.headers)
    body = []
    for index, row in enumerate(table.rows):
        opening = (
            '<tr class="recommended">'
            if index in table.marked
            else '<tr class="excluded">'
            if index in table.greyed
            else "<tr>"
        )
        cells = "".join(f"<td>{escape(cell)}</td>" for cell in row)
        body.append(f"{opening}{cells}</tr>")
    rows = "\n".join(body)
    return (
        f'<div class="scroll"><table>\n<thead><tr>{head}</tr></thead>\n'
        f"<tbody>\n{rows}\n</tbody>\n</table></div>"
    )


def _figure(name: str, png: bytes) -> str:
    caption = CHART_TITLES.get(name, name)
    data = base64.b64encode(png).decode("ascii")
    return (
        f'<figure id="chart-{escape(name)}"><img alt="{escape(caption)}" '
        f'src="data:image/png;base64,{data}">\n<figcaption>{escape(caption)}</figcaption></figure>'
    )


def render_html(
    levels: Sequence[LevelSummary],
    cells: Sequence[CellSummary],
    recommendations: Sequence[Recommendation],
    meta: SweepMeta,
    chart_png_bytes: Mapping[str, bytes],
    search: Sequence[SearchStep] = (),
) -> str:
    """The full report page. Same inputs give the same text, byte for byte."""
    heading = title(levels)
    why = "\n".join(f"<p>{escape(rec.explanation)}</p>" for rec in recommendations)
    costs = cost_comparison(levels)
    charts = "\n".join(_figure(name, png) for name, png in chart_png_bytes.items())
    examples = failure_examples(cells)
    details = "\n".join(
        f"<dt>{escape(label)}</dt><dd>{escape(text)}</dd>" for label, text in about(meta, levels)
    )
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        '<head>\n<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(heading)}</title>",
        f"<style>{_CSS}</style>\n</head>\n<body>",
        f"<h1>{escape(heading)}</h1>",
        f'<p class="sub">{escape(subtitle(meta))}</p>',
        f'<p class="sub">Regenerate: <code>{escape(meta.command)}</code></p>'
        if meta.command
        else "",
        '<section id="verdict">\n<h2>Verdict</h2>',
        _list(verdicts(levels, recommendations), "verdict"),
        why,
        f"<p>{escape(costs)}</p>" if costs else "",
        '</section>\n<section id="warnings">\n<h2>Warnings</h2>',
        _list(warnings(levels, recommendations, meta, cells), "warnings"),
        '</section>\n<section id="charts">\n<h2>Charts</h2>',
        charts or "<p>No charts: there were no records.</p>",
        '</section>\n<section id="summary">\n<h2>Summary table</h2>',
        _table(summary_table(levels, recommendations)),
        "</section>",
    ]
    trace = search_table(search)
    if trace is not None:
        parts += ['<section id="search">\n<h2>Search trace</h2>']
        parts += [f"<p>{escape(SEARCH_INTRO)}</p>", _table(trace), "</section>"]
    if examples is not None:
        parts += ['<section id="failures">\n<h2>Failure examples</h2>', _table(examples)]
        parts += ["</section>"]
    harness = harness_table(cells)
    if harness is not None:
        parts += ['<section id="harness">\n<h2>Measurement harness</h2>']
        parts += [f"<p>{escape(harness_intro(meta))}</p>", _table(harness), "</section>"]
    parts += [
        '<section id="about">\n<h2>About this report</h2>',
        f"<dl>\n{details}\n</dl>",
        "</section>\n</body>\n</html>\n",
    ]
    return "\n".join(part for part in parts if part)
