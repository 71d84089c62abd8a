"""Offline token counting: exact encodings from bpe-openai's data, OpenAI's chat rule."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from llmsweep.inputs import tokens


@pytest.fixture()
def empty_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """tiktoken's cache folder, empty, and an empty user cache for our parsed copies."""
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path / "tiktoken"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "user"))
    tokens.get_encoding.cache_clear()
    yield tmp_path / "tiktoken"
    tokens.get_encoding.cache_clear()


# Words, numbers, accents, CJK, emoji and a special token: what the ranks and pattern decide.
SAMPLE = "Hello world, ça va? 12345 价格 🙂 don't\n\n  <|endoftext|>"


def test_the_parsed_copy_encodes_as_tiktoken_and_is_used_next_time(empty_cache: Path) -> None:
    import tiktoken

    first = tokens.get_encoding("o200k_base").encode(SAMPLE, allowed_special="all")
    (parsed,) = (empty_cache.parent / "user" / "llmsweep").iterdir()
    tokens.get_encoding.cache_clear()
    for seeded in empty_cache.iterdir():  # tiktoken's own copy gone: only ours can load it
        seeded.unlink()
    again = tokens.get_encoding("o200k_base").encode(SAMPLE, allowed_special="all")
    assert (
        again == first == tiktoken.get_encoding("o200k_base").encode(SAMPLE, allowed_special="all")
    )
    assert not any(empty_cache.iterdir())  # tiktoken's path was not taken
    assert parsed.exists()


def test_a_damaged_parsed_copy_is_replaced_not_trusted(empty_cache: Path) -> None:
    expected = tokens.get_encoding("cl100k_base").encode(SAMPLE, allowed_special="all")
    (parsed,) = (empty_cache.parent / "user" / "llmsweep").iterdir()
    whole = parsed.read_bytes()
    parsed.write_bytes(whole[: len(whole) // 2])
    tokens.get_encoding.cache_clear()
    assert tokens.get_encoding("cl100k_base").encode(SAMPLE, allowed_special="all") == expected
    assert parsed.read_bytes() == whole


def test_encodings_load_offline_from_bpe_openai_with_tiktokens_hash(empty_cache: Path) -> None:
    encoding = tokens.get_encoding("o200k_base")
    assert encoding.encode("hello world") == [24912, 2375]
    seeded = list(empty_cache.iterdir())
    assert len(seeded) == 1
    digest = hashlib.sha256(seeded[0].read_bytes()).hexdigest()
    assert digest == tokens._BLOBS["o200k_base"][1]


def test_cl100k_known_ids(empty_cache: Path) -> None:
    assert tokens.get_encoding("cl100k_base").encode("hello world") == [15339, 1917]


@pytest.mark.parametrize(
    ("model", "encoding", "exact"),
    [
        ("gpt-4o", "o200k_base", True),
        ("gpt-4o-mini-2024-07-18", "o200k_base", True),
        ("gpt-4.1", "o200k_base", True),
        ("o3-mini", "o200k_base", True),
        ("gpt-4", "cl100k_base", True),
        ("gpt-3.5-turbo", "cl100k_base", True),
        ("openai/gpt-4o", "o200k_base", True),
        # A provider prefix as genai-prices takes it: the same flag for the estimate and the run.
        ("openai:gpt-4", "cl100k_base", True),
        ("ft:gpt-4o-mini:org::abc", "o200k_base", True),
        ("anthropic:claude-sonnet-4", "o200k_base", False),
        ("llama-3.1-8b-instruct", "o200k_base", False),
        ("claude-sonnet-4", "o200k_base", False),
        ("gemini-2.0-flash", "o200k_base", False),
    ],
)
def test_model_to_encoding(model: str, encoding: str, exact: bool) -> None:
    assert tokens.encoding_name_for(model) == (encoding, exact)


def test_chat_rule_matches_openai_cookbook_example() -> None:
    # OpenAI cookbook "How to count tokens": per message 3, +1 per name, +3 reply priming.
    tokenizer = tokens.tokenizer_for("gpt-4o")
    hello = [{"role": "user", "content": "hello world"}]
    # 3 (message) + 1 ("user") + 2 ("hello world") + 3 (priming)
    assert tokenizer.count_chat(hello) == 9
    named = [{"role": "user", "name": "bob", "content": "hello world"}]
    # + "bob" (1 token) + 1 for the name field
    assert tokenizer.count_chat(named) == 11


def test_batch_count_equals_single_counts() -> None:
    tokenizer = tokens.tokenizer_for("gpt-4")
    chats = [
        [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi there"}],
        [{"role": "user", "content": "Explain BPE in one line, please."}],
        [{"role": "user", "content": ""}],
    ]
    assert tokenizer.count_chats(chats) == [tokenizer.count_chat(c) for c in chats]
