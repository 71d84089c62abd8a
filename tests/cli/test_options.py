"""Shared command plumbing: the command line as typed (never with credentials), profiles."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from llmsweep.cli.interrupts import command_line, resume_command
from llmsweep.cli.options import profile_from_flag
from llmsweep.errors import UsageError
from llmsweep.simulator import BUILTIN_PROFILES


def test_the_command_line_drops_credentials_from_urls(monkeypatch: pytest.MonkeyPatch) -> None:
    argv = ["llmsweep", "run", "my prompts.jsonl", "--base-url", "https://me:pw@h:8/v1?key=k"]
    monkeypatch.setattr(sys, "argv", argv)
    assert command_line() == "llmsweep run 'my prompts.jsonl' --base-url https://h:8/v1"


def test_the_resume_hint_adds_what_is_missing_and_never_force(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sys, "argv", ["llmsweep", "run", "demo", "--force"])
    assert resume_command(Path("demo.gpt-4o.jsonl")) == (
        "llmsweep run demo --resume --out demo.gpt-4o.jsonl"
    )
    monkeypatch.setattr(sys, "argv", ["llmsweep", "sweep", "demo", "--out-dir", "r", "--resume"])
    assert resume_command(Path("r"), out_flag="--out-dir") == (
        "llmsweep sweep demo --out-dir r --resume"
    )


def test_a_profile_flag_names_a_built_in_or_a_toml_file(tmp_path: Path) -> None:
    assert profile_from_flag(None) is None
    assert profile_from_flag("fixed") == BUILTIN_PROFILES["fixed"]
    with pytest.raises(UsageError, match="--sim-profile 'fast': not a built-in profile"):
        profile_from_flag("fast")
    with pytest.raises(UsageError, match=r"^--profile: "):
        profile_from_flag(str(tmp_path / "missing.toml"), "--profile")
