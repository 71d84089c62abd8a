"""How the analysis writes throughputs and rates in its sentences (and the report in its cells)."""

from __future__ import annotations


def format_rps(value: float) -> str:
    return f"{value:.0f}" if value >= 10 else f"{value:.1f}" if value >= 1 else f"{value:.2f}"


def format_pct(rate: float) -> str:
    """Whole percents, with one decimal below 10% where the difference matters (0.5% vs 1%)."""
    percent = rate * 100
    return f"{percent:.1f}%" if 0 < round(percent, 1) < 10 else f"{percent:.0f}%"
