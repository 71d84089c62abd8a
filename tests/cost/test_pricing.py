"""Prices against genai-prices' real bundled data: no mocks, exact Decimal comparisons."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import genai_prices
import pytest
from genai_prices import Usage, calc_price
from hypothesis import given, settings
from hypothesis import strategies as st

from llmsweep.cost.pricing import Pricer, UserPrice
from llmsweep.errors import PricingError, UsageError

# A fixed instant: the data holds dated price changes (gpt-4o's batch price starts 2026-10-14).
AT = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
BATCH = {"processing": "batch"}


@pytest.fixture()
def pricer() -> Pricer:
    return Pricer(at=AT)


def expected(
    model: str, i: int, o: int, c: int = 0, *, batch: bool = False, provider: str | None = None
) -> Decimal:
    """What genai-prices' own calc_price says."""
    usage = Usage(input_tokens=i, output_tokens=o, cache_read_tokens=c)
    context = BATCH if batch else None
    result = calc_price(
        usage, model, provider_id=provider, genai_request_timestamp=AT, price_context=context
    )
    return result.total_price


@pytest.mark.parametrize(
    ("model", "i", "o", "c"),
    [
        ("gpt-4o", 1234, 567, 0),
        ("gpt-4o", 1234, 567, 1000),
        ("gpt-4o-2024-08-06", 10, 1, 0),
        ("gpt-4o-mini", 999_999, 3, 7),
        ("claude-sonnet-4-5", 250_000, 1000, 0),  # above the 200k tier
        ("gemini-2.5-pro", 199_999, 10, 0),
    ],
)
def test_cost_equals_calc_price_to_the_last_digit(
    pricer: Pricer, model: str, i: int, o: int, c: int
) -> None:
    cost = pricer.cost_usd(model, input_tokens=i, output_tokens=o, cached_input_tokens=c)
    # str() also compares exponent and trailing zeros, not just the value.
    assert str(cost) == str(expected(model, i, o, c))


def test_per_request_fees_count(pricer: Pricer) -> None:
    # Perplexity's models need the provider named, and add a fee per request.
    cost = pricer.cost_usd("perplexity:sonar", input_tokens=100, output_tokens=100)
    assert str(cost) == str(expected("sonar", 100, 100, provider="perplexity"))
    assert cost > Decimal("0.012")


@settings(max_examples=60, deadline=None)
@given(i=st.integers(0, 2_000_000), o=st.integers(0, 200_000), batch=st.booleans())
def test_cost_matches_calc_price_for_any_size(i: int, o: int, batch: bool) -> None:
    pricer = Pricer(at=AT)
    for model in ("gpt-4o", "claude-sonnet-4-5"):
        got = pricer.cost_usd(model, input_tokens=i, output_tokens=o, batch=batch)
        assert str(got) == str(expected(model, i, o, batch=batch))


@settings(max_examples=60, deadline=None)
@given(
    i=st.integers(0, 2_000_000),
    o=st.integers(0, 200_000),
    cached_share=st.floats(0, 1),
    model=st.sampled_from(["gpt-4o", "gpt-4o-mini", "claude-sonnet-4-5", "perplexity:sonar"]),
)
def test_the_engines_cost_function_is_calc_price(
    i: int, o: int, cached_share: float, model: str
) -> None:
    # Linear prices take a short cut (unit costs asked once); tiers and fees do not.
    c = int(i * cached_share) if model != "perplexity:sonar" else 0
    cost = Pricer(at=AT).cost_fn(model)(i, o, c)
    provider, _, name = model.rpartition(":")
    assert cost == expected(name, i, o, c, provider=provider or None)


def test_the_cost_function_refuses_bad_counts(pricer: Pricer) -> None:
    with pytest.raises(UsageError, match="cached input tokens"):
        pricer.cost_fn("gpt-4o")(10, 0, 11)


def test_provider_prefixes_resolve_like_genai_prices(pricer: Pricer) -> None:
    for name in ("openai:gpt-4o", "openai/gpt-4o"):
        assert pricer.pricing(name).source == pricer.pricing("gpt-4o").source
        assert pricer.cost_usd(name, input_tokens=5, output_tokens=5) == expected("gpt-4o", 5, 5)
    assert pricer.pricing("gpt-4o-2024-08-06").provider == "openai"


def test_input_and_output_split_sum_to_total(pricer: Pricer) -> None:
    cost = pricer.cost("gpt-4o", input_tokens=1000, output_tokens=500)
    assert cost.input_usd == Decimal("0.0025")
    assert cost.output_usd == Decimal("0.005")
    assert cost.total_usd == cost.input_usd + cost.output_usd


@pytest.mark.parametrize(
    ("model", "batch"),
    [
        ("gpt-4o", False),
        ("gpt-4o", True),
        ("claude-sonnet-4-5", False),  # tiered: the tier is chosen per request
        ("claude-sonnet-4-5", True),
        ("gemini-2.5-pro", True),
        ("perplexity:sonar", False),  # a fee per request
    ],
)
def test_total_cost_equals_the_sum_of_single_requests(model: str, batch: bool) -> None:
    pricer = Pricer(at=AT)
    sizes = {(100, 10): 3, (250_000, 20): 2, (199_000, 1): 1}
    total = pricer.total_cost(model, sizes, batch=batch)
    one_by_one = sum(
        (pricer.cost_usd(model, input_tokens=i, output_tokens=o, batch=batch) * n)
        for (i, o), n in sizes.items()
    )
    assert total.total_usd == one_by_one


