"""Cost estimates: token counts, assumed outputs, exact money, and JSON."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from llmsweep.cost.estimate import JSON_FIELDS, cost_phrase, estimate, rows_to_json
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
    assert not row.bound and "(--output-tokens)" in row.basis
    row = estimate(load_prompts(str(path)), ["gpt-4o"], pricer=pricer, max_tokens=7)[0]
    assert row.output_tokens == 10 + 7
    assert row.default_output_prompts == 0


def test_an_estimate_is_a_bound_only_when_every_prompt_has_a_max_tokens(
    pricer: Pricer, tmp_path: Path
) -> None:
    path = tmp_path / "p.jsonl"
    path.write_text('{"prompt": "a", "max_tokens": 10}\n{"prompt": "b"}\n', encoding="utf-8")
    models = ["gpt-4o", "claude-sonnet-4-5"]
    exact, stand_in = estimate(load_prompts(str(path)), models, pricer=pricer)
    assert not exact.bound and not stand_in.bound
    assert exact.basis == (
        f"assuming {ASSUMED_OUTPUT_TOKENS} output tokens a prompt where no max_tokens is set "
        "(1 prompt(s)); input tokens exact"
    )
    assert stand_in.basis.endswith("input tokens approximate (o200k_base stand-in)")
    assert cost_phrase(Decimal("0.2211"), bound=False) == "about $0.221 expected"
    exact, stand_in = estimate(load_prompts(str(path)), models, pricer=pricer, max_tokens=5)
    assert exact.bound and stand_in.bound
    assert exact.basis == "a bound: output at each prompt's max_tokens; input tokens exact"
    assert stand_in.basis.endswith("(o200k_base stand-in), so the bound is approximate too")
    assert cost_phrase(Decimal("0.2211"), bound=True, basis="x") == "at most $0.221 (x)"


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
