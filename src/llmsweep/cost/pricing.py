"""Model prices, from the snapshot bundled with pydantic's ``genai-prices`` and from the user.

Everything is offline and repeatable: we read the package's bundled data and never call its
network updater. Model names are resolved by genai-prices itself (``cost.snapshot``: dated
names such as ``gpt-4o-2024-08-06``, ``provider:model`` and ``provider/model``), and costs come
from its own ``calc_price``, so a cost here is exactly what genai-prices computes, to the last
Decimal digit.

Several models have dated price changes, so every ``Pricer`` prices at one instant (by default
the moment it is created) and all the numbers of one report agree with each other.

The package records no date for its data, so ``data_date`` names the package version instead.
"""

from __future__ import annotations

import difflib
import fnmatch
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

import genai_prices
from genai_prices import Usage, calc_price

from llmsweep.cost.snapshot import (
    BATCH,
    ModelPricing,
    describe,
    is_linear,
    known_models,
    model_price,
    per_token,
    priced_matching,
    resolve,
)
from llmsweep.errors import PricingError, UsageError
from llmsweep.settings import CostFn

_MTOK = Decimal(1_000_000)
_MAX_SUGGESTIONS = 6


@dataclass(frozen=True)
class UserPrice:
    """A price the user gave, in USD per million tokens."""

    input_per_mtok_usd: Decimal
    output_per_mtok_usd: Decimal
    cached_input_per_mtok_usd: Decimal | None = None
    source: str = "--price-in/--price-out"

    def cost(self, input_tokens: int, output_tokens: int, cached_input_tokens: int) -> Cost:
        """Cached input tokens (part of the input) cost the input rate if no cached rate is set."""
        cached_rate = self.cached_input_per_mtok_usd
        if cached_rate is None:
            cached_rate = self.input_per_mtok_usd
        uncached = input_tokens - cached_input_tokens
        in_usd = (uncached * self.input_per_mtok_usd + cached_input_tokens * cached_rate) / _MTOK
        out_usd = output_tokens * self.output_per_mtok_usd / _MTOK
        return Cost(in_usd, out_usd, in_usd + out_usd)


@dataclass(frozen=True)
class Cost:
    input_usd: Decimal
    output_usd: Decimal
    total_usd: Decimal


@dataclass(frozen=True)
class _Found:
    """A model genai-prices knows, and how to ask ``calc_price`` about it."""

    ref: str
    provider_id: str | None
    pricing: ModelPricing
    linear: bool  # summed requests cost what the requests cost one by one