def test_batch_prices_come_from_genai_prices(pricer: Pricer) -> None:
    pricing = pricer.pricing("gpt-4o")
    assert pricing.batch_input_per_mtok_usd == Decimal("1.25")
    assert pricing.batch_output_per_mtok_usd == Decimal("5")
    got = pricer.cost_usd("gpt-4o", input_tokens=1000, output_tokens=1000, batch=True)
    assert str(got) == str(expected("gpt-4o", 1000, 1000, batch=True))
    assert got < pricer.cost_usd("gpt-4o", input_tokens=1000, output_tokens=1000)


@pytest.mark.parametrize(
    ("provider", "model", "at"),
    [
        ("azure", "gpt-4o", AT),  # borrowed from openai: genai-prices ignores the batch context
        (None, "deepseek-chat", AT),  # no batch variant at all
        (None, "gpt-4o", datetime(2026, 1, 1, tzinfo=UTC)),  # batch variant not in effect yet
    ],
)
def test_silent_fallback_to_base_price_means_no_batch_price(
    provider: str | None, model: str, at: datetime
) -> None:
    # genai-prices itself answers a batch question with the base price here ...
    usage = Usage(input_tokens=1000, output_tokens=1000)
    base = calc_price(usage, model, provider_id=provider, genai_request_timestamp=at)
    batch = calc_price(
        usage, model, provider_id=provider, genai_request_timestamp=at, price_context=BATCH
    )
    assert base.total_price == batch.total_price
    # ... which we report as "no batch price", not as a batch price equal to the base.
    name = f"{provider}:{model}" if provider else model
    pricing = Pricer(at=at).pricing(name)
    assert pricing.batch_input_per_mtok_usd is None
    assert pricing.batch_output_per_mtok_usd is None
    with pytest.raises(PricingError, match="no batch price"):
        Pricer(at=at).cost_usd(name, input_tokens=1, output_tokens=1, batch=True)


def test_unknown_model_suggests_close_names(pricer: Pricer) -> None:
    with pytest.raises(PricingError) as caught:
        pricer.pricing("gpt-4oo")
    message = str(caught.value)
    assert "'gpt-4oo'" in message
    assert "did you mean: " in message
    assert "gpt-4o" in message.split("did you mean: ")[1]
    assert "--price-file" in message
    assert "\n" not in message


def test_models_not_priced_per_token_are_refused(pricer: Pricer) -> None:
    with pytest.raises(PricingError, match="does not price 'whisper-1' per token"):
        pricer.pricing("whisper-1")


def test_bad_token_counts_are_usage_errors(pricer: Pricer) -> None:
    with pytest.raises(UsageError):
        pricer.cost_usd("gpt-4o", input_tokens=-1, output_tokens=0)
    with pytest.raises(UsageError):
        pricer.cost_usd("gpt-4o", input_tokens=1, output_tokens=0, cached_input_tokens=2)


def test_data_date_names_the_package_version(pricer: Pricer) -> None:
    text = pricer.data_date()
    assert f"genai-prices {genai_prices.__version__}" in text
    assert "carries no date of its own" in text
    assert "2026-11-25" in text


def test_find_lists_by_substring_and_glob(pricer: Pricer) -> None:
    names = {(p.provider, p.model) for p in pricer.find("gpt-4o")}
    assert ("openai", "gpt-4o") in names
    assert ("openai", "gpt-4o-mini") in names
    assert all(p.model.startswith("claude-") for p in pricer.find("claude-*"))
    assert {p.provider for p in pricer.find("anthropic:*")} == {"anthropic"}
    assert pricer.find("no-such-model-anywhere") == []


def test_an_unknown_model_suggests_provider_names_that_resolve_never_itself(pricer: Pricer) -> None:
    with pytest.raises(PricingError) as caught:
        pricer.pricing("llama-3.1-8b-instruct")
    message = str(caught.value)
    assert "give one with --price-in/--price-out" in message
    suggested = message.split("did you mean: ")[1].split("?")[0].split(" and ")[0].split(", ")
    assert "llama-3.1-8b-instruct" not in [name.lower() for name in suggested]
    assert "avian:Meta-Llama-3.1-8B-Instruct" in suggested
    for name in suggested:
        assert ":" in name and pricer.pricing(name).provider == name.split(":")[0]


def test_user_and_self_hosted_prices_are_not_dated_by_genai_prices() -> None:
    pricer = Pricer({"mine": UserPrice(Decimal(1), Decimal(2))}, at=AT)
    assert "in effect on" not in pricer.data_date(["mine"])
    assert "in effect on" in pricer.data_date(["mine", "gpt-4o"])
    assert pricer.knows("gpt-4o") and pricer.knows("mine") and not pricer.knows("zzqq-none")
