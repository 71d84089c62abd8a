"""The progress line: done of total and the live counters, on stderr."""

from __future__ import annotations

import pytest

from factories import make_record
from llmsweep.cli.progress import ProgressView, duration_text
from llmsweep.engine.progress import RunProgress


def test_the_bar_shows_the_counters_it_tracks(capsys: pytest.CaptureFixture[str]) -> None:
    counters = RunProgress()
    with ProgressView() as view:
        view.update()  # nothing tracked yet: nothing to show
        view.track("gpt-4o @ 4", 4, counters)
        counters.add(make_record(prompt_id="p0", ended_at_s=1.0))
        counters.add(make_record(prompt_id="p1", ended_at_s=2.0))
        counters.add(make_record(prompt_id="p2", status="timeout", queued_at_s=0.5, ended_at_s=2.0))
        counters.retries, counters.rate_limited = 2, 1  # the engine keeps these itself
    captured = capsys.readouterr()
    assert captured.out == ""
    (line,) = [line for line in captured.err.splitlines() if "gpt-4o @ 4" in line]
    # 2 ok over the records' 2 s span; 3 x (100 + 50) tokens; 3 x $0.001.
    assert "3/4" in line
    assert line.endswith("   1.0 ok req/s  retries 2  429s 1  failed 1  tokens 450  $0.0030")


def test_possibly_billed_spend_shows_apart(capsys: pytest.CaptureFixture[str]) -> None:
    counters = RunProgress()
    with ProgressView() as view:
        view.track("gpt-4o @ 1", 1, counters)
        counters.add(make_record(possibly_billed_attempts=2, possibly_billed_usd="0.0004"))
    (line,) = [line for line in capsys.readouterr().err.splitlines() if "gpt-4o @ 1" in line]
    assert line.endswith("tokens 150  $0.0010 +$0.0004 possibly billed")


@pytest.mark.parametrize(
    ("seconds", "text"), [(0.4, "0s"), (45, "45s"), (190, "3m10s"), (3720, "1h02m")]
)
def test_durations_read_as_a_person_says_them(seconds: float, text: str) -> None:
    assert duration_text(seconds) == text
