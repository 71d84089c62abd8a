"""The HTML page on its own: escaped text, highlighted picks, rows grouped by model, charts
inlined as data URIs that link to their full-size SVGs."""

from __future__ import annotations

import base64
import re
from dataclasses import replace

from factories import make_cell, make_meta, result_of
from llmsweep.report.html import render_html


def page(records_failed: int = 0, command: str | None = None) -> str:
    records = make_cell("a<b", 1, prompts=20, wall_s=20.0) + make_cell(
        "a<b", 2, prompts=20, wall_s=10.0, failed=records_failed
    )
    meta = replace(make_meta(models=("a<b",), levels=(1, 2)), command=command)
    result = result_of(records, meta)
    charts = {"speedup": b"\x89PNG speedup", "unnamed": b"\x89PNG other"}
    links = {"speedup": "charts/speedup.svg", "unnamed": "charts/x&y.svg"}
    return render_html(result.levels, result.cells, result.recommendations, meta, charts, links)


def summary(html: str) -> str:
    start = html.index('<section id="summary">')
    return html[start : html.index("</section>", start)]


def test_the_recommended_row_is_highlighted_and_every_cell_escaped() -> None:
    html = page()
    levels = re.findall(r'<tr[^>]*><td data-label="concurrency">(\d+)</td>', summary(html))
    assert levels == ["1", "2"]
    assert '<tr class="recommended"><td data-label="concurrency">2</td>' in html  # 2 req/s
    assert "a<b" not in html and "a&lt;b: use concurrency 2" in html


def test_rows_are_grouped_under_their_model_and_numbers_told_from_text() -> None:
    table = summary(page())
    headers = re.findall(r"<th[^>]*><span>([^<]*)</span></th>", table)
    assert headers[0] == "concurrency" and "model" not in headers  # named once per group
    assert table.count('<tr class="group">') == 1
    assert f'<th colspan="{len(headers)}" scope="colgroup">model: a&lt;b</th>' in table
    # Cells carry their header, for the narrow layout's cards; text columns are marked.
    assert '<td data-label="speedup">2.00\N{MULTIPLICATION SIGN}</td>' in table
    assert '<td class="text" data-label="notes">recommended</td>' in table
    assert '<th scope="col" class="text"><span>notes</span></th>' in table


def test_charts_are_inlined_and_link_to_their_full_size_svg() -> None:
    html = page()
    speedup = base64.b64encode(b"\x89PNG speedup").decode()
    assert (
        '<figure id="chart-speedup"><a href="charts/speedup.svg"><img alt="Speedup vs concurrency"'
        f' src="data:image/png;base64,{speedup}"></a>\n'
        '<figcaption>Speedup vs concurrency · <a href="charts/speedup.svg">full-size SVG</a>'
        "<br>Speedup = the concurrency-1 cell&#x27;s time"
    ) in html
    assert '<a href="charts/x&amp;y.svg"><img alt="unnamed" src="data:image/png;base64,' in html


def test_optional_sections_appear_only_with_their_data() -> None:
    plain = page()
    assert "Regenerate:" not in plain
    assert '<section id="failures">' not in plain and '<section id="harness">' not in plain
    failing = page(records_failed=2, command="llmsweep sweep 'x<y'")
    assert "Regenerate: <code>llmsweep sweep &#x27;x&lt;y&#x27;</code>" in failing
    assert '<section id="failures">' in failing
    assert '<td class="text" data-label="last error">server_error error</td>' in failing
    assert failing.endswith("</section>\n</body>\n</html>\n")