class Pricer:
    """Prices and costs for models: user prices first, then genai-prices' bundled snapshot."""

    def __init__(
        self, overrides: Mapping[str, UserPrice] | None = None, *, at: datetime | None = None
    ) -> None:
        self._overrides = dict(overrides or {})
        self._at = at or datetime.now(UTC)
        self._found: dict[str, _Found] = {}  # per instance: lookups are repeated per request size

    def data_date(self, models: Sequence[str] | None = None) -> str:
        """When the prices apply: genai-prices' only if one of ``models`` (all by default)
        is priced from its data."""
        if models is not None and all(model in self._overrides for model in models):
            return "none from genai-prices (given by the user, or self-hosted), so no date applies"
        return (
            f"as in effect on {self._at.date()} (the run's date) in genai-prices "
            f"{genai_prices.__version__}'s bundled data, which carries no date of its own"
        )

    def knows(self, model: str) -> bool:
        """Whether ``model`` has a price: the user's, or one genai-prices can find."""
        return model in self._overrides or resolve(model) is not None

    def source_summary(self, models: Sequence[str]) -> str:
        """Where each model's prices come from, on one line (for reports)."""
        return "; ".join(f"{m}: {self.pricing(m).source}" for m in dict.fromkeys(models))

    def pricing(self, model: str) -> ModelPricing:
        price = self._overrides.get(model)
        if price is None:
            return self._lookup(model).pricing
        return ModelPricing(
            model, None, price.input_per_mtok_usd, price.output_per_mtok_usd,
            price.cached_input_per_mtok_usd, None, None, price.source,
        )  # fmt: skip

    def cost(
        self,
        model: str,
        *,
        input_tokens: int,
        output_tokens: int,
        cached_input_tokens: int = 0,
        batch: bool = False,
    ) -> Cost:
        """The cost of one request. ``cached_input_tokens`` are part of ``input_tokens``."""
        _check_counts(input_tokens, output_tokens, cached_input_tokens)
        price = self._overrides.get(model)
        if price is not None:
            if batch:
                raise PricingError(f"no batch price for {model} ({price.source})")
            return price.cost(input_tokens, output_tokens, cached_input_tokens)
        found = self._lookup(model)
        if batch and found.pricing.batch_input_per_mtok_usd is None:
            raise PricingError(f"no batch price for {model} in {found.pricing.source}")
        usage = Usage(
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            cache_read_tokens=cached_input_tokens,
        )
        result = calc_price(
            usage,
            found.ref,
            provider_id=found.provider_id,
            genai_request_timestamp=self._at,
            price_context=BATCH if batch else None,
        )
        return Cost(result.input_price, result.output_price, result.total_price)

    def cost_fn(self, model: str) -> CostFn:
        """``model``'s actual cost from usage: the engine's cost function, called per request.

        genai-prices' ``calc_price`` costs about 2 ms of CPU a call (it resolves units and
        validates them each time), as much as the whole request otherwise. Where the price is
        linear in tokens, cost(i, o, c) = i x cost(1, 0, 0) + o x cost(0, 1, 0) + c x the cached
        discount, all three asked of genai-prices once: the same value to the last digit.
        """

        def priced(input_tokens: int, output_tokens: int, cached_input_tokens: int) -> Decimal:
            return self.cost_usd(
                model,
                input_tokens=input_tokens,
                output_tokens=output_tokens,
                cached_input_tokens=cached_input_tokens,
            )

        if model in self._overrides or not self._lookup(model).linear:
            return priced  # a user's price is cheap to apply; tiers and fees are not linear
        per_input = priced(1, 0, 0)
        per_output = priced(0, 1, 0)
        per_cached = priced(1, 0, 1) - per_input  # cached input replaces ordinary input

        def linear(input_tokens: int, output_tokens: int, cached_input_tokens: int) -> Decimal:
            _check_counts(input_tokens, output_tokens, cached_input_tokens)
            return (
                per_input * input_tokens
                + per_output * output_tokens
                + per_cached * cached_input_tokens
            )

        return linear

    def cost_usd(
        self,
        model: str,
        *,
        input_tokens: int,
        output_tokens: int,
        cached_input_tokens: int = 0,
        batch: bool = False,
    ) -> Decimal:
        return self.cost(
            model,
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            cached_input_tokens=cached_input_tokens,
            batch=batch,
        ).total_usd

    def total_cost(
        self, model: str, requests: Mapping[tuple[int, int], int], *, batch: bool = False
    ) -> Cost:
        """The summed cost of many requests, given as ``{(input, output tokens): how many}``.

        Equal to pricing each request on its own. Where a price is linear in tokens we price the
        summed tokens once; tiered rates (chosen per request) and per-request fees are priced
        once per distinct request size.
        """
        if model in self._overrides or self._lookup(model).linear:
            inputs = sum(i * n for (i, _), n in requests.items())
            outputs = sum(o * n for (_, o), n in requests.items())
            return self.cost(model, input_tokens=inputs, output_tokens=outputs, batch=batch)
        parts = [
            (self.cost(model, input_tokens=i, output_tokens=o, batch=batch), n)
            for (i, o), n in requests.items()
        ]
        return Cost(
            sum((cost.input_usd * n for cost, n in parts), Decimal(0)),
            sum((cost.output_usd * n for cost, n in parts), Decimal(0)),
            sum((cost.total_usd * n for cost, n in parts), Decimal(0)),
        )

    def find(self, pattern: str | None = None) -> list[ModelPricing]:
        """Per-token priced models whose name holds ``pattern``, or matches it as a glob.

        Names are matched as ``model`` and ``provider:model``, ignoring case.
        """
        glob = (pattern or "*").lower()
        if not any(char in glob for char in "*?["):
            glob = f"*{glob}*"  # plain text: a substring

        def matches(name: str) -> bool:
            return fnmatch.fnmatchcase(name.lower(), glob)

        found = [self.pricing(name) for name in self._overrides if matches(name)]
        return found + priced_matching(matches, self._at)

    def _lookup(self, model: str) -> _Found:
        if model in self._found:
            return self._found[model]
        resolved = resolve(model)
        if resolved is None:
            raise PricingError(
                f"no per-token price known for model {model!r}{self._did_you_mean(model)}; "
                "give one with --price-in/--price-out (or --price-file)"
            )
        ref, provider_id, provider, info = resolved
        base = model_price(provider, info, self._at)
        if not per_token(base):
            raise PricingError(f"genai-prices does not price {model!r} per token ({base})")
        pricing = describe(model, provider, info, base, self._at)
        batch = model_price(provider, info, self._at, BATCH)
        linear = is_linear(base) and is_linear(batch)
        self._found[model] = _Found(ref, provider_id, pricing, linear)
        return self._found[model]

    def _did_you_mean(self, model: str) -> str:
        """Names genai-prices does price, as ``provider:model`` (which resolves as given):
        those holding ``model``, else those close to it; never ``model`` itself."""
        bare = model.lower().rpartition(":")[2]
        found = self.find(bare)
        listed = f"? `llmsweep prices {bare}` lists them" if found else "?"
        if not found:
            close = difflib.get_close_matches(bare, known_models(), n=3)
            found = [p for name in close for p in self.find(name) if p.model.lower() == name]
        names = [f"{p.provider}:{p.model}" if p.provider else p.model for p in found]
        names = [
            name
            for name in dict.fromkeys(names)
            if name.lower() != model.lower() and resolve(name) is not None
        ]
        if not names:
            return ""
        more = f" and {len(names) - _MAX_SUGGESTIONS} more" if len(names) > _MAX_SUGGESTIONS else ""
        shown = ", ".join(sorted(names, key=len)[:_MAX_SUGGESTIONS])
        return f" (did you mean: {shown}{more}{listed})"


def _check_counts(input_tokens: int, output_tokens: int, cached_input_tokens: int) -> None:
    if input_tokens < 0 or output_tokens < 0:
        raise UsageError("token counts must not be negative")
    if not 0 <= cached_input_tokens <= input_tokens:
        raise UsageError("cached input tokens must be between 0 and the input tokens")
