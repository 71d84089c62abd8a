"""Settings: every default and check defined once, and the one charged-tokens rule."""

from __future__ import annotations

from dataclasses import fields
from decimal import Decimal

import pytest

from llmsweep.engine.runner import RunSettings
from llmsweep.errors import UsageError
from llmsweep.settings import (
    ASSUMED_OUTPUT_TOKENS,
    ClientOptions,
    RequestOptions,
    SweepConfig,
    charged_tokens,
    parse_levels,
    parse_rates,
    sweep_levels,
)


def test_a_request_is_charged_its_input_and_its_max_tokens_or_the_assumed_output() -> None:
    assert charged_tokens(100, 50) == 150
    assert charged_tokens(100, None) == 100 + ASSUMED_OUTPUT_TOKENS == 356


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"rpm": 0.0}, "--rpm must be a positive number"),
        ({"tpm": float("nan")}, "--tpm must be a positive number, got nan"),
        ({"timeout_s": float("inf")}, "--timeout must be a positive number"),
        ({"max_cost_usd": Decimal("NaN")}, "--max-cost must be a positive number"),
        ({"max_retries": -1}, "--max-retries must be 0 or more"),
        ({"max_tokens": 0}, "--max-tokens must be at least 1"),
    ],
)
def test_request_options_refuse_values_that_cannot_be_right(
    given: dict[str, object], message: str
) -> None:
    with pytest.raises(UsageError, match=message.replace("(", r"\(")):
        RequestOptions(**given)  # type: ignore[arg-type]


def test_client_options_name_the_known_clients() -> None:
    with pytest.raises(UsageError, match="--client 'curl': choose one of openai, http"):
        ClientOptions(client="curl")
    with pytest.raises(UsageError, match="--processes must be at least 1"):
        ClientOptions(processes=0)


def test_a_level_gets_every_request_option_from_the_one_copy() -> None:
    options = RequestOptions(rpm=60.0, tpm=6000.0, max_retries=2, timeout_s=9.0, max_tokens=7,
                             stream=True, max_cost_usd=Decimal("1.5"), deadline_s=30.0)  # fmt: skip
    settings = RunSettings.at_level(options, "gpt-4o", 4, repeat=1)
    assert (settings.model, settings.concurrency, settings.repeat) == ("gpt-4o", 4, 1)
    for field in fields(RequestOptions):
        assert getattr(settings, field.name) == getattr(options, field.name), field.name
    # What a level overrides, it overrides (a sweep passes the budget left).
    assert RunSettings.at_level(options, "m", 1, max_cost_usd=Decimal(1)).max_cost_usd == 1


def test_a_sweep_config_checks_its_models_levels_repeats_and_budget() -> None:
    base = {"prompts": "demo", "models": ("m",), "levels": (1, 2)}
    assert SweepConfig(**base).cells() == [("m", 1, 0), ("m", 2, 0)]  # type: ignore[arg-type]
    for wrong, message in (
        ({"models": ()}, "--model: give at least one model"),
        ({"levels": (0,)}, "--concurrency: levels must be positive"),
        ({"repeats": 0}, "--repeats must be at least 1"),
        ({"processes": 2, "max_cost_usd": Decimal(1)}, "--max-cost needs one process"),
    ):
        with pytest.raises(UsageError, match=message):
            SweepConfig(**{**base, **wrong})  # type: ignore[arg-type]


def test_levels_are_sorted_with_the_sequential_baseline() -> None:
    assert parse_levels("8, 2,4") == (1, 2, 4, 8)
    with pytest.raises(UsageError, match="expected integers like 1,2,4,8"):
        parse_levels("1,two")
    with pytest.raises(UsageError, match="levels must be positive integers"):
        parse_levels("0,4")


def test_rates_are_positive_numbers_sorted() -> None:
    assert parse_rates("8, 2,0.5,2") == (0.5, 2.0, 8.0)
    for bad in ("", "2,x", "0", "-1", "nan", "inf"):
        with pytest.raises(UsageError, match=r"^--rate "):
            parse_rates(bad)


def test_a_rate_sweep_is_one_mode_of_its_own() -> None:
    base = {"prompts": "demo", "models": ("m",), "levels": (4,), "max_concurrency": 4}
    config = SweepConfig(**base, rates=(1.0, 2.0))  # type: ignore[arg-type]
    assert config.mode == "rate" and config.offered_rps(("m", 4, 1)) == 2.0
    assert sweep_levels("1,2", False, (1.0,), 4) == (4,)
    refused = (
        ({"search": True}, "--rate and --search"),
        ({"repeats": 2}, "--rate runs each rate once"),
        ({"processes": 2}, "--rate needs one process"),
        ({"levels": (1, 4)}, "--rate: the level is the cap"),
    )
    for extra, message in refused:
        with pytest.raises(UsageError, match=message):
            SweepConfig(**{**base, **extra, "rates": (1.0,)})  # type: ignore[arg-type]
