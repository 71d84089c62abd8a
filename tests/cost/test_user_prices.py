"""Prices the user gives: --price-in/--price-out for one model or a TOML price file, checked
before anything is sent."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from llmsweep.cost.pricing import Pricer
from llmsweep.cost.user_prices import load_price_file, pricer_from_flags, user_price
from llmsweep.errors import InputError, PricingError, UsageError

# A fixed instant, as in test_pricing.py: the bundled data holds dated price changes.
AT = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def test_command_line_prices_go_to_the_one_model() -> None:
    pricer = pricer_from_flags(["my-llama"], None, 1.0, 2.0)  # USD per million tokens
    # 1,000 input tokens at $1/M and 500 output tokens at $2/M: $0.001 + $0.001.
    assert pricer.cost_usd("my-llama", input_tokens=1000, output_tokens=500) == Decimal("0.002")
    assert pricer.cost_fn("my-llama")(1000, 500, 0) == Decimal("0.002")  # what the engine calls
    with pytest.raises(UsageError, match="--price-in and --price-out go together"):
        pricer_from_flags(["my-llama"], None, 1.0, None)
    with pytest.raises(UsageError, match="need exactly one --model"):
        pricer_from_flags(["a", "b"], None, 1.0, 2.0)
    with pytest.raises(PricingError, match="did you mean"):
        pricer_from_flags(["gpt-4oo"], None, None, None)  # fails before anything is sent


def write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "prices.toml"
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_price_file_overrides_and_adds_models(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '[models."my-llama"]\ninput = 0.2\noutput = 0.6\ncached_input = 0.1\n\n'
        '[models."gpt-4o"]\ninput = 1\noutput = 2\n',
    )
    pricer = Pricer(load_price_file(path), at=AT)
    llama = pricer.pricing("my-llama")
    assert llama.input_per_mtok_usd == Decimal("0.2")  # not 0.2000000000000000111...
    assert llama.cached_input_per_mtok_usd == Decimal("0.1")
    assert llama.batch_input_per_mtok_usd is None
    assert llama.source == f"user price file {path}"
    cost = pricer.cost_usd(
        "my-llama", input_tokens=1000, output_tokens=1000, cached_input_tokens=500
    )
    assert cost == Decimal("0.00075")  # 500 x 0.2 + 500 x 0.1 + 1000 x 0.6, per million
    assert pricer.cost_usd("gpt-4o", input_tokens=10**6, output_tokens=10**6) == Decimal(3)
    assert pricer.pricing("gpt-4o").provider is None
    with pytest.raises(PricingError, match="no batch price"):
        pricer.cost_usd("my-llama", input_tokens=1, output_tokens=1, batch=True)
    assert "user price file" in pricer.source_summary(["my-llama", "gpt-4o"])


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("[models.x\ninput = 1", "not valid TOML"),
        ("[models.x]\ninput = 1\n", "missing key(s) output"),
        ("[models.x]\ninput = 1\noutput = 2\nbatch = 3\n", "unknown key(s) batch"),
        ("[models.x]\ninput = -1\noutput = 2\n", "non-negative"),
        ('[models.x]\ninput = "cheap"\noutput = 2\n', "not a number"),
        ("[models.x]\ninput = nan\noutput = 2\n", "finite"),
        ("[models.gpt-4.1]\ninput = 1\noutput = 2\n", 'quote names with dots: [models."gpt-4.1"]'),
        ("[other]\nx = 1\n", "expected only [models"),
    ],
)
def test_price_file_problems_name_the_file(tmp_path: Path, text: str, problem: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(InputError) as caught:
        load_price_file(path)
    assert str(caught.value).startswith(f"{path}: ")
    assert problem in str(caught.value)


def test_missing_price_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such price file"):
        load_price_file(str(tmp_path / "nope.toml"))


def test_user_price_validates_each_flag() -> None:
    assert user_price(0.2, "0.6").output_per_mtok_usd == Decimal("0.6")
    with pytest.raises(UsageError, match="--price-in"):
        user_price(-1, 1)
    with pytest.raises(UsageError, match="--price-out"):
        user_price(1, "abc")
    with pytest.raises(UsageError, match="--price-in"):
        user_price(float("inf"), 1)
