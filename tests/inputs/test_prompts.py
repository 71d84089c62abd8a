"""Prompt files: every format, and every bad input named by file and line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from llmsweep.errors import InputError, UsageError
from llmsweep.inputs.prompts import Prompt, load_prompts
from llmsweep.inputs.tokens import tokenizer_for


def write(tmp_path: Path, name: str, content: str | bytes) -> str:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return str(path)


def test_jsonl_prompt_and_messages_forms(tmp_path: Path) -> None:
    spec = write(
        tmp_path,
        "p.jsonl",
        '{"prompt": "hi"}\n\n'
        '{"id": "x", "messages": [{"role": "system", "content": "be brief"},'
        ' {"role": "user", "content": "yo"}], "max_tokens": 5, "metadata": {"a": 1}}\n'
        '{"id": 7, "prompt": "seven"}\n',
    )
    prompts = list(load_prompts(spec))
    assert [p.id for p in prompts] == ["1", "x", "7"]
    assert prompts[0].messages == [{"role": "user", "content": "hi"}]
    assert prompts[1].max_tokens == 5 and len(prompts[1].messages) == 2
    assert prompts[1].metadata is not None and prompts[1].metadata["a"] == 1


def test_csv_and_text(tmp_path: Path) -> None:
    csv_spec = write(tmp_path, "p.csv", 'id,prompt\na,"hello, world"\n,second\n')
    assert [(p.id, p.messages[0]["content"]) for p in load_prompts(csv_spec)] == [
        ("a", "hello, world"),
        ("2", "second"),  # without an id: the data row's number, not the file's line
    ]
    # A quoted prompt over two lines does not shift the ids of the rows after it.
    multi = write(tmp_path, "m.csv", 'prompt\n"two\nlines"\nthird\n')
    assert [p.id for p in load_prompts(multi)] == ["1", "2"]
    text_spec = write(tmp_path, "p.txt", "one\n\ntwo\n")
    assert [p.id for p in load_prompts(text_spec)] == ["1", "3"]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        (
            "bad.jsonl",
            '{"prompt": "ok"}\n{"prompt": \n',
            "bad.jsonl:2: not valid JSON (Expecting value at column 12)",
        ),
        ("list.jsonl", "[1, 2]\n", "list.jsonl:1: each line must be a JSON object"),
        ("type.jsonl", '{"prompt": 5}\n', "type.jsonl:1: 'prompt' must be a string"),
        ("both.jsonl", '{"prompt": "a", "messages": []}\n', "both.jsonl:1: give exactly one"),
        ("empty_prompt.jsonl", '{"prompt": "  "}\n', "empty_prompt.jsonl:1: prompt is empty"),
        (
            "unknown.jsonl",
            '{"prompt": "a", "temp": 1}\n',
            "unknown.jsonl:1: unknown field(s): temp",
        ),
        (
            "dup.jsonl",
            '{"id": "a", "prompt": "x"}\n{"id": "a", "prompt": "y"}\n',
            "dup.jsonl:2: duplicate id 'a'",
        ),
        (
            "role.jsonl",
            '{"messages": [{"role": "robot", "content": "x"}]}\n',
            "role.jsonl:1: message role must be one of",
        ),
        ("max.jsonl", '{"prompt": "a", "max_tokens": 0}\n', "max.jsonl:1: 'max_tokens' must be"),
        ("empty.jsonl", "\n\n", "empty.jsonl: holds no prompts"),
        (
            "nocol.csv",
            "text,id\nhello,1\n",
            "nocol.csv:1: CSV needs a 'prompt' column; its header has 'text', 'id'",
        ),
        ("empty.csv", "", "empty.csv: holds no prompts"),
        ("extra.csv", "prompt,colour\nhi,red\n", "extra.csv:1: unknown column(s): colour"),
        ("latin1.txt", b"ok\ncaf\xe9\n", "latin1.txt:2: is not valid UTF-8"),
    ],
)
def test_bad_files_name_file_and_line(
    tmp_path: Path, name: str, content: str | bytes, message: str
) -> None:
    spec = write(tmp_path, name, content)
    with pytest.raises(InputError) as caught:
        list(load_prompts(spec))
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"no such prompt file$"):
        load_prompts(str(tmp_path / "nope.jsonl"))
    write(tmp_path, "prompts.jsonl", '{"prompt": "hi"}\n')
    with pytest.raises(InputError) as caught:  # a typo: the near name is suggested
        load_prompts(str(tmp_path / "promts.jsonl"))
    assert str(caught.value).endswith(f"did you mean {tmp_path / 'prompts.jsonl'}?")
    with pytest.raises(InputError, match="is a directory"):
        load_prompts(str(tmp_path))


def test_demo_set_is_varied_and_valid() -> None:
    prompts = list(load_prompts("demo"))
    assert len(prompts) >= 30
    assert len({p.messages[0]["content"] for p in prompts}) == len(prompts)
    assert all(p.max_tokens for p in prompts)


def test_synthetic_is_deterministic_and_sized() -> None:
    first = list(load_prompts("synthetic:20:100:50", seed=3))
    again = list(load_prompts("synthetic:20:100:50", seed=3))
    other = list(load_prompts("synthetic:20:100:50", seed=4))
    assert first == again and first != other
    tokenizer = tokenizer_for("gpt-4o")
    counts = [tokenizer.count_chat(p.messages) for p in first]
    assert all(95 <= count <= 110 for count in counts), counts
    assert all(p.max_tokens == 50 for p in first)


@pytest.mark.parametrize("spec", ["synthetic:10", "synthetic:0:10:10", "synthetic:a:b:c"])
def test_bad_synthetic_spec(spec: str) -> None:
    with pytest.raises(UsageError, match="synthetic:N:IN:OUT"):
        list(load_prompts(spec))


def test_a_prompts_text_is_its_lone_message_or_else_its_messages_as_json() -> None:
    assert Prompt("a", [{"role": "user", "content": "hi"}]).text == "hi"
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hé"}]
    assert json.loads(Prompt("b", messages).text) == messages
    assert "hé" in Prompt("b", messages).text  # not escaped: the record stays readable
