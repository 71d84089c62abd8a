"""Cost per model, against the estimate, and possibly billed attempts summed (issue 13), on
hand-worked records."""

from __future__ import annotations

import json
from dataclasses import replace
from decimal import Decimal

from factories import make_cell, make_estimate, make_meta, result_of
from llmsweep.analysis.costs import level_cost_gaps
from llmsweep.report.cost_warnings import cost_warnings
from llmsweep.report.costs import cost_intro, cost_table
from llmsweep.report.summary import summary_to_csv, summary_to_json
from llmsweep.store.meta import REAL, TargetInfo
from llmsweep.store.records import Record


def records() -> list[Record]:
    """Model m. Level 1: 4 prompts at $0.001, 100 input tokens each (the API's count). Level 2:
    the same 4 prompts at $0.002 with 150 input tokens each; prompt p0 also had 2 attempts
    time out, possibly billed $0.0005 in all, and p3 failed after 1 such attempt ($0.0002)."""
    level_2 = [replace(r, input_tokens=150) for r in make_cell("m", 2, prompts=4, wall_s=2.0)]
    level_2[0] = replace(level_2[0], possibly_billed_attempts=2, possibly_billed_usd="0.0005")
    level_2[3] = replace(
        level_2[3],
        status="timeout",
        cost_usd="0",
        usage_reported=False,
        possibly_billed_attempts=1,
        possibly_billed_usd="0.0002",
    )
    level_2[:3] = [replace(r, cost_usd="0.002") for r in level_2[:3]]
    return [*make_cell("m", 1, prompts=4, wall_s=4.0), *level_2]


# The estimate: $0.004 for 4 prompts ($1.00 per 1k), 100 input tokens a prompt.
ESTIMATES = {"m": make_estimate("m", "0.004", None, 4)}


def test_model_cost_against_the_estimate_hand_worked() -> None:
    result = result_of(records(), make_meta(models=("m",), levels=(1, 2), estimates=ESTIMATES))
    (cost,) = result.costs
    # Actual: $0.004 + $0.006 over 7 succeeded prompts = $1.428571 per 1k: +43% on $1.00.
    assert cost.cost_usd == Decimal("0.010")
    assert cost.cost_per_1k_succeeded_usd == Decimal("1.428571")
    assert cost.estimate_per_1k_usd == Decimal("1.000000")
    assert abs(cost.estimate_error - 0.428571) < 1e-6  # type: ignore[operator]
    # Possibly billed, apart from the actual: $0.0005 + $0.0002 over 3 attempts.
    assert (cost.possibly_billed_usd, cost.possibly_billed_attempts) == (Decimal("0.0007"), 3)
    # Input tokens the API reported, over succeeded prompts with usage: (4 x 100 + 3 x 150) / 7
    # = 121.43 a prompt, against 100 counted before the run.
    assert abs(cost.input_token_ratio - 850 / 7 / 100) < 1e-9  # type: ignore[operator]
    cells = {cell.concurrency: cell for cell in result.cells}
    assert cells[2].possibly_billed_usd == Decimal("0.0007")
    assert cells[2].possibly_billed_attempts == 3 and cells[1].possibly_billed_attempts == 0
    summary = json.loads(summary_to_json(result))
    assert summary["spent"] == {
        "cost_usd": "0.010",
        "possibly_billed_usd": "0.0007",
        "possibly_billed_attempts": 3,
    }
    assert summary["models"][0]["estimate_per_1k_usd"] == "1.000000"
    header, _, level_2 = summary_to_csv(result.levels).splitlines()
    columns = dict(zip(header.split(","), level_2.split(","), strict=True))
    assert (columns["possibly_billed_usd"], columns["possibly_billed_attempts"]) == ("0.0007", "3")


def test_the_cost_section_keeps_possibly_billed_apart() -> None:
    meta = make_meta(models=("m",), levels=(1, 2), estimates=ESTIMATES)
    result = result_of(records(), meta)
    intro = cost_intro(result.costs, meta)
    assert intro[0].startswith("Cost per prompt does not depend on concurrency")
    assert intro[1].startswith("Actual spend (from the usage the API reported): $0.0100.")
    assert "Possibly billed, apart from it: $0.000700 for 3 attempt(s)" in intro[1]
    (row,) = cost_table(result.costs).rows
    assert row == (
        "m", "7", "$0.0100", "$0.000700 (3)", "$1.43", "$1.00", "+43%", "exact",
        "1.21\N{MULTIPLICATION SIGN}",
    )  # fmt: skip


def test_cost_warnings_say_what_to_do() -> None:
    meta = make_meta(models=("m",), levels=(1, 2), estimates=ESTIMATES)
    result = result_of(records(), meta)
    estimate, billed = cost_warnings(result.levels, meta)
    assert estimate.startswith(
        "m: the actual cost, $1.43 per 1k succeeded prompts, is +43% off the pre-run estimate "
        "of $1.00 (a bound"
    )
    # The estimate was a maximum; 8 x 50 output tokens over 7 succeeded prompts = 57.
    assert "llmsweep estimate --output-tokens 57" in estimate
    assert billed.startswith("3 attempt(s) timed out or were cut") and "$0.000700" in billed
    assert "raise --timeout" in billed
    # On the simulator every level costs alike by construction: no level is singled out.
    assert not any("differs by more than 10%" in w for w in (estimate, billed))


def test_a_level_off_its_models_cost_is_a_warning_on_a_real_target_only() -> None:
    # Level 1: $1.00 per 1k; level 2: $0.006 / 3 = $2.00; the model: $1.43. Both are off by
    # more than 10%.
    levels = result_of(records()).levels
    gaps = [(level.concurrency, usd) for level, usd, _ in level_cost_gaps(levels)]
    assert gaps == [(1, Decimal("1.000000")), (2, Decimal("2.000000"))]
    real = make_meta(models=("m",), levels=(1, 2), target=TargetInfo(REAL, "https://api.x/v1"))
    (gap,) = [w for w in cost_warnings(levels, real) if "differs by more than 10%" in w]
    assert "m @ 1 $1.00 against $1.43 (-30% off), m @ 2 $2.00 against $1.43 (40% off)" in gap
    assert "Concurrency does not change what a request costs" in gap
