"""The price snapshot bundled with genai-prices: finding a model in it, and its prices then.

Read offline: the package's bundled data, never its network updater. Every price is the one in
effect at an instant (``at``), as several models have dated price changes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import cache

import genai_prices
from genai_prices import Usage, data_snapshot
from genai_prices.types import ModelInfo, ModelPrice, PriceContext, Provider, TieredPrices

BATCH: PriceContext = {"processing": "batch"}


@dataclass(frozen=True)
class ModelPricing:
    """What we know about one model's prices, in USD per million tokens.

    Tiered prices (a higher rate above some prompt size) show their base rate here; costs always
    apply the right tier.
    """

    model: str
    provider: str | None
    input_per_mtok_usd: Decimal
    output_per_mtok_usd: Decimal
    cached_input_per_mtok_usd: Decimal | None
    batch_input_per_mtok_usd: Decimal | None  # None: no batch price exists
    batch_output_per_mtok_usd: Decimal | None
    source: str
    context_window: int | None = None  # max input tokens, where genai-prices knows it


def resolve(model: str) -> tuple[str, str | None, Provider, ModelInfo] | None:
    """How genai-prices finds ``model``: as given, then as "provider:model" or
    "provider/model"; None if it does not."""
    snapshot = data_snapshot.get_snapshot()
    attempts: list[tuple[str, str | None]] = [(model, None)]
    for separator in ":/":
        prefix, found, rest = model.partition(separator)
        if found and prefix and rest:
            attempts.append((rest, prefix))
    for ref, provider_id in attempts:
        try:
            provider, info = snapshot.find_provider_model(ref, None, provider_id, None)
        except LookupError:
            continue
        return ref, provider_id, provider, info
    return None


def priced_matching(matches: Callable[[str], bool], at: datetime) -> list[ModelPricing]:
    """The per-token priced models whose ``model`` or ``provider:model`` name ``matches``."""
    found = []
    for provider in data_snapshot.get_snapshot().providers:
        for info in provider.models:
            if not (matches(info.id) or matches(f"{provider.id}:{info.id}")):
                continue
            if per_token(base := model_price(provider, info, at)):
                found.append(describe(info.id, provider, info, base, at))
    return found


def model_price(
    provider: Provider, info: ModelInfo, at: datetime, context: PriceContext | None = None
) -> ModelPrice:
    # Through ModelInfo.calc_price, which also decides when a context applies.
    return info.calc_price(
        Usage(), provider, genai_request_timestamp=at, price_context=context
    ).model_price


def describe(
    model: str, provider: Provider, info: ModelInfo, base: ModelPrice, at: datetime
) -> ModelPricing:
    batch = model_price(provider, info, at, BATCH)
    # genai-prices silently keeps the base price when no batch variant applies (no variant,
    # not yet in effect, or a model borrowed from another provider): that is no batch price.
    has_batch = batch != base
    return ModelPricing(
        model=model,
        provider=provider.id,
        input_per_mtok_usd=_rate(base.input_mtok) or Decimal(0),
        # Models without an output price (embeddings) produce no output tokens.
        output_per_mtok_usd=_rate(base.output_mtok) or Decimal(0),
        cached_input_per_mtok_usd=_rate(base.cache_read_mtok),
        batch_input_per_mtok_usd=_rate(batch.input_mtok) if has_batch else None,
        batch_output_per_mtok_usd=_rate(batch.output_mtok) if has_batch else None,
        source=f"genai-prices {genai_prices.__version__} snapshot ({provider.id}:{info.id})",
        context_window=info.context_window,
    )


def _rate(price: Decimal | TieredPrices | None) -> Decimal | None:
    return price.base if isinstance(price, TieredPrices) else price


def per_token(prices: ModelPrice) -> bool:
    """Whether the model is priced per input token (not per audio hour, page, ...)."""
    return prices.input_mtok is not None


def is_linear(prices: ModelPrice) -> bool:
    """Whether cost(summed requests) == sum of costs: no tiers and no per-request fee."""
    tiered = any(isinstance(value, TieredPrices) for value in vars(prices).values())
    return not tiered and prices.requests_kcount is None


@cache
def known_models() -> tuple[str, ...]:
    """Every model id genai-prices knows, lower-cased, for "did you mean" suggestions."""
    ids = (m.id.lower() for p in data_snapshot.get_snapshot().providers for m in p.models)
    return tuple(dict.fromkeys(ids))
