"""Prices the user gives: ``--price-in/--price-out`` for one model, or a TOML price file."""

from __future__ import annotations

import tomllib
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation

from llmsweep.cost.pricing import Pricer, UserPrice
from llmsweep.errors import InputError, UsageError

_PRICE_KEYS = {"input", "output", "cached_input"}


SELF_HOSTED = "self-hosted: no per-token price"
# What a model genai-prices does not know costs on a local server (llama.cpp, Ollama, vLLM).
SELF_HOSTED_PRICE = UserPrice(Decimal(0), Decimal(0), source=SELF_HOSTED)


def pricer_from_flags(
    models: Sequence[str],
    price_file: str | None,
    price_in: float | None,
    price_out: float | None,
    *,
    self_hosted: bool = False,
) -> Pricer:
    """A pricer with the user's prices over the bundled ones; every model checked now, so an
    unknown one fails (with close names) before any request. On a ``self_hosted`` server a
    model with no price is free (``SELF_HOSTED_PRICE``) rather than refused."""
    overrides = dict(load_price_file(price_file)) if price_file else {}
    if (price_in is None) != (price_out is None):
        raise UsageError("--price-in and --price-out go together")
    if price_in is not None and price_out is not None:
        if len(models) != 1:
            raise UsageError("--price-in/--price-out need exactly one --model")
        overrides[models[0]] = user_price(price_in, price_out)
    if self_hosted:
        known = Pricer(overrides)
        overrides |= {m: SELF_HOSTED_PRICE for m in models if not known.knows(m)}
    pricer = Pricer(overrides)
    for model in models:
        pricer.pricing(model)
    return pricer


def parse_usd(value: object, what: str) -> Decimal:
    """A finite, non-negative price; ``UsageError`` naming ``what`` otherwise."""
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise UsageError(f"{what}: expected a number of USD per million tokens, got {value!r}")
    try:
        # str() first so a TOML float such as 0.2 becomes Decimal("0.2"), not its binary value.
        price = Decimal(str(value).strip())
    except InvalidOperation:
        raise UsageError(f"{what}: {value!r} is not a number") from None
    if not price.is_finite() or price < 0:
        raise UsageError(f"{what}: must be a finite, non-negative number, got {value!r}")
    return price


def user_price(input_per_mtok_usd: object, output_per_mtok_usd: object) -> UserPrice:
    """The price given on the command line for one model (``--price-in``/``--price-out``)."""
    return UserPrice(
        parse_usd(input_per_mtok_usd, "--price-in"), parse_usd(output_per_mtok_usd, "--price-out")
    )


def load_price_file(path: str) -> dict[str, UserPrice]:
    """Read ``[models."name"] input = 0.2, output = 0.6, cached_input = 0.1`` ($ per Mtok)."""
    try:
        with open(path, "rb") as handle:
            data = tomllib.load(handle)
    except FileNotFoundError:
        raise InputError(path, "no such price file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(path, f"cannot be read ({error.__class__.__name__})") from None
    except tomllib.TOMLDecodeError as error:
        raise InputError(path, f"not valid TOML ({error})") from None
    models = data.get("models")
    if set(data) != {"models"} or not isinstance(models, dict) or not models:
        raise InputError(path, 'expected only [models."NAME"] tables with input and output prices')
    prices: dict[str, UserPrice] = {}
    for name, entry in models.items():
        if not isinstance(entry, dict):
            raise InputError(path, f"models.{name}: expected a table")
        unknown = set(entry) - _PRICE_KEYS
        missing = {"input", "output"} - set(entry)
        if unknown or missing:
            problem = "unknown" if unknown else "missing"
            keys = ", ".join(sorted(unknown or missing))
            # [models.gpt-4.1] nests a table "1" under "gpt-4": the name needs quotes.
            dotted = any(isinstance(value, dict) for value in entry.values())
            hint = ' (quote names with dots: [models."gpt-4.1"])' if dotted else ""
            raise InputError(path, f"models.{name}: {problem} key(s) {keys}{hint}")
        try:
            cached = entry.get("cached_input")
            prices[name] = UserPrice(
                parse_usd(entry["input"], f"models.{name}.input"),
                parse_usd(entry["output"], f"models.{name}.output"),
                None if cached is None else parse_usd(cached, f"models.{name}.cached_input"),
                f"user price file {path}",
            )
        except UsageError as error:
            raise InputError(path, str(error)) from None
    return prices
