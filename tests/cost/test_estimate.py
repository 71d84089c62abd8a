"""Cost estimates: token counts, assumed outputs, exact money, JSON, and the two commands."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner

from llmsweep.cli import cli, main
from llmsweep.cost.estimate import JSON_FIELDS, estimate, rows_to_json
from llmsweep.cost.money import format_usd
from llmsweep.cost.pricing import Pricer, UserPrice
from llmsweep.errors import PricingError
from llmsweep.inputs.prompts import Prompt, load_prompts
from llmsweep.inputs.tokens import tokenizer_for
from llmsweep.settings import ASSUMED_OUTPUT_TOKENS

AT = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


@pytest.fixture()
def pricer() -> Pricer:
    return Pricer(at=AT)


def test_counts_and_costs_equal_per_prompt_sums(pricer: Pricer) -> None:
    models = ["gpt-4o", "gpt-4", "claude-sonnet-4-5"]
    rows = estimate(load_prompts("demo"), models, pricer=pricer)
    prompts = list(load_prompts("demo"))
    assert [row.model for row in rows] == models
    for row in rows:
        tokenizer = tokenizer_for(row.model)
        inputs = [tokenizer.count_chat(p.messages) for p in prompts]
        outputs = [p.max_tokens or ASSUMED_OUTPUT_TOKENS for p in prompts]
        assert row.prompts == len(prompts)
        assert row.input_tokens == sum(inputs)
        assert row.output_tokens == sum(outputs)
        assert row.tokens_exact == tokenizer.exact
        each = [
            pricer.cost(row.model, input_tokens=i, output_tokens=o)
            for i, o in zip(inputs, outputs, strict=True)
        ]
        assert row.input_cost_usd == sum(c.input_usd for c in each)
        assert row.output_cost_usd == sum(c.output_usd for c in each)
        assert row.total_cost_usd == sum(c.total_usd for c in each)
        batch = sum(
            pricer.cost_usd(row.model, input_tokens=i, output_tokens=o, batch=True)
            for i, o in zip(inputs, outputs, strict=True)
        )
        assert row.batch_total_cost_usd == batch
        per_1k = row.total_cost_usd * 1000 / len(prompts)
        assert abs(row.cost_per_1k_prompts_usd - per_1k) <= Decimal("1e-9")
    assert rows[2].tokens_exact is False  # Claude: o200k_base stands in


def test_streams_in_batches_and_counts_each_prompt_once(pricer: Pricer) -> None:
    rows = estimate(load_prompts("synthetic:2345:60:7"), ["gpt-4o"], pricer=pricer)
    tokenizer = tokenizer_for("gpt-4o")
    inputs = sum(tokenizer.count_chat(p.messages) for p in load_prompts("synthetic:2345:60:7"))
    assert (rows[0].prompts, rows[0].input_tokens, rows[0].output_tokens) == (
        2345,
        inputs,
        2345 * 7,
    )


def test_output_tokens_flag_then_max_tokens_then_default(pricer: Pricer, tmp_path: Path) -> None:
    path = tmp_path / "p.jsonl"
    path.write_text('{"prompt": "a", "max_tokens": 10}\n{"prompt": "b"}\n', encoding="utf-8")
    row = estimate(load_prompts(str(path)), ["gpt-4o"], pricer=pricer)[0]
    assert row.output_tokens == 10 + ASSUMED_OUTPUT_TOKENS
    assert row.default_output_prompts == 1
    row = estimate(load_prompts(str(path)), ["gpt-4o"], pricer=pricer, output_tokens=5)[0]
    assert row.output_tokens == 10
    assert row.default_output_prompts == 0
    row = estimate(load_prompts(str(path)), ["gpt-4o"], pricer=pricer, default_output_tokens=7)[0]
    assert row.output_tokens == 10 + 7


def test_prompts_over_the_context_window_are_counted(pricer: Pricer) -> None:
    big = Prompt("big", [{"role": "user", "content": "hello " * 9000}], 1)
    small = Prompt("small", [{"role": "user", "content": "hello"}], 1)
    gpt4, gpt4o = estimate([small, big], ["gpt-4", "gpt-4o"], pricer=pricer)
    assert (gpt4.context_window, gpt4.oversized_prompts, gpt4.first_oversized_id) == (
        8192,
        1,
        "big",
    )
    assert gpt4.largest_input_tokens > 9000
    assert gpt4o.oversized_prompts == 0


def test_unknown_model_fails_before_reading_prompts(pricer: Pricer) -> None:
    def prompts() -> Iterator[Prompt]:
        raise AssertionError("prompts were read")
        yield  # pragma: no cover

    with pytest.raises(PricingError, match="did you mean"):
        estimate(prompts(), ["gpt-4o", "gpt-4oo"], pricer=pricer)


def test_user_priced_model_has_no_batch_total() -> None:
    pricer = Pricer({"my-llama": UserPrice(Decimal(1), Decimal(2), source="mine")}, at=AT)
    row = estimate(load_prompts("demo"), ["my-llama"], pricer=pricer)[0]
    assert row.batch_total_cost_usd is None
    assert row.price_source == "mine"
    assert row.tokens_exact is False
    expected = (row.input_tokens * 1 + row.output_tokens * 2) / Decimal(1_000_000)
    assert row.total_cost_usd == expected


def test_json_has_exactly_the_documented_fields_and_exact_money(pricer: Pricer) -> None:
    rows = estimate(load_prompts("demo"), ["gpt-4o", "azure:gpt-4o"], pricer=pricer)
    data = json.loads(rows_to_json(rows))
    assert [tuple(item) for item in data] == [JSON_FIELDS, JSON_FIELDS]
    assert Decimal(data[0]["total_cost_usd"]) == rows[0].total_cost_usd
    assert isinstance(data[0]["input_tokens"], int)
    assert data[1]["batch_total_cost_usd"] is None


def test_money_is_written_one_way_with_half_up_rounding() -> None:
    # One definition for the estimate table, the CLI and the report: $2.345 reads $2.35 in
    # each (it read $2.34 in one and $2.35 in the other when each had its own).
    assert format_usd(Decimal("2.345")) == "$2.35"
    assert format_usd(Decimal("1234.5")) == "$1,234.50"
    assert format_usd(Decimal("0.0625")) == "$0.0625"
    assert format_usd(Decimal("0.0000123456")) == "$0.0000123"
    assert format_usd(Decimal(0)) == "$0"


def test_estimate_json_command() -> None:
    result = CliRunner().invoke(
        cli, ["estimate", "demo", "--model", "gpt-4o", "--model", "gpt-4", "--json"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert [item["model"] for item in data] == ["gpt-4o", "gpt-4"]
    assert "ESTIMATES" in result.stderr


def test_estimate_table_says_estimate_source_and_date() -> None:
    result = CliRunner().invoke(
        cli, ["estimate", "synthetic:20:50:10", "--model", "gpt-4o", "--model", "claude-sonnet-4-5"]
    )
    assert result.exit_code == 0, result.output
    assert "ESTIMATES" in result.stdout
    assert "genai-prices" in result.stdout and "as in effect on" in result.stdout
    assert "Tokens for claude-sonnet-4-5 are an estimate" in result.stdout


def test_estimate_with_command_line_prices() -> None:
    args = ["estimate", "demo", "--model", "my-llama", "--price-in", "1", "--price-out", "2"]
    result = CliRunner().invoke(cli, [*args, "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)[0]["price_source"] == "--price-in/--price-out"


def test_prices_command_lists_matches() -> None:
    result = CliRunner().invoke(cli, ["prices", "gpt-4o"])
    assert result.exit_code == 0, result.output
    assert "gpt-4o-mini" in result.stdout
    assert "$2.5" in result.stdout
    assert "genai-prices" in result.stdout


def run_main(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int, str]:
    """Through ``main()``, as the installed command runs: returns (exit code, stderr)."""
    monkeypatch.setattr(sys, "argv", ["llmsweep", *args])
    with pytest.raises(SystemExit) as caught:
        main()
    code = caught.value.code
    return (code if isinstance(code, int) else 1), capsys.readouterr().err


@pytest.mark.parametrize(
    ("command", "needle"),
    [
        ("estimate demo --model gpt-4oo", "did you mean: "),
        ("estimate demo --model x --price-in -1 --price-out 1", "--price-in"),
        ("estimate demo --model x --price-in 1 --price-out abc", "--price-out"),
        ("estimate demo --model a --model b --price-in 1 --price-out 1", "exactly one --model"),
        ("estimate demo --model gpt-4o --output-tokens 0", "--output-tokens"),
        ("estimate demo --model gpt-4o --price-file /nonexistent.toml", "/nonexistent.toml"),
        ("estimate synthetic:0:1:1 --model gpt-4o", "synthetic:N:IN:OUT"),
        ("prices no-such-model-anywhere", "no model matches"),
    ],
)
def test_errors_exit_2_with_one_line(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    command: str,
    needle: str,
) -> None:
    code, stderr = run_main(monkeypatch, capsys, *command.split())
    assert code == 2
    assert stderr.startswith("llmsweep: error: ")
    assert stderr.count("\n") == 1
    assert needle in stderr
    assert "Traceback" not in stderr
