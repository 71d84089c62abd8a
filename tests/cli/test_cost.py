"""``llmsweep estimate`` and ``llmsweep prices``: tables, JSON, and one-line errors."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from llmsweep.cli import cli, main


def test_estimate_json_command() -> None:
    result = CliRunner().invoke(
        cli, ["estimate", "demo", "--model", "gpt-4o", "--model", "gpt-4", "--json"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert [item["model"] for item in data] == ["gpt-4o", "gpt-4"]
    assert "ESTIMATES" in result.stderr
    # demo's prompts all set max_tokens: a maximum, as the text says.
    assert [item["bound"] for item in data] == [True, True]
    assert data[0]["basis"] == "a bound: output at each prompt's max_tokens; input tokens exact"
    assert f"gpt-4o: at most ${data[0]['total_cost_usd'][:4]}" in result.stderr


def test_estimate_without_max_tokens_is_an_expected_cost_in_text_and_json(tmp_path: Path) -> None:
    prompts = tmp_path / "p.jsonl"
    prompts.write_text('{"prompt": "hi", "max_tokens": 5}\n{"prompt": "hello"}\n')
    args = ["estimate", str(prompts), "--model", "gpt-4o", "--model", "claude-sonnet-4-5"]
    result = CliRunner().invoke(cli, [*args, "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assumed = "assuming 256 output tokens a prompt where no max_tokens is set (1 prompt(s))"
    assert [(item["bound"], item["basis"]) for item in data] == [
        (False, f"{assumed}; input tokens exact"),
        (False, f"{assumed}; input tokens approximate (o200k_base stand-in)"),
    ]
    text = CliRunner().invoke(cli, args)
    assert text.exit_code == 0, text.output
    assert "up to" not in text.stdout and "at most" not in text.stdout
    assert f"expected ({assumed}; input tokens exact)" in text.stdout


def test_estimate_table_says_estimate_source_and_date() -> None:
    result = CliRunner().invoke(
        cli, ["estimate", "synthetic:20:50:10", "--model", "gpt-4o", "--model", "claude-sonnet-4-5"]
    )
    assert result.exit_code == 0, result.output
    assert "ESTIMATES" in result.stdout
    assert "genai-prices" in result.stdout and "as in effect on" in result.stdout
    assert "input tokens approximate (o200k_base stand-in)" in result.stdout


def test_estimate_with_command_line_prices() -> None:
    args = ["estimate", "demo", "--model", "my-llama", "--price-in", "1", "--price-out", "2"]
    result = CliRunner().invoke(cli, [*args, "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)[0]["price_source"] == "--price-in/--price-out"


def test_prices_command_lists_matches() -> None:
    result = CliRunner().invoke(cli, ["prices", "gpt-4o"])
    assert result.exit_code == 0, result.output
    assert "gpt-4o-mini" in result.stdout
    assert "$2.5" in result.stdout
    assert "genai-prices" in result.stdout


def run_main(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int, str]:
    """Through ``main()``, as the installed command runs: returns (exit code, stderr)."""
    monkeypatch.setattr(sys, "argv", ["llmsweep", *args])
    with pytest.raises(SystemExit) as caught:
        main()
    code = caught.value.code
    return (code if isinstance(code, int) else 1), capsys.readouterr().err


@pytest.mark.parametrize(
    ("command", "needle"),
    [
        ("estimate demo --model gpt-4oo", "did you mean: "),
        ("estimate demo --model x --price-in -1 --price-out 1", "--price-in"),
        ("estimate demo --model x --price-in 1 --price-out abc", "--price-out"),
        ("estimate demo --model a --model b --price-in 1 --price-out 1", "exactly one --model"),
        ("estimate demo --model gpt-4o --output-tokens 0", "--output-tokens"),
        ("estimate demo --model gpt-4o --price-file /nonexistent.toml", "/nonexistent.toml"),
        ("estimate synthetic:0:1:1 --model gpt-4o", "synthetic:N:IN:OUT"),
        ("prices no-such-model-anywhere", "no model matches"),
    ],
)
def test_errors_exit_2_with_one_line(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    command: str,
    needle: str,
) -> None:
    code, stderr = run_main(monkeypatch, capsys, *command.split())
    assert code == 2
    assert stderr.startswith("llmsweep: error: ")
    assert stderr.count("\n") == 1
    assert needle in stderr
    assert "Traceback" not in stderr


@pytest.mark.parametrize("url", ["http://127.0.0.1:8080/v1", "http://192.168.1.20:11434/v1"])
def test_estimate_for_a_self_hosted_server_prices_an_unknown_model_at_zero(url: str) -> None:
    args = ["estimate", "demo", "--model", "tiny", "--model", "gpt-4o", "--base-url", url]
    result = CliRunner().invoke(cli, [*args, "--json"])
    assert result.exit_code == 0, result.output
    tiny, gpt = json.loads(result.stdout)
    assert (tiny["price_source"], tiny["total_cost_usd"]) == (
        "self-hosted: no per-token price",
        "0",
    )
    assert gpt["price_source"].startswith("genai-prices")  # a known price still applies
    # A price given wins over the self-hosted $0.
    given = CliRunner().invoke(
        cli, ["estimate", "demo", "--model", "tiny", "--base-url", url, "--price-in", "1",
              "--price-out", "2", "--json"]
    )  # fmt: skip
    assert json.loads(given.stdout)[0]["price_source"] == "--price-in/--price-out"


def test_estimate_elsewhere_refuses_an_unknown_model_naming_the_price_flags(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, stderr = run_main(
        monkeypatch, capsys, "estimate", "demo", "--model", "llama-3.1-8b-instruct",
        "--base-url", "https://api.example.invalid/v1",
    )  # fmt: skip
    assert code == 2 and stderr.count("\n") == 1
    assert "did you mean: " in stderr and "openrouter:meta-llama/llama-3.1-8b-instruct" in stderr
    assert "give one with --price-in/--price-out" in stderr
