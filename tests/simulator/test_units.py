"""The simulator's pure parts: profiles, faults, configuration, text, the FIFO gate."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from llmsweep.inputs.tokens import get_encoding
from llmsweep.simulator import (
    BUILTIN_PROFILES,
    FAULT_KINDS,
    FaultRates,
    ProfileChoice,
    RateLimit,
    SimulatorConfig,
    builtin_profile_for,
    choose_profile,
    load_profile,
    published_limits,
)
from llmsweep.simulator.gate import FifoGate
from llmsweep.simulator.vocab import WORDS, TextSource

# --- profiles -------------------------------------------------------------------------------


def test_builtin_profiles_are_named_and_sourced() -> None:
    assert {"gpt-4o", "gpt-4o-mini", "claude-sonnet-4", "gemini-2.0-flash", "demo", "fixed"} <= set(
        BUILTIN_PROFILES
    )
    for name, profile in BUILTIN_PROFILES.items():
        assert profile.name == name
        assert profile.source
    assert BUILTIN_PROFILES["fixed"].fixed


def test_quantiles_hit_median_and_p95() -> None:
    profile = BUILTIN_PROFILES["gpt-4o"]
    assert profile.ttft_s_at(0.5) == pytest.approx(profile.ttft_median_s)
    assert profile.ttft_s_at(0.95) == pytest.approx(profile.ttft_p95_s)
    assert profile.output_tokens_at(0.5) == profile.output_tokens_median
    assert profile.output_tokens_at(0.95) == pytest.approx(profile.output_tokens_p95, abs=1)
    assert profile.ttft_s_at(0.0) > 0  # clamped, never zero or an error
    assert profile.ttft_s_at(0.999999999) < 20 * profile.ttft_p95_s


def test_fixed_and_zero_spread_profiles_are_deterministic() -> None:
    fixed = BUILTIN_PROFILES["fixed"]
    assert {fixed.ttft_s_at(q) for q in (0.0, 0.3, 0.99)} == {fixed.ttft_median_s}
    assert {fixed.output_tokens_at(q) for q in (0.0, 0.3, 0.99)} == {fixed.output_tokens_median}
    flat = dataclasses.replace(BUILTIN_PROFILES["demo"], ttft_p95_s=0.2, output_tokens_p95=80)
    assert {flat.ttft_s_at(q) for q in (0.01, 0.99)} == {0.2}
    assert {flat.output_tokens_at(q) for q in (0.01, 0.99)} == {80}


@pytest.mark.parametrize(
    "change",
    [
        {"ttft_median_s": 0.0},
        {"ttft_median_s": -1.0},
        {"ttft_p95_s": 0.1},  # below the median
        {"output_tokens_per_s": float("inf")},
        {"capacity": 0},
        {"output_tokens_p95": 10},  # below the median
        {"context_window": 0},
        {"max_output_tokens": True},
        {"name": ""},
    ],
)
def test_profile_rejects_bad_values(change: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        dataclasses.replace(BUILTIN_PROFILES["gpt-4o"], **change)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ("gpt-4o", "gpt-4o"),
        ("gpt-4o-2024-08-06", "gpt-4o"),
        ("openai/gpt-4o", "gpt-4o"),
        ("gpt-4o-mini-2024-07-18", "gpt-4o-mini"),
        ("GPT-4o-mini", "gpt-4o-mini"),
        ("claude-sonnet-4-20250514", "claude-sonnet-4"),
        ("anthropic/claude-sonnet-4", "claude-sonnet-4"),
        ("gemini-2.0-flash-001", "gemini-2.0-flash"),
        ("fixed", "fixed"),
    ],
)
def test_builtin_profile_for_model_names(model: str, expected: str) -> None:
    assert builtin_profile_for(model).name == expected
    assert choose_profile(model) == ProfileChoice(BUILTIN_PROFILES[expected], None, False)


@pytest.mark.parametrize(
    ("model", "expected", "family"),
    [
        ("gpt-4o2", "gpt-4o", "gpt-*"),  # not a dated variant: a GPT all the same
        ("gpt-4.1-mini", "gpt-4o-mini", "gpt-*mini*"),
        ("o3-mini", "reasoning", "o[1-9]-*"),
        ("o1", "reasoning", "o[1-9]"),
        ("claude-3-5-sonnet", "claude-sonnet-4", "claude-*"),
        ("anthropic:claude-3-5-haiku", "claude-sonnet-4", "claude-*"),
        ("gemini-1.5-pro", "gemini-2.0-flash", "gemini-*"),
        ("llama-3-8b", "self-hosted-8b", "llama*"),
        ("meta-llama/Llama-3.1-8B-Instruct", "self-hosted-8b", "llama*"),
        ("llama3.1:8b", "self-hosted-8b", "llama*"),  # an Ollama tag
        ("qwen2.5-7b-instruct", "self-hosted-8b", "qwen*"),
    ],
)
def test_a_model_without_a_profile_gets_its_familys(model: str, expected: str, family: str) -> None:
    assert choose_profile(model) == ProfileChoice(BUILTIN_PROFILES[expected], family, False)


@pytest.mark.parametrize("model", ["tiny", "my-llama", "omni"])
def test_a_model_of_no_known_family_gets_the_generic_profile(model: str) -> None:
    assert choose_profile(model) == ProfileChoice(BUILTIN_PROFILES["demo"], None, True)


FULL_PROFILE = """
ttft_median_s = 0.5
ttft_p95_s = 1.5
output_tokens_per_s = 50
capacity = 4
output_tokens_median = 100
output_tokens_p95 = 300
context_window = 8192
max_output_tokens = 2048
"""


def test_load_profile_full_and_based(tmp_path: Path) -> None:
    full = tmp_path / "slow-model.toml"
    full.write_text(FULL_PROFILE + 'source = "my measurements"\n')
    profile = load_profile(full)
    assert profile.name == "slow-model"
    assert profile.output_tokens_per_s == 50.0
    assert profile.capacity == 4
    assert profile.source == "my measurements"
    based = tmp_path / "based.toml"
    based.write_text('base = "gpt-4o"\nname = "gpt-4o-small-capacity"\ncapacity = 2\n')
    profile = load_profile(str(based))
    assert profile == dataclasses.replace(
        BUILTIN_PROFILES["gpt-4o"],
        name="gpt-4o-small-capacity",
        capacity=2,
        source=f"user profile {based}",
    )


def test_real_profiles_carry_their_published_tier_and_a_file_may_set_one(tmp_path: Path) -> None:
    assert BUILTIN_PROFILES["gpt-4o"].rate_limit == RateLimit(
        500, 30_000, "OpenAI usage tier 1 for gpt-4o"
    )
    assert BUILTIN_PROFILES["gpt-4o-mini"].rate_limit == RateLimit(
        500, 200_000, "OpenAI usage tier 1 for gpt-4o-mini"
    )
    assert BUILTIN_PROFILES["demo"].rate_limit is None  # synthetic: no tier was ever published
    assert published_limits(["gpt-4o-2024-08-06", "my-llama"]) == {
        "gpt-4o-2024-08-06": BUILTIN_PROFILES["gpt-4o"].rate_limit
    }
    assert published_limits(["my-llama"], BUILTIN_PROFILES["gpt-4o-mini"]) == {
        "my-llama": BUILTIN_PROFILES["gpt-4o-mini"].rate_limit
    }
    own = tmp_path / "mine.toml"
    own.write_text('base = "gpt-4o"\n[rate_limit]\nrpm = 90\ntier = "our proxy"\n')
    assert load_profile(own).rate_limit == RateLimit(90, None, "our proxy")
    own.write_text('base = "gpt-4o"\n[rate_limit]\nrpm = 90\n')
    with pytest.raises(ValueError, match=r"rate_limit\.tier must name"):
        load_profile(own)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (None, "cannot read"),
        ("ttft_median_s = [", "not valid TOML"),
        (FULL_PROFILE + "colour = 1\n", "unknown profile key(s): colour"),
        ("ttft_median_s = 1.0\n", "missing profile key(s)"),
        (FULL_PROFILE.replace("capacity = 4", "capacity = 0"), "capacity"),
        (FULL_PROFILE.replace("ttft_p95_s = 1.5", "ttft_p95_s = 0.1"), "ttft_p95_s"),
        (FULL_PROFILE.replace("= 50", "= -50"), "output_tokens_per_s"),
        (FULL_PROFILE.replace("capacity = 4", 'capacity = "4"'), "capacity"),
        ('base = "gpt-5"\n', "base must be one of"),
        (FULL_PROFILE + "name = 3\n", "name must be a string"),
    ],
)
def test_load_profile_errors_name_the_file(tmp_path: Path, text: str | None, message: str) -> None:
    path = tmp_path / "profile.toml"
    if text is not None:
        path.write_text(text)
    with pytest.raises(ValueError) as caught:
        load_profile(path)
    assert str(caught.value).startswith(f"{path}: ")
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


# --- faults and config ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "rates",
    [
        {"error_500": -0.1},
        {"hang": 1.5},
        {"error_500": 0.6, "disconnect": 0.5},
        {"stream_cut": True},
        {"hang_s": 0.0},
        {"retry_after_s": float("nan")},
    ],
)
def test_fault_rates_are_validated(rates: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        FaultRates(**rates)


def test_fault_pick_splits_the_unit_interval_in_order() -> None:
    rates = FaultRates(error_500=0.25, hang=0.25, missing_usage=0.5)
    assert rates.pick(0.0) == "error_500"
    assert rates.pick(0.2499) == "error_500"
    assert rates.pick(0.25) == "hang"
    assert rates.pick(0.5) == "missing_usage"
    assert rates.pick(0.9999) == "missing_usage"
    assert FaultRates().pick(0.0) is None
    assert FaultRates(disconnect=0.1).pick(0.1) is None
    assert set(FAULT_KINDS) == {
        "error_500",
        "error_503",
        "disconnect",
        "hang",
        "stream_cut",
        "malformed_json",
        "rate_limit_429",
        "rate_limit_429_nohint",
        "missing_usage",
    }


@pytest.mark.parametrize(
    "config",
    [{"rpm": 0}, {"tpm": -5}, {"rpm": True}, {"latency_scale": -1.0}, {"port": 70000}],
)
def test_simulator_config_is_validated(config: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        SimulatorConfig(**config)  # type: ignore[arg-type]


# --- text -----------------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["cl100k_base", "o200k_base"])
def test_every_word_is_one_token(encoding: str) -> None:
    tokenizer = get_encoding(encoding)
    assert len(set(WORDS)) == len(WORDS) >= 256
    for word in WORDS:
        assert len(tokenizer.encode_ordinary(word)) == 1, word


@settings(max_examples=200, deadline=None)  # the first example may load a tokenizer
@given(st.lists(st.sampled_from(WORDS), min_size=1, max_size=200))
def test_word_runs_count_one_token_per_word(words: list[str]) -> None:
    text = "".join(words)
    for encoding in ("cl100k_base", "o200k_base"):
        assert len(get_encoding(encoding).encode_ordinary(text)) == len(words)


def test_text_source_runs_wrap_around() -> None:
    import random

    source = TextSource(random.Random(1))
    assert len(source.words(0, 10)) == 10
    assert source.words(source.period - 2, 4)[2:] == source.words(0, 2)
    long_run = source.words(5, 2 * source.period + 3)
    assert len(long_run) == 2 * source.period + 3
    assert long_run[: source.period] == long_run[source.period : 2 * source.period]


# --- the FIFO gate --------------------------------------------------------------------------


async def test_gate_serves_in_arrival_order_and_survives_cancellation() -> None:
    gate = FifoGate(1)
    order: list[int] = []
    release = asyncio.Event()

    async def user(number: int) -> None:
        async with gate:
            order.append(number)
            await release.wait()

    first = asyncio.create_task(user(0))
    await asyncio.sleep(0)
    waiters = [asyncio.create_task(user(n)) for n in range(1, 5)]
    await asyncio.sleep(0)
    waiters[1].cancel()  # number 2 gives up while queued
    await asyncio.sleep(0)
    release.set()
    await asyncio.gather(first, *waiters, return_exceptions=True)
    assert order == [0, 1, 3, 4]
    async with gate:  # the slot came back
        pass
