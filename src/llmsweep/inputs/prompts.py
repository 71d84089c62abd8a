"""Prompt sets: JSONL, CSV, plain text, and the built-in ``demo`` and ``synthetic:N:IN:OUT`` sets.

Files are read line by line and prompts are yielded one at a time, so a large file is never held
in memory twice. Every error names the file and the line.
"""

from __future__ import annotations

import csv
import difflib
import json
import random
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any

from llmsweep.errors import InputError, UsageError

ROLES = frozenset({"system", "user", "assistant", "developer", "tool"})
# Words that are one token each in cl100k_base and o200k_base, so synthetic prompts hit their size.
_SYNTHETIC_WORDS = (
    " the of and to in is that for it as with was on be by at this from or an are not but have "
    "all can one more time will about when which their there been new some what would so out up "
    "other into year two also first most over after many only then these them people could than "
    "made well such three make any because good through each work may where much very own great"
).split()


@dataclass(frozen=True)
class Prompt:
    """One chat request to send. ``messages`` are OpenAI chat messages."""

    id: str
    messages: list[dict[str, Any]]
    max_tokens: int | None = None
    metadata: dict[str, Any] | None = field(default=None, compare=False)

    @property
    def text(self) -> str:
        """The prompt as a record keeps it: a lone message's text content, else the messages
        as JSON (roles and all, so nothing is lost)."""
        if len(self.messages) == 1 and isinstance(self.messages[0].get("content"), str):
            return str(self.messages[0]["content"])
        return json.dumps(self.messages, ensure_ascii=False)


def salted(prompts: Iterable[Prompt], tag: str) -> list[Prompt]:
    """``prompts`` with ``[run TAG] `` before their first message (the system prompt, if any:
    a server's prefix cache matches from the very start), so that a server cannot answer them
    from what it cached for the same prompts under another tag."""
    return [replace(p, messages=[_salt(p.messages[0], tag), *p.messages[1:]]) for p in prompts]


def _salt(message: dict[str, Any], tag: str) -> dict[str, Any]:
    return {**message, "content": f"[run {tag}] {message['content']}"}


def load_prompts(spec: str, *, seed: int = 0) -> Iterator[Prompt]:
    """Yield the prompts of a file path, ``demo`` or ``synthetic:N:IN:OUT``.

    Raises ``InputError`` (file and line) or ``UsageError`` (bad spec) lazily, as it reads.
    """
    if spec == "demo":
        return _with_unique_ids(_demo_prompts(), "demo")
    if spec.startswith("synthetic:"):
        return _synthetic(spec, seed)
    path = Path(spec)
    if not path.exists():
        raise InputError(spec, "no such prompt file" + _near_names(path))
    if path.is_dir():
        raise InputError(spec, "is a directory, not a prompt file")
    suffix = path.suffix.lower()
    reader = _read_jsonl if suffix in (".jsonl", ".ndjson") else _read_text
    if suffix == ".csv":
        reader = _read_csv
    return _with_unique_ids(_non_empty(reader(path), spec), spec)


def _near_names(path: Path) -> str:
    """ "; did you mean ...?" naming files beside ``path`` whose names are close to its name."""
    folder = path.parent
    try:
        names = (
            [entry.name for entry in folder.iterdir() if entry.is_file()] if folder.is_dir() else []
        )
    except OSError:  # an unreadable folder: nothing to suggest
        return ""
    near = difflib.get_close_matches(path.name, names, n=3, cutoff=0.6)
    return (
        "; did you mean " + " or ".join(str(folder / name) for name in near) + "?" if near else ""
    )


def _non_empty(prompts: Iterator[Prompt], name: str) -> Iterator[Prompt]:
    empty = True
    for prompt in prompts:
        empty = False
        yield prompt
    if empty:
        raise InputError(name, "holds no prompts")


def _with_unique_ids(prompts: Iterator[Prompt], name: str) -> Iterator[Prompt]:
    seen: dict[str, int] = {}
    for number, prompt in enumerate(prompts, start=1):
        if prompt.id in seen:
            line = _line_of(prompt, number)
            raise InputError(
                name, f"duplicate id {prompt.id!r} (first seen at prompt {seen[prompt.id]})", line
            )
        seen[prompt.id] = number
        yield prompt


def _line_of(prompt: Prompt, default: int) -> int:
    line = (prompt.metadata or {}).get("_line")
    return line if isinstance(line, int) else default


def _open_lines(path: Path) -> Iterator[tuple[int, str]]:
    try:
        with path.open("rb") as handle:
            for number, raw in enumerate(handle, start=1):
                try:
                    yield number, raw.decode("utf-8").rstrip("\r\n")
                except UnicodeDecodeError:
                    raise InputError(str(path), "is not valid UTF-8", number) from None
    except PermissionError:
        raise InputError(str(path), "cannot be read (permission denied)") from None
    except IsADirectoryError:
        raise InputError(str(path), "is a directory, not a prompt file") from None


def _read_text(path: Path) -> Iterator[Prompt]:
    for number, text in _open_lines(path):
        if text.strip():
            yield _make(str(number), [{"role": "user", "content": text}], None, None, number)


