"""Latency targets (--slo) on hand-worked levels: which met them, and the pick among those."""

from __future__ import annotations

import math

import pytest

from factories import LAGGING, make_meta, make_record, result_of, with_config
from llmsweep.analysis.result import SweepResult
from llmsweep.errors import UsageError
from llmsweep.report.sections import summary_table, verdicts
from llmsweep.settings import parse_slo
from llmsweep.store.records import Record

LE = "\N{LESS-THAN OR EQUAL TO}"


def waves(level: int, latency_s: float, *, prompts: int = 8, failed: int = 0) -> list[Record]:
    """``prompts`` requests of ``latency_s`` each (TTFT a quarter of it), sent in waves of
    ``level``: the cell takes ceil(prompts / level) x latency_s; the last ``failed`` fail."""
    return [
        make_record(
            prompt_id=f"p{i}",
            model="m",
            concurrency=level,
            queued_at_s=(i // level) * latency_s,
            ended_at_s=(i // level + 1) * latency_s,
            ttft_s=latency_s / 4,
            status="server_error" if i >= prompts - failed else "ok",
        )
        for i in range(prompts)
    ]


# Throughput 1, 1.67, 2.22 and 2.67 req/s at 1, 2, 4 and 8; latency 1.0, 1.2, 1.8 and 3.0 s.
# The knee (within 10% of the best 2.67 req/s) is 8; under p95 <= 2 s only 1, 2 and 4 qualify.
RISING = waves(1, 1.0) + waves(2, 1.2) + waves(4, 1.8) + waves(8, 3.0)


def judged(records: list[Record], *slo: str, stream: bool = False) -> SweepResult:
    meta = with_config(make_meta(models=("m",), prompt_count=8), slo=parse_slo(slo), stream=stream)
    return result_of(records, meta)


def test_the_pick_is_the_fastest_level_that_met_the_target() -> None:
    assert result_of(RISING, make_meta(models=("m",), prompt_count=8)).recommended == {
        "m": 8
    }  # the knee
    result = judged(RISING, "p95=2.0")
    assert result.recommended == {"m": 4}
    assert [(level.concurrency, level.slo_met) for level in result.levels] == [
        (1, True),
        (2, True),
        (4, True),
        (8, False),
    ]
    (rec,) = result.recommendations
    assert rec.target == f"p95 {LE} 2 s"
    assert rec.explanation == (
        "Use concurrency 4 for m: 2.2\N{MULTIPLICATION SIGN} faster than sequential (2.2 req/s), "
        f"the highest throughput among the levels that met the latency target p95 {LE} 2 s with "
        f"failures {LE} 1.0% and 429s {LE} 5.0% (concurrency 1, 2, 4); missed by 8 (p95 3.00 s "
        "> 2 s)."
    )
    (line,) = verdicts(result.levels, result.recommendations)
    assert line.startswith(
        "m: use concurrency 4 (2.2\N{MULTIPLICATION SIGN} faster than sequential, 2.2 req/s, "
        f"meets the latency target p95 {LE} 2 s); "
    )
    table = summary_table(result.levels, result.recommendations)
    column = table.headers.index("latency target met")
    assert [row[column] for row in table.rows] == ["yes", "yes", "yes", "no: p95 3.00 s > 2 s"]


def test_a_level_that_met_the_latency_but_failed_too_often_is_not_picked() -> None:
    records = waves(1, 1.0) + waves(2, 1.2) + waves(4, 1.8, failed=1) + waves(8, 3.0)
    result = judged(records, "p95=2.0,p50=1.5")
    assert result.recommended == {"m": 2}
    assert result.recommendations[0].explanation.endswith(
        "missed by 4 (p50 1.80 s > 1.5 s; failures 12%), 8 (p50 3.00 s > 1.5 s; p95 3.00 s > 2 s)."
    )


def test_time_to_first_token_targets_and_no_level_meeting_them() -> None:
    # TTFT is a quarter of the latency: 0.25, 0.3, 0.45 and 0.75 s.
    assert judged(RISING, "ttft_p95=0.5", stream=True).recommended == {"m": 4}
    result = judged(RISING, "p95=0.9", "ttft_p95=0.5", stream=True)
    assert result.recommended == {"m": None}
    (warning,) = result.recommendations[0].warnings
    assert warning.startswith(
        f"m: no level met the latency target p95 {LE} 0.9 s and ttft_p95 {LE} 0.5 s with failures "
        f"{LE} 1.0% and 429s {LE} 5.0% (lowest measured: p95 1.00 s at concurrency 1, ttft_p95 "
        "0.25 s at concurrency 1). Loosen the target"
    )
    (line,) = verdicts(result.levels, result.recommendations)
    assert line.startswith(
        f"m: no concurrency met the latency target p95 {LE} 0.9 s and ttft_p95 {LE} 0.5 s "
    )


@pytest.mark.parametrize(
    ("texts", "error"),
    [
        (["p95"], "--slo 'p95': expected NAME=SECONDS with NAME one of p50, p95, p99, ttft_p95"),
        (["p90=2"], "--slo 'p90=2': expected NAME=SECONDS"),
        (["p95=soon"], "--slo 'p95=soon': expected NAME=SECONDS"),
        (["p95=0"], "--slo p95: seconds must be a positive number"),
        (["p95=nan"], "--slo p95: seconds must be a positive number"),
        (["p95=1", "p95=2"], "--slo p95: given twice"),
    ],
)
def test_bad_targets_are_refused_naming_the_flag(texts: list[str], error: str) -> None:
    with pytest.raises(UsageError, match="^" + error.replace("(", r"\(")):
        parse_slo(texts)


def test_targets_parse_repeated_or_comma_separated_in_one_order() -> None:
    assert parse_slo(["ttft_p95=0.5, p95=2"]) == parse_slo(["p95=2.0", "ttft_p95=.5"])
    assert [str(target) for target in parse_slo(["p99=3,p50=1"])] == [
        f"p50 {LE} 1 s",
        f"p99 {LE} 3 s",
    ]
    assert parse_slo(["none"]) == ()
    with pytest.raises(UsageError, match="--slo ttft_p95 needs --stream"):
        judged(RISING, "ttft_p95=0.5")
    assert math.isclose(parse_slo(["p95=2"])[0].max_s, 2.0)


def test_a_target_is_not_blamed_when_no_level_measured_the_api() -> None:
    meta = with_config(make_meta(models=("m",), prompt_count=8), slo=parse_slo(["p95=2"]))
    lagging = {("m", level, 0): LAGGING for level in (1, 2, 4, 8)}
    result = result_of(RISING, meta, lagging)
    assert result.recommended == {"m": None}
    (line,) = verdicts(result.levels, result.recommendations)
    assert line.startswith("m: no level measured the API: this machine was the bottleneck")
