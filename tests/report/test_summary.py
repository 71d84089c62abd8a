"""summary.json and summary.csv: stable text, exact money, one row per level."""

from __future__ import annotations

import csv
import io
import json
import math
from decimal import Decimal
from pathlib import Path

from conftest import StartSimulator
from engine_helpers import fixed_profile, sweep
from factories import levels_of, make_meta, make_record, result_of, tiny_sweep
from llmsweep.report.summary import (
    CSV_COLUMNS,
    SUMMARY_SCHEMA_VERSION,
    _jsonable,
    summary_to_csv,
    summary_to_json,
)
from llmsweep.settings import SweepConfig


def test_summary_json_is_stable_and_keeps_money_exact() -> None:
    result = result_of(tiny_sweep(), make_meta(models=("m",), levels=(1, 2, 4), prompt_count=4))
    text = summary_to_json(result)
    assert text == summary_to_json(result_of(reversed(tiny_sweep()), result.meta))
    data = json.loads(text)
    assert data["schema_version"] == SUMMARY_SCHEMA_VERSION
    assert data["recommended_concurrency"] == {"m": 4}
    assert data["meta"]["tool_version"] == "0.1.0"
    assert data["levels"][0]["cost_usd"] == "0.004"
    assert data["cells"][0]["wall_s"] == 4.0
    assert list(data) == sorted(data)


def test_summary_json_writes_floats_to_nine_digits_and_decimals_in_full() -> None:
    # The meta is typed now (store.meta), so these values go to the one conversion directly.
    values = {
        "sum": 0.1 + 0.2,  # 0.30000000000000004 would depend on the order of a sum
        "third": 1 / 3,
        "nan": math.nan,
        "usd": Decimal("1E-7"),  # str() would give "1E-7"
        "pair": (1, "a"),
        "flag": True,
    }
    assert _jsonable(values) == {
        "sum": 0.3,
        "third": 0.333333333,
        "nan": None,
        "usd": "0.0000001",
        "pair": [1, "a"],
        "flag": True,
    }
    data = json.loads(summary_to_json(result_of([])))
    assert (data["levels"], data["cells"], data["recommended_concurrency"]) == ([], [], {})


def test_summary_csv_has_one_row_per_level_with_unit_columns() -> None:
    rows = list(csv.DictReader(io.StringIO(summary_to_csv(levels_of(tiny_sweep())))))
    assert len(rows) == 3
    assert tuple(rows[0]) == CSV_COLUMNS
    assert rows[2]["speedup"] == "4.0" and rows[2]["cost_usd"] == "0.004"
    assert rows[0]["ttft_p50_s"] == "" and rows[0]["client_bound"] == "False"


async def test_streamed_sweep_gives_itl_and_tpot_at_the_simulators_token_time(
    start_simulator: StartSimulator, tmp_path: Path
) -> None:
    # 40 ms a token, 30 tokens: at 40 ms the simulator sends one token per event (it groups
    # tokens only below its 15 ms chunk interval), so every gap is one token time. TPOT =
    # (latency - TTFT) / 29 also counts the finish event one token time after the last
    # token: 30 / 29 of 40 ms = 41.4 ms. Both are medians, so a late wake-up of the shared
    # event loop moves a few gaps, not the value (p95 is the tail such wake-ups make, so it is
    # only checked to be there); the bar is 10% of the configured time.
    token_s = 0.040
    sim = await start_simulator(profile=fixed_profile(ttft_s=0.05, tokens=30, tokens_per_s=25))
    config = SweepConfig(
        prompts="synthetic:8:20:30", models=("gpt-4o",), levels=(8,), stream=True,
        client="http", repeats=2,
    )  # fmt: skip
    summary = await sweep(sim, config, tmp_path / "r")
    rows = summary["cells"] + summary["levels"]
    assert len(rows) == 3  # two cells, one level
    for row in rows:
        for name in ("itl_p50_s", "tpot_p50_s"):
            assert abs(row[name] - token_s) <= 0.1 * token_s, (name, row[name])
        assert row["itl_p95_s"] >= row["itl_p50_s"]
    (level,) = summary["levels"]
    interval = level["throughput_rps_ci"]  # two repeats: a Student-t interval, named
    assert interval["n"] == 2 and interval["half_width"] >= 0
    assert summary["confidence_interval_method"].startswith("Student-t 95% interval")


def test_summary_json_carries_retries_their_causes_and_the_cached_share() -> None:
    records = [
        make_record(prompt_id="a", attempts=3, retry_causes=("connection", "timeout")),
        make_record(prompt_id="b", cached_input_tokens=100),
    ]
    data = json.loads(summary_to_json(result_of(records, make_meta(levels=(1,), prompt_count=2))))
    for row in (data["cells"][0], data["levels"][0]):
        assert (row["retried"], row["retry_rate"]) == (1, 0.5)
        assert row["retry_causes"] == {"connection": 1, "timeout": 1}
        assert row["cached_input_share"] == 0.5
    assert data["levels"][0]["excluded"] is None