def _read_jsonl(path: Path) -> Iterator[Prompt]:
    name = str(path)
    for number, text in _open_lines(path):
        if not text.strip():
            continue
        try:
            row = json.loads(text)
        except json.JSONDecodeError as err:
            raise InputError(
                name, f"not valid JSON ({err.msg} at column {err.colno})", number
            ) from None
        if not isinstance(row, dict):
            raise InputError(name, "each line must be a JSON object", number)
        yield _prompt_from_row(row, name, number)


def _prompt_from_row(row: dict[str, Any], name: str, number: int) -> Prompt:
    unknown = set(row) - {"id", "prompt", "messages", "max_tokens", "metadata"}
    if unknown:
        raise InputError(name, f"unknown field(s): {', '.join(sorted(unknown))}", number)
    if ("prompt" in row) == ("messages" in row):
        raise InputError(name, "give exactly one of 'prompt' or 'messages'", number)
    if "prompt" in row:
        text = row["prompt"]
        if not isinstance(text, str):
            raise InputError(name, "'prompt' must be a string", number)
        messages: list[dict[str, Any]] = [{"role": "user", "content": text}]
    else:
        messages = _check_messages(row["messages"], name, number)
    raw_id = row.get("id", str(number))
    if not isinstance(raw_id, str | int) or isinstance(raw_id, bool):
        raise InputError(name, "'id' must be a string or an integer", number)
    max_tokens = row.get("max_tokens")
    if max_tokens is not None and (
        not isinstance(max_tokens, int) or isinstance(max_tokens, bool) or max_tokens < 1
    ):
        raise InputError(name, "'max_tokens' must be a positive integer", number)
    metadata = row.get("metadata")
    if metadata is not None and not isinstance(metadata, dict):
        raise InputError(name, "'metadata' must be an object", number)
    return _make(str(raw_id), messages, max_tokens, metadata, number, name)


def _check_messages(value: object, name: str, number: int) -> list[dict[str, Any]]:
    if not isinstance(value, list) or not value:
        raise InputError(name, "'messages' must be a non-empty list", number)
    for message in value:
        if not isinstance(message, dict):
            raise InputError(name, "each message must be an object", number)
        if message.get("role") not in ROLES:
            raise InputError(
                name, f"message role must be one of {', '.join(sorted(ROLES))}", number
            )
        if not isinstance(message.get("content"), str):
            raise InputError(name, "message 'content' must be a string", number)
    return value


def _make(
    prompt_id: str,
    messages: list[dict[str, Any]],
    max_tokens: int | None,
    metadata: dict[str, Any] | None,
    number: int,
    name: str = "",
) -> Prompt:
    if not prompt_id.strip():
        raise InputError(name, "'id' is empty", number)
    if all(not str(m.get("content", "")).strip() for m in messages):
        raise InputError(name, "prompt is empty", number)
    return Prompt(prompt_id, messages, max_tokens, {**(metadata or {}), "_line": number})


def _read_csv(path: Path) -> Iterator[Prompt]:
    name = str(path)
    lines = (text + "\n" for _, text in _open_lines(path))
    reader = csv.DictReader(lines)
    try:
        fields = reader.fieldnames
        if not fields:
            return  # an empty file: _non_empty says it holds no prompts
        if "prompt" not in fields:
            found = ", ".join(repr(f) for f in fields)
            raise InputError(name, f"CSV needs a 'prompt' column; its header has {found}", 1)
        unknown = set(fields) - {"prompt", "id", "max_tokens"}
        if unknown:
            raise InputError(name, f"unknown column(s): {', '.join(sorted(unknown))}", 1)
        # Without an 'id' column, a prompt's id is its data row's number (the first row under the
        # header is "1"), whatever physical lines a quoted multi-line prompt spans.
        for row_number, row in enumerate(reader, start=1):
            number = reader.line_num
            text = row.get("prompt")
            if text is None:
                raise InputError(name, "row has fewer columns than the header", number)
            raw_max = (row.get("max_tokens") or "").strip()
            if raw_max and not (raw_max.isdigit() and int(raw_max) > 0):
                raise InputError(name, "'max_tokens' must be a positive integer", number)
            prompt_id = row.get("id") or str(row_number)
            messages = [{"role": "user", "content": text}]
            yield _make(prompt_id, messages, int(raw_max) if raw_max else None, None, number, name)
    except csv.Error as err:
        raise InputError(name, f"malformed CSV ({err})", reader.line_num) from None


def _demo_prompts() -> Iterator[Prompt]:
    text = resources.files("llmsweep").joinpath("data", "demo_prompts.jsonl").read_text("utf-8")
    for number, line in enumerate(text.splitlines(), start=1):
        yield _prompt_from_row(json.loads(line), "demo", number)


def _synthetic(spec: str, seed: int) -> Iterator[Prompt]:
    parts = spec.split(":")
    if len(parts) != 4 or not all(p.isdigit() and int(p) > 0 for p in parts[1:]):
        raise UsageError(f"prompt set {spec!r}: expected synthetic:N:IN:OUT with positive integers")
    count, input_tokens, output_tokens = (int(p) for p in parts[1:])
    rng = random.Random(seed)
    # The instruction plus IN - 8 one-token words: 8 covers the instruction and the chat overhead.
    instruction = f"Reply with about {output_tokens} words."
    for index in range(count):
        words = rng.choices(_SYNTHETIC_WORDS, k=max(1, input_tokens - 8))
        content = instruction + "".join(" " + word for word in words)
        messages = [{"role": "user", "content": content}]
        yield Prompt(f"s{index}", messages, output_tokens)
