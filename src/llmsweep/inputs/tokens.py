"""Offline, exact token counting with tiktoken.

tiktoken downloads its encoding files on first use. Where that cannot happen, the same files
ship inside the ``bpe-openai`` package (gzipped, byte-identical, same sha256 as tiktoken expects):
we verify the hash and seed tiktoken's own cache with them, so tiktoken's normal loading path
then works offline and nothing is approximated. The tables tiktoken parses from them are kept,
parsed, in the user's cache folder, so later loads skip the parse.

Chat input is counted with OpenAI's rule for current models: 3 tokens per message, the tokens of
every string field of the message, +1 per ``name`` field, and 3 tokens priming the reply.
Models tiktoken has no tokenizer for (Claude, Gemini, open models) are counted with ``o200k_base``
and flagged ``exact=False``: the count is approximate, and every output labels it so
(``cost.estimate.tokens_label``).
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import importlib.util
import marshal
import os
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # imported where used: commands that count no tokens do not load it
    import tiktoken

# tiktoken's own download addresses and expected hashes (tiktoken_ext/openai_public.py).
_BLOBS = {
    "o200k_base": (
        "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken",
        "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
    ),
    "cl100k_base": (
        "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken",
        "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
    ),
}
FALLBACK_ENCODING = "o200k_base"
TOKENS_PER_MESSAGE = 3
TOKENS_PER_NAME = 1
REPLY_PRIMING_TOKENS = 3

Message = Mapping[str, object]


@dataclass(frozen=True)
class Tokenizer:
    """A model's tokenizer. ``exact`` is False when the encoding is a stand-in for the model's."""

    model: str
    encoding_name: str
    exact: bool
    encoding: tiktoken.Encoding

    def count_text(self, text: str) -> int:
        return len(self.encoding.encode_ordinary(text))

    def count_chat(self, messages: Sequence[Message]) -> int:
        """Prompt tokens of a chat request, as the OpenAI API reports them in ``usage``."""
        return self.count_chats([messages])[0]

    def count_chats(self, chats: Sequence[Sequence[Message]]) -> list[int]:
        """Prompt tokens of many chat requests at once."""
        texts: list[str] = []
        fixed: list[int] = []
        owners: list[int] = []
        for index, messages in enumerate(chats):
            overhead = REPLY_PRIMING_TOKENS
            for message in messages:
                overhead += TOKENS_PER_MESSAGE
                for key, value in message.items():
                    if isinstance(value, str):
                        texts.append(value)
                        owners.append(index)
                        if key == "name":
                            overhead += TOKENS_PER_NAME
            fixed.append(overhead)
        counts = fixed
        # A plain loop, not encode_ordinary_batch: on this 2-core machine tiktoken's thread pool
        # costs more than it saves (measured 1.0 s vs 0.7 s for 20,000 prompts of 200 tokens).
        encode = self.encoding.encode_ordinary
        for owner, text in zip(owners, texts, strict=True):
            counts[owner] += len(encode(text))
        return counts


def _tiktoken_cache_path(url: str) -> Path | None:
    """Where tiktoken looks for a cached download (mirrors ``tiktoken.load.read_file_cached``)."""
    cache_dir = os.environ.get("TIKTOKEN_CACHE_DIR", os.environ.get("DATA_GYM_CACHE_DIR"))
    if cache_dir is None:
        cache_dir = os.path.join(tempfile.gettempdir(), "data-gym-cache")
    if cache_dir == "":
        return None  # caching disabled by the user
    return Path(cache_dir) / hashlib.sha1(url.encode()).hexdigest()


def _bpe_openai_dir() -> Path:
    # Locate the package without importing it: importing loads its Rust tokenizer, which we
    # do not use (we only want its data files).
    spec = importlib.util.find_spec("bpe_openai")
    if spec is None or not spec.submodule_search_locations:
        raise OSError("the bpe-openai package is not installed")
    return Path(spec.submodule_search_locations[0])


def _seed_tiktoken_cache(name: str) -> None:
    url, expected_sha256 = _BLOBS[name]
    target = _tiktoken_cache_path(url)
    if target is None or target.exists():
        return
    packed = (_bpe_openai_dir() / "data" / f"{name}.tiktoken.gz").read_bytes()
    data = gzip.decompress(packed)
    if hashlib.sha256(data).hexdigest() != expected_sha256:
        return  # not the file tiktoken expects: let tiktoken's own path decide
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f"{target.name}.{os.getpid()}.tmp")
    partial.write_bytes(data)
    partial.replace(target)


@cache
def get_encoding(name: str) -> tiktoken.Encoding:
    """tiktoken's encoding ``name``, loaded offline from bpe-openai's copy when needed, and
    from then on from our parsed copy of it (``_parsed_path``)."""
    import tiktoken

    parsed = _parsed_path(name, tiktoken.__version__)
    if (params := _read_parsed(parsed)) is not None:
        return tiktoken.Encoding(name, **params)
    if name in _BLOBS:
        # An unwritable cache is no error here: tiktoken's own path may still work (or download).
        with contextlib.suppress(OSError):
            _seed_tiktoken_cache(name)
    encoding = tiktoken.get_encoding(name)
    with contextlib.suppress(OSError):
        _write_parsed(parsed, encoding)
    return encoding


def _parsed_path(name: str, tiktoken_version: str) -> Path:
    """Where an encoding's parsed ranks are kept, in the user's own cache folder. tiktoken
    re-parses its 200,000 base64 lines on every load (0.96 s of a 2.2 s ``estimate``); a
    marshal of the parsed tables loads in about 0.14 s. Keyed by tiktoken's version, which
    owns the pattern and the special tokens."""
    root = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(root) / "llmsweep" / f"{name}-tiktoken-{tiktoken_version}.marshal"


def _read_parsed(path: Path) -> dict[str, Any] | None:
    """The Encoding's arguments from ``path``; None when missing or not what we write."""
    try:
        data = marshal.loads(path.read_bytes())
    except (OSError, EOFError, ValueError, TypeError):
        return None
    if not (isinstance(data, tuple) and len(data) == 3):
        return None
    pat_str, special_tokens, mergeable_ranks = data
    if not (
        isinstance(pat_str, str)
        and isinstance(special_tokens, dict)
        and isinstance(mergeable_ranks, dict)
        and mergeable_ranks
    ):
        return None
    return {
        "pat_str": pat_str,
        "special_tokens": special_tokens,
        "mergeable_ranks": mergeable_ranks,
    }


