"""Help texts: every command shows an example, and no flag leaves its default unsaid."""

from __future__ import annotations

import shlex

import pytest
from click.testing import CliRunner

from llmsweep.cli import app
from llmsweep.simulator import BUILTIN_PROFILES


def help_of(*command: str) -> str:
    result = CliRunner().invoke(app.cli, [*command, "--help"], terminal_width=200)
    assert result.exit_code == 0, result.output
    return " ".join(result.output.split())  # click wraps lines; compare words


@pytest.mark.parametrize("command", sorted(app.COMMANDS))
def test_every_command_shows_an_example_that_parses(command: str) -> None:
    result = CliRunner().invoke(app.cli, [command, "--help"], terminal_width=200)
    examples = [
        line.strip() for line in result.output.splitlines() if line.strip().startswith("llmsweep ")
    ]
    assert "Example" in result.output and examples
    for example in examples:  # click parses every flag before it acts on --help
        words = shlex.split(example)[1:]
        parsed = CliRunner().invoke(app.cli, [*words, "--help"])
        assert parsed.exit_code == 0, (example, parsed.output)


def test_the_command_list_is_not_cut() -> None:
    text = CliRunner().invoke(app.cli, ["--help"], terminal_width=80).output
    listed = text[text.index("Commands:") :]
    assert "..." not in listed
    for _, summary in app.COMMANDS.values():
        assert summary in text


@pytest.mark.parametrize(
    ("flag", "says"),
    [
        ("--max-tokens", "default: none sent"),
        ("--rpm", "default: none"),
        ("--tpm", "default: none"),
        ("--sim-rpm", "default: each model's published tier"),
        ("--sim-tpm", "default: each model's published tier"),
    ],
)
def test_flags_say_what_no_value_means(flag: str, says: str) -> None:
    text = help_of("sweep")
    described = text[text.index(flag) :]
    assert says in described[: described.index(" --", len(flag))]


def test_sim_profile_lists_the_profiles() -> None:
    text = help_of("sweep")
    assert all(name in text for name in BUILTIN_PROFILES)
