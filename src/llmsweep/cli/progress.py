"""Live progress on stderr, fed from the runners' counters; one bar per run or sweep cell."""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from llmsweep.engine.progress import RunProgress


class ProgressView:
    """done/total, requests/s, retries, 429s, errors, tokens and dollars so far."""

    def __init__(self, sweep_left_s: Callable[[], float | None] | None = None) -> None:
        """``sweep_left_s``: a whole sweep's time left (``session.eta``), shown on every bar."""
        self._sweep_left_s = sweep_left_s
        console = Console(stderr=True)
        if not console.is_terminal:  # a log or CI: no width to fit, so never cut a figure off
            console = Console(stderr=True, width=200)
        self._bar = Progress(
            TextColumn("{task.description}"),
            BarColumn(bar_width=24),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            TextColumn("{task.fields[detail]}"),
            console=console,
        )
        self._task: TaskID | None = None
        self._counters = RunProgress()

    def track(self, label: str, total: int, counters: RunProgress) -> None:
        """Show a new bar for a run (or sweep cell) whose live counters are ``counters``."""
        self._counters = counters
        self._task = self._bar.add_task(label, total=total, detail="")

    def update(self) -> None:
        if self._task is None:
            return
        c = self._counters
        detail = (
            self._sweep_eta()
            + f"{c.ok_per_s:6.1f} ok req/s  retries {c.retries}  429s {c.rate_limited}  "
            f"failed {c.failed}  tokens {c.input_tokens + c.output_tokens:,}  "
            f"${c.cost_usd:.4f}"
        )
        if c.possibly_billed_usd:  # apart from the actual spend (Record.possibly_billed)
            detail += f" +${c.possibly_billed_usd:.4f} possibly billed"
        self._bar.update(self._task, completed=c.done, detail=detail)

    def _sweep_eta(self) -> str:
        if self._sweep_left_s is None:
            return ""
        left_s = self._sweep_left_s()
        return f"sweep ETA {'--' if left_s is None else duration_text(left_s)}  "

    def __enter__(self) -> ProgressView:
        self._bar.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.update()
        self._bar.stop()


def duration_text(seconds: float) -> str:
    """``seconds`` as a person reads a time left: ``45s``, ``3m10s``, ``1h02m``."""
    whole = max(0, round(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"
