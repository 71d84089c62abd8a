"""The report page's stylesheet, inlined into report.html so the file fetches nothing.

Two layouts, checked at 1280 and 420 CSS px by tests/report/test_html_layout.py and by
``scripts/screenshot_report``. Wide: tables as tables whose headers, notes and reasons wrap, so
every column is on screen. Narrow: each table row becomes a card of "label value" lines (labels
from each cell's ``data-label``), since a summary row has up to 20 columns and a phone has room
for about four; charts span the screen's full width.
"""

from __future__ import annotations

# Below these screen widths a table's columns no longer fit side by side, so its rows become
# cards. Measured in headless Chromium: 15 columns (a summary without streaming) fit from about
# 62rem, 20 (with TTFT, ITL and TPOT) from about 79.7rem (1275 px); a table with more than
# MANY_COLUMNS columns is "many".
NARROW_MAX_WIDTH = "64rem"
MANY_MAX_WIDTH = "79.5rem"
MANY_COLUMNS = 15


def _cards(table: str) -> str:
    """The rules that show each row of the ``table`` selector's tables as a card of label-value
    lines, labels from each cell's ``data-label``."""
    return f"""
  {table} table, {table} tbody, {table} td {{ display: block; }}
  {table} thead {{ display: none; }}
  {table} tr {{ display: grid; grid-template-columns: repeat(auto-fit, minmax(10rem, 1fr));
              column-gap: 1.2rem; border: 1px solid #ddd; border-radius: 4px;
              padding: 0.3rem 0.6rem; margin-bottom: 0.5rem; }}
  {table} tr.group {{ display: block; border: 0; padding: 0; margin: 0; }}
  {table} tr.group th {{ display: block; border: 0; background: none; padding: 0.6rem 0 0.3rem;
                       font-size: 1rem; }}
  {table} td {{ border: 0; padding: 0.1rem 0; display: grid; grid-template-columns: 1fr auto;
              column-gap: 0.6rem; white-space: normal; }}
  {table} td::before {{ content: attr(data-label); color: #555; text-align: left;
                      font-weight: normal; }}
  {table} td.text {{ grid-column: 1 / -1; display: block; overflow-wrap: anywhere; }}
  {table} td.text::before {{ content: attr(data-label) ": "; }}
  {table} td:empty {{ display: none; }}"""


REPORT_CSS = f"""
body {{ font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem auto;
       max-width: 82rem; padding: 0 1rem; color: #1d1d1f; line-height: 1.45;
       overflow-wrap: break-word; }}
p, ul, dl {{ max-width: 52rem; }}
h1 {{ font-size: 1.6rem; margin-bottom: 0.2rem; }}
h2 {{ border-bottom: 1px solid #ddd; padding-bottom: 0.2rem; margin-top: 2rem; }}
code {{ overflow-wrap: anywhere; }}
.sub {{ color: #555; margin-top: 0; }}
.verdict li {{ font-size: 1.05rem; margin: 0.3rem 0; }}
.warnings li {{ background: #fff6e0; border-left: 4px solid #e0a800; padding: 0.4rem 0.6rem;
               margin: 0.4rem 0; list-style: none; }}
.warnings {{ padding-left: 0; }}
figure {{ margin: 1.5rem 0; max-width: 60rem; }}
figure > a {{ display: block; }}
figure img {{ display: block; width: 100%; height: auto; border: 1px solid #eee; }}
figcaption {{ color: #555; font-size: 0.9rem; }}
figcaption a {{ white-space: nowrap; }}
.table {{ overflow-x: auto; }}
table {{ border-collapse: collapse; font-size: 0.8rem; font-variant-numeric: tabular-nums; }}
th, td {{ border: 1px solid #ddd; padding: 0.25rem; text-align: right;
          vertical-align: top; }}
th {{ background: #f4f4f6; vertical-align: bottom; }}
th.text, td.text {{ text-align: left; }}
/* A header's lines are capped in width so that its length does not widen its column: the
   columns are as wide as their values need, and fit the screen together. */
th > span {{ display: inline-block; max-width: 7em; overflow-wrap: normal; }}
td.text {{ overflow-wrap: anywhere; min-width: 6rem; }}
tr.group th {{ text-align: left; background: #fafafb; font-size: 0.9rem; }}
tr.recommended, tr.recommended td {{ background: #eaf6ea; font-weight: 600; }}
tr.excluded td {{ color: #888; }}
dt {{ font-weight: 600; margin-top: 0.6rem; }}
dd {{ margin-left: 1rem; }}
@media (max-width: {NARROW_MAX_WIDTH}) {{
  body {{ margin-top: 1rem; }}
  figure {{ margin-left: -1rem; margin-right: -1rem; }}
  figure img {{ border: 0; }}
  figcaption {{ padding: 0 1rem; }}{_cards(".table")}
}}
@media (max-width: {MANY_MAX_WIDTH}) {{{_cards(".table.many")}
}}
"""
