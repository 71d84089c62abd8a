"""report.html laid out by a real browser: at 1280 and 420 CSS px nothing is wider than the screen.

Debian's headless Chromium loads the page in an iframe exactly that wide (headless Chromium will
not open a window narrower than 500 px, and media queries see the iframe's width); a script in
the outer page measures the report's layout once it has loaded and writes the numbers into the
outer page, which ``--dump-dom`` prints. Without Chromium the test is skipped, except under CI
(``$CI`` set), whose runner installs it.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from html import escape, unescape
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from factories import LAGGING, REPORT_META, report_sweep, result_of
from llmsweep.report.charts.performance import CHART_TITLES
from llmsweep.report.html import render_html
from llmsweep.store.records import OK, Record

WIDTHS_PX = (1280, 420)
CHART_SIZE_PX = (768, 528)  # what report/charts/base.py draws: 6.4 x 4.4 in at 120 dpi

# Runs in the outer page once the report in the iframe has loaded. The viewport is the iframe's
# client width (its vertical scrollbar excluded); any element reaching past it, and any table
# that needs horizontal scrolling, is listed.
_MEASURE = """
addEventListener('load', () => {
  const doc = document.getElementById('report').contentDocument;
  const viewport = doc.documentElement.clientWidth;
  const name = (el) => el.tagName.toLowerCase() + (el.className ? '.' + el.className : '') +
    ' "' + (el.textContent || '').trim().slice(0, 40) + '"';
  const wider = [...doc.body.querySelectorAll('*')].filter((el) => {
    const box = el.getBoundingClientRect();
    return box.width > 0 && (box.right > viewport + 0.5 || box.left < -0.5);
  }).map((el) => name(el) + ' ' + Math.round(el.getBoundingClientRect().right));
  const tables = [...doc.querySelectorAll('table')].map((table) => ({
    section: table.closest('section').id,
    width: Math.round(table.getBoundingClientRect().width),
    scrolls: table.parentElement.scrollWidth > table.parentElement.clientWidth,
  }));
  document.getElementById('layout').textContent = JSON.stringify({
    viewport: viewport, page: doc.documentElement.scrollWidth, tables: tables, wider: wider,
  });
});
"""


@pytest.fixture(scope="module")
def browser() -> str:
    """Headless Chromium's path; asked for first, so that a skip renders nothing."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        reason = "headless chromium is not installed (apt-get install chromium)"
        if os.environ.get("CI"):
            pytest.fail(f"{reason}; CI must install it (.ci/run does)")
        pytest.skip(reason)
    return found


def streamed_and_retried(record: Record) -> Record:
    """The widest summary table: streamed (TTFT, ITL, TPOT columns) and retried after a 429."""
    return replace(
        record,
        first_token_at_s=record.started_at_s + 0.2,
        ttft_s=0.2,
        chunk_gaps_ms=(10.0, 12.5, 11.0),
        attempts=2,
        rate_limited=1,
        retry_causes=("rate_limited",),
        retry_errors=("429 Too Many Requests",),
    )


def blank_chart() -> bytes:
    """A white PNG the size of a real chart: the layout depends only on its size, and drawing
    the real charts would take seconds."""
    buffer = io.BytesIO()
    Image.new("RGB", CHART_SIZE_PX, "white").save(buffer, "PNG")
    return buffer.getvalue()


@pytest.fixture(scope="module")
def report_html() -> str:
    """A report with every table: a summary with confidence intervals and streaming columns
    (21 columns), failure examples, and a harness table whose every cell was client-bound (long
    reasons); every chart."""
    records = [
        streamed_and_retried(record) if record.status == OK else record for record in report_sweep()
    ]
    cells = {(record.model, record.concurrency, record.repeat) for record in records}
    result = result_of(records, REPORT_META, dict.fromkeys(cells, LAGGING))
    charts = dict.fromkeys(CHART_TITLES, blank_chart())
    links = {name: f"charts/{name}.svg" for name in CHART_TITLES}
    levels, recommendations = result.levels, result.recommendations
    return render_html(levels, result.cells, recommendations, result.meta, charts, links)


def layout(browser: str, report: str, width_px: int) -> dict[str, Any]:
    """The report's measured layout at ``width_px``, as ``_MEASURE`` records it."""
    page = (
        "<!DOCTYPE html><html><head><style>body { margin: 0; } iframe { display: block; "
        f'border: 0; }}</style></head><body><iframe id="report" width="{width_px}" height="900" '
        f'srcdoc="{escape(report)}"></iframe><pre id="layout"></pre><script>{_MEASURE}</script>'
        "</body></html>"
    )
    with tempfile.TemporaryDirectory(prefix="layout-") as work:
        path = Path(work) / "page.html"
        path.write_text(page, encoding="utf-8")
        # Root needs --no-sandbox; the rest keep a throwaway profile from phoning home.
        command = [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={Path(work) / 'profile'}",
            f"--window-size={max(width_px, 500)},1000",
            "--dump-dom",
            path.as_uri(),
        ]
        dom = subprocess.run(command, capture_output=True, text=True, check=True, timeout=60)
    start = dom.stdout.index('<pre id="layout">') + len('<pre id="layout">')
    result: dict[str, Any] = json.loads(unescape(dom.stdout[start : dom.stdout.index("</pre>")]))
    return result


def test_no_table_or_element_is_wider_than_the_screen(browser: str, report_html: str) -> None:
    with ThreadPoolExecutor(len(WIDTHS_PX)) as pool:
        measured = pool.map(lambda width_px: layout(browser, report_html, width_px), WIDTHS_PX)
    for width_px, found in zip(WIDTHS_PX, measured, strict=True):
        viewport = found["viewport"]
        assert width_px - 20 <= viewport <= width_px  # the iframe, less at most a scrollbar
        sections = {table["section"] for table in found["tables"]}
        assert sections == {"summary", "cost", "failures", "harness"}, width_px
        for table in found["tables"]:
            assert table["width"] <= viewport and not table["scrolls"], (width_px, table)
        assert not found["wider"], (width_px, found["wider"][:5])
        assert found["page"] <= viewport, width_px
