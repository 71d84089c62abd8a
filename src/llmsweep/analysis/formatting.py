"""How the analysis writes throughputs, rates and durations in its sentences (and the report in
its cells, the CLI in its lines)."""

from __future__ import annotations


def format_rps(value: float) -> str:
    return f"{value:.0f}" if value >= 10 else f"{value:.1f}" if value >= 1 else f"{value:.2f}"


def format_pct(rate: float) -> str:
    """Whole percents, with one decimal below 10% where the difference matters (0.5% vs 1%)."""
    percent = rate * 100
    return f"{percent:.1f}%" if 0 < round(percent, 1) < 10 else f"{percent:.0f}%"


def format_duration(seconds: float) -> str:
    """A duration (projected or expected) in the largest unit that keeps it readable."""
    if seconds < 10:
        return f"{seconds:.1f} s"
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
