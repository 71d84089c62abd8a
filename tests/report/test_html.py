"""The HTML page on its own: escaped text, highlighted picks, charts inlined as data URIs."""

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
    return render_html(result.levels, result.cells, result.recommendations, meta, charts)


def test_the_recommended_row_is_highlighted_and_every_cell_escaped() -> None:
    html = page()
    summary = html.partition('<section id="summary">')[2].partition("</section>")[0]
    rows = re.findall(r"<tr[^>]*><td>[^<]*</td><td>(\d+)</td>", summary)
    assert rows == ["1", "2"]
    assert '<tr class="recommended"><td>a&lt;b</td><td>2</td>' in html  # 2 req/s, the best
    assert "<td>a<b</td>" not in html and "a&lt;b: use concurrency 2" in html


def test_charts_are_inlined_with_their_captions() -> None:
    html = page()
    speedup = base64.b64encode(b"\x89PNG speedup").decode()
    assert (
        '<figure id="chart-speedup"><img alt="Speedup vs concurrency" '
        f'src="data:image/png;base64,{speedup}">\n'
        "<figcaption>Speedup vs concurrency</figcaption></figure>"
    ) in html
    assert '<img alt="unnamed" src="data:image/png;base64,' in html  # no title: its name


def test_optional_sections_appear_only_with_their_data() -> None:
    plain = page()
    assert "Regenerate:" not in plain
    assert '<section id="failures">' not in plain and '<section id="harness">' not in plain
    failing = page(records_failed=2, command="llmsweep sweep 'x<y'")
    assert "Regenerate: <code>llmsweep sweep &#x27;x&lt;y&#x27;</code>" in failing
    assert '<section id="failures">' in failing and "<td>server_error error</td>" in failing
    assert failing.endswith("</section>\n</body>\n</html>\n")