def _write_parsed(path: Path, encoding: tiktoken.Encoding) -> None:
    # The attributes tiktoken's README uses to extend an encoding.
    tables = (encoding._pat_str, encoding._special_tokens, encoding._mergeable_ranks)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f"{path.name}.{os.getpid()}.tmp")  # whole or not at all
    partial.write_bytes(marshal.dumps(tables))
    partial.replace(path)


def encoding_name_for(model: str) -> tuple[str, bool]:
    """The encoding tiktoken maps ``model`` to, and whether that mapping is exact."""
    import tiktoken.model

    bare = model.split("/")[-1]  # "openai/gpt-4o" -> "gpt-4o"
    # "openai:gpt-4o" -> "gpt-4o", but only after the name as given: "ft:gpt-4o:org::id" is
    # tiktoken's own.
    prefix, colon, rest = bare.partition(":")
    for name in (bare, rest) if colon and prefix and rest else (bare,):
        try:
            return tiktoken.model.encoding_name_for_model(name), True
        except KeyError:
            continue
    return FALLBACK_ENCODING, False


@cache
def tokenizer_for(model: str) -> Tokenizer:
    name, exact = encoding_name_for(model)
    return Tokenizer(model=model, encoding_name=name, exact=exact, encoding=get_encoding(name))
